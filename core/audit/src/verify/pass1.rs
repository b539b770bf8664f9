//! Pass 1: every data file read once, in parallel, into a few numbers per
//! chain ([`Chain`]), the heads the digests name, and the problems one item
//! shows on its own (malformed, edited, forged digest).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use keyturn_domain::digest::DIGEST_PK;
use keyturn_domain::signing_keys::TrustedKey;

use super::anchor::{add_claim, check_digest, Claim};
use super::chains::{Chain, Sums};
use super::report::{Kind, Problem};
use super::timing::{clamp_u32, unix, DigestTime};
use crate::export::{Attr, Export, FileProblem, Item, Place};
use crate::{entry, Entry};

/// What pass 1 learns from a share of the data files; shares add up.
#[derive(Default)]
pub(super) struct Pass1 {
    pub(super) chains: HashMap<String, Chain>,
    pub(super) claims: HashMap<String, Claim>,
    pub(super) problems: Vec<Problem>,
    pub(super) file_problems: Vec<FileProblem>,
    pub(super) items: u64,
    pub(super) events: u64,
    pub(super) digests: u64,
    pub(super) lines: u64,
    /// (seq, day, signed at) of the newest digest.
    pub(super) newest_digest: Option<(u64, String, String)>,
    /// Public keys the digests name (checked when no key is pinned).
    pub(super) signers: BTreeSet<String>,
    /// Every digest whose signature verified, for the time checks.
    pub(super) valid_digests: Vec<DigestTime>,
    /// Connector → (digest seq, head seq) of every verified digest naming it.
    pub(super) named: HashMap<String, Vec<(u64, u64)>>,
    /// (digest seq, signer's key hex) of every verified digest.
    pub(super) signed_by: Vec<(u64, String)>,
}

/// Reads every data file of `export` once: each thread folds its files into
/// its own numbers, and the numbers add up (they are sums, counts, maxima).
/// `progress` is told the items read so far.
pub(super) fn read(export: &Export, sums: &Sums, pinned: &[TrustedKey], progress: &mut impl FnMut(u64)) -> Pass1 {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(export.files.len()).max(1);
    let read = AtomicU64::new(0);
    let mut pass = Pass1::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let read = &read;
                scope.spawn(move || {
                    let mut mine = Pass1::default();
                    let mut file_problems = Vec::new();
                    for f in export.files.iter().skip(t).step_by(threads) {
                        mine.lines += export.file_items(f, &mut file_problems, |place, item| {
                            mine.item(place, item, sums, pinned);
                            if mine.items.is_multiple_of(4096) {
                                read.fetch_add(4096, Ordering::Relaxed);
                            }
                        });
                    }
                    mine.file_problems = file_problems;
                    mine
                })
            })
            .collect();
        while !workers.iter().all(|w| w.is_finished()) {
            progress(read.load(Ordering::Relaxed));
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        for w in workers {
            // A worker only panics on a bug; report it as one rather than as a verdict.
            match w.join() {
                Ok(mine) => pass.merge(mine),
                Err(_) => pass.problems.push(Problem::new(
                    Kind::File,
                    "internal error while reading the export (a bug in keyturn; please report it)",
                )),
            }
        }
    });
    pass
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
    fn item(&mut self, place: &Place, item: Result<Item, String>, sums: &Sums, pinned: &[TrustedKey]) {
        self.items += 1;
        let bad_day = item.as_ref().ok().and_then(day_mismatch);
        match item.and_then(entry) {
            Err(what) => self.problems.push(Problem::new(Kind::Malformed, what).with_place(place)),
            Ok(Entry::Event(ev)) => {
                self.events += 1;
                let problem = |kind, what: String| {
                    Problem::new(kind, what).with_connector(ev.connector_id.as_str()).with_seq(ev.seq).with_place(place)
                };
                if let Some(what) = bad_day {
                    self.problems.push(problem(Kind::Malformed, what));
                }
                let at = unix(&ev.at);
                if at.is_none() {
                    self.problems
                        .push(problem(Kind::Malformed, format!("attribute at = {:?} is not an RFC 3339 time", ev.at)));
                }
                let chain = self.chains.entry(ev.connector_id.as_str().to_owned()).or_default();
                // An unreadable time is held to no digest here: it is reported above.
                chain.times.push([u32::try_from(ev.seq).unwrap_or(u32::MAX), at.map_or(u32::MAX, clamp_u32)]);
                if ev.compute_hash() != ev.hash {
                    chain.edited = true;
                    self.problems.push(problem(Kind::Edited, "content does not match its hash (edited)".into()));
                }
                chain.add(sums, ev.seq, &ev.hash, &ev.prev_hash);
            }
            Ok(Entry::Digest(d)) => {
                self.digests += 1;
                if let Some(signer) = check_digest(&d, place, pinned, &mut self.signers, &mut self.problems) {
                    self.signed_by.push((d.seq, signer));
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
        self.signed_by.extend(other.signed_by);
        for (conn, mut n) in other.named {
            self.named.entry(conn).or_default().append(&mut n);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::fixtures::*;
    use super::super::{kinds, Kind};
    use crate::export::{rewrite, Attr, Export};

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
            crate::export::reseal(tmp.path()).unwrap();
            let v = run(tmp.path(), true);
            assert!(!v.intact(), "{what}");
            assert!(
                v.problems.iter().any(|p| p.kind == Kind::Malformed && p.what.contains("appears twice")),
                "{what}: {:?}",
                v.problems
            );
        }
    }
}
