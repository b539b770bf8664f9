//! Verifies every chain and digest of an export, in two streaming passes.
//!
//! Exports are unordered, so a chain cannot be walked as it is read. Pass 1
//! instead keeps a few numbers per chain (memory grows with the number of
//! connectors, not of events): the count, the highest `seq` and its hash,
//! and three keyed sums (SipHash, random keys per run, 128 bits):
//!
//! - over `seq` of every event — equal to the sum over `1..=max` exactly when
//!   (with count = max) every sequence number is there once;
//! - over `(seq, hash)` of every event ("links offered"), and
//! - over `(seq - 1, prev_hash)` of every event after the first ("links used").
//!
//! A chain is intact exactly when its numbers cover `1..=max`, the first
//! event starts from the genesis hash, every event's hash matches its content,
//! and the links offered minus the head's equal the links used. Only chains
//! that fail (and digest claims that need an older event) are read again in
//! pass 2, to say precisely what is wrong: which `seq` is missing, doubled,
//! edited or linked to the wrong predecessor.
//!
//! Digests are checked as they stream by (hash, Ed25519 signature, their own
//! chain); for each connector the highest head any digest names must be in
//! the export with that exact hash, which catches dropped newest events and
//! chains rewritten with recomputed hashes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};

use serde::Serialize;

use super::digest::{parse_public_key, Digest, DIGEST_PK};
use super::export::{Export, FileProblem, Place};
use super::{entry, Entry};
use crate::domain::GENESIS_HASH;

/// How many of the newest events per chain pass 1 remembers, so digest
/// claims a little behind the head need no second pass.
const RECENT: usize = 8;

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
    /// The key the digests were checked against, hex.
    pub digest_key: Option<String>,
    /// Whether that key was given by the caller (pinned) or taken from the digests.
    pub key_pinned: bool,
    pub newest_digest_day: Option<String>,
    pub problems: Vec<Problem>,
    /// Not failures, but limits of what could be proven.
    pub notes: Vec<String>,
}

impl Verification {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The digest signer's public key (hex) as the auditor received it from
    /// keyturn's operators (`keyturn audit public-key`). Without it, digests
    /// are checked against the key they name, which proves consistency, not
    /// authenticity.
    pub public_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("--public-key {0}")]
    PublicKey(String),
}

/// 128-bit keyed hash for the order-free sums.
struct Sums(RandomState, RandomState);

impl Sums {
    fn new() -> Self {
        Self(RandomState::new(), RandomState::new())
    }

    fn of(&self, seq: u64, hash: Option<&Hash32>) -> u128 {
        let (mut a, mut b) = (self.0.build_hasher(), self.1.build_hasher());
        for h in [&mut a, &mut b] {
            h.write_u64(seq);
            if let Some(x) = hash {
                h.write(x);
            }
        }
        (u128::from(a.finish()) << 64) | u128::from(b.finish())
    }
}

/// A hash as 32 bytes (a malformed one as the SHA-256 of its text, which
/// keeps it distinct): no allocation per event.
type Hash32 = [u8; 32];

fn hash32(s: &str) -> Hash32 {
    let mut out = [0u8; 32];
    if s.len() == 64 && hex::decode_to_slice(s, &mut out).is_ok() {
        return out;
    }
    <sha2::Sha256 as sha2::Digest>::digest(s.as_bytes()).into()
}

#[derive(Default)]
struct Chain {
    count: u64,
    max_seq: u64,
    head: Hash32,
    seq_sum: u128,
    offered: u128,
    used: u128,
    bad_genesis: bool,
    edited: bool,
    /// The newest events seen: (seq, hash), at most RECENT.
    recent: Vec<(u64, Hash32)>,
}

impl Chain {
    fn add(&mut self, sums: &Sums, seq: u64, hash: &str, prev_hash: &str) {
        let h = hash32(hash);
        self.count += 1;
        self.seq_sum = self.seq_sum.wrapping_add(sums.of(seq, None));
        self.offered = self.offered.wrapping_add(sums.of(seq, Some(&h)));
        if seq <= 1 {
            self.bad_genesis |= prev_hash != GENESIS_HASH;
        } else {
            self.used = self.used.wrapping_add(sums.of(seq - 1, Some(&hash32(prev_hash))));
        }
        if seq > self.max_seq || self.count == 1 {
            self.max_seq = seq;
            self.head = h;
        }
        if self.recent.len() < RECENT {
            self.recent.push((seq, h));
        } else if let Some(min) = self.recent.iter_mut().min_by_key(|(s, _)| *s).filter(|(s, _)| *s < seq) {
            *min = (seq, h);
        }
    }

