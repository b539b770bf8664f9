//! The time checks: each event is held to the digests signed after it was
//! written (see the module docs of [`verify`](mod@super)): an event a digest
//! does not cover must not be dated before it.

use std::collections::HashMap;

use time::OffsetDateTime;

use keyturn_domain::digest::{Scope, DIGEST_PK};
use keyturn_domain::timefmt::{format_utc, parse_instant};

use super::chains::Chain;
use super::report::{Kind, Problem};

/// How long after the time it carries (`at`) an event may be written: a
/// Lambda runs 15 minutes at most, and `at` is taken while it runs. An event
/// a digest does not cover is allowed to be dated this much before it.
pub const WRITE_SKEW: i64 = 15 * 60;

/// What the time checks need of one verified digest.
#[derive(Debug, Clone)]
pub(super) struct DigestTime {
    pub(super) seq: u64,
    pub(super) scope: Scope,
    pub(super) day: String,
    pub(super) at: String,
}

/// Unix seconds of an RFC 3339 time; the fixed form keyturn writes
/// (`2026-11-24T06:00:00Z`) without the general parser.
pub(super) fn unix(at: &str) -> Option<i64> {
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
pub(super) fn clamp_u32(t: i64) -> u32 {
    u32::try_from(t.max(0)).unwrap_or(u32::MAX)
}

pub(super) fn at_text(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t).map_or_else(|_| t.to_string(), format_utc)
}

/// What the time checks found.
#[derive(Default)]
pub(super) struct Timing {
    pub(super) problems: Vec<Problem>,
    /// Unix seconds up to which the verified digests anchor every chain.
    pub(super) anchored_through: Option<i64>,
    /// The newest verified digest: (seq, signed at).
    pub(super) newest_signed: Option<(u64, i64)>,
    pub(super) unanchored_events: u64,
    pub(super) unanchored_chains: usize,
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
pub(super) fn time_checks(
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
        timing.problems.push(Problem::new(kind, what).with_connector(conn).with_seq(seq));
    }
    timing
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::super::fixtures::*;
    use super::super::{kinds, Kind};
    use crate::digest_item;
    use crate::event_item;
    use crate::export::Item;
    use keyturn_domain::digest::Scope;
    use keyturn_domain::{AuditEvent, EventKind, NewAuditEvent};
    use std::collections::BTreeMap;

    /// The second case, first half: a chain made up after a full
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
}
