//! notify: every end of a change (rejected, approval expired, completed,
//! failed) is told to the right people, audited, and its connectors released.
//! Input: `{event, change: <execution state>, execution_arn}` (see the ASL).

use crate::{init_tracing, FunctionError};
use keyturn_app::notify::{NotifyInput, NotifyReport};
use keyturn_aws::service::Notifier;
use lambda_runtime::{service_fn, Error, LambdaEvent};

pub async fn run() -> Result<(), Error> {
    init_tracing();
    let notifier = Notifier::from_env().await.map_err(FunctionError::from)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<NotifyInput>| handle(&notifier, event))).await
}

async fn handle(notifier: &Notifier, event: LambdaEvent<NotifyInput>) -> Result<NotifyReport, FunctionError> {
    Ok(notifier.notify(&event.payload, time::OffsetDateTime::now_utc()).await?)
}
