//! The auth + path-mapping relay in front of an independently written SCIM
//! server (`scim2-server` from PyPI, started by `make up` with one tenant per
//! directory). This is keyturn's code; the SCIM answers are not.
//!
//! It does two things and nothing else:
//! - checks `Authorization: Bearer <token>` against the directory's key, the
//!   one the test set (`PUT /_sim/atlassian/directories/{dir}` with
//!   `"upstream": true`) or regenerated: the independent server runs without
//!   authentication, and an Atlassian key is per directory;
//! - maps Atlassian's `/scim/directory/{dir}/{rest}` to the server's
//!   `/{dir}/v2/{rest}` (same method, query, `Content-Type`, `Accept` and body).
//!
//! The server's answer goes back as it came: status, headers (bar the
//! hop-by-hop ones a proxy must not forward) and body bytes. The key is never
//! forwarded, logged or answered.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};

/// Requests to the server are small; so are its answers to them.
const MAX_BODY: usize = 1 << 20;

/// RFC 9110 §7.6.1: connection-specific fields a proxy does not forward.
const HOP_BY_HOP: [&str; 8] =
    ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length"];

/// Forwards one request, already authenticated, to `{upstream}/{dir}/v2/{rest}`.
pub async fn relay(http: &reqwest::Client, upstream: &str, dir: &str, rest: &str, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large for the relay").into_response();
    };
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let url = format!("{}/{dir}/v2/{rest}{query}", upstream.trim_end_matches('/'));
    let Ok(method) = reqwest::Method::from_bytes(method.as_str().as_bytes()) else {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    };
    let mut forward = http.request(method, url).body(body.to_vec());
    // Only what describes the content; never `Authorization`.
    for name in ["content-type", "accept", "if-match", "if-none-match"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            forward = forward.header(name, v);
        }
    }
    let answer = match forward.send().await {
        Ok(a) => a,
        Err(_) => return (StatusCode::BAD_GATEWAY, "the SCIM server did not answer").into_response(),
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = Response::builder().status(status);
    for (name, value) in answer.headers() {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        if let (Ok(n), Ok(v)) =
            (HeaderName::from_bytes(name.as_str().as_bytes()), axum::http::HeaderValue::from_bytes(value.as_bytes()))
        {
            out = out.header(n, v);
        }
    }
    match answer.bytes().await {
        Ok(bytes) => out.body(Body::from(bytes)).unwrap_or_default(),
        Err(_) => (StatusCode::BAD_GATEWAY, "the SCIM server's answer broke off").into_response(),
    }
}
