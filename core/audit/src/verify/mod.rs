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
//!
//! Time: pass 1 also keeps each event's `(seq, at)` (8 bytes an event), so
//! that once every digest is known each event can be held to the digests
//! signed after it was written. A digest names every chain's head (`full`) or
//! the head of every chain that grew on its day (`day`); an event it does not
//! cover must have been written after it, so it cannot be dated before it
//! (less [`WRITE_SKEW`]). A chain no digest names with events dated before
//! one is **fabricated**; an event after the head a digest names, dated
//! before that digest, is **backdated**; events newer than the newest digest
//! are **unanchored** (legitimate, reported, and refused before
//! [`Options::anchored_until`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};

use serde::Serialize;

use time::OffsetDateTime;

use super::export::{Attr, Export, FileProblem, Item, Place};
use super::{entry, Entry};
use keyturn_domain::digest::{parse_public_key, Digest, Scope, DIGEST_PK};
use keyturn_domain::timefmt::{format_utc, parse_instant};
use keyturn_domain::GENESIS_HASH;

/// How many of the newest events per chain pass 1 remembers, so digest
/// claims a little behind the head need no second pass.
const RECENT: usize = 8;

/// How long after the time it carries (`at`) an event may be written: a
/// Lambda runs 15 minutes at most, and `at` is taken while it runs. An event
/// a digest does not cover is allowed to be dated this much before it.
pub const WRITE_SKEW: i64 = 15 * 60;

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
    /// all, or none as recent as [`Options::anchored_until`].
    Unanchored,
    /// A chain no digest names, with events dated before a digest that would
    /// have named it.
    Fabricated,
    /// An event after the head a digest names for its chain, but dated
    /// before that digest was made.
    Backdated,
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

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The digest signer's public key (hex) as the auditor received it from
    /// keyturn's operators (`keyturn audit public-key`). Without it, digests
    /// are checked against the key they name, which proves consistency, not
    /// authenticity.
    pub public_key: Option<String>,
    /// Refuse the export unless its digests anchor every chain up to this
    /// time (`--require-anchored-until`): removing the newest digests and
    /// then rewriting what only they covered is otherwise indistinguishable
    /// from a table whose newest events are simply not anchored yet.
    pub anchored_until: Option<OffsetDateTime>,
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
    /// Every event's (seq, at in Unix seconds), in the order read: what the
    /// digests' times are checked against. 8 bytes an event.
    times: Vec<[u32; 2]>,
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
        self.times.extend(other.times);
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
    /// Every digest whose signature verified, for the time checks.
    valid_digests: Vec<DigestTime>,
    /// Connector → (digest seq, head seq) of every verified digest naming it.
    named: HashMap<String, Vec<(u64, u64)>>,
}

/// What the time checks need of one verified digest.
#[derive(Debug, Clone)]
struct DigestTime {
    seq: u64,
    scope: Scope,
    day: String,
    at: String,
}

/// Unix seconds of an RFC 3339 time; the fixed form keyturn writes
/// (`2026-11-24T06:00:00Z`) without the general parser.
fn unix(at: &str) -> Option<i64> {
    let b = at.as_bytes();
    let fixed = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if fixed {
        let n = |r: std::ops::Range<usize>| at.get(r).and_then(|x| x.parse::<u32>().ok());
        if let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) =
            (n(0..4), n(5..7), n(8..10), n(11..13), n(14..16), n(17..19))
        {
            let date = u8::try_from(mo)
                .ok()
                .and_then(|m| time::Month::try_from(m).ok())
                .and_then(|m| time::Date::from_calendar_date(y as i32, m, d as u8).ok());
            if let Some(date) = date.filter(|_| h < 24 && mi < 60 && sec < 60) {
                return Some(date.midnight().assume_utc().unix_timestamp() + i64::from(h * 3600 + mi * 60 + sec));
            }
            return None;
        }
    }
    parse_instant(at).map(OffsetDateTime::unix_timestamp)
}

/// Seconds as pass 1 keeps them: before 1970 is 0, after 2106 the largest.
fn clamp_u32(t: i64) -> u32 {
    u32::try_from(t.max(0)).unwrap_or(u32::MAX)
}

