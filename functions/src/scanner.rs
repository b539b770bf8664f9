//! scanner: on schedule, find due keys and start one workflow per change.
//! Input: the EventBridge Scheduler event (content ignored). Output: the scan report.

use crate::{emit_metrics, init_tracing, FunctionError};
use keyturn_app::scanner::ScanReport;
use keyturn_aws::service::Scanner;
use keyturn_domain::ErrorName;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

pub async fn run() -> Result<(), Error> {
    init_tracing();
    let scanner = Scanner::from_env().await.map_err(FunctionError::from)?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| handle(&scanner))).await
}

async fn handle(scanner: &Scanner) -> Result<ScanReport, FunctionError> {
    let report = scanner.scan_and_anchor(time::OffsetDateTime::now_utc()).await?;
    publish(&report);
    if report.is_complete() {
        Ok(report)
    } else {
        // The report is logged in full so nothing is lost when the invocation fails.
        tracing::error!(report = %serde_json::to_string(&report).unwrap_or_default(), "scan incomplete");
        Err(FunctionError::new(ErrorName::ScanIncomplete, report.errors.join("; ")))
    }
}

/// The figures the alarms and the dashboard watch (infra/, namespace keyturn).
fn publish(report: &ScanReport) {
    let h = &report.health;
    let count = |n: usize| n as f64;
    emit_metrics(
        &[],
        &[
            ("DueKeys", count(report.due), "Count"),
            ("ExpiredKeys", count(report.urgent), "Count"),
            ("InvalidRecords", count(report.invalid), "Count"),
            ("NeedsManualIntervention", count(h.needs_manual_intervention), "Count"),
            ("ExpiringUnhandled", count(h.expiring_unhandled), "Count"),
            ("ApprovalsOverdue", count(h.approvals_overdue), "Count"),
            ("WedgesRepaired", count(report.repaired.len()), "Count"),
            ("StuckExecutions", count(report.watch.stuck.len()), "Count"),
            ("RemindersSent", count(report.watch.reminders.len()), "Count"),
        ],
    );
}
