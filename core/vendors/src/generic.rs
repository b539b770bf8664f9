//! `generic-http` connectors: the vendor's key API described by a template
//! (see [`keyturn_domain::HttpTemplate`]) instead of code.

use super::parse::json;
use super::vendor::{send, CALL_TIMEOUT};
use keyturn_app::rotation::{StoredKey, VendorError};
use keyturn_domain::{fill_json, Call, Connector, HttpTemplate, SecretValue};

const SERVICE: &str = "generic-http";

fn template(c: &Connector) -> Result<&HttpTemplate, VendorError> {
    c.http_template.as_ref().ok_or(VendorError::Rejected {
        service: SERVICE,
        operation: "Template",
        detail: format!("{} has no http_template", c.id),
    })
}

/// Sends one templated call authenticated with `key`; the answer's body.
async fn call(
    http: &reqwest::Client,
    t: &HttpTemplate,
    call: &Call,
    operation: &'static str,
    key: &SecretValue,
    values: &[(&str, &str)],
) -> Result<String, VendorError> {
    let method = reqwest::Method::from_bytes(call.method.as_bytes()).map_err(|_| VendorError::Rejected {
        service: SERVICE,
        operation,
        detail: format!("method {:?}", call.method),
    })?;
    let url = t.call_url(call, values).map_err(|e| VendorError::Rejected {
        service: SERVICE,
        operation,
        detail: format!("http_template: {e}"),
    })?;
    let mut req = http.request(method, url);
    req = match &t.auth_header {
        Some(h) => req.header(h.as_str(), key.expose()),
        None => req.bearer_auth(key.expose()),
    };
    if let Some(body) = &call.body {
        req = req.json(&fill_json(body, values));
    }
    send(SERVICE, operation, req.timeout(CALL_TIMEOUT)).await.map(|(_, body)| body)
}

fn placeholders<'a>(c: &'a Connector, label: &'a str, key_id: &'a str) -> [(&'static str, &'a str); 4] {
    [("label", label), ("key_id", key_id), ("org", c.org.as_str()), ("app_id", c.app_id.as_deref().unwrap_or_default())]
}

pub async fn create(
    http: &reqwest::Client,
    c: &Connector,
    auth: &StoredKey,
    label: &str,
) -> Result<StoredKey, VendorError> {
    let t = template(c)?;
    let body = call(http, t, &t.create, "CreateKey", &auth.value, &placeholders(c, label, "")).await?;
    let v = json(SERVICE, "CreateKey", &body)?;
    let at = |p: &Option<String>| p.as_deref().and_then(|p| v.pointer(p)).and_then(|x| x.as_str()).map(str::to_owned);
    let key = at(&t.create.key).ok_or(VendorError::Rejected {
        service: SERVICE,
        operation: "CreateKey",
        detail: "the answer has no key where the template says".into(),
    })?;
    Ok(StoredKey { value: SecretValue::new(key), key_id: at(&t.create.key_id), expires_at: at(&t.create.expires_at) })
}

pub async fn revoke(http: &reqwest::Client, c: &Connector, auth: &StoredKey, key_id: &str) -> Result<(), VendorError> {
    let t = template(c)?;
    let Some(revoke) = &t.revoke else {
        return Err(VendorError::Rejected {
            service: SERVICE,
            operation: "RevokeKey",
            detail: "the template has no revoke call".into(),
        });
    };
    match call(http, t, revoke, "RevokeKey", &auth.value, &placeholders(c, "", key_id)).await {
        Ok(_) => Ok(()),
        // The template's vendor is the operator's to know: its 404 counts as revoked.
        Err(VendorError::Refused { status: 404, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

pub async fn probe(http: &reqwest::Client, c: &Connector, key: &StoredKey) -> Result<(), VendorError> {
    let t = template(c)?;
    call(http, t, &t.probe, "Probe", &key.value, &placeholders(c, "", "")).await.map(|_| ())
}
