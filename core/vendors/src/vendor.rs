//! Turning HTTP answers into [`VendorError`]s, once for every vendor.

use std::time::Duration;

use keyturn_app::rotation::calls::{record, CallSummary};
use keyturn_app::rotation::VendorError;

/// Where vendors put their request ids (Atlassian, Microsoft Graph, Okta, generic).
const REQUEST_ID_HEADERS: [&str; 5] =
    ["atl-traceid", "request-id", "client-request-id", "x-okta-request-id", "x-request-id"];

/// Classifies a response: 2xx is the body; 401/403, 429 (with how long to
/// wait), 5xx and other 4xx each get their error. A failed call keeps what the
/// vendor said ([`excerpt`]: bounded, control characters escaped, every
/// credential the request carried redacted), because "HTTP 404" alone does not
/// tell an operator that the directory id is wrong.
pub(crate) async fn send(
    service: &'static str,
    operation: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<(u16, String), VendorError> {
    let Exchange { status, body, secrets, retry_after, .. } = exchange(service, operation, request).await?;
    classify(service, operation, status, body, &secrets, retry_after)
}

/// As [`send`], with the answer's `Link` header (RFC 8288) too, for the
/// listings that page through it (Okta's).
pub(crate) async fn send_linked(
    service: &'static str,
    operation: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<(String, Option<String>), VendorError> {
    let Exchange { status, body, secrets, retry_after, link } = exchange(service, operation, request).await?;
    classify(service, operation, status, body, &secrets, retry_after).map(|(_, body)| (body, link))
}

/// What came back, before it is classified.
struct Exchange {
    status: u16,
    body: String,
    secrets: Secrets,
    retry_after: Option<u64>,
    /// Every `Link` header of the answer, joined by `,` (RFC 8288 §3 allows several).
    link: Option<String>,
}

fn classify(
    service: &'static str,
    operation: &'static str,
    status: u16,
    body: String,
    secrets: &Secrets,
    retry_after: Option<u64>,
) -> Result<(u16, String), VendorError> {
    match status {
        200..=299 => Ok((status, body)),
        401 | 403 => Err(VendorError::Unauthorized { service, operation, status }),
        429 => Err(VendorError::Throttled { service, operation, retry_after }),
        500..=599 => Err(VendorError::Unavailable {
            service,
            operation,
            detail: match excerpt(&body, secrets) {
                said if said.is_empty() => format!("HTTP {status}"),
                said => format!("HTTP {status}: {said}"),
            },
        }),
        _ => Err(VendorError::Refused { service, operation, status, body: excerpt(&body, secrets) }),
    }
}

/// An OAuth 2.0 token endpoint's refusal (RFC 6749 §5.2), with what keyturn
/// decides on: the `error`, Entra's numeric `error_codes`, and the
/// description, bounded and with every credential of the request redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthRefusal {
    pub status: u16,
    pub error: String,
    pub codes: Vec<u64>,
    pub description: String,
}

/// A token request: the body of a 2xx, or the endpoint's refusal when it
/// answers 400 or 401 with an OAuth error (which status a refusal gets varies
/// by provider: RFC 6749 allows both). Anything else as [`send`] says.
pub(crate) async fn send_oauth(
    service: &'static str,
    operation: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<Result<String, OAuthRefusal>, VendorError> {
    let Exchange { status, body, secrets, retry_after, .. } = exchange(service, operation, request).await?;
    if matches!(status, 400 | 401) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
            if let Some(error) = v["error"].as_str() {
                let error: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
                let codes = v["error_codes"].as_array().map(|a| a.iter().filter_map(|c| c.as_u64()).collect());
                // Entra's description ends with trace and correlation ids on their own lines.
                let said = v["error_description"].as_str().unwrap_or_default();
                let said = said.split(['\r', '\n']).next().unwrap_or_default();
                return Ok(Err(OAuthRefusal {
                    status,
                    error,
                    codes: codes.unwrap_or_default(),
                    description: excerpt(said, &secrets),
                }));
            }
        }
    }
    classify(service, operation, status, body, &secrets, retry_after).map(|(_, body)| Ok(body))
}

