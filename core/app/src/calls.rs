//! The vendor calls a step made (service, operation, status, request id,
//! latency), collected per step so its audit events can carry a summary of
//! the vendor's answers. Never URLs, bodies or headers other than the id.

use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    static CALLS: RefCell<Calls>;
}

/// Every call of the step, and how far audit events have taken them.
#[derive(Default)]
struct Calls {
    all: Vec<CallSummary>,
    drained: usize,
    retries: u32,
}

/// What a step's vendor calls came to, for its metrics (the SCIM SLIs:
/// auth failures, throttles, retries, API latency).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStats {
    pub calls: u32,
    /// 429 answers.
    pub throttles: u32,
    /// 401 and 403 answers.
    pub auth_failures: u32,
    /// 5xx answers and calls that got no answer.
    pub server_errors: u32,
    /// Calls repeated by the retry policy.
    pub retries: u32,
    /// One per call, in order.
    pub latencies_ms: Vec<u64>,
}

impl Calls {
    fn stats(&self) -> CallStats {
        let count = |f: &dyn Fn(Option<u16>) -> bool| self.all.iter().filter(|c| f(c.status)).count() as u32;
        CallStats {
            calls: self.all.len() as u32,
            throttles: count(&|s| s == Some(429)),
            auth_failures: count(&|s| matches!(s, Some(401 | 403))),
            server_errors: count(&|s| s.is_none_or(|s| s >= 500)),
            retries: self.retries,
            latencies_ms: self.all.iter().map(|c| c.latency_ms).collect(),
        }
    }
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

/// Runs `f` collecting the calls it makes; with what they came to.
pub async fn recorded<F: Future>(f: F) -> (F::Output, CallStats) {
    CALLS
        .scope(RefCell::new(Calls::default()), async {
            let out = f.await;
            (out, CALLS.with(|c| c.borrow().stats()))
        })
        .await
}

/// Notes one call (a no-op outside [`recorded`]).
pub fn record(call: CallSummary) {
    let _ = CALLS.try_with(|c| c.borrow_mut().all.push(call));
}

/// Notes that the retry policy repeats a call.
pub fn note_retry() {
    let _ = CALLS.try_with(|c| c.borrow_mut().retries += 1);
}

/// The calls since the last drain, as one audit-friendly line.
pub fn drain() -> Option<String> {
    let calls = CALLS
        .try_with(|c| {
            let mut c = c.borrow_mut();
            let fresh = c.all[c.drained..].to_vec();
            c.drained = c.all.len();
            fresh
        })
        .unwrap_or_default();
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
        let (line, stats) = recorded(async {
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
            note_retry();
            let first = drain();
            record(CallSummary {
                service: "entra",
                operation: "GetJob",
                status: Some(403),
                request_id: None,
                latency_ms: 5,
            });
            record(CallSummary {
                service: "entra",
                operation: "GetJob",
                status: None,
                request_id: None,
                latency_ms: 10_000,
            });
            let _ = drain();
            (first, drain())
        })
        .await;
        assert_eq!(
            stats,
            CallStats {
                calls: 4,
                throttles: 1,
                auth_failures: 1,
                server_errors: 1,
                retries: 1,
                latencies_ms: vec![3, 4, 5, 10_000]
            },
            "the stats count every call, drained or not"
        );
        assert_eq!(line.0.as_deref(), Some("atlassian GetOrg 429 3ms; atlassian GetOrg 200 req r-1 4ms"));
        assert_eq!(line.1, None);
        record(CallSummary { service: "x", operation: "y", status: None, request_id: None, latency_ms: 0 });
        assert_eq!(drain(), None, "outside a scope nothing is kept");
    }
}
