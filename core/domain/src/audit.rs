//! Audit events and their per-connector hash chain.
//!
//! Every event of a connector carries `seq` (1, 2, 3, …), `prev_hash` (the
//! previous event's `hash`, or 64 zeros for the first) and
//! `hash = hex(SHA-256(canonical encoding of every other field))`.
//! Editing, dropping or reordering an event breaks the chain at that point.
//!
//! Canonical encoding: one JSON object with the keys sorted by byte order, no
//! insignificant whitespace, absent optional fields omitted, `seq` a JSON
//! integer, every other value a string (and `detail` an object of strings).
//! It is built from ordered maps here, never from struct field order, so a
//! serde feature elsewhere in the build cannot change it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::timefmt::format_utc;
use super::{ChangeId, ConnectorId};

/// The `prev_hash` of the first event in a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened. Names are stable: auditors query them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Detected,
    Invalid,
    ApprovalRequested,
    /// One approver's vote, before the change is decided (N-of-M).
    VoteRecorded,
    /// A link that was authentic but could not be used: expired, wrong
    /// approver, change no longer open.
    ApprovalRefused,
    Approved,
    Rejected,
    Expired,
    RotationStarted,
    PendingStored,
    IdpUpdated,
    Verified,
    Finalized,
    VerificationFailed,
    /// A rotation step failed for another reason (throttled or unavailable
    /// past every retry, the identity provider refused, a crash): what
    /// rollback starts from.
    RotationFailed,
    RolledBack,
    NeedsManualIntervention,
    Notified,
    Imported,
    /// The owner was asked for a key only the vendor console can make.
    KeyRequested,
    /// A key the owner pasted was refused by the vendor; nothing was stored
    /// and the hand-over stays open.
    KeyRefused,
    /// A stale `AWSPENDING` from an earlier, unfinished rotation was removed.
    PendingRepaired,
    /// Rollback could not put everything back; a human was told.
    RollbackFailed,
    /// A human fixed what a rollback left and cleared `needs_manual_intervention`.
    Resolved,
    /// The scanner unwedged a connector whose change's execution had ended
    /// (or never ran) while it was still marked `rotating` or held.
    Repaired,
    /// Approvers were reminded of a change still waiting for them (fresh
    /// links); at the last mark the escalation contacts were told too.
    Reminded,
    /// The old key of a finished rotation was revoked at the vendor once its
    /// overlap (the record's `overlap`) ended.
    OldKeyRetired,
    /// The old key could not be revoked after its overlap: it is still live
    /// at the vendor, named, and on-call was told.
    RetireFailed,
    /// One of keyturn's own signing keys was replaced (on its chain
    /// `keyturn/link-signing-key` or `keyturn/audit-signing-key`): key ids
    /// and public keys only, never key material.
    KeyRotated,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Detected => "detected",
            Self::Invalid => "invalid",
            Self::ApprovalRequested => "approval_requested",
            Self::VoteRecorded => "vote_recorded",
            Self::ApprovalRefused => "approval_refused",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::RotationStarted => "rotation_started",
            Self::PendingStored => "pending_stored",
            Self::IdpUpdated => "idp_updated",
            Self::Verified => "verified",
            Self::Finalized => "finalized",
            Self::VerificationFailed => "verification_failed",
            Self::RotationFailed => "rotation_failed",
            Self::RolledBack => "rolled_back",
            Self::NeedsManualIntervention => "needs_manual_intervention",
            Self::Notified => "notified",
            Self::Imported => "imported",
            Self::KeyRequested => "key_requested",
            Self::KeyRefused => "key_refused",
            Self::PendingRepaired => "pending_repaired",
            Self::RollbackFailed => "rollback_failed",
            Self::Resolved => "resolved",
            Self::Repaired => "repaired",
            Self::Reminded => "reminded",
            Self::OldKeyRetired => "old_key_retired",
            Self::RetireFailed => "retire_failed",
            Self::KeyRotated => "key_rotated",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event before it is placed in its chain. Holds ids, version ids and
/// fingerprints only — never key material (the types offer no field for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent {
    pub connector_id: ConnectorId,
    pub event: EventKind,
    pub at: OffsetDateTime,
    /// Who did it: `scanner`, `approver:alice@example.com`, `cli:<user>`, ….
    pub actor: String,
    pub change_id: Option<ChangeId>,
    pub execution_arn: Option<String>,
    pub correlation_id: Option<String>,
    pub detail: BTreeMap<String, String>,
    /// At most one such event per (connector, change, kind, actor): see [`NewAuditEvent::once`].
    pub once: bool,
}

impl NewAuditEvent {
    pub fn new(connector_id: ConnectorId, event: EventKind, at: OffsetDateTime, actor: impl Into<String>) -> Self {
        Self {
            connector_id,
            event,
            at,
            actor: actor.into(),
            change_id: None,
            execution_arn: None,
            correlation_id: None,
            detail: BTreeMap::new(),
            once: false,
        }
    }

    /// Marks a step's event: a retried step (Lambda or Step Functions retry,
    /// or a crash after the write) finds the event its earlier attempt wrote
    /// and the store returns that one instead of appending a duplicate.
    pub fn once(mut self) -> Self {
        self.once = true;
        self
    }

    pub fn change(mut self, id: &ChangeId) -> Self {
        self.change_id = Some(id.clone());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }

    /// Places the event after `head` (the chain's last event, if any).
    pub fn seal(self, head: Option<&ChainHead>) -> AuditEvent {
        let (seq, prev_hash) = match head {
            Some(h) => (h.seq + 1, h.hash.clone()),
            None => (1, GENESIS_HASH.to_owned()),
        };
        let mut ev = AuditEvent {
            connector_id: self.connector_id,
            seq,
            at: format_utc(self.at),
            event: self.event.as_str().to_owned(),
            actor: self.actor,
            change_id: self.change_id.map(|c| c.to_string()),
            execution_arn: self.execution_arn,
            correlation_id: self.correlation_id,
            detail: self.detail,
            prev_hash,
            hash: String::new(),
        };
        ev.hash = ev.compute_hash();
        ev
    }
}

