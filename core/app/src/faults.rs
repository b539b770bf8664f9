//! One-shot crash points for the crash-recovery tests (local stack only).
//!
//! A rotation step is safe to retry only if every side effect it makes can be
//! found again by the next attempt. The e2e tests prove that by "killing" a
//! step right after a side effect and letting Step Functions retry it: the
//! test drops an empty file `<point>@<connector>` into `KEYTURN_CRASH_DIR`;
//! the step that reaches that point consumes the file (so only the first
//! attempt crashes) and fails with `Runtime.ExitError`, the error name Lambda
//! gives a runtime that died mid-invocation. A file holding a number `n`
//! crashes the next `n` attempts (a step that dies every time it is retried).
//!
//! Inert unless `KEYTURN_CRASH_DIR` is set *and* `AWS_ENDPOINT_URL` points at
//! loopback (the local stack): a deployed function never reads the directory.

use std::path::PathBuf;
use std::sync::OnceLock;

use keyturn_domain::ConnectorId;

/// Where a step can be stopped, right after the side effect it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// rotate: the new key is stored as `AWSPENDING` (`PutSecretValue`).
    PutSecret,
    /// rotate: the identity provider holds the new key.
    IdpPush,
    /// verify: the `verified` audit event is written.
    AuditWrite,
    /// finalize: `AWSCURRENT` moved (`UpdateSecretVersionStage`).
    StageUpdate,
    /// rollback: before it does anything.
    RollbackStart,
}

impl CrashPoint {
    pub const ALL: [CrashPoint; 4] = [Self::PutSecret, Self::IdpPush, Self::AuditWrite, Self::StageUpdate];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PutSecret => "put_secret",
            Self::IdpPush => "idp_push",
            Self::AuditWrite => "audit_write",
            Self::StageUpdate => "stage_update",
            Self::RollbackStart => "rollback_start",
        }
    }
}

/// The file that arms `point` for `connector` (path-safe: `/` becomes `_`).
pub fn file_name(point: CrashPoint, connector: &str) -> String {
    format!("{}@{}", point.as_str(), connector.replace(['/', '\\'], "_"))
}

/// A simulated crash: the step stopped right after a side effect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("simulated crash after {point} (local crash-recovery test)")]
pub struct Crashed {
    pub point: &'static str,
}

fn dir() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        // Only on the local stack (the outbound policy's loopback allowance).
        let local = keyturn_domain::destination::Outbound::from_lookup(|k| std::env::var(k).ok()).0.allow_loopback;
        std::env::var_os("KEYTURN_CRASH_DIR").filter(|_| local).map(PathBuf::from)
    })
    .as_ref()
}

/// Fails if a test armed `point` for `connector` (once, or as many times as
/// the file says); otherwise does nothing.
pub fn crash_after(point: CrashPoint, connector: &ConnectorId) -> Result<(), Crashed> {
    let Some(dir) = dir() else { return Ok(()) };
    let file = dir.join(file_name(point, connector.as_str()));
    let times: u32 = std::fs::read_to_string(&file).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(1);
    if times > 1 {
        // Rewritten by the one attempt running: a retry only starts after it.
        return match std::fs::write(&file, (times - 1).to_string()) {
            Ok(()) => {
                tracing::warn!(point = point.as_str(), left = times - 1, "simulated crash");
                Err(Crashed { point: point.as_str() })
            }
            Err(_) => Ok(()),
        };
    }
    // remove_file succeeds for exactly one caller: the crash happens once.
    match std::fs::remove_file(&file) {
        Ok(()) => {
            tracing::warn!(point = point.as_str(), "simulated crash");
            Err(Crashed { point: point.as_str() })
        }
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_path_safe_and_name_the_point() {
        assert_eq!(file_name(CrashPoint::IdpPush, "e2e/x/k1"), "idp_push@e2e_x_k1");
        assert_eq!(CrashPoint::ALL.map(|p| p.as_str()).len(), 4);
        assert_eq!(CrashPoint::RollbackStart.as_str(), "rollback_start");
    }
}