    fn merge(&mut self, other: Chain) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 || other.max_seq > self.max_seq {
            self.max_seq = other.max_seq;
            self.head = other.head;
        }
        self.count += other.count;
        self.seq_sum = self.seq_sum.wrapping_add(other.seq_sum);
        self.offered = self.offered.wrapping_add(other.offered);
        self.used = self.used.wrapping_add(other.used);
        self.bad_genesis |= other.bad_genesis;
        self.edited |= other.edited;
        self.recent.extend(other.recent);
        self.recent.sort_by_key(|r| std::cmp::Reverse(r.0));
        self.recent.truncate(RECENT);
    }

    fn intact(&self, sums: &Sums) -> bool {
        if self.edited || self.bad_genesis || self.count != self.max_seq {
            return false;
        }
        let expected = (1..=self.max_seq).fold(0u128, |acc, s| acc.wrapping_add(sums.of(s, None)));
        expected == self.seq_sum && self.offered.wrapping_sub(sums.of(self.max_seq, Some(&self.head))) == self.used
    }
}

/// The highest head any digest names for a connector.
struct Claim {
    seq: u64,
    hash: String,
    digest_seq: u64,
    day: String,
}

/// What pass 1 learns from a share of the data files; shares add up.
#[derive(Default)]
struct Pass1 {
    chains: HashMap<String, Chain>,
    claims: HashMap<String, Claim>,
    problems: Vec<Problem>,
    file_problems: Vec<FileProblem>,
    items: u64,
    events: u64,
    digests: u64,
    lines: u64,
    /// (seq, day, signed at) of the newest digest.
    newest_digest: Option<(u64, String, String)>,
    /// Public keys the digests name (checked when no key is pinned).
    signers: BTreeSet<String>,
}

impl Pass1 {
    fn item(
        &mut self,
        place: &Place,
        item: Result<super::export::Item, String>,
        sums: &Sums,
        pinned: Option<ed25519_dalek::VerifyingKey>,
    ) {
        self.items += 1;
        match item.and_then(entry) {
            Err(what) => self.problems.push(Problem {
                kind: Kind::Malformed,
                connector: None,
                seq: None,
                place: Some(place.to_string()),
                what,
            }),
            Ok(Entry::Event(ev)) => {
                self.events += 1;
                let chain = self.chains.entry(ev.connector_id.as_str().to_owned()).or_default();
                if ev.compute_hash() != ev.hash {
                    chain.edited = true;
                    self.problems.push(Problem {
                        kind: Kind::Edited,
                        connector: Some(ev.connector_id.to_string()),
                        seq: Some(ev.seq),
                        place: Some(place.to_string()),
                        what: "content does not match its hash (edited)".into(),
                    });
                }
                chain.add(sums, ev.seq, &ev.hash, &ev.prev_hash);
            }
            Ok(Entry::Digest(d)) => {
                self.digests += 1;
                check_digest(&d, place, pinned, &mut self.signers, &mut self.problems);
                let chain = self.chains.entry(DIGEST_PK.to_owned()).or_default();
                if d.compute_hash() != d.hash {
                    chain.edited = true;
                }
                chain.add(sums, d.seq, &d.hash, &d.prev_hash);
                if self.newest_digest.as_ref().is_none_or(|(s, ..)| d.seq > *s) {
                    self.newest_digest = Some((d.seq, d.day.clone(), d.at.clone()));
                }
                for (conn, head) in d.heads {
                    let claim = Claim { seq: head.seq, hash: head.hash, digest_seq: d.seq, day: d.day.clone() };
                    add_claim(&mut self.claims, conn, claim);
                }
            }
        }
    }

    fn merge(&mut self, other: Pass1) {
        for (conn, c) in other.chains {
            self.chains.entry(conn).or_default().merge(c);
        }
        for (conn, claim) in other.claims {
            add_claim(&mut self.claims, conn, claim);
        }
        self.problems.extend(other.problems);
        self.file_problems.extend(other.file_problems);
        self.items += other.items;
        self.events += other.events;
        self.digests += other.digests;
        self.lines += other.lines;
        if let Some(n) = other.newest_digest {
            if self.newest_digest.as_ref().is_none_or(|(s, ..)| n.0 > *s) {
                self.newest_digest = Some(n);
            }
        }
        self.signers.extend(other.signers);
    }
}