/// The last link of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

/// An event as stored. `event` is kept as the stored string so a verifier
/// reading an export checks exactly what is there, even kinds it does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub connector_id: ConnectorId,
    pub seq: u64,
    pub at: String,
    pub event: String,
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default)]
    pub detail: BTreeMap<String, String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Canon<'a> {
    Str(&'a str),
    Num(u64),
    Map(&'a BTreeMap<String, String>),
}

impl AuditEvent {
    /// The bytes that `hash` covers: every field but `hash` (see module docs).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut m: BTreeMap<&str, Canon<'_>> = BTreeMap::new();
        m.insert("connector_id", Canon::Str(self.connector_id.as_str()));
        m.insert("seq", Canon::Num(self.seq));
        m.insert("at", Canon::Str(&self.at));
        m.insert("event", Canon::Str(&self.event));
        m.insert("actor", Canon::Str(&self.actor));
        for (k, v) in [
            ("change_id", &self.change_id),
            ("execution_arn", &self.execution_arn),
            ("correlation_id", &self.correlation_id),
        ] {
            if let Some(v) = v {
                m.insert(k, Canon::Str(v));
            }
        }
        m.insert("detail", Canon::Map(&self.detail));
        m.insert("prev_hash", Canon::Str(&self.prev_hash));
        // Serialising ordered maps of strings and integers cannot fail.
        serde_json::to_vec(&m).unwrap_or_default()
    }

    pub fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_bytes()))
    }

    pub fn head(&self) -> ChainHead {
        ChainHead { seq: self.seq, hash: self.hash.clone() }
    }
}

/// What is wrong at one point of a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainProblem {
    #[error("seq {seq}: content does not match its hash (edited)")]
    Edited { seq: u64 },
    #[error("seq {seq}: expected seq {expected} (missing or reordered events)")]
    Gap { seq: u64, expected: u64 },
    #[error("seq {seq}: prev_hash does not match the hash of seq {prev} (an event before it was removed, replaced or reordered)")]
    BrokenLink { seq: u64, prev: u64 },
}

/// Checks one event against its predecessor in the same chain (`None` for the
/// first). Returns every problem found at this event.
pub fn check_link(prev: Option<&AuditEvent>, ev: &AuditEvent) -> Vec<ChainProblem> {
    let mut problems = Vec::new();
    if ev.compute_hash() != ev.hash {
        problems.push(ChainProblem::Edited { seq: ev.seq });
    }
    let expected = prev.map_or(1, |p| p.seq + 1);
    if ev.seq != expected {
        problems.push(ChainProblem::Gap { seq: ev.seq, expected });
    }
    let want_prev = prev.map_or(GENESIS_HASH, |p| p.hash.as_str());
    if ev.prev_hash != want_prev {
        problems.push(ChainProblem::BrokenLink { seq: ev.seq, prev: prev.map_or(0, |p| p.seq) });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn chain(n: usize) -> Vec<AuditEvent> {
        let id = ConnectorId::parse("atlassian/acme/entra").unwrap();
        let mut out: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let ev = NewAuditEvent::new(id.clone(), EventKind::Detected, datetime!(2026-11-24 06:00 UTC), "scanner")
                .change(&ChangeId::from_trusted(format!("chg-{i}")))
                .detail("days_left", i.to_string())
                .seal(out.last().map(AuditEvent::head).as_ref());
            out.push(ev);
        }
        out
    }

    fn problems(events: &[AuditEvent]) -> Vec<ChainProblem> {
        let mut prev: Option<&AuditEvent> = None;
        let mut all = Vec::new();
        for ev in events {
            all.extend(check_link(prev, ev));
            prev = Some(ev);
        }
        all
    }

    #[test]
    fn canonical_encoding_is_sorted_compact_json() {
        let ev = &chain(1)[0];
        let text = String::from_utf8(ev.canonical_bytes()).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"actor":"scanner","at":"2026-11-24T06:00:00Z","change_id":"chg-0","connector_id":"atlassian/acme/entra","detail":{{"days_left":"0"}},"event":"detected","prev_hash":"{GENESIS_HASH}","seq":1}}"#
            )
        );
        assert_eq!(ev.hash, hex::encode(Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn an_intact_chain_has_no_problems() {
        assert!(problems(&chain(5)).is_empty());
    }

    #[test]
    fn removal_and_swaps_are_named() {
        let mut c = chain(4);
        c.remove(1);
        assert!(problems(&c).contains(&ChainProblem::Gap { seq: 3, expected: 2 }));
        let mut c = chain(4);
        c.swap(1, 2);
        assert!(problems(&c).contains(&ChainProblem::BrokenLink { seq: 3, prev: 1 }));
    }

    proptest! {
        #[test]
        fn any_single_field_edit_is_detected(len in 1usize..8, at in 0usize..8, field in 0usize..6, junk in "[a-z0-9]{1,8}") {
            let mut c = chain(len);
            let i = at % len;
            let ev = &mut c[i];
            match field {
                0 => ev.actor.push_str(&junk),
                1 => ev.at.push_str(&junk),
                2 => ev.event.push_str(&junk),
                3 => { ev.detail.insert(junk.clone(), junk.clone()); }
                4 => ev.change_id = Some(junk.clone()),
                _ => ev.seq += 1 + junk.len() as u64,
            }
            prop_assert!(!problems(&c).is_empty());
        }
    }
}
