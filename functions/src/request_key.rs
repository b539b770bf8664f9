//! request-key: for keys only a vendor console can make (Atlassian SCIM), the
//! workflow waits on a task token while the owner gets a signed intake link.
//! Input: `{item, task_token, intake_timeout_seconds}` (see the ASL).

use crate::{init_tracing, FunctionError};
use keyturn_app::approval::intake::{KeyRequest, KeyRequestReport};
use keyturn_aws::service::KeyRequester;
use lambda_runtime::{service_fn, Error, LambdaEvent};

pub async fn run() -> Result<(), Error> {
    init_tracing();
    let requester = KeyRequester::from_env().await.map_err(FunctionError::from)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<KeyRequest>| handle(&requester, event))).await
}

async fn handle(requester: &KeyRequester, event: LambdaEvent<KeyRequest>) -> Result<KeyRequestReport, FunctionError> {
    let now = time::OffsetDateTime::now_utc();
    // Boxed: the request future nests the SES, Secrets Manager and DynamoDB
    // futures deeply enough to overflow rustc's layout query depth otherwise.
    Box::pin(requester.request(&event.payload, now)).await.map_err(|e| FunctionError::new(e.name(), e.to_string()))
}
