//! Turning HTTP answers into [`VendorError`]s, once for every vendor.

use std::time::Duration;

use crate::rotation::calls::{record, CallSummary};
use crate::rotation::VendorError;

/// Where vendors put their request ids (Atlassian, Microsoft Graph, Okta, generic).
const REQUEST_ID_HEADERS: [&str; 5] =
    ["atl-traceid", "request-id", "client-request-id", "x-okta-request-id", "x-request-id"];

/// Classifies a response: 2xx is the body; 401/403, 429 (with `Retry-After`),
/// 5xx and other 4xx each get their error. The body of an error is never
/// included (it may echo what was sent).
pub(crate) async fn send(
    service: &'static str,
    operation: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<(u16, String), VendorError> {
    let started = std::time::Instant::now();
    let note = |status: Option<u16>, request_id: Option<String>| {
        record(CallSummary {
            service,
            operation,
            status,
            request_id,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    };
    let resp = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            note(None, None);
            return Err(VendorError::Unavailable { service, operation, detail: super::transport(&e) });
        }
    };
    let status = resp.status().as_u16();
    let request_id = REQUEST_ID_HEADERS
        .iter()
        .find_map(|h| resp.headers().get(*h))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(80).collect());
    note(Some(status), request_id);
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body =
        resp.text().await.map_err(|e| VendorError::Unavailable { service, operation, detail: super::transport(&e) })?;
    match status {
        200..=299 => Ok((status, body)),
        401 | 403 => Err(VendorError::Unauthorized { service, operation, status }),
        429 => Err(VendorError::Throttled { service, operation, retry_after }),
        500..=599 => Err(VendorError::Unavailable { service, operation, detail: format!("HTTP {status}") }),
        _ => Err(VendorError::Rejected { service, operation, detail: format!("HTTP {status}") }),
    }
}

/// Parses a JSON body, or says the answer was malformed.
pub(crate) fn json(
    service: &'static str,
    operation: &'static str,
    body: &str,
) -> Result<serde_json::Value, VendorError> {
    serde_json::from_str(body).map_err(|_| VendorError::Rejected {
        service,
        operation,
        detail: "malformed JSON in the answer".into(),
    })
}

/// Vendor calls get a shorter timeout than the default client: a hung vendor
/// must fail fast enough for the retry policy to matter.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);
