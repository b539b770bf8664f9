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
    let (client, built) = request.build_split();
    let built = built.map_err(|e| VendorError::Rejected { service, operation, detail: format!("bad request: {e}") })?;
    if let Err(why) = super::outbound::check_request(service, built.url()) {
        note(None, None);
        return Err(VendorError::Rejected { service, operation, detail: format!("refused destination {why}") });
    }
    let resp = match client.execute(built).await {
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
    let body = bounded_text(resp, MAX_BODY_BYTES)
        .await
        .map_err(|detail| VendorError::Unavailable { service, operation, detail })?
        .ok_or_else(|| VendorError::Rejected {
            service,
            operation,
            detail: format!("answer longer than {MAX_BODY_BYTES} bytes, or not UTF-8"),
        })?;
    match status {
        200..=299 => Ok((status, body)),
        401 | 403 => Err(VendorError::Unauthorized { service, operation, status }),
        429 => Err(VendorError::Throttled { service, operation, retry_after }),
        500..=599 => Err(VendorError::Unavailable { service, operation, detail: format!("HTTP {status}") }),
        _ => Err(VendorError::Rejected { service, operation, detail: format!("HTTP {status}") }),
    }
}

/// No vendor answer keyturn reads is anywhere near this; a longer one is refused
/// before it can fill a Lambda's memory.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// The body as text, read chunk by chunk and abandoned past `limit`:
/// `Ok(None)` when too long or not UTF-8, `Err` on a transport failure.
pub(crate) async fn bounded_text(mut resp: reqwest::Response, limit: usize) -> Result<Option<String>, String> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| super::transport(&e))? {
        if buf.len() + chunk.len() > limit {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8(buf).ok())
}

/// Vendor calls get a shorter timeout than the default client: a hung vendor
/// must fail fast enough for the retry policy to matter.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot HTTP server answering 200 with `len` bytes of body.
    async fn server(len: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 1024];
            let _ = sock.read(&mut req).await;
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\ncontent-type: application/json\r\n\r\n");
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&vec![b' '; len]).await;
        });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn oversized_answers_are_refused_not_buffered() {
        let small = bounded_text(reqwest::get(server(100).await).await.unwrap(), MAX_BODY_BYTES).await;
        assert_eq!(small.unwrap().map(|b| b.len()), Some(100));
        let huge = bounded_text(reqwest::get(server(MAX_BODY_BYTES + 1).await).await.unwrap(), MAX_BODY_BYTES).await;
        assert_eq!(huge, Ok(None), "refused once past the bound");
    }
}
