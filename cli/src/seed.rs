//! `keyturn dev seed-vendors FILE`: gives every connector of an inventory a
//! current key on the local stack, in Secrets Manager and at the vendor and
//! identity-provider simulators, so rotations have something real to rotate.

use std::path::Path;

use crate::local::is_loopback;
use anyhow::Context;
use keyturn_domain::inventory::{load_file, ValidationContext};
use keyturn_domain::{fingerprint, ClientApp, ConnectorKind, IdpBinding};
use serde_json::json;

fn random_key(prefix: &str) -> String {
    let mut b = [0u8; 20];
    let _ = getrandom::fill(&mut b);
    format!("{prefix}-{}", hex::encode(b))
}

/// A random version-4 GUID (Graph's `keyId`).
fn random_guid() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

pub async fn run(file: &Path, vendor: &str) -> anyhow::Result<()> {
    anyhow::ensure!(is_loopback(vendor), "--vendor must be a local simulator, not {vendor}");
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    anyhow::ensure!(is_loopback(&endpoint), "seeding only works on the local stack (AWS_ENDPOINT_URL={endpoint:?})");
    let connectors = load_file(file, &ValidationContext::at(time::OffsetDateTime::now_utc()))?;
    let sm = aws_sdk_secretsmanager::Client::new(&keyturn_aws::sdk_config().await);
    let http = reqwest::Client::new();
    let put = |path: String, body: serde_json::Value| http.put(format!("{vendor}{path}")).json(&body).send();
    for (i, c) in connectors.iter().enumerate() {
        let (key, secret) = match c.kind {
            ConnectorKind::AtlassianApiKey => {
                let key = random_key("atok-demo");
                let id = format!("k-seed-{i}");
                put(format!("/_sim/atlassian/orgs/{}/keys/{id}", c.org), json!({"key": key}))
                    .await?
                    .error_for_status()?;
                (key.clone(), json!({"key": key, "key_id": id}).to_string())
            }
            // The app registration at the simulated Graph, its one password the current secret.
            ConnectorKind::EntraAppSecret => {
                let Some(ClientApp::Entra { tenant_id, application_object_id, client_id }) = &c.client_app else {
                    anyhow::bail!("{}: an entra-app-secret without its app registration's ids", c.id);
                };
                let (key, key_id) = (random_key("entra-demo"), random_guid());
                let app = json!({"appId": client_id, "tenant": tenant_id, "displayName": c.id.as_str(),
                    "passwords": [{"secret": key, "keyId": key_id, "displayName": "first"}],
                    "owners": [{"id": "u-owner", "mail": c.owner}]});
                put(format!("/_sim/entra/apps/{application_object_id}"), app).await?.error_for_status()?;
                (key.clone(), json!({"key": key, "key_id": key_id}).to_string())
            }
            _ => {
                let key = random_key("atst-demo");
                if let Some(dir) = &c.directory_id {
                    put(format!("/_sim/atlassian/directories/{dir}"), json!({"key": key})).await?.error_for_status()?;
                }
                (key.clone(), key)
            }
        };
        // A `scim-token` names its endpoint; Atlassian's is derived from the directory.
        let base = c
            .scim_base
            .clone()
            .unwrap_or_else(|| format!("{vendor}/scim/directory/{}", c.directory_id.as_deref().unwrap_or_default()));
        match &c.idp {
            IdpBinding::Entra { service_principal_id, .. } => {
                http.put(format!(
                    "{vendor}/graph/v1.0/servicePrincipals/{service_principal_id}/synchronization/secrets"
                ))
                .bearer_auth("sim-graph-token")
                .json(&json!({"value": [{"key": "BaseAddress", "value": base}, {"key": "SecretToken", "value": key}]}))
                .send()
                .await?
                .error_for_status()?;
            }
            // As an admin would, in Okta's console: its API takes tokens only for Org2Org/Zscaler.
            IdpBinding::Okta { app_id } => {
                put(format!("/_sim/okta/apps/{app_id}/token"), json!({"token": key})).await?.error_for_status()?;
            }
            IdpBinding::None => {}
        }
        // The secret's name is the ARN's last part (Secrets Manager accepts the partial ARN).
        let name = c.secret_arn.as_str().splitn(7, ':').nth(6).unwrap_or_default().to_owned();
        match sm.create_secret().name(&name).secret_string(&secret).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_exists_exception()) => {
                sm.put_secret_value()
                    .secret_id(&name)
                    .secret_string(&secret)
                    .send()
                    .await
                    .context("updating a seeded secret")?;
            }
            Err(e) => return Err(anyhow::anyhow!(keyturn_aws::store_error("secretsmanager", "CreateSecret", e))),
        }
        outln!("{}: current key sha256:{} in {name} and at the simulators", c.id, fingerprint(key.as_bytes()));
    }
    Ok(())
}
