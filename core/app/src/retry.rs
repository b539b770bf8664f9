//! Retries with exponential backoff and full jitter, honouring `Retry-After`,
//! bounded by attempts and a deadline. New credentials take a moment to
//! propagate; fixed sleeps flake, this does not.

use std::future::Future;
use std::time::Duration;

use keyturn_domain::VendorError;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub max_delay: Duration,
    /// Give up once this much time has passed, whatever `attempts` says.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            base: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            deadline: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `n + 1` (n ≥ 1): `Retry-After` when the server
    /// gave one (capped), else a random point in `[0, base · 2^(n-1)]`.
    pub fn delay(&self, attempt: u32, err: &VendorError, random: f64) -> Duration {
        if let VendorError::Throttled { retry_after: Some(s), .. } = err {
            return Duration::from_secs(*s).min(self.max_delay);
        }
        let ceiling = self.base.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(self.max_delay);
        ceiling.mul_f64(random.clamp(0.0, 1.0))
    }
}

/// What a retried call did, for audit details and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    pub attempts: u32,
    pub throttled: u32,
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

/// Runs `op` until it succeeds, fails for good, or the policy is spent.
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, mut op: F) -> (Result<T, VendorError>, Attempts)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, VendorError>>,
{
    let start = tokio::time::Instant::now();
    let mut seen = Attempts::default();
    loop {
        seen.attempts += 1;
        match op().await {
            Ok(v) => return (Ok(v), seen),
            Err(e) => {
                if matches!(e, VendorError::Throttled { .. }) {
                    seen.throttled += 1;
                }
                let wait = policy.delay(seen.attempts, &e, jitter());
                if !e.retryable() || seen.attempts >= policy.attempts || start.elapsed() + wait > policy.deadline {
                    return (Err(e), seen);
                }
                tracing::warn!(attempt = seen.attempts, wait_ms = wait.as_millis() as u64, error = %e, "retrying");
                crate::calls::note_retry();
                tokio::time::sleep(wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn throttled(after: Option<u64>) -> VendorError {
        VendorError::Throttled { service: "t", operation: "op", retry_after: after }
    }

    #[test]
    fn retry_after_wins_and_backoff_grows_within_bounds() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, &throttled(Some(3)), 0.5), Duration::from_secs(3));
        assert_eq!(p.delay(1, &throttled(Some(999)), 0.5), p.max_delay, "capped");
        let unavailable = VendorError::Unavailable { service: "t", operation: "op", detail: "503".into() };
        assert_eq!(p.delay(1, &unavailable, 1.0), Duration::from_millis(200));
        assert_eq!(p.delay(3, &unavailable, 1.0), Duration::from_millis(800));
        assert_eq!(p.delay(30, &unavailable, 1.0), p.max_delay);
        assert_eq!(p.delay(3, &unavailable, 0.0), Duration::ZERO, "full jitter");
    }

    // Real sleeps of at most a millisecond: tokio's paused clock would need
    // its test-util feature, which would make every test build compile the
    // dependency tree twice.
    #[tokio::test]
    async fn transient_errors_are_retried_and_auth_errors_are_not() {
        let p = RetryPolicy {
            base: Duration::from_micros(10),
            max_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let calls = AtomicU32::new(0);
        let (r, a) = retry(&p, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(throttled(Some(1)))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!((r, a), (Ok(7), Attempts { attempts: 3, throttled: 2 }));

        let (r, a) = retry(&p, || async {
            Err::<(), _>(VendorError::Unauthorized { service: "t", operation: "op", status: 401 })
        })
        .await;
        assert!(r.is_err());
        assert_eq!(a.attempts, 1, "a 401 is an answer, not an outage");

        let (r, a) = retry(&p, || async { Err::<(), _>(throttled(None)) }).await;
        assert!(r.is_err());
        assert_eq!(a.attempts, p.attempts, "bounded");
    }
}
