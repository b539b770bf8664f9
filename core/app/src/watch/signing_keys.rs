//! keyturn's own signing keys on their schedule: the daily run rotates the
//! link-signing key and the audit-signing key once each is older than its
//! maximum age (see [`keyturn_domain::signing_keys`]), and records each
//! rotation in the key's own audit chain: key ids and public keys, never key
//! material. `keyturn links rotate-key` and `keyturn audit rotate-key` do
//! the same by hand.

use time::OffsetDateTime;

use crate::ports::{AuditKeys, AuditLog, SigningKeys, StoreError};
use keyturn_domain::signing_keys::{KeyPurpose, KeyStatus, RotationPolicy, AUDIT_KEY_MAX_AGE, LINK_KEY_MAX_AGE};
pub use keyturn_domain::signing_keys::{KeyRotationReport, RotatedKey};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{EventKind, NewAuditEvent};

/// The maximum age of each signing key (`KEYTURN_SIGNING_KEY_MAX_AGE`,
/// `KEYTURN_AUDIT_KEY_MAX_AGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySchedule {
    pub link: RotationPolicy,
    pub audit: RotationPolicy,
}

impl Default for KeySchedule {
    fn default() -> Self {
        Self {
            link: RotationPolicy { max_age: LINK_KEY_MAX_AGE },
            audit: RotationPolicy { max_age: AUDIT_KEY_MAX_AGE },
        }
    }
}

impl From<&crate::config::Config> for KeySchedule {
    fn from(cfg: &crate::config::Config) -> Self {
        Self {
            link: RotationPolicy { max_age: cfg.approval.signing_key_max_age },
            audit: RotationPolicy { max_age: cfg.audit_key_max_age },
        }
    }
}

async fn record<L: AuditLog>(
    log: &L,
    purpose: KeyPurpose,
    actor: &str,
    reason: &str,
    previous: &str,
    current: &str,
    now: OffsetDateTime,
) -> Option<String> {
    let ev = NewAuditEvent::new(purpose.chain(), EventKind::KeyRotated, now, actor)
        .detail("purpose", purpose.as_str())
        .detail("previous_key_id", previous)
        .detail("key_id", current)
        .detail("reason", reason);
    match log.append(ev).await {
        Ok(_) => None,
        Err(e) => {
            tracing::error!(error = %e, purpose = %purpose, "signing key rotated but its audit event was not written");
            Some(e.to_string())
        }
    }
}

/// Makes a new link-signing key current; links signed with the one it
/// replaces keep verifying (it becomes the previous key). `actor` and
/// `reason` go into the audit event.
pub async fn rotate_link_key<K: SigningKeys, L: AuditLog>(
    keys: &K,
    log: &L,
    actor: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<RotatedKey, StoreError> {
    let previous = keys.current_key().await?.id;
    let current = keys.rotate(now).await?.id;
    let audit_error = record(log, KeyPurpose::LinkSigning, actor, reason, &previous, &current, now).await;
    tracing::info!(previous = %previous, current = %current, "link-signing key rotated");
    Ok(RotatedKey { purpose: KeyPurpose::LinkSigning, previous, current, audit_error })
}

/// Makes a new audit-signing key current; the one it replaces is retired
/// now and stays published (old digests keep verifying under it).
pub async fn rotate_audit_key<K: AuditKeys, L: AuditLog>(
    keys: &K,
    log: &L,
    actor: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<RotatedKey, StoreError> {
    let previous = keys.signer().await?.public_key_hex();
    let current = keys.rotate(now).await?.public_key;
    let audit_error = record(log, KeyPurpose::AuditSigning, actor, reason, &previous, &current, now).await;
    tracing::info!(previous = %previous, current = %current, "audit-signing key rotated");
    Ok(RotatedKey { purpose: KeyPurpose::AuditSigning, previous, current, audit_error })
}

fn scheduled(policy: &RotationPolicy, created_at: OffsetDateTime) -> String {
    format!("scheduled: made {}, older than {} d", format_utc(created_at), policy.max_age.whole_days())
}

/// The daily run: rotates each signing key that is due at `now`. A key that
/// cannot be read or rotated is reported, and the other is still handled.
pub async fn rotate_due_keys<K: SigningKeys, D: AuditKeys, L: AuditLog>(
    links: &K,
    audit_keys: &D,
    log: &L,
    schedule: &KeySchedule,
    now: OffsetDateTime,
) -> KeyRotationReport {
    let mut out = KeyRotationReport::default();
    let actor = crate::scanner::ACTOR;
    match links.current_key().await {
        Ok(k) if schedule.link.due(k.created_at, now) => {
            match rotate_link_key(links, log, actor, &scheduled(&schedule.link, k.created_at), now).await {
                Ok(r) => out.rotated.push(r),
                Err(e) => out.errors.push(format!(
                    "link-signing key (due since {}): {e}",
                    format_utc(schedule.link.rotate_by(k.created_at))
                )),
            }
        }
        Ok(_) => {}
        Err(e) => out.errors.push(format!("link-signing key: {e}")),
    }
    match audit_keys.published().await.map(|p| p.last().map(|k| k.created_at)) {
        Ok(Some(created)) if schedule.audit.due(created, now) => {
            match rotate_audit_key(audit_keys, log, actor, &scheduled(&schedule.audit, created), now).await {
                Ok(r) => out.rotated.push(r),
                Err(e) => out.errors.push(format!(
                    "audit-signing key (due since {}): {e}",
                    format_utc(schedule.audit.rotate_by(created))
                )),
            }
        }
        Ok(_) => {}
        Err(e) => out.errors.push(format!("audit-signing key: {e}")),
    }
    out.errors.extend(out.rotated.iter().filter_map(|r| {
        r.audit_error.as_ref().map(|e| format!("{} key rotated, audit event not written: {e}", r.purpose))
    }));
    out
}

/// Each current signing key's id, when it was made and when the schedule
/// rotates it: for `keyturn status`, which lists keyturn's own credentials.
pub async fn signing_key_status<K: SigningKeys, D: AuditKeys>(
    links: &K,
    audit_keys: &D,
    schedule: &KeySchedule,
) -> Result<Vec<KeyStatus>, StoreError> {
    let link = links.current_key().await?;
    let mut out = vec![KeyStatus {
        purpose: KeyPurpose::LinkSigning,
        rotate_by: schedule.link.rotate_by(link.created_at),
        id: link.id,
        created_at: link.created_at,
    }];
    if let Some(audit) = audit_keys.published().await?.pop() {
        out.push(KeyStatus {
            purpose: KeyPurpose::AuditSigning,
            rotate_by: schedule.audit.rotate_by(audit.created_at),
            id: audit.public_key,
            created_at: audit.created_at,
        });
    }
    Ok(out)
}
