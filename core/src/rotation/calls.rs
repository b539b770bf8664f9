//! The vendor calls a step made (service, operation, status, request id,
//! latency), collected per step so its audit events can carry a summary of
//! the vendor's answers. Never URLs, bodies or headers other than the id.

use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    static CALLS: RefCell<Vec<CallSummary>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSummary {
    pub service: &'static str,
    pub operation: &'static str,
    /// `None`: no answer (timeout, connection refused).
    pub status: Option<u16>,
    pub request_id: Option<String>,
    pub latency_ms: u64,
}

/// Runs `f` collecting the calls it makes.
pub async fn recorded<F: Future>(f: F) -> F::Output {
    CALLS.scope(RefCell::new(Vec::new()), f).await
}

/// Notes one call (a no-op outside [`recorded`]).
pub fn record(call: CallSummary) {
    let _ = CALLS.try_with(|c| c.borrow_mut().push(call));
}

/// The calls since the last drain, as one audit-friendly line.
pub fn drain() -> Option<String> {
    let calls = CALLS.try_with(|c| std::mem::take(&mut *c.borrow_mut())).unwrap_or_default();
    if calls.is_empty() {
        return None;
    }
    let parts: Vec<String> = calls
        .iter()
        .map(|c| {
            let status = c.status.map_or("no answer".to_owned(), |s| s.to_string());
            let id = c.request_id.as_ref().map(|r| format!(" req {r}")).unwrap_or_default();
            format!("{} {} {status}{id} {}ms", c.service, c.operation, c.latency_ms)
        })
        .collect();
    Some(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_are_collected_per_scope_and_drained_once() {
        let line = recorded(async {
            record(CallSummary {
                service: "atlassian",
                operation: "GetOrg",
                status: Some(429),
                request_id: None,
                latency_ms: 3,
            });
            record(CallSummary {
                service: "atlassian",
                operation: "GetOrg",
                status: Some(200),
                request_id: Some("r-1".into()),
                latency_ms: 4,
            });
            let first = drain();
            (first, drain())
        })
        .await;
        assert_eq!(line.0.as_deref(), Some("atlassian GetOrg 429 3ms; atlassian GetOrg 200 req r-1 4ms"));
        assert_eq!(line.1, None);
        record(CallSummary { service: "x", operation: "y", status: None, request_id: None, latency_ms: 0 });
        assert_eq!(drain(), None, "outside a scope nothing is kept");
    }
}
