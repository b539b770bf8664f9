//! The verifier's answer: the problems it found, by kind, and the notes on
//! what it could not prove.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// What kind of problem, for scripts (`--format json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The export's files: missing, altered, truncated, unreadable lines.
    File,
    /// An item that is not a well-formed audit event or digest.
    Malformed,
    /// An event whose content does not match its hash.
    Edited,
    /// Sequence numbers absent from a chain.
    Missing,
    /// A sequence number present more than once.
    Duplicate,
    /// An event whose `prev_hash` is not its predecessor's hash.
    BrokenLink,
    /// A digest names a later head than the export holds.
    MissingNewest,
    /// A digest names a head whose hash differs from the export's.
    Rewritten,
    /// A digest whose signature does not verify, or signed by another key.
    ForgedDigest,
    /// Nothing anchors the export's events up to where it must: no digest at
    /// all, or none as recent as [`Options::anchored_until`](super::Options::anchored_until).
    Unanchored,
    /// A chain no digest names, with events dated before a digest that would
    /// have named it.
    Fabricated,
    /// An event after the head a digest names for its chain, but dated
    /// before that digest was made.
    Backdated,
    /// A digest signed by a key outside the validity it was given (after its
    /// retirement, before it was made), or by a key after its successor
    /// took over: a retired key must never sign again.
    RetiredKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// File and line, where one item is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    pub what: String,
}

impl Problem {
    /// A problem of the export as a whole; `with_*` say where it is.
    pub fn new(kind: Kind, what: impl Into<String>) -> Self {
        Self { kind, connector: None, seq: None, place: None, what: what.into() }
    }

    /// In this connector's chain (or the digests', `#digest`).
    pub fn with_connector(mut self, connector: impl Into<String>) -> Self {
        self.connector = Some(connector.into());
        self
    }

    pub fn with_seq(mut self, seq: u64) -> Self {
        self.seq = Some(seq);
        self
    }

    /// The file and line (or the file) at fault.
    pub fn with_place(mut self, place: impl ToString) -> Self {
        self.place = Some(place.to_string());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.connector, self.seq) {
            (Some(c), Some(s)) => write!(f, "{c} seq {s}: ")?,
            (Some(c), None) => write!(f, "{c}: ")?,
            _ => {}
        }
        f.write_str(&self.what)?;
        if let Some(p) = &self.place {
            write!(f, " ({p})")?;
        }
        Ok(())
    }
}

/// The verifier's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub export_time: String,
    pub items: u64,
    pub events: u64,
    pub digests: u64,
    pub connectors: usize,
    /// The key of the newest digest that verified (hex), or the key given.
    pub digest_key: Option<String>,
    /// Every key that signed a digest that verified, in digest order (more
    /// than one after a key rotation).
    pub digest_keys: Vec<String>,
    /// Whether the keys were given by the caller (pinned) or taken from the digests.
    pub key_pinned: bool,
    pub newest_digest_day: Option<String>,
    /// Up to when the verified digests anchor every chain (RFC 3339): the
    /// signing time of a `full` digest, the end of a `day` digest's day.
    pub anchored_through: Option<String>,
    /// Events newer than every digest (not anchored), and their chains.
    pub unanchored_events: u64,
    pub unanchored_chains: usize,
    pub problems: Vec<Problem>,
    /// Not failures, but limits of what could be proven.
    pub notes: Vec<String>,
}

impl Verification {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// In a stable order (connector, seq, place), each once.
pub(super) fn sort(problems: &mut Vec<Problem>) {
    problems.sort_by(|a, b| (&a.connector, a.seq, &a.place).cmp(&(&b.connector, b.seq, &b.place)));
    problems.dedup();
}

/// What `v` could not prove: who signed the digests (no key pinned), and
/// how far the digests anchor the chains.
pub(super) fn notes(v: &Verification) -> Vec<String> {
    let mut notes = Vec::new();
    if v.digests > 0 && !v.key_pinned {
        let named =
            if v.digest_keys.is_empty() { v.digest_key.clone().into_iter().collect() } else { v.digest_keys.clone() };
        notes.push(format!(
            "digests checked against the key they name ({}); pass --public-key (from `keyturn audit public-key`) to prove who signed them",
            named.join(", ")
        ));
    }
    if let Some(t) = &v.anchored_through {
        if v.unanchored_events > 0 {
            notes.push(format!(
                "unanchored since {t}: {} newer event(s) in {} chain(s) are chained but in no digest, so their removal or rewriting would go unnoticed (`keyturn audit anchor --full` before exporting anchors them; --require-anchored-until refuses an export anchored less far)",
                v.unanchored_events, v.unanchored_chains
            ));
        } else {
            notes.push(format!("every event is anchored by a signed digest (anchored through {t})"));
        }
    }
    notes
}

/// Counts per connector for a summary line (`keyturn audit verify` prints it).
pub fn summary_line(v: &Verification) -> String {
    format!(
        "{} items: {} events in {} chains, {} digests (export of {})",
        v.items, v.events, v.connectors, v.digests, v.export_time
    )
}

/// The chains a test expects to be intact or broken, by problem kind.
pub fn kinds(v: &Verification) -> BTreeMap<Kind, usize> {
    let mut m = BTreeMap::new();
    for p in &v.problems {
        *m.entry(p.kind).or_insert(0) += 1;
    }
    m
}