fn add_claim(claims: &mut HashMap<String, Claim>, conn: String, claim: Claim) {
    if claims.get(&conn).is_none_or(|c| claim.seq > c.seq) {
        claims.insert(conn, claim);
    }
}

/// Verifies `export`. `progress` is called with the number of items read so far
/// (both passes count).
pub fn verify(export: &Export, options: &Options, mut progress: impl FnMut(u64)) -> Result<Verification, VerifyError> {
    let pinned = options.public_key.as_deref().map(parse_public_key).transpose().map_err(VerifyError::PublicKey)?;
    let sums = Sums::new();

    // Pass 1 over the data files in parallel: each thread folds its files into
    // its own numbers, and the numbers add up (they are sums, counts, maxima).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(export.files.len()).max(1);
    let read = std::sync::atomic::AtomicU64::new(0);
    let mut pass = Pass1::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (sums, read, pinned) = (&sums, &read, pinned);
                scope.spawn(move || {
                    let mut mine = Pass1::default();
                    let mut file_problems = Vec::new();
                    for f in export.files.iter().skip(t).step_by(threads) {
                        mine.lines += export.file_items(f, &mut file_problems, |place, item| {
                            mine.item(place, item, sums, pinned);
                            if mine.items.is_multiple_of(4096) {
                                read.fetch_add(4096, std::sync::atomic::Ordering::Relaxed);
                            }
                        });
                    }
                    mine.file_problems = file_problems;
                    mine
                })
            })
            .collect();
        while !workers.iter().all(|w| w.is_finished()) {
            progress(read.load(std::sync::atomic::Ordering::Relaxed));
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        for w in workers {
            // A worker only panics on a bug; report it as one rather than as a verdict.
            match w.join() {
                Ok(mine) => pass.merge(mine),
                Err(_) => pass.problems.push(Problem {
                    kind: Kind::File,
                    connector: None,
                    seq: None,
                    place: None,
                    what: "internal error while reading the export (a bug in keyturn; please report it)".into(),
                }),
            }
        }
    });
    let mut file_problems = export.manifest_problems.clone();
    file_problems.append(&mut pass.file_problems);
    export.check_total(pass.lines, &mut file_problems);
    let Pass1 { chains, claims, mut problems, items, events, digests, newest_digest, signers, .. } = pass;
    problems.extend(file_problems.into_iter().map(|p| Problem {
        kind: Kind::File,
        connector: None,
        seq: None,
        place: Some(p.place),
        what: p.what,
    }));
    let key = match pinned {
        Some(k) => Some(hex::encode(k.as_bytes())),
        None => {
            if signers.len() > 1 {
                problems.push(Problem {
                    kind: Kind::ForgedDigest,
                    connector: Some(DIGEST_PK.into()),
                    seq: None,
                    place: None,
                    what: format!(
                        "digests name {} different signers ({}): at most one is keyturn's",
                        signers.len(),
                        signers.iter().map(|s| short(s)).collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            signers.into_iter().next()
        }
    };

    let broken: HashSet<String> = chains.iter().filter(|(_, c)| !c.intact(&sums)).map(|(k, _)| k.clone()).collect();
    // Claims an event at a seq pass 1 did not keep: (connector, seq) → claim.
    let mut pending: HashMap<(String, u64), &Claim> = HashMap::new();
    for (conn, claim) in &claims {
        let at = |what: String, kind| Problem {
            kind,
            connector: Some(conn.clone()),
            seq: Some(claim.seq),
            place: None,
            what: format!("digest {} (day {}) {what}", claim.digest_seq, claim.day),
        };
        match chains.get(conn) {
            None => problems.push(at(
                "names this head, but the export holds no event of this connector".into(),
                Kind::MissingNewest,
            )),
            Some(c) if claim.seq > c.max_seq => problems.push(at(
                format!("names this head, but the export ends at seq {} (newest events removed)", c.max_seq),
                Kind::MissingNewest,
            )),
            Some(c) => match c.recent.iter().find(|(s, _)| *s == claim.seq) {
                Some((_, h)) if *h == hash32(&claim.hash) => {}
                Some(_) => problems.push(at(rewritten_text(), Kind::Rewritten)),
                None => {
                    pending.insert((conn.clone(), claim.seq), claim);
                }
            },
        }
    }

    if !broken.is_empty() || !pending.is_empty() {
        let mut collected: HashMap<String, Vec<(u64, String, String, Place)>> = HashMap::new();
        let mut seen_claims = HashSet::new();
        let mut ignore = Vec::new();
        let mut n = items;
        export.items(&mut ignore, |place, item| {
            n += 1;
            if n.is_multiple_of(4096) {
                progress(n);
            }
            let Ok(parsed) = item.and_then(entry) else { return };
            let (conn, seq, hash, prev) = match parsed {
                Entry::Event(ev) => (ev.connector_id.as_str().to_owned(), ev.seq, ev.hash, ev.prev_hash),
                Entry::Digest(d) => (DIGEST_PK.to_owned(), d.seq, d.hash, d.prev_hash),
            };
            if let Some(claim) = pending.get(&(conn.clone(), seq)) {
                seen_claims.insert((conn.clone(), seq));
                if claim.hash != hash {
                    problems.push(Problem {
                        kind: Kind::Rewritten,
                        connector: Some(conn.clone()),
                        seq: Some(seq),
                        place: Some(place.to_string()),
                        what: format!("digest {} (day {}) {}", claim.digest_seq, claim.day, rewritten_text()),
                    });
                }
            }
            if broken.contains(&conn) {
                collected.entry(conn).or_default().push((seq, hash, prev, place.clone()));
            }
        });
        for ((conn, seq), claim) in &pending {
            if !seen_claims.contains(&(conn.clone(), *seq)) {
                problems.push(Problem {
                    kind: Kind::MissingNewest,
                    connector: Some(conn.clone()),
                    seq: Some(*seq),
                    place: None,
                    what: format!(
                        "digest {} (day {}) names this event, but the export does not hold it",
                        claim.digest_seq, claim.day
                    ),
                });
            }
        }
        let mut names: Vec<_> = collected.into_iter().collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (conn, mut links) in names {
            links.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.3.to_string().cmp(&b.3.to_string())));
            diagnose(&conn, &links, &mut problems);
        }
    }
    progress(items);

    let mut notes = Vec::new();
    if digests == 0 {
        notes.push(
            "no digests in this export: chains are checked link by link, but removing the newest events of a chain would go unnoticed"
                .into(),
        );
    } else if pinned.is_none() {
        notes.push(format!(
            "digests checked against the key they name ({}); pass --public-key (from `keyturn audit public-key`) to prove who signed them",
            key.as_deref().unwrap_or_default()
        ));
    }
    if let Some((_, _, at)) = &newest_digest {
        notes
            .push(format!("events written after the newest digest was signed ({at}) are chained but not yet anchored"));
    }
    problems.sort_by(|a, b| (&a.connector, a.seq, &a.place).cmp(&(&b.connector, b.seq, &b.place)));
    problems.dedup();
    Ok(Verification {
        export_time: export.summary.export_time.clone(),
        items,
        events,
        digests,
        connectors: chains.keys().filter(|k| k.as_str() != DIGEST_PK).count(),
        digest_key: key,
        key_pinned: pinned.is_some(),
        newest_digest_day: newest_digest.map(|(_, d, _)| d),
        problems,
        notes,
    })
}

fn rewritten_text() -> String {
    "recorded a different hash for this event: the chain was rewritten (hashes recomputed after an edit, removal or reordering)"
        .into()
}

/// Checks a digest's hash and signature: under the pinned key, or (unpinned)
/// under the key it names, which is then recorded in `signers`.
fn check_digest(
    d: &Digest,
    place: &Place,
    pinned: Option<ed25519_dalek::VerifyingKey>,
    signers: &mut BTreeSet<String>,
    problems: &mut Vec<Problem>,
) {
    let forged = |what: String| Problem {
        kind: Kind::ForgedDigest,
        connector: Some(DIGEST_PK.into()),
        seq: Some(d.seq),
        place: Some(place.to_string()),
        what,
    };
    let key = match pinned {
        Some(k) => k,
        None => match parse_public_key(&d.public_key) {
            Ok(k) => {
                signers.insert(d.public_key.clone());
                k
            }
            Err(e) => return problems.push(forged(format!("public_key {e}"))),
        },
    };
    if hex::encode(key.as_bytes()) != d.public_key {
        problems.push(forged(format!("names signer {}, not the trusted key", short(&d.public_key))));
    }
    if let Err(e) = d.check(&key) {
        problems.push(forged(e.to_string()));
    }
}

fn short(h: &str) -> &str {
    h.get(..16).unwrap_or(h)
}

/// Says what is wrong with one chain, from its (seq, hash, prev_hash, place)
/// sorted by seq.
fn diagnose(conn: &str, links: &[(u64, String, String, Place)], problems: &mut Vec<Problem>) {
    let problem = |kind, seq: u64, place: Option<&Place>, what: String| Problem {
        kind,
        connector: Some(conn.to_owned()),
        seq: Some(seq),
        place: place.map(ToString::to_string),
        what,
    };
    let mut expected = 1u64;
    let mut prev: Option<&(u64, String, String, Place)> = None;
    for link in links {
        let (seq, _, prev_hash, place) = link;
        if let Some(p) = prev.filter(|p| p.0 == *seq) {
            problems.push(problem(Kind::Duplicate, *seq, Some(place), format!("appears twice (also at {})", p.3)));
            continue;
        }
        if *seq > expected {
            let what = if *seq == expected + 1 {
                format!("seq {expected} is missing")
            } else {
                format!("seqs {expected} to {} are missing", seq - 1)
            };
            problems.push(problem(Kind::Missing, expected, None, what));
        }
        let want = match prev {
            Some(p) if p.0 + 1 == *seq => Some(p.1.as_str()),
            None if *seq == 1 => Some(GENESIS_HASH),
            _ => None,
        };
        if want.is_some_and(|w| w != prev_hash) {
            let what = if *seq == 1 {
                "prev_hash is not the genesis hash".to_owned()
            } else {
                format!("prev_hash is not the hash of seq {} (an event before it was replaced or reordered)", seq - 1)
            };
            problems.push(problem(Kind::BrokenLink, *seq, Some(place), what));
        }
        expected = seq + 1;
        prev = Some(link);
    }
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

#[cfg(test)]
mod tests {
    use super::super::digest::{AuditSigner, Head, Scope};
    use super::super::export::{rewrite, Attr, ExportWriter, Item};
    use super::super::{digest_item, event_item};
    use super::*;
    use crate::domain::{AuditEvent, ConnectorId, EventKind, NewAuditEvent};
    use proptest::prelude::*;
    use std::path::Path;
    use time::macros::datetime;

    fn signer() -> AuditSigner {
        AuditSigner::from_hex_seed(&"42".repeat(32)).unwrap()
    }

    fn chain(conn: &str, n: u64) -> Vec<AuditEvent> {
        let id = ConnectorId::parse(conn).unwrap();
        let mut out: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let ev = NewAuditEvent::new(id.clone(), EventKind::Detected, datetime!(2026-11-24 06:00 UTC), "scanner")
                .detail("i", i.to_string())
                .seal(out.last().map(AuditEvent::head).as_ref());
            out.push(ev);
        }
        out
    }

    /// Two chains of `n`; a digest names both heads when `anchored`. Three
    /// items per data file, so the parallel pass has several files to share.
    fn export(dir: &Path, n: u64, anchored: bool) {
        let mut w =
            ExportWriter::create(dir, "e1", "arn:aws:dynamodb:us-east-1:1:table/keyturn-audit", "2026-11-25T07:00:00Z")
                .unwrap()
                .items_per_file(3);
        let mut heads = BTreeMap::new();
        for conn in ["acme/scim", "globex/api"] {
            let c = chain(conn, n);
            heads.insert(conn.to_owned(), Head { seq: n, hash: c[c.len() - 1].hash.clone() });
            for ev in c.iter().rev() {
                w.write(&event_item(ev)).unwrap();
            }
        }
        if anchored {
            let d = signer().sign(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", heads);
            w.write(&digest_item(&d)).unwrap();
        }
        w.finish().unwrap();
    }

    fn run(dir: &Path, pinned: bool) -> Verification {
        let e = Export::open(dir).unwrap();
        let options = Options { public_key: pinned.then(|| signer().public_key_hex()) };
        verify(&e, &options, |_| {}).unwrap()
    }

    fn s(item: &Item, k: &str) -> String {
        match item.get(k) {
            Some(Attr::S(v)) | Some(Attr::N(v)) => v.clone(),
            _ => String::new(),
        }
    }

    fn is(item: &Item, conn: &str, seq: u64) -> bool {
        s(item, "connector_id") == conn && s(item, "seq") == seq.to_string()
    }

    #[test]
    fn an_intact_export_verifies() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 5, true);
        let v = run(tmp.path(), true);
        assert!(v.intact(), "{:?}", v.problems);
        assert_eq!((v.items, v.events, v.digests, v.connectors), (11, 10, 1, 2));
        assert!(v.key_pinned);
    }

    #[test]
    fn a_dropped_event_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 5, false);
        rewrite(tmp.path(), |i| (!is(&i, "acme/scim", 3)).then_some(i)).unwrap();
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::Missing, 1)]), "{:?}", v.problems);
        assert!(
            v.problems.iter().any(|p| p.to_string().starts_with("acme/scim seq 3: seq 3 is missing")),
            "{:?}",
            v.problems
        );
    }

    #[test]
    fn an_edited_approver_and_swapped_events_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 5, false);
        rewrite(tmp.path(), |mut i| {
            if is(&i, "acme/scim", 2) {
                i.insert("actor".into(), Attr::S("approver:mallory@x.example".into()));
            } else if is(&i, "globex/api", 2) {
                i.insert("seq".into(), Attr::N("3".into()));
            } else if is(&i, "globex/api", 3) {
                i.insert("seq".into(), Attr::N("2".into()));
            }
            Some(i)
        })
        .unwrap();
        let v = run(tmp.path(), true);
        let text: Vec<String> = v.problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|p| p.starts_with("acme/scim seq 2: content does not match its hash (edited) (data/")),
            "{text:?}"
        );
        assert!(text.iter().any(|p| p.starts_with("globex/api seq 2: content does not match")), "{text:?}");
        assert!(text.iter().any(|p| p.starts_with("globex/api seq 3: content does not match")), "{text:?}");
    }

    #[test]
    fn dropping_the_newest_events_is_caught_by_the_digest() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 5, true);
        rewrite(tmp.path(), |i| (!(is(&i, "acme/scim", 5) || is(&i, "acme/scim", 4))).then_some(i)).unwrap();
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::MissingNewest, 1)]), "{:?}", v.problems);
        assert!(
            v.problems[0].to_string().contains("export ends at seq 3 (newest events removed)"),
            "{}",
            v.problems[0]
        );
    }

    #[test]
    fn a_rewritten_chain_with_recomputed_hashes_is_caught_by_the_digest() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 5, true);
        // The forger edits seq 2 and recomputes every hash after it: the chain alone looks fine.
        let mut forged = chain("acme/scim", 5);
        forged[1].actor = "approver:mallory@x.example".into();
        for i in 1..forged.len() {
            forged[i].prev_hash = forged[i - 1].hash.clone();
            forged[i].hash = forged[i].compute_hash();
        }
        rewrite(tmp.path(), |i| {
            if s(&i, "connector_id") == "acme/scim" {
                let seq: usize = s(&i, "seq").parse().unwrap();
                return Some(event_item(&forged[seq - 1]));
            }
            Some(i)
        })
        .unwrap();
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::Rewritten, 1)]), "{:?}", v.problems);
    }

    #[test]
    fn a_digest_signed_by_another_key_is_forged() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 2, true);
        let other = AuditSigner::from_hex_seed(&"43".repeat(32)).unwrap();
        rewrite(tmp.path(), |i| {
            if s(&i, "connector_id") == DIGEST_PK {
                let Ok(Entry::Digest(d)) = entry(i) else { panic!() };
                return Some(digest_item(&other.sign(None, &d.day, d.scope, &d.at, d.heads)));
            }
            Some(i)
        })
        .unwrap();
        let pinned = run(tmp.path(), true);
        assert_eq!(
            kinds(&pinned).get(&Kind::ForgedDigest),
            Some(&2),
            "other signer, bad signature: {:?}",
            pinned.problems
        );
        let unpinned = run(tmp.path(), false);
        assert!(unpinned.intact(), "consistent with the key it names");
        assert!(unpinned.notes.iter().any(|n| n.contains("--public-key")));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn any_single_item_edit_is_detected(n in 1u64..6, target in 1u64..6, attr in 0usize..5, junk in "[a-z0-9]{1,6}") {
            let tmp = tempfile::tempdir().unwrap();
            export(tmp.path(), n, true);
            let target = (target - 1) % n + 1;
            rewrite(tmp.path(), |mut i| {
                if is(&i, "globex/api", target) {
                    let k = ["actor", "at", "event", "prev_hash", "hash"][attr];
                    let v = s(&i, k) + &junk;
                    i.insert(k.into(), Attr::S(v));
                }
                Some(i)
            }).unwrap();
            let v = run(tmp.path(), true);
            prop_assert!(!v.intact());
            prop_assert!(v.problems.iter().any(|p| p.connector.as_deref() == Some("globex/api")), "{:?}", v.problems);
        }
    }
}