/// An event's `day` attribute is not hashed, but it is what the daily digest
/// reads (the table's day index): a `day` other than `at`'s date hides the
/// event from the digest of the day it claims to be from.
fn day_mismatch(item: &Item) -> Option<String> {
    if matches!(item.get("connector_id"), Some(Attr::S(pk)) if pk == DIGEST_PK) {
        return None;
    }
    match (item.get("day"), item.get("at")) {
        (None, _) => None,
        (Some(Attr::S(day)), Some(Attr::S(at))) if at.get(..10) == Some(day.as_str()) => None,
        (Some(Attr::S(day)), _) => Some(format!(
            "attribute day = {day:?} is not the date of at: the daily digest of that day reads the day attribute, so this event was kept out of the digest of its own day"
        )),
        (Some(_), _) => Some("attribute day is not a string".into()),
    }
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
        let bad_day = item.as_ref().ok().and_then(day_mismatch);
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
                let malformed = |what: String| Problem {
                    kind: Kind::Malformed,
                    connector: Some(ev.connector_id.to_string()),
                    seq: Some(ev.seq),
                    place: Some(place.to_string()),
                    what,
                };
                if let Some(what) = bad_day {
                    self.problems.push(malformed(what));
                }
                let at = unix(&ev.at);
                if at.is_none() {
                    self.problems.push(malformed(format!("attribute at = {:?} is not an RFC 3339 time", ev.at)));
                }
                let chain = self.chains.entry(ev.connector_id.as_str().to_owned()).or_default();
                // An unreadable time is held to no digest here: it is reported above.
                chain.times.push([u32::try_from(ev.seq).unwrap_or(u32::MAX), at.map_or(u32::MAX, clamp_u32)]);
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
                if check_digest(&d, place, pinned, &mut self.signers, &mut self.problems) {
                    self.valid_digests.push(DigestTime {
                        seq: d.seq,
                        scope: d.scope,
                        day: d.day.clone(),
                        at: d.at.clone(),
                    });
                    for (conn, head) in &d.heads {
                        self.named.entry(conn.clone()).or_default().push((d.seq, head.seq));
                    }
                }
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
        self.valid_digests.extend(other.valid_digests);
        for (conn, mut n) in other.named {
            self.named.entry(conn).or_default().append(&mut n);
        }
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
    let Pass1 {
        mut chains,
        claims,
        mut problems,
        items,
        events,
        digests,
        newest_digest,
        signers,
        valid_digests,
        named,
        ..
    } = pass;
    let timing = time_checks(&mut chains, valid_digests, &named);
    problems.extend(timing.problems);
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

    let through = timing.anchored_through.map(at_text);
    let unanchored = |what: String| Problem {
        kind: Kind::Unanchored,
        connector: Some(DIGEST_PK.into()),
        seq: None,
        place: None,
        what,
    };
    if events > 0 && through.is_none() {
        problems.push(unanchored(if digests == 0 {
            "no digest in this export: nothing anchors its chains, so a chain rewritten with recomputed hashes (or every #digest item deleted) cannot be told from the real one".into()
        } else {
            "no digest in this export verifies: nothing anchors its chains".into()
        }));
    }
    if let (Some(until), Some(t)) = (options.anchored_until, &through) {
        if timing.anchored_through.is_some_and(|a| a < until.unix_timestamp()) {
            problems.push(unanchored(format!(
                "the digests anchor the chains up to {t}, not up to {} (--require-anchored-until): the newest digests were removed, or keyturn has not signed one since",
                format_utc(until)
            )));
        }
    }
    // exportTime is AWS's claim, not signed by anyone; it can at least not
    // be earlier than a digest it holds.
    if let (Some(export_at), Some((seq, at))) = (unix(&export.summary.export_time), timing.newest_signed) {
        if at > export_at + WRITE_SKEW {
            problems.push(Problem {
                kind: Kind::File,
                connector: None,
                seq: None,
                place: Some("manifest-summary.json".into()),
                what: format!(
                    "exportTime {:?} is earlier than digest {seq} in the export was signed ({}): the summary was edited",
                    export.summary.export_time,
                    at_text(at)
                ),
            });
        }
    }

    let mut notes = Vec::new();
    if digests > 0 && pinned.is_none() {
        notes.push(format!(
            "digests checked against the key they name ({}); pass --public-key (from `keyturn audit public-key`) to prove who signed them",
            key.as_deref().unwrap_or_default()
        ));
    }
    if let Some(t) = &through {
        if timing.unanchored_events > 0 {
            notes.push(format!(
                "unanchored since {t}: {} newer event(s) in {} chain(s) are chained but in no digest, so their removal or rewriting would go unnoticed (`keyturn audit anchor --full` before exporting anchors them; --require-anchored-until refuses an export anchored less far)",
                timing.unanchored_events, timing.unanchored_chains
            ));
        } else {
            notes.push(format!("every event is anchored by a signed digest (anchored through {t})"));
        }
    }
    problems.sort_by(|a, b| (&a.connector, a.seq, &a.place).cmp(&(&b.connector, b.seq, &b.place)));
    problems.dedup();
    Ok(Verification {
        export_time: export.summary.export_time.clone(),
        items,
        events,
        digests,
        connectors: chains.iter().filter(|(k, c)| k.as_str() != DIGEST_PK && c.count > 0).count(),
        digest_key: key,
        key_pinned: pinned.is_some(),
        newest_digest_day: newest_digest.map(|(_, d, _)| d),
        anchored_through: through,
        unanchored_events: timing.unanchored_events,
        unanchored_chains: timing.unanchored_chains,
        problems,
        notes,
    })
}

