//! Adapters from the [`keyturn_app::ports`] traits to AWS, through the AWS SDK for
//! Rust. Endpoints come from the standard `AWS_ENDPOINT_URL*` variables, so
//! the same code talks to AWS or to the local stack.

mod audit;
mod changes;
mod connectors;
mod item;
mod key_ages;
mod secrets;
pub mod service;
mod ses;
pub mod sfn;
pub mod tables;

pub use audit::{from_sdk as export_item, DynamoAuditLog};
pub use changes::DynamoChangeStore;
pub use connectors::{DynamoInventory, ImportSummary};
pub use key_ages::SecretsKeyAges;
pub use secrets::{SecretsAuditKey, SecretsRouting, SecretsSigningKeys, SecretsStore};
pub use ses::SesMailer;
pub use sfn::{SfnTasks, SfnWorkflow};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use keyturn_app::ports::StoreError;

/// Loads the shared SDK configuration once (region, credentials, endpoint).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Error codes worth retrying: throttling and transient server trouble.
const RETRYABLE_CODES: [&str; 6] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
];

/// Flattens an SDK error into a [`StoreError`] with the service's code and
/// message (never the request body, which may hold item data).
pub fn store_error<E, R>(service: &'static str, operation: &'static str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        _ => err.code().is_some_and(|c| RETRYABLE_CODES.contains(&c)),
    };
    let message = match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string(),
    };
    StoreError { service, operation, message, retryable }
}
