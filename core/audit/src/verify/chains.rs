//! The streaming chain check: a few order-free numbers per chain (pass 1)
//! say whether it is intact; [`diagnose`] says what is wrong with one that
//! is not, from its links re-read in pass 2.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher, RandomState};

use keyturn_domain::GENESIS_HASH;

use super::report::{Kind, Problem};
use crate::export::Place;

/// How many of the newest events per chain pass 1 remembers, so digest
/// claims a little behind the head need no second pass.
const RECENT: usize = 8;

/// 128-bit keyed hash for the order-free sums.
pub(super) struct Sums(RandomState, RandomState);

impl Sums {
    pub(super) fn new() -> Self {
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
pub(super) type Hash32 = [u8; 32];

pub(super) fn hash32(s: &str) -> Hash32 {
    let mut out = [0u8; 32];
    if s.len() == 64 && hex::decode_to_slice(s, &mut out).is_ok() {
        return out;
    }
    <sha2::Sha256 as sha2::Digest>::digest(s.as_bytes()).into()
}

#[derive(Default)]
pub(super) struct Chain {
    pub(super) count: u64,
    pub(super) max_seq: u64,
    head: Hash32,
    seq_sum: u128,
    offered: u128,
    used: u128,
    bad_genesis: bool,
    pub(super) edited: bool,
    /// The newest events seen: (seq, hash), at most RECENT.
    pub(super) recent: Vec<(u64, Hash32)>,
    /// Every event's (seq, at in Unix seconds), in the order read: what the
    /// digests' times are checked against. 8 bytes an event.
    pub(super) times: Vec<[u32; 2]>,
}

impl Chain {
    pub(super) fn add(&mut self, sums: &Sums, seq: u64, hash: &str, prev_hash: &str) {
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

    pub(super) fn merge(&mut self, other: Chain) {
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

/// The chains pass 2 must read again to say what is wrong with them.
pub(super) fn broken(chains: &HashMap<String, Chain>, sums: &Sums) -> HashSet<String> {
    chains.iter().filter(|(_, c)| !c.intact(sums)).map(|(k, _)| k.clone()).collect()
}

/// Says what is wrong with one chain, from its (seq, hash, prev_hash, place)
/// sorted by seq.
pub(super) fn diagnose(conn: &str, links: &[(u64, String, String, Place)], problems: &mut Vec<Problem>) {
    let problem = |kind, seq: u64, what: String| Problem::new(kind, what).with_connector(conn).with_seq(seq);
    let mut expected = 1u64;
    let mut prev: Option<&(u64, String, String, Place)> = None;
    for link in links {
        let (seq, _, prev_hash, place) = link;
        if let Some(p) = prev.filter(|p| p.0 == *seq) {
            problems.push(problem(Kind::Duplicate, *seq, format!("appears twice (also at {})", p.3)).with_place(place));
            continue;
        }
        if *seq > expected {
            let what = if *seq == expected + 1 {
                format!("seq {expected} is missing")
            } else {
                format!("seqs {expected} to {} are missing", seq - 1)
            };
            problems.push(problem(Kind::Missing, expected, what));
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
            problems.push(problem(Kind::BrokenLink, *seq, what).with_place(place));
        }
        expected = seq + 1;
        prev = Some(link);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use time::macros::datetime;

    use super::super::fixtures::*;
    use super::super::{kinds, Kind};
    use crate::digest_item;
    use crate::event_item;
    use crate::export::{rewrite, Attr, Item};
    use keyturn_domain::digest::Scope;

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
