//! How a call to a vendor or identity provider failed, classified for retry.

/// A failed call to a vendor or identity provider, classified for retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VendorError {
    /// 401/403: the key (or keyturn's own credential) is not accepted.
    #[error("{service} {operation}: not authorised (HTTP {status})")]
    Unauthorized { service: &'static str, operation: &'static str, status: u16 },
    /// 429, with the server's `Retry-After` in seconds if it sent one.
    #[error("{service} {operation}: throttled (HTTP 429)")]
    Throttled { service: &'static str, operation: &'static str, retry_after: Option<u64> },
    /// 5xx, timeouts, connection failures.
    #[error("{service} {operation}: unavailable ({detail})")]
    Unavailable { service: &'static str, operation: &'static str, detail: String },
    /// An answer keyturn cannot use (malformed JSON, unexpected shape).
    #[error("{service} {operation}: {detail}")]
    Rejected { service: &'static str, operation: &'static str, detail: String },
    /// A 4xx other than 401, 403 and 429, with what the vendor said: its body,
    /// bounded, control characters escaped and every credential of the request
    /// redacted (see `http::vendor`), so an operator reads "Unknown tenant"
    /// rather than a bare status.
    #[error("{service} {operation}: HTTP {status}{}", said(body))]
    Refused { service: &'static str, operation: &'static str, status: u16, body: String },
}

fn said(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

impl VendorError {
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable { .. })
    }
}
