//! scanner: on schedule, find due keys and start one workflow per change.
//! Input: the EventBridge Scheduler event (content ignored). Output: the scan report.

use keyturn_core::scanner::ScanReport;
use keyturn_core::service::Scanner;
use keyturn_lambda::{init_tracing, FunctionError};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let scanner = Scanner::from_env().await.map_err(FunctionError::from)?;
    run(service_fn(|_: LambdaEvent<Value>| handle(&scanner))).await
}

async fn handle(scanner: &Scanner) -> Result<ScanReport, FunctionError> {
    let report = scanner.scan(time::OffsetDateTime::now_utc()).await?;
    if report.is_complete() {
        Ok(report)
    } else {
        // The report is logged in full so nothing is lost when the invocation fails.
        tracing::error!(report = %serde_json::to_string(&report).unwrap_or_default(), "scan incomplete");
        Err(FunctionError::new("ScanIncomplete", report.errors.join("; ")))
    }
}
