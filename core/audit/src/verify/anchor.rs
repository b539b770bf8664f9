//! The digest and anchoring check: each digest's hash and signature, the
//! heads the digests name held to the chains the export holds, and how far
//! the verified digests anchor the chains.

use std::collections::{BTreeSet, HashMap};

use time::OffsetDateTime;

use keyturn_domain::digest::{parse_public_key, Digest, DIGEST_PK};
use keyturn_domain::signing_keys::TrustedKey;
use keyturn_domain::timefmt::{format_utc, parse_instant};

use super::chains::{hash32, Chain};
use super::report::{Kind, Problem};
use crate::export::Place;

/// The highest head any digest names for a connector.
pub(super) struct Claim {
    pub(super) seq: u64,
    pub(super) hash: String,
    pub(super) digest_seq: u64,
    pub(super) day: String,
}

impl Claim {
    /// A problem with the event at `seq` of `conn` this claim names.
    pub(super) fn problem(&self, kind: Kind, conn: &str, seq: u64, what: &str) -> Problem {
        Problem::new(kind, format!("digest {} (day {}) {what}", self.digest_seq, self.day))
            .with_connector(conn)
            .with_seq(seq)
    }
}

/// Keeps the highest head named for `conn`.
pub(super) fn add_claim(claims: &mut HashMap<String, Claim>, conn: String, claim: Claim) {
    if claims.get(&conn).is_none_or(|c| claim.seq > c.seq) {
        claims.insert(conn, claim);
    }
}

pub(super) const REWRITTEN: &str = "recorded a different hash for this event: the chain was rewritten (hashes recomputed after an edit, removal or reordering)";

/// Holds each claim to the chain pass 1 read: the named head must be there
/// with that hash. Claims of an event pass 1 did not keep (older than its
/// recent ones) are returned, for pass 2 to look up: (connector, seq) → claim.
pub(super) fn check_claims<'a>(
    claims: &'a HashMap<String, Claim>,
    chains: &HashMap<String, Chain>,
    problems: &mut Vec<Problem>,
) -> HashMap<(String, u64), &'a Claim> {
    let mut pending = HashMap::new();
    for (conn, claim) in claims {
        let at = |kind, what: &str| claim.problem(kind, conn, claim.seq, what);
        match chains.get(conn) {
            None => problems
                .push(at(Kind::MissingNewest, "names this head, but the export holds no event of this connector")),
            Some(c) if claim.seq > c.max_seq => problems.push(at(
                Kind::MissingNewest,
                &format!("names this head, but the export ends at seq {} (newest events removed)", c.max_seq),
            )),
            Some(c) => match c.recent.iter().find(|(s, _)| *s == claim.seq) {
                Some((_, h)) if *h == hash32(&claim.hash) => {}
                Some(_) => problems.push(at(Kind::Rewritten, REWRITTEN)),
                None => {
                    pending.insert((conn.clone(), claim.seq), claim);
                }
            },
        }
    }
    pending
}

