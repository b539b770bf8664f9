//! Setting up the local stack (moto), for `keyturn dev`: the same tables as
//! infra, and the rotation state machine. Refuses to run against anything but loopback, so
//! it can never create resources in a real account.

use aws_sdk_sfn::Client as SfnClient;

use keyturn_app::config::TableNames;
use keyturn_app::ports::StoreError;
use keyturn_aws::store_error;

/// The state machine definition, compiled in.
pub const ROTATION_ASL: &str = include_str!("../../statemachine/rotation.asl.json");
/// Its name on the local stack.
pub const LOCAL_STATE_MACHINE: &str = "keyturn-rotation";
/// moto accepts any role; this one only exists there.
const LOCAL_ROLE: &str = "arn:aws:iam::123456789012:role/keyturn-local-states";
/// The sender the local functions use (`KEYTURN_EMAIL_FROM` in the Makefile).
pub const LOCAL_SENDER: &str = "keyturn@keyturn.example";
/// Fake Jira credentials for the local simulator (`KEYTURN_JIRA_SECRET`).
pub const LOCAL_JIRA_SECRET: &str = "keyturn/jira";
/// Fake identity-provider credentials for the vendor simulator.
pub const LOCAL_ENTRA_SECRET: &str = "keyturn/entra";
pub const LOCAL_OKTA_SECRET: &str = "keyturn/okta";
/// keyturn's own fake Entra app and Okta API token, as `dev setup` seeds them.
const LOCAL_ENTRA_CLIENT: &str = "keyturn";
const LOCAL_ENTRA_TENANT: &str = "sim-tenant";
const LOCAL_ENTRA_CLIENT_SECRET: &str = "local-fake-secret";
const LOCAL_OKTA_TOKEN: &str = "local-fake-okta-token";
const LOCAL_OKTA_TOKEN_ID: &str = "00Tkeyturnlocal00001";
/// How far off the local stack's own Entra secret expires: near enough that
/// `keyturn status` has an expiry worth showing, far beyond any stack's life.
const LOCAL_OWN_SECRET_DAYS: i64 = 25;

/// The Lambda functions the state machine calls, by placeholder. Locally each
/// is the binary of that name under `cargo lambda watch`.
pub const FUNCTION_PLACEHOLDERS: [(&str, &str); 7] = [
    ("RequestApprovalFunctionArn", "request-approval"),
    ("NotifyFunctionArn", "notify"),
    ("RequestKeyFunctionArn", "request-key"),
    ("RotateFunctionArn", "rotate"),
    ("VerifyFunctionArn", "verify"),
    ("FinalizeFunctionArn", "finalize"),
    ("RollbackFunctionArn", "rollback"),
];

/// Fills `${Name}` placeholders; every placeholder must be known, so a typo
/// in the definition fails here rather than at run time.
pub fn substitute(definition: &str, values: &[(&str, String)]) -> Result<String, String> {
    let mut out = definition.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    match out.find("${") {
        Some(at) => {
            let name: String = out[at..].chars().take_while(|c| *c != '}').collect();
            Err(format!("state machine placeholder {name}}} has no value"))
        }
        None => Ok(out),
    }
}

/// The definition as the local stack runs it.
pub fn local_definition(region: &str) -> Result<String, String> {
    let values: Vec<(&str, String)> = FUNCTION_PLACEHOLDERS
        .iter()
        .map(|(p, f)| (*p, format!("arn:aws:lambda:{region}:123456789012:function:{f}")))
        .collect();
    substitute(ROTATION_ASL, &values)
}

/// What `setup` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SetupReport {
    pub tables: Vec<(String, bool)>,
    pub state_machine_arn: String,
}