fn at_text(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t).map_or_else(|_| t.to_string(), format_utc)
}

/// What the time checks found.
#[derive(Default)]
struct Timing {
    problems: Vec<Problem>,
    /// Unix seconds up to which the verified digests anchor every chain.
    anchored_through: Option<i64>,
    /// The newest verified digest: (seq, signed at).
    newest_signed: Option<(u64, i64)>,
    unanchored_events: u64,
    unanchored_chains: usize,
}

/// Consecutive digests with the same scope, day and signing time are one
/// digest split in parts (`MAX_HEADS_PER_DIGEST`).
struct Group {
    first_seq: u64,
    scope: Scope,
    at: String,
    /// Every event this group does not cover was written after it, so is
    /// dated at or after this (Unix seconds, less [`WRITE_SKEW`]).
    bound: i64,
    /// Up to when it anchors: a full digest when it was signed, a day digest
    /// the end of its day.
    cover: i64,
}

impl Group {
    fn describe(&self) -> String {
        match self.scope {
            Scope::Full => format!(
                "digest {} (full, signed {}), which names every chain that existed then",
                self.first_seq, self.at
            ),
            Scope::Day => {
                format!("digest {} (signed {}), which names every chain that grew before then", self.first_seq, self.at)
            }
        }
    }
}

fn groups(mut valid: Vec<DigestTime>) -> Vec<(Group, Vec<u64>)> {
    valid.sort_by_key(|d| d.seq);
    valid.dedup_by_key(|d| d.seq);
    let mut out: Vec<(Group, Vec<u64>)> = Vec::new();
    let mut last: Option<(Scope, String, String)> = None;
    for d in valid {
        let key = (d.scope, d.day.clone(), d.at.clone());
        if last.as_ref() == Some(&key) {
            if let Some((_, seqs)) = out.last_mut() {
                seqs.push(d.seq);
            }
            continue;
        }
        let Some(signed) = unix(&d.at) else { continue };
        let cover = match d.scope {
            Scope::Full => signed,
            Scope::Day => match unix(&format!("{}T00:00:00Z", d.day)) {
                Some(start) => (start + 86_400).min(signed),
                None => continue,
            },
        };
        out.push((Group { first_seq: d.seq, scope: d.scope, at: d.at, bound: cover - WRITE_SKEW, cover }, vec![d.seq]));
        last = Some(key);
    }
    out
}

