//! Digests across audit-key rotations: each verifies under the key that was
//! current when it was signed, given with `--public-key` (repeatable, or
//! several in one value); a key not given, and a retired key that signs
//! again, are named.

use std::collections::BTreeMap;
use std::path::Path;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::fixtures::*;
use super::{kinds, verify, Kind, Options, Verification, VerifyError};
use crate::digest_item;
use crate::event_item;
use crate::export::{Export, Item};
use keyturn_domain::digest::{AuditSigner, Digest, Scope};
use keyturn_domain::signing_keys::PublishedKey;
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{AuditEvent, EventKind, NewAuditEvent};

const DAY1: OffsetDateTime = datetime!(2026-11-24 06:00 UTC);

fn key_a() -> AuditSigner {
    signer()
}

fn key_b() -> AuditSigner {
    AuditSigner::from_hex_seed(&"43".repeat(32)).unwrap()
}

/// The rotation at DAY1 + 1 day 07:00, as `keyturn audit public-key` prints it.
fn published() -> [PublishedKey; 2] {
    let rotated = DAY1 + Duration::hours(25);
    [
        PublishedKey {
            public_key: key_a().public_key_hex(),
            created_at: DAY1 - Duration::days(90),
            retired_at: Some(rotated),
        },
        PublishedKey { public_key: key_b().public_key_hex(), created_at: rotated, retired_at: None },
    ]
}

/// One chain growing a day at a time; day `i`'s digest signed by `signers[i]`
/// the next morning at 06:00 (so key A signs the first, B the rest).
fn rotated_export(dir: &Path, signers: &[&AuditSigner]) -> Vec<Digest> {
    let id = keyturn_domain::ConnectorId::parse("acme/scim").unwrap();
    let mut chain: Vec<AuditEvent> = Vec::new();
    for i in 0..signers.len() {
        let at = DAY1 + Duration::days(i as i64);
        let ev = NewAuditEvent::new(id.clone(), EventKind::Detected, at, "scanner")
            .seal(chain.last().map(AuditEvent::head).as_ref());
        chain.push(ev);
    }
    let mut items: Vec<Item> = chain.iter().map(event_item).collect();
    let mut digests: Vec<Digest> = Vec::new();
    for (i, s) in signers.iter().enumerate() {
        let day = DAY1 + Duration::days(i as i64);
        let heads = heads_of(&[&chain[..=i]]);
        let scope = if i == 0 { Scope::Full } else { Scope::Day };
        let at = format_utc(day + Duration::days(1));
        let d = s.sign(digests.last(), &format_utc(day)[..10], scope, &at, heads);
        digests.push(d);
    }
    items.extend(digests.iter().map(digest_item));
    write_export(dir, &format_utc(DAY1 + Duration::days(signers.len() as i64 + 1)), &items);
    digests
}

fn run_with(dir: &Path, keys: &[String]) -> Result<Verification, VerifyError> {
    let e = Export::open(dir).unwrap();
    verify(&e, &Options { public_keys: keys.to_vec(), ..Options::default() }, |_| {})
}

#[test]
fn digests_of_every_published_key_verify_and_each_names_its_signer() {
    let tmp = tempfile::tempdir().unwrap();
    rotated_export(tmp.path(), &[&key_a(), &key_b(), &key_b()]);
    let [a, b] = published();
    let repeated = run_with(tmp.path(), &[a.verify_arg(), b.verify_arg()]).unwrap();
    assert!(repeated.intact(), "{:?}", repeated.problems);
    assert_eq!(repeated.digest_keys, [a.public_key.clone(), b.public_key.clone()]);
    assert_eq!(repeated.digest_key.as_deref(), Some(b.public_key.as_str()), "the newest digest's signer");
    assert_eq!(repeated.anchored_through.as_deref(), Some("2026-11-27T00:00:00Z"));
    // `--public-key "$(keyturn audit public-key)"`: one value, one key a line.
    let one_value = run_with(tmp.path(), &[format!("{}\n{}\n", a.verify_arg(), b.verify_arg())]).unwrap();
    assert!(one_value.intact(), "{:?}", one_value.problems);
    // Without validity periods, the keys alone.
    assert!(run_with(tmp.path(), &[a.public_key.clone(), b.public_key.clone()]).unwrap().intact());
    // Unpinned: consistent with the keys they name, both named.
    let unpinned = run_with(tmp.path(), &[]).unwrap();
    assert!(unpinned.intact(), "{:?}", unpinned.problems);
    assert!(
        unpinned.notes[0].contains(&a.public_key) && unpinned.notes[0].contains(&b.public_key),
        "{:?}",
        unpinned.notes
    );
}

