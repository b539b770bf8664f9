//! Starting the rotation workflow in Step Functions.

use aws_sdk_sfn::Client;

use super::store_error;
use keyturn_app::ports::{ExecutionState, StartOutcome, StoreError, Workflow};
use keyturn_domain::{Change, ChangeId};

/// A change's execution ARN: the state machine's, named after the change.
///
/// ```
/// assert_eq!(
///     keyturn_aws::sfn::execution_arn("arn:aws:states:us-east-1:1:stateMachine:rot", "chg-1"),
///     "arn:aws:states:us-east-1:1:execution:rot:chg-1"
/// );
/// ```
pub fn execution_arn(state_machine_arn: &str, change: &str) -> String {
    format!("{}:{change}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1))
}

#[derive(Debug, Clone)]
pub struct SfnWorkflow {
    client: Client,
    state_machine_arn: String,
}

impl SfnWorkflow {
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        Self { client, state_machine_arn: state_machine_arn.into() }
    }
}

impl Workflow for SfnWorkflow {
    async fn start(&self, change: &Change) -> Result<StartOutcome, StoreError> {
        let input = serde_json::to_string(change).map_err(|e| StoreError {
            service: "states",
            operation: "StartExecution",
            message: format!("cannot encode change {}: {e}", change.id),
            retryable: false,
        })?;
        // The change id is the execution name: Step Functions itself refuses a
        // second execution of the same change.
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(change.id.as_str())
            .input(input)
            .send()
            .await;
        match result {
            Ok(out) => Ok(StartOutcome::Started { execution_arn: out.execution_arn().to_owned() }),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_execution_already_exists()) => {
                Ok(StartOutcome::AlreadyRunning)
            }
            Err(e) => Err(store_error("states", "StartExecution", e)),
        }
    }

    async fn execution(&self, change: &ChangeId) -> Result<ExecutionState, StoreError> {
        let arn = execution_arn(&self.state_machine_arn, change.as_str());
        match self.client.describe_execution().execution_arn(arn).send().await {
            Ok(d) => Ok(match d.status() {
                aws_sdk_sfn::types::ExecutionStatus::Running => ExecutionState::Running,
                other => ExecutionState::Ended(other.as_str().to_owned()),
            }),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_execution_does_not_exist()) => {
                Ok(ExecutionState::Missing)
            }
            Err(e) => Err(store_error("states", "DescribeExecution", e)),
        }
    }
}

/// Hands decisions back to waiting `.waitForTaskToken` tasks.
#[derive(Debug, Clone)]
pub struct SfnTasks {
    client: Client,
}

impl SfnTasks {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl keyturn_app::ports::TaskCallbacks for SfnTasks {
    async fn succeed(
        &self,
        token: &keyturn_app::approval::TaskToken,
        output: &serde_json::Value,
    ) -> Result<keyturn_app::ports::Delivery, StoreError> {
        let result = self.client.send_task_success().task_token(token.expose()).output(output.to_string()).send().await;
        match result {
            Ok(_) => Ok(keyturn_app::ports::Delivery::Delivered),
            Err(e)
                if e.as_service_error().is_some_and(|se| {
                    se.is_task_timed_out() || se.is_task_does_not_exist() || se.is_invalid_token()
                }) =>
            {
                Ok(keyturn_app::ports::Delivery::TaskGone)
            }
            Err(e) => Err(store_error("states", "SendTaskSuccess", e)),
        }
    }
}