/// Holds every event to the digests made after it was written (see the
/// module docs): an event a digest does not cover is not dated before it.
fn time_checks(
    chains: &mut HashMap<String, Chain>,
    valid: Vec<DigestTime>,
    named: &HashMap<String, Vec<(u64, u64)>>,
) -> Timing {
    let groups = groups(valid);
    let mut timing = Timing {
        anchored_through: groups.iter().map(|(g, _)| g.cover).max(),
        newest_signed: groups.last().and_then(|(g, seqs)| Some((*seqs.last()?, unix(&g.at)?))),
        ..Timing::default()
    };
    let group_of: HashMap<u64, usize> =
        groups.iter().enumerate().flat_map(|(i, (_, seqs))| seqs.iter().map(move |s| (*s, i))).collect();
    // The strictest bound among groups 0..=i, and which group sets it.
    let mut strictest: Vec<(i64, usize)> = Vec::with_capacity(groups.len());
    for (i, (g, _)) in groups.iter().enumerate() {
        let prev = strictest.last().copied();
        strictest.push(match prev {
            Some((b, j)) if b >= g.bound => (b, j),
            _ => (g.bound, i),
        });
    }
    let mut names: Vec<&String> = chains.keys().filter(|k| k.as_str() != DIGEST_PK).collect();
    names.sort();
    let names: Vec<String> = names.into_iter().cloned().collect();
    for conn in names {
        let Some(chain) = chains.get_mut(&conn) else { continue };
        let mut times = std::mem::take(&mut chain.times);
        times.sort_unstable();
        times.dedup_by_key(|t| t[0]);
        // (group, head seq) of every verified digest naming this chain, in
        // digest order, the head made cumulative: the chain's anchored head as
        // of each group.
        let mut claims: Vec<(usize, u64)> = named
            .get(&conn)
            .map(|v| v.iter().filter_map(|(d, seq)| Some((*group_of.get(d)?, *seq))).collect())
            .unwrap_or_default();
        claims.sort_unstable();
        let mut head = 0;
        for c in &mut claims {
            head = head.max(c.1);
            c.1 = head;
        }
        let ever_named = !claims.is_empty();
        let mut i = 0;
        let mut unanchored = 0u64;
        // (seq, at, group whose bound it breaks, head before it), and how many.
        let mut first_bad: Option<(u64, u32, usize, u64)> = None;
        let mut bad = 0u64;
        for [seq, at] in times {
            let q = u64::from(seq);
            while claims.get(i).is_some_and(|c| c.1 < q) {
                i += 1;
            }
            let before = i.checked_sub(1).and_then(|p| claims.get(p)).map_or(0, |c| c.1);
            let limit = match claims.get(i) {
                Some((k, _)) => k.checked_sub(1).and_then(|p| strictest.get(p)),
                None => {
                    unanchored += 1;
                    strictest.last()
                }
            };
            if let Some(&(bound, g)) = limit {
                if i64::from(at) < bound {
                    bad += 1;
                    first_bad.get_or_insert((q, at, g, before));
                }
            }
        }
        if unanchored > 0 {
            timing.unanchored_events += unanchored;
            timing.unanchored_chains += 1;
        }
        let Some((seq, at, g, before)) = first_bad else { continue };
        let group = &groups[g].0;
        let more = if bad > 1 { format!(" ({} more event(s) of this chain like it)", bad - 1) } else { String::new() };
        let at = at_text(i64::from(at));
        let (kind, what) = if ever_named {
            let after = if before > 0 {
                format!("it comes after seq {before}, the head the digests name for this chain until then")
            } else {
                "no digest until then names this chain".to_owned()
            };
            (
                Kind::Backdated,
                format!(
                    "dated {at}, before {}, yet {after}: appended afterwards and backdated{more}",
                    group.describe()
                ),
            )
        } else {
            (
                Kind::Fabricated,
                format!(
                    "no digest names this chain, yet it is dated {at}, before {}: the chain was added afterwards (or the digest naming it removed){more}",
                    group.describe()
                ),
            )
        };
        timing.problems.push(Problem { kind, connector: Some(conn), seq: Some(seq), place: None, what });
    }
    timing
}