#[test]
fn a_digest_signed_by_a_key_not_given_is_refused_naming_the_digest_and_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    rotated_export(tmp.path(), &[&key_a(), &key_b(), &key_b()]);
    let [a, b] = published();
    let v = run_with(tmp.path(), &[b.verify_arg()]).unwrap();
    assert!(!v.intact());
    let forged: Vec<String> =
        v.problems.iter().filter(|p| p.kind == Kind::ForgedDigest).map(ToString::to_string).collect();
    assert!(
        forged.iter().any(|p| p.contains("digest 1 (day 2026-11-24)") && p.contains(&a.public_key[..16])),
        "{forged:?}"
    );
    assert!(forged.iter().all(|p| p.starts_with("#digest seq 1")), "only the first digest: {forged:?}");
    let v = run_with(tmp.path(), &[a.verify_arg()]).unwrap();
    let seqs: Vec<u64> = v.problems.iter().filter(|p| p.kind == Kind::ForgedDigest).filter_map(|p| p.seq).collect();
    assert!(seqs.contains(&2) && seqs.contains(&3) && !seqs.contains(&1), "{:?}", v.problems);
}

#[test]
fn a_retired_key_that_signs_after_its_retirement_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    // Key A signs again on the third day, after B took over.
    rotated_export(tmp.path(), &[&key_a(), &key_b(), &key_a()]);
    let [a, b] = published();
    for (keys, why) in [
        (vec![a.verify_arg(), b.verify_arg()], "retired at 2026-11-25T07:00:00Z"),
        (vec![a.public_key.clone(), b.public_key.clone()], "which key"),
    ] {
        let v = run_with(tmp.path(), &keys).unwrap();
        let retired: Vec<String> =
            v.problems.iter().filter(|p| p.kind == Kind::RetiredKey).map(ToString::to_string).collect();
        assert!(!retired.is_empty() && retired.iter().all(|p| p.starts_with("#digest seq 3")), "{:?}", v.problems);
        assert!(retired.iter().any(|p| p.contains(why) && p.contains(&a.public_key[..16])), "{retired:?}");
        assert_eq!(v.anchored_through.as_deref(), Some("2026-11-26T00:00:00Z"), "digest 3 anchors nothing");
    }
    // Unpinned, the key order alone shows it.
    let v = run_with(tmp.path(), &[]).unwrap();
    assert_eq!(kinds(&v), BTreeMap::from([(Kind::RetiredKey, 1)]), "{:?}", v.problems);
}

#[test]
fn a_digest_dated_before_its_key_was_made_is_backdated() {
    let tmp = tempfile::tempdir().unwrap();
    rotated_export(tmp.path(), &[&key_b(), &key_b()]);
    let [_, b] = published();
    let from = format!("{}@{}..", b.public_key, format_utc(b.created_at));
    let v = run_with(tmp.path(), &[from]).unwrap();
    let texts = texts(&v);
    assert!(
        texts.iter().any(|t| t.contains("digest 1 (day 2026-11-24) is dated") && t.contains("backdated")),
        "{texts:?}"
    );
    assert!(!texts.iter().any(|t| t.starts_with("#digest seq 2")), "digest 2 is after it was made: {texts:?}");
}

#[test]
fn bad_public_keys_are_refused_by_name_before_anything_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    export(tmp.path(), 1, true);
    let [a, _] = published();
    for (bad, says) in [
        ("zz".to_owned(), "\"zz\""),
        (format!("{}@soon..", a.public_key), "not an RFC 3339 time"),
        (format!("{} {}@2026-01-01T00:00:00Z..", a.public_key, a.public_key), "given twice"),
    ] {
        let err = run_with(tmp.path(), std::slice::from_ref(&bad)).unwrap_err().to_string();
        assert!(err.starts_with("--public-key") && err.contains(says), "{bad}: {err}");
    }
}