async fn exchange(
    service: &'static str,
    operation: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<Exchange, VendorError> {
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
    let secrets = Secrets::of(&built);
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
    let retry_after = wait_hint(resp.headers(), time::OffsetDateTime::now_utc());
    let links: Vec<&str> =
        resp.headers().get_all(reqwest::header::LINK).iter().filter_map(|v| v.to_str().ok()).collect();
    let link = (!links.is_empty()).then(|| links.join(","));
    let body = bounded_text(resp, MAX_BODY_BYTES)
        .await
        .map_err(|detail| VendorError::Unavailable { service, operation, detail })?
        .ok_or_else(|| VendorError::Rejected {
            service,
            operation,
            detail: format!("answer longer than {MAX_BODY_BYTES} bytes, or not UTF-8"),
        })?;
    Ok(Exchange { status, body, secrets, retry_after, link })
}

/// How long a throttled caller should wait, in seconds: `Retry-After`
/// (seconds) when sent, else Atlassian's `X-RateLimit-Reset`, documented as an
/// ISO 8601 UTC instant (API Access and Organizations REST API intros).
fn wait_hint(headers: &reqwest::header::HeaderMap, now: time::OffsetDateTime) -> Option<u64> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(s) = text("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(s);
    }
    let reset = text("x-ratelimit-reset").and_then(keyturn_domain::timefmt::parse_instant)?;
    // Round up: waiting a fraction too little gets another 429.
    let ms = (reset - now).whole_milliseconds().max(0);
    u64::try_from((ms + 999) / 1000).ok()
}

/// The credentials a request carries: the `Authorization` credential and every
/// value of its JSON or form body long enough to be one (a key, a token, a
/// client secret). Their bytes never leave `send` in an error.
struct Secrets(Vec<String>);

/// Values shorter than this are ids, flags and scheme names, not credentials.
const SECRET_MIN: usize = 8;

impl Secrets {
    fn of(req: &reqwest::Request) -> Self {
        let mut out = Vec::new();
        if let Some(auth) = req.headers().get(reqwest::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            out.push(auth.split_once(' ').map_or(auth, |(_, cred)| cred).trim().to_owned());
        }
        if let Some(bytes) = req.body().and_then(|b| b.as_bytes()) {
            match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(v) => strings(&v, &mut out),
                Err(_) => {
                    for pair in String::from_utf8_lossy(bytes).split('&') {
                        if let Some((_, v)) = pair.split_once('=') {
                            out.push(percent_decode(v));
                        }
                    }
                }
            }
        }
        out.retain(|s| s.len() >= SECRET_MIN);
        // Longest first, so a secret containing another is redacted whole.
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self(out)
    }
}

fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

pub(crate) fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', ..) => {
                out.push(b' ');
                i += 1;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a vendor's error answer may contribute to an error message.
pub(crate) const EXCERPT_CHARS: usize = 512;

/// A vendor's answer for an error message: every secret redacted (before it
/// is cut, so a cut cannot split one past recognition), whitespace runs
/// folded, control characters escaped, at most [`EXCERPT_CHARS`] characters.
fn excerpt(body: &str, secrets: &Secrets) -> String {
    let mut text = body.to_owned();
    for s in &secrets.0 {
        text = text.replace(s.as_str(), "<redacted>");
    }
    let mut out = String::new();
    let mut count = 0;
    let mut space = false;
    for c in text.trim().chars() {
        if count >= EXCERPT_CHARS {
            out.push('…');
            break;
        }
        if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
            if !space {
                out.push(' ');
                count += 1;
            }
            space = true;
            continue;
        }
        space = false;
        if c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
        count += 1;
    }
    out
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
pub(crate) mod tests {
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

