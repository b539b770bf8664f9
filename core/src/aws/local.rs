//! Setting up the local stack (moto): the same tables as infra, and the
//! rotation state machine. Refuses to run against anything but loopback, so
//! it can never create resources in a real account.

use aws_sdk_sfn::Client as SfnClient;

use super::store_error;
use crate::config::TableNames;
use crate::ports::StoreError;

/// The state machine definition, compiled in.
pub const ROTATION_ASL: &str = include_str!("../../../statemachine/rotation.asl.json");
/// Its name on the local stack.
pub const LOCAL_STATE_MACHINE: &str = "keyturn-rotation";
/// moto accepts any role; this one only exists there.
const LOCAL_ROLE: &str = "arn:aws:iam::123456789012:role/keyturn-local-states";

/// What `setup` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SetupReport {
    pub tables: Vec<(String, bool)>,
    pub state_machine_arn: String,
}

/// Is `endpoint` on this machine? (http://127.0.0.1:4566, http://localhost:…, http://[::1]:…)
pub fn is_loopback(endpoint: &str) -> bool {
    let rest = endpoint.strip_prefix("http://").or_else(|| endpoint.strip_prefix("https://")).unwrap_or("");
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Creates the missing tables and creates or updates the state machine.
pub async fn setup(config: &aws_config::SdkConfig, tables: &TableNames) -> Result<SetupReport, StoreError> {
    let refuse = |message: String| StoreError { service: "local", operation: "setup", message, retryable: false };
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if !is_loopback(&endpoint) {
        return Err(refuse(format!(
            "AWS_ENDPOINT_URL={endpoint:?} is not a local endpoint; `dev setup` only sets up the local stack (deploy real accounts with infra/)"
        )));
    }
    let created = super::tables::create_missing(&aws_sdk_dynamodb::Client::new(config), tables).await?;
    let sfn = SfnClient::new(config);
    let machines = sfn
        .list_state_machines()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| store_error("states", "ListStateMachines", e))?;
    let arn = match machines.iter().find(|m| m.name() == LOCAL_STATE_MACHINE) {
        Some(m) => {
            sfn.update_state_machine()
                .state_machine_arn(m.state_machine_arn())
                .definition(ROTATION_ASL)
                .send()
                .await
                .map_err(|e| store_error("states", "UpdateStateMachine", e))?;
            m.state_machine_arn().to_owned()
        }
        None => sfn
            .create_state_machine()
            .name(LOCAL_STATE_MACHINE)
            .definition(ROTATION_ASL)
            .role_arn(LOCAL_ROLE)
            .send()
            .await
            .map_err(|e| store_error("states", "CreateStateMachine", e))?
            .state_machine_arn()
            .to_owned(),
    };
    Ok(SetupReport { tables: created, state_machine_arn: arn })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_endpoints_count_as_local() {
        for ok in ["http://127.0.0.1:4566", "http://localhost:4566/", "http://[::1]:4566", "http://127.1.2.3"] {
            assert!(is_loopback(ok), "{ok}");
        }
        for bad in [
            "",
            "https://dynamodb.eu-west-1.amazonaws.com",
            "http://10.0.0.1:4566",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example",
        ] {
            assert!(!is_loopback(bad), "{bad}");
        }
        assert!(serde_json::from_str::<serde_json::Value>(ROTATION_ASL).is_ok());
    }
}
