//! keyturn's own signing keys on their schedule, against the in-memory
//! keys: the daily run rotates each key once it is older than its maximum
//! age, links signed before a rotation keep verifying until they expire,
//! every audit key stays published, and each rotation is one audit event
//! with key ids only.

#![allow(clippy::unwrap_used)]

use keyturn_app::ports::{AuditKeys, AuditLog, SigningKeys, StoreError};
use keyturn_app::testkit::{record, Fakes, MemAuditKeys, MemLinkKeys};
use keyturn_app::watch::signing_keys::{rotate_audit_key, rotate_link_key};
use keyturn_app::watch::{rotate_due_keys, signing_key_status, KeySchedule};
use keyturn_domain::approval::{Approver, Decision, LinkClaims, LinkError, Nonce};
use keyturn_domain::signing_keys::{KeyPurpose, RotationPolicy};
use keyturn_domain::{AuditEvent, ChangeId, NewAuditEvent};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-01-01 06:00 UTC);
const SEED: &str = "4242424242424242424242424242424242424242424242424242424242424242";

fn fakes() -> Fakes {
    Fakes::new(record("acme/scim", "atlassian-scim", &[]), "current-key")
}

fn schedule() -> KeySchedule {
    KeySchedule {
        link: RotationPolicy { max_age: Duration::days(30) },
        audit: RotationPolicy { max_age: Duration::days(90) },
    }
}

/// An approval link signed at `at`, valid for 72 hours.
fn claims(at: OffsetDateTime) -> LinkClaims {
    LinkClaims {
        change_id: ChangeId::parse("chg-20260101-0123456789abcdef").unwrap(),
        approver: Approver::parse("ana@acme.example").unwrap(),
        decision: Decision::Approve,
        expires_at: at + Duration::hours(72),
        nonce: Nonce::random(),
        connector: None,
    }
}

fn rotations(f: &Fakes, purpose: KeyPurpose) -> Vec<AuditEvent> {
    f.events().into_iter().filter(|e| e.event == "key_rotated" && e.connector_id == purpose.chain()).collect()
}

fn detail<'a>(ev: &'a AuditEvent, k: &str) -> &'a str {
    ev.detail.get(k).map(String::as_str).unwrap_or_default()
}

#[tokio::test]
async fn the_link_key_rotates_at_its_maximum_age_and_links_signed_before_still_verify() {
    let (f, links, audit) = (fakes(), MemLinkKeys::new(T0), MemAuditKeys::new(SEED, T0));
    let signed_at = T0 + Duration::days(30) - Duration::hours(1);
    let token = links.ring().sign(&claims(signed_at));

    let early = rotate_due_keys(&links, &audit, &f, &schedule(), signed_at).await;
    assert!(early.is_empty(), "29 days old: not due {early:?}");
    assert_eq!(links.ring().current.kid(), "k1");

    let at = T0 + Duration::days(30);
    let r = rotate_due_keys(&links, &audit, &f, &schedule(), at).await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        r.rotated.iter().map(|k| (k.purpose, k.previous.as_str(), k.current.as_str())).collect::<Vec<_>>(),
        [(KeyPurpose::LinkSigning, "k1", "k2")]
    );
    let ring = links.ring();
    assert_eq!((ring.current.kid(), ring.previous.as_ref().map(|k| k.kid())), ("k2", Some("k1")));
    // Signed by k1 an hour before the rotation: good up to its expiry.
    let expiry = signed_at + Duration::hours(72);
    assert_eq!(ring.verify(token.as_str(), expiry).unwrap().expires_at, expiry);
    assert!(matches!(ring.verify(token.as_str(), expiry + Duration::seconds(1)), Err(LinkError::Expired { .. })));

    // One event, on the key's own chain, naming key ids only.
    let events = rotations(&f, KeyPurpose::LinkSigning);
    assert_eq!(events.len(), 1);
    let ev = &events[0];
    assert_eq!((detail(ev, "previous_key_id"), detail(ev, "key_id")), ("k1", "k2"));
    assert_eq!(ev.actor, "scanner");
    assert!(detail(ev, "reason").contains("older than 30 d"), "{:?}", ev.detail);
    let said = serde_json::to_string(&f.events()).unwrap();
    assert!(!said.contains(&"01".repeat(32)) && !said.contains(&"02".repeat(32)), "no key material: {said}");

    // The next days: k2 is fresh, nothing happens.
    for d in 1..30 {
        assert!(rotate_due_keys(&links, &audit, &f, &schedule(), at + Duration::days(d)).await.is_empty(), "day {d}");
    }
    // A link k2 signed just before the next rotation outlives it too.
    let late = links.ring().sign(&claims(at + Duration::days(30) - Duration::minutes(1)));
    let again = rotate_due_keys(&links, &audit, &f, &schedule(), at + Duration::days(30)).await;
    assert_eq!(again.rotated.len(), 1);
    assert!(links.ring().verify(late.as_str(), at + Duration::days(32)).is_ok());
    // k1 is gone: two rotations ago (its links had expired long before).
    assert_eq!(
        links.ring().verify(token.as_str(), at + Duration::days(30)).unwrap_err(),
        LinkError::UnknownKey { kid: "k1".into() }
    );
    assert_eq!(rotations(&f, KeyPurpose::LinkSigning).len(), 2);
}