    /// A one-shot HTTP server answering `status` with `headers` and `body`;
    /// the request it received (head and body) comes back on the channel.
    pub(crate) async fn answer(
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (String, tokio::sync::oneshot::Receiver<String>) {
        let (url, mut all) =
            answers(vec![(status, headers.iter().map(|(k, v)| format!("{k}: {v}")).collect(), body.into())]).await;
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            if let Some(r) = all.recv().await {
                let _ = tx.send(r);
            }
        });
        (url, rx)
    }

    /// An HTTP server answering one request per entry (status, header lines,
    /// body), in order; every request it received comes back on the channel.
    pub(crate) async fn answers(
        script: Vec<(u16, Vec<String>, String)>,
    ) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        answers_on(listener, script)
    }

    /// As [`answers`], on a listener bound already (so the script can hold
    /// absolute links to it).
    pub(crate) fn answers_on(
        listener: tokio::net::TcpListener,
        script: Vec<(u16, Vec<String>, String)>,
    ) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            for (status, headers, body) in script {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                let mut req = Vec::new();
                let mut buf = [0u8; 8192];
                // Read the head, then as much body as content-length says.
                loop {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    req.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&req).to_string();
                    let done = text.split_once("\r\n\r\n").is_some_and(|(h, b)| {
                        let len = h
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        b.len() >= len
                    });
                    if done || n == 0 {
                        break;
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&req).to_string());
                let mut head =
                    format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
                for h in headers {
                    head.push_str(&format!("{h}\r\n"));
                }
                head.push_str("\r\n");
                head.push_str(&body);
                let _ = sock.write_all(head.as_bytes()).await;
            }
        });
        (format!("http://{addr}"), rx)
    }

    #[tokio::test]
    async fn an_error_answer_is_kept_bounded_and_without_the_key() {
        let key = "sk-very-secret-key-0123456789";
        let body =
            format!("{{\"detail\":\"Unknown tenant\",\"echo\":\"{key}\",\"ctl\":\"a\u{7}b\"}}{}", "x".repeat(2000));
        let (url, _) = answer(404, &[("content-type", "application/scim+json")], &body).await;
        let req = reqwest::Client::new().get(format!("{url}/scim/directory/d/Users")).bearer_auth(key);
        let err = send("atlassian", "ScimListUsers", req).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, VendorError::Refused { status: 404, .. }), "{err:?}");
        assert!(text.contains("Unknown tenant"), "the vendor's words reach the operator: {text}");
        assert!(!text.contains(key), "never the key: {text}");
        assert!(text.contains("<redacted>"), "{text}");
        assert!(!text.contains('\u{7}'), "control characters are escaped: {text}");
        assert!(text.chars().count() < EXCERPT_CHARS + 100, "bounded: {} chars", text.chars().count());

        // A key sent in a JSON body (Graph's SecretToken) is redacted the same way.
        let (url, _) = answer(400, &[], &format!("{{\"error\":{{\"message\":\"bad {key}\"}}}}")).await;
        let req = reqwest::Client::new()
            .post(format!("{url}/x"))
            .json(&serde_json::json!({"credentials": [{"key": "SecretToken", "value": key}]}));
        let text = send("entra", "ValidateCredentials", req).await.unwrap_err().to_string();
        assert!(text.contains("HTTP 400") && !text.contains(key), "{text}");
    }

    #[test]
    fn atlassian_rate_limit_reset_is_an_iso_instant() {
        let now = time::macros::datetime!(2026-12-01 10:00:00 UTC);
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-ratelimit-reset", "2026-12-01T10:00:07.200Z".parse().unwrap());
        assert_eq!(wait_hint(&h, now), Some(8), "rounded up");
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(wait_hint(&h, now), Some(3), "Retry-After wins when both are sent");
        let mut past = reqwest::header::HeaderMap::new();
        past.insert("x-ratelimit-reset", "2026-12-01T09:59:00Z".parse().unwrap());
        assert_eq!(wait_hint(&past, now), Some(0));
        assert_eq!(wait_hint(&reqwest::header::HeaderMap::new(), now), None);
    }

    #[tokio::test]
    async fn oversized_answers_are_refused_not_buffered() {
        let small = bounded_text(reqwest::get(server(100).await).await.unwrap(), MAX_BODY_BYTES).await;
        assert_eq!(small.unwrap().map(|b| b.len()), Some(100));
        let huge = bounded_text(reqwest::get(server(MAX_BODY_BYTES + 1).await).await.unwrap(), MAX_BODY_BYTES).await;
        assert_eq!(huge, Ok(None), "refused once past the bound");
    }
}