fn rewritten_text() -> String {
    "recorded a different hash for this event: the chain was rewritten (hashes recomputed after an edit, removal or reordering)"
        .into()
}

/// Checks a digest's hash and signature: under the pinned key, or (unpinned)
/// under the key it names, which is then recorded in `signers` (as hex, not
/// as the item spells it). Whether it verified.
fn check_digest(
    d: &Digest,
    place: &Place,
    pinned: Option<ed25519_dalek::VerifyingKey>,
    signers: &mut BTreeSet<String>,
    problems: &mut Vec<Problem>,
) -> bool {
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
                signers.insert(hex::encode(k.as_bytes()));
                k
            }
            Err(e) => {
                problems.push(forged(format!("public_key {e}")));
                return false;
            }
        },
    };
    let mut valid = true;
    if hex::encode(key.as_bytes()) != d.public_key {
        problems.push(forged(format!("names signer {:?}, not the trusted key", short(&d.public_key))));
        valid = false;
    }
    if let Err(e) = d.check(&key) {
        problems.push(forged(e.to_string()));
        valid = false;
    }
    valid
}

/// The first 16 characters (not bytes: a hostile key need not be ASCII).
fn short(h: &str) -> &str {
    h.char_indices().nth(16).map_or(h, |(i, _)| &h[..i])
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
    use super::super::export::{rewrite, Attr, ExportWriter, Item};
    use super::super::{digest_item, event_item};
    use super::*;
    use keyturn_domain::digest::{AuditSigner, Head, Scope};
    use keyturn_domain::{AuditEvent, ConnectorId, EventKind, NewAuditEvent};
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
        let options = Options { public_key: pinned.then(|| signer().public_key_hex()), ..Options::default() };
        verify(&e, &options, |_| {}).unwrap()
    }

    fn run_until(dir: &Path, until: OffsetDateTime) -> Verification {
        let e = Export::open(dir).unwrap();
        let options = Options { public_key: Some(signer().public_key_hex()), anchored_until: Some(until) };
        verify(&e, &options, |_| {}).unwrap()
    }

    /// A chain of `n` events of `conn`, one an hour from `start`.
    fn timed(conn: &str, n: u64, start: OffsetDateTime) -> Vec<AuditEvent> {
        let id = ConnectorId::parse(conn).unwrap();
        let mut out: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let ev =
                NewAuditEvent::new(id.clone(), EventKind::Detected, start + time::Duration::hours(i as i64), "scanner")
                    .seal(out.last().map(AuditEvent::head).as_ref());
            out.push(ev);
        }
        out
    }

    fn heads_of(chains: &[&[AuditEvent]]) -> BTreeMap<String, Head> {
        chains
            .iter()
            .filter_map(|c| c.last())
            .map(|e| (e.connector_id.to_string(), Head { seq: e.seq, hash: e.hash.clone() }))
            .collect()
    }

    fn write_export(dir: &Path, export_time: &str, items: &[Item]) {
        let mut w = ExportWriter::create(dir, "e1", "arn:aws:dynamodb:us-east-1:1:table/keyturn-audit", export_time)
            .unwrap()
            .items_per_file(3);
        for i in items {
            w.write(i).unwrap();
        }
        w.finish().unwrap();
    }

    fn texts(v: &Verification) -> Vec<String> {
        v.problems.iter().map(ToString::to_string).collect()
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
        // Anchored: an export without digests is itself a failure now.
        export(tmp.path(), 5, true);
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

    /// The issue's first case: every digest deleted, then a chain edited and
    /// re-chained with recomputed hashes. Nothing in the chains shows it; the
    /// missing anchor must.
    #[test]
    fn deleting_every_digest_and_rechaining_does_not_verify() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 5, true);
        let mut forged = chain("acme/scim", 5);
        forged[1].actor = "approver:mallory@x.example".into();
        for i in 1..forged.len() {
            forged[i].prev_hash = forged[i - 1].hash.clone();
            forged[i].hash = forged[i].compute_hash();
        }
        rewrite(tmp.path(), |i| match s(&i, "connector_id").as_str() {
            DIGEST_PK => None,
            "acme/scim" => Some(event_item(&forged[s(&i, "seq").parse::<usize>().unwrap() - 1])),
            _ => Some(i),
        })
        .unwrap();
        for pinned in [true, false] {
            let v = run(tmp.path(), pinned);
            assert!(!v.intact(), "pinned {pinned}: {:?}", v.notes);
            assert_eq!(kinds(&v), BTreeMap::from([(Kind::Unanchored, 1)]), "{:?}", v.problems);
            assert!(texts(&v)[0].contains("no digest in this export"), "{:?}", texts(&v));
        }
    }

    /// Digests chain like events: one removed from the middle is named.
    #[test]
    fn a_digest_removed_from_the_middle_breaks_the_digest_chain() {
        let tmp = tempfile::tempdir().unwrap();
        let c = timed("acme/scim", 3, datetime!(2026-11-24 06:00 UTC));
        let d1 = signer().sign(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", heads_of(&[&c]));
        let d2 = signer().sign(Some(&d1), "2026-11-25", Scope::Day, "2026-11-26T06:00:00Z", BTreeMap::new());
        let d3 = signer().sign(Some(&d2), "2026-11-26", Scope::Day, "2026-11-27T06:00:00Z", BTreeMap::new());
        let mut items: Vec<Item> = c.iter().map(event_item).collect();
        items.extend([&d1, &d3].map(digest_item));
        write_export(tmp.path(), "2026-11-27T07:00:00Z", &items);
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::Missing, 1)]), "{:?}", v.problems);
        assert!(texts(&v)[0].starts_with("#digest seq 2: seq 2 is missing"), "{:?}", texts(&v));
    }

    /// The newest digests removed and what only they covered rewritten: it
    /// looks like events not anchored yet, so it is reported as such, and an
    /// auditor who knows the export must be anchored further refuses it.
    #[test]
    fn removing_the_newest_digests_shows_as_unanchored_and_require_anchored_until_refuses_it() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = timed("acme/scim", 2, datetime!(2026-11-24 06:00 UTC));
        let d1 = signer().sign(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", heads_of(&[&c]));
        // Two more events on the 25th, anchored by the day digest the insider deletes.
        let next = NewAuditEvent::new(
            c[0].connector_id.clone(),
            EventKind::Approved,
            datetime!(2026-11-25 09:00 UTC),
            "approver:mallory@x.example",
        );
        c.push(next.seal(c.last().map(AuditEvent::head).as_ref()));
        let mut items: Vec<Item> = c.iter().map(event_item).collect();
        items.push(digest_item(&d1));
        write_export(tmp.path(), "2026-11-26T07:00:00Z", &items);

        let v = run(tmp.path(), true);
        assert!(v.intact(), "{:?}", v.problems);
        assert_eq!((v.unanchored_events, v.unanchored_chains), (1, 1));
        assert_eq!(v.anchored_through.as_deref(), Some("2026-11-25T06:00:00Z"));
        assert!(
            v.notes.iter().any(|n| n.starts_with("unanchored since 2026-11-25T06:00:00Z: 1 newer event(s)")),
            "{:?}",
            v.notes
        );

        let v = run_until(tmp.path(), datetime!(2026-11-26 00:00 UTC));
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::Unanchored, 1)]), "{:?}", v.problems);
        assert!(texts(&v)[0].contains("up to 2026-11-25T06:00:00Z, not up to 2026-11-26T00:00:00Z"), "{:?}", texts(&v));
        assert!(run_until(tmp.path(), datetime!(2026-11-25 06:00 UTC)).intact());
    }

    /// The issue's second case, first half: a chain made up after a full
    /// digest (which names every chain there is), dated before it.
    #[test]
    fn a_chain_dated_before_a_full_digest_that_does_not_name_it_is_fabricated() {
        let tmp = tempfile::tempdir().unwrap();
        let real = timed("acme/scim", 3, datetime!(2026-11-24 06:00 UTC));
        let made_up = timed("globex/api", 2, datetime!(2026-11-24 08:00 UTC));
        let d = signer().sign(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", heads_of(&[&real]));
        let mut items: Vec<Item> = real.iter().chain(&made_up).map(event_item).collect();
        items.push(digest_item(&d));
        write_export(tmp.path(), "2026-11-25T07:00:00Z", &items);
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::Fabricated, 1)]), "{:?}", v.problems);
        let t = &texts(&v)[0];
        assert!(t.starts_with("globex/api seq 1: no digest names this chain, yet it is dated 2026-11-24T08:00:00Z, before digest 1 (full"), "{t}");
        assert!(t.contains("(1 more event(s)"), "{t}");

        // The same chain dated after the digest is merely not anchored yet.
        let tmp = tempfile::tempdir().unwrap();
        let later = timed("globex/api", 2, datetime!(2026-11-25 08:00 UTC));
        let mut items: Vec<Item> = real.iter().chain(&later).map(event_item).collect();
        items.push(digest_item(&d));
        write_export(tmp.path(), "2026-11-25T12:00:00Z", &items);
        let v = run(tmp.path(), true);
        assert!(v.intact(), "{:?}", v.problems);
        assert_eq!(v.unanchored_events, 2);
    }

    /// The second half: events appended after the head a digest names, but
    /// dated before that digest (full or day) was made.
    #[test]
    fn events_appended_after_an_anchored_head_but_dated_before_its_digest_are_backdated() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = timed("acme/scim", 3, datetime!(2026-11-24 06:00 UTC));
        let other = timed("globex/api", 1, datetime!(2026-11-25 10:00 UTC));
        let d1 = signer().sign(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", heads_of(&[&c]));
        let d2 = signer().sign(Some(&d1), "2026-11-25", Scope::Day, "2026-11-26T06:00:00Z", heads_of(&[&other]));
        for at in [datetime!(2026-11-24 20:00 UTC), datetime!(2026-11-25 23:00 UTC)] {
            let ev =
                NewAuditEvent::new(c[0].connector_id.clone(), EventKind::Approved, at, "approver:mallory@x.example");
            c.push(ev.seal(c.last().map(AuditEvent::head).as_ref()));
        }
        let mut items: Vec<Item> = c.iter().chain(&other).map(event_item).collect();
        items.extend([&d1, &d2].map(digest_item));
        write_export(tmp.path(), "2026-11-26T07:00:00Z", &items);
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::Backdated, 1)]), "{:?}", v.problems);
        let t = &texts(&v)[0];
        assert!(
            t.starts_with("acme/scim seq 4: dated 2026-11-24T20:00:00Z, before digest 2 (signed 2026-11-26T06:00:00Z)"),
            "{t}"
        );
        assert!(t.contains("after seq 3, the head the digests name") && t.contains("(1 more event(s)"), "{t}");

        // Written within WRITE_SKEW of a digest (a Lambda that took its time) is not backdating.
        let tmp = tempfile::tempdir().unwrap();
        let mut c = timed("acme/scim", 3, datetime!(2026-11-24 06:00 UTC));
        let late = NewAuditEvent::new(
            c[0].connector_id.clone(),
            EventKind::Notified,
            datetime!(2026-11-25 05:50 UTC),
            "keyturn:notify",
        );
        c.push(late.seal(c.last().map(AuditEvent::head).as_ref()));
        let mut items: Vec<Item> = c.iter().map(event_item).collect();
        items.push(digest_item(&d1));
        write_export(tmp.path(), "2026-11-25T07:00:00Z", &items);
        assert!(run(tmp.path(), true).intact());
    }

    #[test]
    fn a_day_attribute_that_hides_an_event_from_its_days_digest_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 2, true);
        rewrite(tmp.path(), |mut i| {
            if is(&i, "acme/scim", 2) {
                i.insert("day".into(), Attr::S("2026-11-30".into()));
            }
            Some(i)
        })
        .unwrap();
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::Malformed, 1)]), "{:?}", v.problems);
        assert!(
            texts(&v)[0].starts_with("acme/scim seq 2: attribute day = \"2026-11-30\" is not the date of at"),
            "{:?}",
            texts(&v)
        );
    }

    /// The issue's fourth case: a repeated name keeps one value for the hash
    /// and may show the other to a reader.
    #[test]
    fn a_repeated_attribute_name_in_an_item_or_in_detail_fails() {
        for (what, line) in [
            ("actor", r#""actor":{"S":"approver:mallory@x.example"}"#),
            ("detail", r#""detail":{"M":{"i":{"S":"0"},"i":{"S":"9"}}}"#),
        ] {
            let tmp = tempfile::tempdir().unwrap();
            export(tmp.path(), 2, true);
            let e = Export::open(tmp.path()).unwrap();
            let path = e.data_path(&e.files[0]);
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()),
                &mut text,
            )
            .unwrap();
            // The first line is an event (written newest first): add a second copy of the attribute after its first.
            let first = text.lines().next().unwrap().to_owned();
            let doubled = if what == "actor" {
                first.replacen(r#""actor":{"S":"scanner"}"#, &format!(r#""actor":{{"S":"scanner"}},{line}"#), 1)
            } else {
                first.replacen(r#""connector_id""#, &format!(r#"{line},"connector_id""#), 1)
            };
            assert_ne!(doubled, first, "{first}");
            let mut gz =
                flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, text.replacen(&first, &doubled, 1).as_bytes()).unwrap();
            gz.finish().unwrap();
            super::super::export::reseal(tmp.path()).unwrap();
            let v = run(tmp.path(), true);
            assert!(!v.intact(), "{what}");
            assert!(
                v.problems.iter().any(|p| p.kind == Kind::Malformed && p.what.contains("appears twice")),
                "{what}: {:?}",
                v.problems
            );
        }
    }

    /// The issue's third case: files put beside the listed ones are never
    /// verified, so they are a failure, named.
    #[test]
    fn a_data_file_the_manifest_does_not_list_fails() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 2, true);
        let e = Export::open(tmp.path()).unwrap();
        let forged = chain("acme/scim", 2);
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(e.dir.join("data/forged.json.gz")).unwrap(),
            flate2::Compression::fast(),
        );
        std::io::Write::write_all(
            &mut gz,
            serde_json::to_string(&serde_json::json!({"Item": event_item(&forged[0])})).unwrap().as_bytes(),
        )
        .unwrap();
        gz.finish().unwrap();
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::File, 1)]), "{:?}", v.problems);
        assert!(
            texts(&v)[0].starts_with("not listed in manifest-files.json")
                && v.problems[0].place.as_deref() == Some("data/forged.json.gz"),
            "{:?}",
            texts(&v)
        );
    }

    #[test]
    fn an_export_time_before_a_digest_it_holds_is_named_and_a_hostile_signer_name_is_shown_safely() {
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 2, true);
        let summary = e_dir(tmp.path()).join("manifest-summary.json");
        let text = std::fs::read_to_string(&summary).unwrap().replace("2026-11-25T07:00:00Z", "2026-11-20T00:00:00Z");
        std::fs::write(&summary, text).unwrap();
        let v = run(tmp.path(), true);
        assert_eq!(kinds(&v), BTreeMap::from([(Kind::File, 1)]), "{:?}", v.problems);
        assert!(texts(&v)[0].contains("earlier than digest 1 in the export was signed"), "{:?}", texts(&v));

        // A public key padded with wide spaces still parses (hex is trimmed); it is
        // recorded as hex, and the item's own spelling is forged.
        let tmp = tempfile::tempdir().unwrap();
        export(tmp.path(), 2, true);
        rewrite(tmp.path(), |mut i| {
            if s(&i, "connector_id") == DIGEST_PK {
                i.insert(
                    "public_key".into(),
                    Attr::S(format!("{}{}", "\u{3000}".repeat(6), signer().public_key_hex())),
                );
            }
            Some(i)
        })
        .unwrap();
        let v = run(tmp.path(), false);
        assert_eq!(v.digest_key.as_deref(), Some(signer().public_key_hex().as_str()));
        assert!(kinds(&v).contains_key(&Kind::ForgedDigest), "{:?}", v.problems);
    }

    fn e_dir(root: &Path) -> std::path::PathBuf {
        Export::open(root).unwrap().dir
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