#[tokio::test]
async fn the_audit_key_rotates_and_every_key_that_signed_stays_published() {
    let (f, links, audit) = (fakes(), MemLinkKeys::new(T0 + Duration::days(80)), MemAuditKeys::new(SEED, T0));
    let first = audit.signer().await.unwrap().public_key_hex();
    assert!(rotate_due_keys(&links, &audit, &f, &schedule(), T0 + Duration::days(89)).await.is_empty());

    let at = T0 + Duration::days(90);
    let r = rotate_due_keys(&links, &audit, &f, &schedule(), at).await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.rotated.len(), 1, "the link key is 10 days old: {r:?}");
    let second = audit.signer().await.unwrap().public_key_hex();
    assert_ne!(first, second);
    assert_eq!((r.rotated[0].previous.as_str(), r.rotated[0].current.as_str()), (first.as_str(), second.as_str()));

    let published = audit.published().await.unwrap();
    assert_eq!(
        published.iter().map(|k| (k.public_key.as_str(), k.created_at, k.retired_at)).collect::<Vec<_>>(),
        [(first.as_str(), T0, Some(at)), (second.as_str(), at, None)]
    );
    let ev = &rotations(&f, KeyPurpose::AuditSigning)[0];
    assert_eq!((detail(ev, "previous_key_id"), detail(ev, "key_id")), (first.as_str(), second.as_str()));
    assert!(!serde_json::to_string(&f.events()).unwrap().contains(SEED), "never the seed");

    // By hand, before it is due: a third key, both old ones still published.
    let r = rotate_audit_key(&audit, &f, "cli:ops@acme.example", "manual", at + Duration::days(1)).await.unwrap();
    assert_eq!(r.previous, second);
    let published = audit.published().await.unwrap();
    assert_eq!(published.len(), 3);
    assert_eq!(published[1].retired_at, Some(at + Duration::days(1)));
}

#[tokio::test]
async fn a_key_that_cannot_rotate_is_reported_and_the_other_still_rotates() {
    let (f, links, audit) = (fakes(), MemLinkKeys::new(T0), MemAuditKeys::new(SEED, T0));
    *links.fail.lock().unwrap() = true;
    let at = T0 + Duration::days(120);
    let r = rotate_due_keys(&links, &audit, &f, &schedule(), at).await;
    assert_eq!(r.rotated.iter().map(|k| k.purpose).collect::<Vec<_>>(), [KeyPurpose::AuditSigning]);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(r.errors[0].starts_with("link-signing key (due since 2026-01-31T06:00:00Z)"), "{}", r.errors[0]);
    assert_eq!(links.ring().current.kid(), "k1", "nothing changed");
    assert!(rotations(&f, KeyPurpose::LinkSigning).is_empty(), "no event for a rotation that did not happen");

    // The next run tries again.
    *links.fail.lock().unwrap() = false;
    let r = rotate_due_keys(&links, &audit, &f, &schedule(), at + Duration::days(1)).await;
    assert_eq!(r.rotated.iter().map(|k| k.purpose).collect::<Vec<_>>(), [KeyPurpose::LinkSigning]);
}

/// An audit table that refuses every write.
struct BrokenLog;

impl AuditLog for BrokenLog {
    async fn append(&self, _: NewAuditEvent) -> Result<AuditEvent, StoreError> {
        Err(StoreError { service: "dynamodb", operation: "PutItem", message: "throttled".into(), retryable: true })
    }
}

#[tokio::test]
async fn a_rotation_whose_audit_event_is_lost_is_still_a_rotation_and_says_so() {
    let links = MemLinkKeys::new(T0);
    let r = rotate_link_key(&links, &BrokenLog, "cli:ops@acme.example", "manual", T0).await.unwrap();
    assert_eq!((r.previous.as_str(), r.current.as_str()), ("k1", "k2"));
    assert!(r.audit_error.as_deref().is_some_and(|e| e.contains("throttled")), "{r:?}");

    let audit = MemAuditKeys::new(SEED, T0);
    let due = rotate_due_keys(&links, &audit, &BrokenLog, &schedule(), T0 + Duration::days(365)).await;
    assert_eq!(due.rotated.len(), 2);
    assert_eq!(due.errors.len(), 2, "{:?}", due.errors);
    assert!(due.errors.iter().all(|e| e.contains("rotated, audit event not written")), "{:?}", due.errors);
}

#[tokio::test]
async fn status_lists_each_current_key_with_its_rotate_by_date() {
    let (links, audit) = (MemLinkKeys::new(T0), MemAuditKeys::new(SEED, T0 + Duration::days(1)));
    let status = signing_key_status(&links, &audit, &schedule()).await.unwrap();
    let public = audit.signer().await.unwrap().public_key_hex();
    assert_eq!(
        status.iter().map(|k| (k.purpose, k.id.as_str(), k.created_at, k.rotate_by)).collect::<Vec<_>>(),
        [
            (KeyPurpose::LinkSigning, "k1", T0, T0 + Duration::days(30)),
            (KeyPurpose::AuditSigning, public.as_str(), T0 + Duration::days(1), T0 + Duration::days(91)),
        ]
    );
    links.rotate(T0 + Duration::days(3)).await.unwrap();
    let status = signing_key_status(&links, &audit, &schedule()).await.unwrap();
    assert_eq!((status[0].id.as_str(), status[0].rotate_by), ("k2", T0 + Duration::days(33)));
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json[0]["purpose"], "link-signing");
    assert_eq!(json[0]["rotate_by"], "2026-02-03T06:00:00Z");
}
