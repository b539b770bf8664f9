//! request-approval: the workflow waits on a task token while approvers get
//! signed links. Input: `{change, task_token, execution_arn}` (see the ASL).
//! Output: a summary without links or token (Step Functions ignores it).

use crate::{init_tracing, FunctionError};
use keyturn_app::approval::request::{RequestInput, RequestReport};
use keyturn_aws::service::ApprovalRequester;
use lambda_runtime::{service_fn, Error, LambdaEvent};

pub async fn run() -> Result<(), Error> {
    init_tracing();
    let requester = ApprovalRequester::from_env().await.map_err(FunctionError::from)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<RequestInput>| handle(&requester, event))).await
}

async fn handle(
    requester: &ApprovalRequester,
    event: LambdaEvent<RequestInput>,
) -> Result<RequestReport, FunctionError> {
    let now = time::OffsetDateTime::now_utc();
    requester.request(&event.payload, now).await.map_err(|e| FunctionError::new(e.name(), e.to_string()))
}