/// Checks a digest's hash and signature: under the pinned key it names
/// (which must be one of those given, and it must have signed within that
/// key's validity), or (unpinned) under the key it names, which is then
/// recorded in `signers` (as hex, not as the item spells it). The signer's
/// key (hex) when it verified.
pub(super) fn check_digest(
    d: &Digest,
    place: &Place,
    pinned: &[TrustedKey],
    signers: &mut BTreeSet<String>,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let problem =
        |kind, what: String| Problem::new(kind, what).with_connector(DIGEST_PK).with_seq(d.seq).with_place(place);
    let forged = |what: String| problem(Kind::ForgedDigest, what);
    let named = parse_public_key(&d.public_key);
    let key = if pinned.is_empty() {
        match named {
            Ok(k) => {
                signers.insert(hex::encode(k.as_bytes()));
                k
            }
            Err(e) => {
                problems.push(forged(format!("public_key {e}")));
                return None;
            }
        }
    } else {
        match pinned.iter().find(|t| t.hex() == d.public_key) {
            Some(t) => {
                let valid = within_validity(d, t, &problem, problems);
                if let Err(e) = d.check(&t.key) {
                    problems.push(forged(e.to_string()));
                    return None;
                }
                return valid.then(|| t.hex());
            }
            None => {
                let given = if pinned.len() == 1 { "the trusted key" } else { "any of the --public-key keys given" };
                problems.push(forged(format!(
                    "digest {} (day {}) names signer {:?}, not {given}: it is forged, or signed by a key you were not handed (`keyturn audit public-key` lists every published key)",
                    d.seq,
                    d.day,
                    short(&d.public_key)
                )));
                // Whether it verifies under none of them either.
                if !pinned.iter().any(|t| d.check(&t.key).is_ok()) {
                    if let Err(e) = d.check(&pinned[0].key) {
                        problems.push(forged(e.to_string()));
                    }
                }
                return None;
            }
        }
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
    valid.then(|| hex::encode(key.as_bytes()))
}

/// Whether `d` was signed within the validity `t` was given with.
fn within_validity(
    d: &Digest,
    t: &TrustedKey,
    problem: &impl Fn(Kind, String) -> Problem,
    problems: &mut Vec<Problem>,
) -> bool {
    if t.valid_from.is_none() && t.retired_at.is_none() {
        return true;
    }
    let Some(at) = parse_instant(&d.at) else {
        problems.push(problem(Kind::Malformed, format!("digest {}: at = {:?} is not an RFC 3339 time", d.seq, d.at)));
        return false;
    };
    let key = short(&d.public_key);
    if let Some(retired) = t.retired_at.filter(|r| at > *r) {
        problems.push(problem(
            Kind::RetiredKey,
            format!(
                "digest {} (day {}) was signed at {} by key {key:?}, retired at {}: a retired key must never sign (its seed was kept, or leaked)",
                d.seq,
                d.day,
                format_utc(at),
                format_utc(retired)
            ),
        ));
        return false;
    }
    if let Some(from) = t.valid_from.filter(|f| at < *f) {
        problems.push(problem(
            Kind::RetiredKey,
            format!(
                "digest {} (day {}) is dated {}, before key {key:?} was made ({}): backdated",
                d.seq,
                d.day,
                format_utc(at),
                format_utc(from)
            ),
        ));
        return false;
    }
    true
}

/// Keys take over from one another in digest order and never come back: a
/// key signing after its successor took over is a retired key signing (its
/// holder could then rewrite what the newer digests cover). The seqs of
/// those digests.
pub(super) fn check_key_order(signed_by: &mut [(u64, String)], problems: &mut Vec<Problem>) -> BTreeSet<u64> {
    signed_by.sort_unstable();
    let mut replaced: HashMap<&str, (u64, &str)> = HashMap::new();
    let mut bad = BTreeSet::new();
    let mut current: Option<(u64, &str)> = None;
    for (seq, key) in signed_by.iter() {
        if let Some((_, k)) = current.filter(|(_, k)| *k == key.as_str()) {
            current = Some((*seq, k));
            continue;
        }
        if let Some((at, by)) = replaced.get(key.as_str()) {
            problems.push(
                Problem::new(
                    Kind::RetiredKey,
                    format!(
                        "digest {seq} is signed by key {:?}, which key {:?} replaced at digest {at}: a retired key must never sign",
                        short(key),
                        short(by)
                    ),
                )
                .with_connector(DIGEST_PK)
                .with_seq(*seq),
            );
            bad.insert(*seq);
            continue;
        }
        if let Some((_, old)) = current {
            replaced.insert(old, (*seq, key.as_str()));
        }
        current = Some((*seq, key.as_str()));
    }
    bad
}

/// The signers of the verified digests, each once, in the order they took over.
pub(super) fn keys_in_order(signed_by: &[(u64, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, k) in signed_by {
        if !out.contains(k) {
            out.push(k.clone());
        }
    }
    out
}

/// The key the digests were checked against, hex: the newest signer of a
/// verified digest, else the one key given, else the one key named.
pub(super) fn digest_key(
    pinned: &[TrustedKey],
    signers: BTreeSet<String>,
    signed_by: &[(u64, String)],
) -> Option<String> {
    if let Some((_, k)) = signed_by.iter().max_by_key(|(seq, _)| *seq) {
        return Some(k.clone());
    }
    match pinned {
        [one] => Some(one.hex()),
        [] => signers.into_iter().next(),
        _ => None,
    }
}

/// The first 16 characters (not bytes: a hostile key need not be ASCII).
fn short(h: &str) -> &str {
    h.char_indices().nth(16).map_or(h, |(i, _)| &h[..i])
}

/// Whether the verified digests anchor the export's events far enough:
/// at all (when there are events), and up to `until` when it is given.
/// `through` is up to when they do (Unix seconds).
pub(super) fn check_anchored(
    events: u64,
    digests: u64,
    through: Option<i64>,
    until: Option<OffsetDateTime>,
    problems: &mut Vec<Problem>,
) {
    let unanchored = |what: String| Problem::new(Kind::Unanchored, what).with_connector(DIGEST_PK);
    if events > 0 && through.is_none() {
        problems.push(unanchored(if digests == 0 {
            "no digest in this export: nothing anchors its chains, so a chain rewritten with recomputed hashes (or every #digest item deleted) cannot be told from the real one".into()
        } else {
            "no digest in this export verifies: nothing anchors its chains".into()
        }));
    }
    if let (Some(until), Some(t)) = (until, through) {
        if t < until.unix_timestamp() {
            problems.push(unanchored(format!(
                "the digests anchor the chains up to {}, not up to {} (--require-anchored-until): the newest digests were removed, or keyturn has not signed one since",
                super::timing::at_text(t),
                format_utc(until)
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::macros::datetime;

    use super::super::fixtures::*;
    use super::super::{kinds, Kind};
    use crate::export::{rewrite, Attr, Item};
    use crate::{digest_item, entry, event_item, Entry};
    use keyturn_domain::digest::{AuditSigner, Scope, DIGEST_PK};
    use keyturn_domain::{AuditEvent, EventKind, NewAuditEvent};

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

    /// The first case: every digest deleted, then a chain edited and
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

    /// A public key padded with wide spaces still parses (hex is trimmed); it is
    /// recorded as hex, and the item's own spelling is forged.
    #[test]
    fn a_hostile_signer_name_is_shown_safely() {
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
}