/// Is `endpoint` an http(s) URL on this machine? (http://127.0.0.1:4566,
/// http://localhost:…, http://[::1]:…; decided on the parsed host, as the
/// outbound guard decides it.)
pub fn is_loopback(endpoint: &str) -> bool {
    let endpoint = endpoint.trim();
    (endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        && keyturn_domain::destination::is_loopback_url(endpoint)
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
    let created = keyturn_aws::tables::create_missing(&aws_sdk_dynamodb::Client::new(config), tables).await?;
    let region = config.region().map_or("us-east-1".to_owned(), ToString::to_string);
    let definition = local_definition(&region).map_err(refuse)?;
    verify_sender(config).await?;
    let named = std::env::var("KEYTURN_DEV_VENDOR_URL").ok();
    let vendor = named.clone().unwrap_or_else(|| "http://127.0.0.1:4568".into());
    let okta = serde_json::json!({"domain": format!("{vendor}/okta"), "api_token": LOCAL_OKTA_TOKEN,
        "api_token_id": LOCAL_OKTA_TOKEN_ID})
    .to_string();
    let entra = serde_json::json!({"tenant_id": LOCAL_ENTRA_TENANT, "client_id": LOCAL_ENTRA_CLIENT,
        "client_secret": LOCAL_ENTRA_CLIENT_SECRET})
    .to_string();
    for (name, value) in [
        (LOCAL_JIRA_SECRET, r#"{"user":"keyturn@keyturn.example","token":"local-fake-token"}"#),
        (LOCAL_ENTRA_SECRET, entra.as_str()),
        (LOCAL_OKTA_SECRET, okta.as_str()),
    ] {
        local_secret(config, name, value).await?;
    }
    // Only at a simulator the caller named (`make up` does): a default port
    // may be someone else's stack.
    if let Some(vendor) = named {
        if let Err(e) = seed_own_credentials(&vendor).await {
            // `keyturn status` then says why it cannot read them; nothing else needs them.
            eprintln!("keyturn: could not seed keyturn's own app and API token at the simulator {vendor}: {e}");
        }
    }
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
                .definition(&definition)
                .send()
                .await
                .map_err(|e| store_error("states", "UpdateStateMachine", e))?;
            m.state_machine_arn().to_owned()
        }
        None => sfn
            .create_state_machine()
            .name(LOCAL_STATE_MACHINE)
            .definition(&definition)
            .role_arn(LOCAL_ROLE)
            .send()
            .await
            .map_err(|e| store_error("states", "CreateStateMachine", e))?
            .state_machine_arn()
            .to_owned(),
    };
    Ok(SetupReport { tables: created, state_machine_arn: arn })
}

/// keyturn's own app registration (its Graph client secret, with an end
/// date) and its Okta API token, at the vendor simulator: what `keyturn
/// status` reads their expiry from. Seeding them again replaces them.
async fn seed_own_credentials(vendor: &str) -> Result<(), String> {
    if !is_loopback(vendor) {
        return Err("not a local simulator".into());
    }
    let end = time::OffsetDateTime::now_utc() + time::Duration::days(LOCAL_OWN_SECRET_DAYS);
    let end = keyturn_domain::timefmt::format_utc(end);
    let http = reqwest::Client::new();
    let seeds = [
        (
            format!("{vendor}/_sim/entra/apps/00000000-0000-4000-8000-00000000cafe"),
            serde_json::json!({"appId": LOCAL_ENTRA_CLIENT, "tenant": LOCAL_ENTRA_TENANT, "displayName": "keyturn",
                "passwords": [{"secret": LOCAL_ENTRA_CLIENT_SECRET, "keyId": "0b0b0b0b-0000-4000-8000-00000000cafe",
                               "displayName": "keyturn (local stack)", "endDateTime": end}]}),
        ),
        (
            format!("{vendor}/_sim/okta/api-tokens/{LOCAL_OKTA_TOKEN_ID}"),
            serde_json::json!({"token": LOCAL_OKTA_TOKEN, "name": "keyturn (local stack)"}),
        ),
    ];
    for (url, body) in seeds {
        let r = http.put(url).json(&body).send().await.map_err(|e| e.without_url().to_string())?;
        if !r.status().is_success() {
            return Err(format!("HTTP {}", r.status()));
        }
    }
    Ok(())
}

/// SES only sends from verified identities; moto checks that too.
async fn verify_sender(config: &aws_config::SdkConfig) -> Result<(), StoreError> {
    let ses = aws_sdk_sesv2::Client::new(config);
    match ses.create_email_identity().email_identity(LOCAL_SENDER).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_already_exists_exception()) => Ok(()),
        Err(e) => Err(store_error("sesv2", "CreateEmailIdentity", e)),
    }
}

/// Fake credentials for a local simulator (they accept any).
async fn local_secret(config: &aws_config::SdkConfig, name: &str, value: &str) -> Result<(), StoreError> {
    let sm = aws_sdk_secretsmanager::Client::new(config);
    let result = sm.create_secret().name(name).secret_string(value).send().await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_exists_exception()) => Ok(()),
        Err(e) => Err(store_error("secretsmanager", "CreateSecret", e)),
    }
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
            "http://127.0.0.1:4566@evil.example",
            "http://localhost:@evil.example",
            "ftp://127.0.0.1",
        ] {
            assert!(!is_loopback(bad), "{bad}");
        }
        assert!(serde_json::from_str::<serde_json::Value>(ROTATION_ASL).is_ok());
    }

    #[test]
    fn every_placeholder_is_filled() {
        let def = local_definition("eu-west-1").unwrap();
        assert!(def.contains("arn:aws:lambda:eu-west-1:123456789012:function:request-approval"));
        assert!(serde_json::from_str::<serde_json::Value>(&def).is_ok());
        assert_eq!(
            substitute("a ${X} ${Y}", &[("X", "1".into())]).unwrap_err(),
            "state machine placeholder ${Y} has no value"
        );
    }
}
