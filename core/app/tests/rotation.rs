//! The rotation steps against the in-memory bundle: the fault matrix a
//! vendor, an identity provider and a dying function can produce, each
//! proven in milliseconds (no SDK, no network, no state machine).

#![allow(clippy::unwrap_used)]

use keyturn_app::rotation::steps::{finalize, retire, rollback, rotate, verify};
use keyturn_app::rotation::{version_token, CaughtError, Outcome, RotationError, StepInput, StoredKey, VendorError};
use keyturn_app::testkit::{record, Fakes, VendorKey, VendorMood, KEY_TEMPLATE};
use keyturn_domain::{ChangeId, ConnectorId, SecretValue};
use time::OffsetDateTime;

const NOW: OffsetDateTime = time::macros::datetime!(2026-11-24 09:00 UTC);
const OLD: &str = "old-vendor-key-0123456789";
const ID: &str = "acme/gen";

fn input() -> StepInput {
    StepInput {
        connector_id: ConnectorId::parse(ID).unwrap(),
        change_id: ChangeId::from_trusted("chg-20261124-00000000000000aa"),
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:keyturn-rotation:x".into(),
        intake: None,
        rotation: None,
        retire: None,
        error: None,
    }
}

fn token() -> String {
    let i = input();
    version_token(&i.change_id, &i.connector_id)
}

/// A generic-http connector whose keys keyturn makes, consumed by nobody.
fn vendor_key() -> Fakes {
    Fakes::with_vendor_key(record(ID, "generic-http", &[("http_template", KEY_TEMPLATE)]), OLD)
}

/// The same connector, consumed by Entra ID, which holds the old key.
fn entra_key() -> Fakes {
    let f = Fakes::with_vendor_key(
        record(
            ID,
            "generic-http",
            &[("http_template", KEY_TEMPLATE), ("idp", "entra"), ("idp_app_id", "sp-1"), ("idp_job_id", "job-1")],
        ),
        OLD,
    );
    *f.idp_key.lock().unwrap() = Some(SecretValue::new(OLD).fingerprint());
    f
}

/// What the state machine's Catch hands rollback.
fn caught(e: &RotationError) -> CaughtError {
    CaughtError {
        error: e.name().to_string(),
        cause: serde_json::json!({"errorType": e.name(), "errorMessage": e.to_string()}).to_string(),
    }
}

/// rotate → verify → finalize, as the state machine runs them on success.
async fn run_all(f: &Fakes) -> Result<Outcome, RotationError> {
    let mut i = input();
    i.rotation = Some(rotate(f, &i, NOW).await?);
    verify(f, &i, NOW).await?;
    finalize(f, &i, NOW).await
}

/// Rollback after `e`, with what the failed step had got to.
async fn roll_back(f: &Fakes, rotation: Option<keyturn_app::rotation::Rotation>, e: &RotationError) -> Outcome {
    let mut i = input();
    i.rotation = rotation;
    i.error = Some(caught(e));
    rollback(f, &i, NOW).await.unwrap()
}

fn old_fingerprint() -> String {
    SecretValue::new(OLD).fingerprint()
}

fn assert_nothing_switched(f: &Fakes) {
    assert_eq!(f.labelled("AWSCURRENT"), ["v-old"], "AWSCURRENT stays on the old key");
    assert!(f.active_vendor_keys().contains(&"k-old".to_owned()), "the old key stays live");
}

fn assert_no_key_leaked(f: &Fakes) {
    let said = f.everything_said();
    assert!(!said.contains(OLD) && !said.contains("minted-"), "no key value in audit, mail or workflow output");
}

#[tokio::test]
async fn a_vendor_key_is_created_verified_made_current_and_the_old_one_revoked() {
    let f = vendor_key();
    let out = run_all(&f).await.unwrap();
    assert_eq!(out.outcome, "rotated", "{out:?}");
    assert!(out.detail.as_deref().unwrap().contains("old key revoked k-old"), "{out:?}");
    assert_eq!(f.labelled("AWSCURRENT"), [token()]);
    assert_eq!(f.labelled("AWSPREVIOUS"), ["v-old"]);
    assert!(f.labelled("AWSPENDING").is_empty());
    assert_eq!(f.active_vendor_keys(), ["k-1"], "only the new key is live");
    let names = f.event_names();
    for e in ["rotation_started", "pending_stored", "verified", "finalized"] {
        assert_eq!(names.iter().filter(|n| *n == e).count(), 1, "{e} once in {names:?}");
    }
    assert_eq!(f.marks.lock().unwrap().as_slice(), [format!("rotating {ID}"), format!("rotated {ID}")]);
    assert_no_key_leaked(&f);
}

#[tokio::test]
async fn a_generic_vendor_key_reaches_entra_and_is_checked_there() {
    let f = entra_key();
    run_all(&f).await.unwrap();
    let current = f.versions.lock().unwrap()[&token()].0.fingerprint();
    assert_eq!(f.idp_key.lock().unwrap().as_deref(), Some(current.as_str()), "Entra holds the new key");
    let idp = f.event("idp_updated").unwrap();
    assert_eq!(idp.detail["before_fingerprint"], old_fingerprint());
    assert_eq!(idp.detail["after_fingerprint"], current);
}

// ---- pre-flight: the new key is refused or the vendor cannot say -----------

/// The new key is probed before anyone uses it: the error name is what the
/// state machine matches, and nothing has been switched.
async fn preflight_fails(mood: VendorMood, name: &str, attempts: usize) {
    let f = entra_key();
    *f.mood.lock().unwrap() = mood;
    let e = rotate(&f, &input(), NOW).await.unwrap_err();
    assert_eq!(e.name().as_str(), name, "{e}");
    assert_eq!(f.probes.lock().unwrap().len(), attempts, "retried only what may pass later");
    assert_nothing_switched(&f);
    assert_eq!(f.idp_key.lock().unwrap().as_deref(), Some(old_fingerprint().as_str()), "Entra never touched");
    assert!(f.event("verified").is_none());
    // Rollback: the minted key is revoked and its version dropped.
    *f.mood.lock().unwrap() = VendorMood::Normal;
    let out = roll_back(&f, None, &e).await;
    assert_eq!(out.outcome, "rolled_back", "{out:?}");
    assert!(f.labelled("AWSPENDING").is_empty());
    assert_eq!(f.active_vendor_keys(), ["k-old"], "the new key is revoked, the old one kept");
    assert_no_key_leaked(&f);
}

#[tokio::test]
async fn preflight_401_is_a_verification_failure_and_rolls_back() {
    preflight_fails(VendorMood::Unauthorized, "VerificationFailed", 1).await;
}

#[tokio::test]
async fn preflight_403_is_a_verification_failure_and_rolls_back() {
    preflight_fails(VendorMood::Forbidden, "VerificationFailed", 1).await;
}

#[tokio::test]
async fn preflight_429_past_the_retries_is_vendor_throttled() {
    preflight_fails(VendorMood::Throttled, "VendorThrottled", 2).await;
}

#[tokio::test]
async fn preflight_5xx_past_the_retries_is_vendor_unavailable() {
    preflight_fails(VendorMood::Down, "VendorUnavailable", 2).await;
}

#[tokio::test]
async fn preflight_timeout_past_the_retries_is_vendor_unavailable() {
    preflight_fails(VendorMood::TimedOut, "VendorUnavailable", 2).await;
}

#[tokio::test]
async fn preflight_garbage_answer_is_not_trusted() {
    preflight_fails(VendorMood::Garbage, "VerificationFailed", 1).await;
}

// ---- verify: the new key stops working after the push ----------------------

/// Verification fails after Entra took the new key: the failure is audited,
/// and rollback puts Entra back on the (still live) old key and revokes the new one.
async fn verify_fails(mood: VendorMood, name: &str) {
    let f = entra_key();
    let mut i = input();
    let r = rotate(&f, &i, NOW).await.unwrap();
    i.rotation = Some(r.clone());
    *f.mood.lock().unwrap() = mood;
    let e = verify(&f, &i, NOW).await.unwrap_err();
    assert_eq!(e.name().as_str(), name, "{e}");
    let failed = f.event("verification_failed").expect("audited by verify");
    assert_eq!(failed.detail["check"], "vendor");
    assert!(f.event("verified").is_none());

    *f.mood.lock().unwrap() = VendorMood::Normal;
    let out = roll_back(&f, Some(r), &e).await;
    assert_eq!(out.outcome, "rolled_back", "{out:?}");
    assert_eq!(f.idp_key.lock().unwrap().as_deref(), Some(old_fingerprint().as_str()), "Entra back on the old key");
    assert_nothing_switched(&f);
    assert_eq!(f.active_vendor_keys(), ["k-old"]);
    let rolled = f.event("rolled_back").unwrap();
    assert!(rolled.detail["restored"].contains("entra back on the old key"), "{:?}", rolled.detail);
    assert!(rolled.detail["restored"].contains("new vendor key k-1 revoked"), "{:?}", rolled.detail);
    assert_eq!(f.mail.lock().unwrap()[0].to[0].as_str(), "oncall@acme.example", "on-call is told");
}

#[tokio::test]
async fn verify_401_rolls_back_and_puts_entra_back_on_the_old_key() {
    verify_fails(VendorMood::Unauthorized, "VerificationFailed").await;
}

#[tokio::test]
async fn verify_403_rolls_back_and_puts_entra_back_on_the_old_key() {
    verify_fails(VendorMood::Forbidden, "VerificationFailed").await;
}

#[tokio::test]
async fn verify_429_past_the_retries_is_vendor_throttled_and_rolls_back() {
    verify_fails(VendorMood::Throttled, "VendorThrottled").await;
}

#[tokio::test]
async fn verify_5xx_past_the_retries_is_vendor_unavailable_and_rolls_back() {
    verify_fails(VendorMood::Down, "VendorUnavailable").await;
}

#[tokio::test]
async fn verify_timeout_past_the_retries_is_vendor_unavailable_and_rolls_back() {
    verify_fails(VendorMood::TimedOut, "VendorUnavailable").await;
}

#[tokio::test]
async fn verify_garbage_answer_rolls_back() {
    verify_fails(VendorMood::Garbage, "VerificationFailed").await;
}

#[tokio::test]
async fn a_failed_identity_provider_check_after_the_push_puts_entra_back_on_the_old_key() {
    let f = entra_key();
    let mut i = input();
    let r = rotate(&f, &i, NOW).await.unwrap();
    i.rotation = Some(r.clone());
    *f.idp_check_fails.lock().unwrap() =
        Some(VendorError::Refused { service: "entra", operation: "GetJob", status: 400, body: "quarantined".into() });
    let e = verify(&f, &i, NOW).await.unwrap_err();
    assert_eq!(e.name().as_str(), "VerificationFailed");
    assert_eq!(f.event("verification_failed").unwrap().detail["check"], "entra");
    let out = roll_back(&f, Some(r), &e).await;
    assert_eq!(out.outcome, "rolled_back", "{out:?}");
    assert_eq!(f.idp_key.lock().unwrap().as_deref(), Some(old_fingerprint().as_str()));
    assert_eq!(f.active_vendor_keys(), ["k-old"]);
}

// ---- the identity provider, key creation, revocation ------------------------

#[tokio::test]
async fn an_identity_provider_refusing_the_new_key_is_consumer_rejected_and_nothing_is_switched() {
    let f = entra_key();
    *f.idp_refuses.lock().unwrap() = Some(VendorError::Refused {
        service: "entra",
        operation: "ValidateCredentials",
        status: 400,
        body: "invalid credentials".into(),
    });
    let e = rotate(&f, &input(), NOW).await.unwrap_err();
    assert_eq!(e.name().as_str(), "ConsumerRejected", "{e}");
    assert!(e.to_string().contains("invalid credentials"), "{e}");
    assert_eq!(f.idp_key.lock().unwrap().as_deref(), Some(old_fingerprint().as_str()));
    *f.idp_refuses.lock().unwrap() = None;
    let out = roll_back(&f, None, &e).await;
    assert_eq!(out.outcome, "rolled_back", "{out:?}");
    assert!(f.event("rotation_failed").is_some(), "a refusing IdP is not a key that failed verification");
    assert!(f.event("verification_failed").is_none());
    assert_nothing_switched(&f);
    assert_eq!(f.active_vendor_keys(), ["k-old"]);
}

#[tokio::test]
async fn a_vendor_that_throttles_key_creation_past_every_retry_creates_nothing_and_rolls_back() {
    let f = vendor_key();
    *f.create_mood.lock().unwrap() = VendorMood::Throttled;
    let e = rotate(&f, &input(), NOW).await.unwrap_err();
    assert_eq!(e.name().as_str(), "VendorThrottled", "{e}");
    assert!(f.labelled("AWSPENDING").is_empty(), "nothing was stored");
    let out = roll_back(&f, None, &e).await;
    assert_eq!(out.outcome, "rolled_back", "{out:?}");
    assert_nothing_switched(&f);
    assert_eq!(f.active_vendor_keys(), ["k-old"], "no key was made");
    assert!(f.mail.lock().unwrap()[0].subject.starts_with("Rotation rolled back"), "on-call told");
}

#[tokio::test]
async fn an_old_key_the_vendor_will_not_revoke_leaves_the_rotation_standing_and_says_so() {
    let f = vendor_key();
    f.unrevocable.lock().unwrap().insert("k-old".into());
    let out = run_all(&f).await.unwrap();
    assert_eq!(out.outcome, "rotated", "the rotation stands: {out:?}");
    assert!(out.detail.as_deref().unwrap().contains("NOT revoked k-old"), "{out:?}");
    let fin = f.event("finalized").unwrap();
    assert!(fin.detail["old_key"].contains("NOT revoked k-old") && fin.detail["old_key"].contains("owner revokes"));
    assert_eq!(f.labelled("AWSCURRENT"), [token()]);
    assert_eq!(f.active_vendor_keys(), ["k-old", "k-1"], "the old key still lives, and that was said");
}

// ---- stale pending versions, retries, crashes -------------------------------

#[tokio::test]
async fn a_stale_awspending_from_another_change_is_removed_and_its_vendor_key_revoked() {
    let f = vendor_key();
    let mut stale = StoredKey::new(SecretValue::new("stale-key-from-a-dead-change-0000"));
    stale.key_id = Some("k-stale".into());
    f.versions.lock().unwrap().insert("v-stale".into(), (stale, vec!["AWSPENDING"]));
    f.vendor_keys.lock().unwrap().push(VendorKey {
        id: "k-stale".into(),
        label: "keyturn-chg-20261101".into(),
        value: SecretValue::new("stale-key-from-a-dead-change-0000"),
        active: true,
    });
    run_all(&f).await.unwrap();
    assert!(!f.labelled("AWSPENDING").contains(&"v-stale".to_owned()), "the stale version is unblocked");
    let repaired = f.event("pending_repaired").expect("the repair is audited");
    assert_eq!(repaired.detail["version"], "v-stale");
    assert_eq!(repaired.detail["orphan_vendor_key"], "k-stale");
    assert_eq!(repaired.detail["outcome"], "revoked");
    assert!(!f.active_vendor_keys().contains(&"k-stale".to_owned()));
    assert_eq!(f.labelled("AWSCURRENT"), [token()]);
}

#[tokio::test]
async fn a_retried_rotate_writes_no_second_secret_version_and_no_second_event() {
    let f = vendor_key();
    let first = rotate(&f, &input(), NOW).await.unwrap();
    let again = rotate(&f, &input(), NOW).await.unwrap();
    assert_eq!(first.new_version, again.new_version);
    assert_eq!(f.versions.lock().unwrap().len(), 2, "v-old and this change's version");
    assert_eq!(f.active_vendor_keys(), ["k-old", "k-1"], "no second key made");
    let names = f.event_names();
    assert_eq!(names.iter().filter(|n| *n == "pending_stored").count(), 1, "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "rotation_started").count(), 1, "{names:?}");
}

/// Runs `step` again after a simulated crash, as Step Functions retries
/// `Runtime.ExitError` (twice at most: one crash is armed).
macro_rules! retried {
    ($call:expr) => {{
        match $call.await {
            Ok(v) => v,
            Err(e) => {
                assert!(e.to_string().contains("simulated crash"), "only the crash may fail a step: {e}");
                $call.await.unwrap()
            }
        }
    }};
}

/// A function that dies right after any one of its writes (Secrets Manager,
/// the vendor, Entra, the audit trail, the connector's state) and is run
/// again ends exactly where an uninterrupted run ends: one current key, live
/// at the vendor and in Entra, no pending version, no orphan vendor key, each
/// step's event once.
#[tokio::test]
async fn a_crash_after_any_write_and_a_rerun_end_where_an_uninterrupted_run_ends() {
    let clean = entra_key();
    run_all(&clean).await.unwrap();
    let writes = clean.writes.lock().unwrap().clone();
    assert!(writes.len() >= 8, "{writes:?}");
    for (n, what) in writes.iter().enumerate() {
        let f = entra_key();
        *f.crash_after_write.lock().unwrap() = Some(n + 1);
        let mut i = input();
        let r = retried!(rotate(&f, &i, NOW));
        i.rotation = Some(r);
        retried!(verify(&f, &i, NOW));
        let out = retried!(finalize(&f, &i, NOW));
        let at = format!("crash after write {} ({what})", n + 1);
        assert_eq!(out.outcome, "rotated", "{at}: {out:?}");
        assert!(f.crash_after_write.lock().unwrap().is_none(), "{at}: the crash happened");
        assert_eq!(f.labelled("AWSCURRENT"), [token()], "{at}");
        assert!(f.labelled("AWSPENDING").is_empty(), "{at}");
        let current = f.versions.lock().unwrap()[&token()].0.clone();
        assert_eq!(f.active_vendor_keys(), [current.key_id.clone().unwrap()], "{at}: no orphan, old one revoked");
        assert_eq!(f.idp_key.lock().unwrap().as_deref(), Some(current.fingerprint().as_str()), "{at}");
        let names = f.event_names();
        for e in ["rotation_started", "pending_stored", "idp_updated", "verified", "finalized"] {
            assert_eq!(names.iter().filter(|x| *x == e).count(), 1, "{at}: {e} once in {names:?}");
        }
    }
}

// ---- rollback reports what it could not restore -----------------------------

#[tokio::test]
async fn a_rollback_after_finalize_moved_awscurrent_says_it_could_not_restore_it() {
    let f = vendor_key();
    let mut i = input();
    let r = rotate(&f, &i, NOW).await.unwrap();
    i.rotation = Some(r.clone());
    {
        // finalize got as far as moving the label, then died for good.
        let mut versions = f.versions.lock().unwrap();
        versions.get_mut("v-old").unwrap().1 = vec!["AWSPREVIOUS"];
        versions.get_mut(&r.new_version).unwrap().1 = vec!["AWSCURRENT"];
    }
    let e = RotationError::VerificationFailed { connector: ID.into(), detail: "late".into() };
    let out = roll_back(&f, Some(r), &e).await;
    assert_eq!(out.outcome, "rollback_failed", "{out:?}");
    assert!(out.detail.unwrap().contains("AWSCURRENT already points at the new key"));
    assert!(f.mail.lock().unwrap()[0].subject.starts_with("ROLLBACK INCOMPLETE"));
    assert_eq!(
        f.event("needs_manual_intervention").unwrap().detail["reason"],
        "VerificationFailed: verification failed for acme/gen: late"
    );
    assert_eq!(f.marks.lock().unwrap().last().unwrap(), &format!("manual {ID}"));
}

// ---- the overlap: the old key lives on, then is retired ---------------------

/// The same connector with an overlap in its record.
fn overlapping(overlap: &str) -> Fakes {
    Fakes::with_vendor_key(record(ID, "generic-http", &[("http_template", KEY_TEMPLATE), ("overlap", overlap)]), OLD)
}

/// rotate → verify → finalize, then the retire step as the state machine
/// runs it after the Wait (`retire` from finalize's result).
async fn finalize_then_retire(f: &Fakes, error: Option<CaughtError>) -> (Outcome, Outcome) {
    let mut i = input();
    i.rotation = Some(rotate(f, &i, NOW).await.unwrap());
    verify(f, &i, NOW).await.unwrap();
    let finalized = finalize(f, &i, NOW).await.unwrap();
    i.retire = finalized.retire.clone();
    i.error = error;
    let retired = retire(f, &i, NOW + time::Duration::minutes(30)).await.unwrap();
    (finalized, retired)
}

#[tokio::test]
async fn with_an_overlap_finalize_keeps_the_old_key_live_and_records_when_it_goes() {
    let f = overlapping("30m");
    let out = run_all(&f).await.unwrap();
    assert_eq!(out.outcome, "rotated");
    let retire = out.retire.clone().expect("finalize names the key to retire");
    assert_eq!((retire.key_id.as_str(), retire.at.as_str()), ("k-old", "2026-11-24T09:30:00Z"));
    assert_eq!(f.labelled("AWSCURRENT"), [token()], "the new key is current");
    assert_eq!(f.active_vendor_keys(), ["k-old", "k-1"], "both keys work during the overlap");
    let fin = f.event("finalized").unwrap();
    assert_eq!(fin.detail["retire_key_id"], "k-old");
    assert_eq!(fin.detail["retire_at"], "2026-11-24T09:30:00Z");
    assert!(fin.detail["old_key"].contains("stays valid for the overlap (30m)"), "{:?}", fin.detail);
    assert!(out.detail.unwrap().contains("k-old stays valid"));
}

#[tokio::test]
async fn after_the_overlap_the_old_key_is_retired_and_audited() {
    let f = overlapping("30m");
    let (_, retired) = finalize_then_retire(&f, None).await;
    assert_eq!(retired.outcome, "rotated");
    assert!(retired.detail.as_deref().unwrap().contains("old key revoked k-old after the overlap"), "{retired:?}");
    assert_eq!(f.active_vendor_keys(), ["k-1"], "only the new key is live");
    let ev = f.event("old_key_retired").unwrap();
    assert_eq!(ev.detail["key_id"], "k-old");
    assert!(f.event("retire_failed").is_none() && f.mail.lock().unwrap().is_empty());
    assert_no_key_leaked(&f);
}

#[tokio::test]
async fn an_overlap_of_zero_revokes_in_finalize_as_before() {
    let f = overlapping("0s");
    let out = run_all(&f).await.unwrap();
    assert!(out.retire.is_none(), "nothing left to wait for: {out:?}");
    assert!(out.detail.as_deref().unwrap().contains("old key revoked k-old"), "{out:?}");
    assert_eq!(f.active_vendor_keys(), ["k-1"]);
}

#[tokio::test]
async fn an_old_key_the_vendor_will_not_retire_is_audited_by_id_and_told_to_on_call() {
    let f = overlapping("30m");
    f.unrevocable.lock().unwrap().insert("k-old".into());
    let (_, retired) = finalize_then_retire(&f, None).await;
    assert_eq!(retired.outcome, "rotated", "the rotation stands");
    assert!(retired.detail.as_deref().unwrap().contains("old key NOT revoked k-old"), "{retired:?}");
    let failed = f.event("retire_failed").unwrap();
    assert_eq!(failed.detail["key_id"], "k-old");
    assert!(f.event("old_key_retired").is_none());
    let mail = f.mail.lock().unwrap();
    assert_eq!(mail.len(), 1, "on-call told once");
    assert!(mail[0].subject.starts_with("Old key NOT revoked: acme/gen"), "{}", mail[0].subject);
    assert!(mail[0].text.contains("key id k-old") && mail[0].text.contains("still live"), "{}", mail[0].text);
    assert_eq!(f.active_vendor_keys(), ["k-old", "k-1"], "still live, and said so");
}

/// The state machine's last resort: the retire function kept dying. The
/// report-only call revokes nothing, and the trail still names the key.
#[tokio::test]
async fn a_retire_that_kept_crashing_is_reported_not_lost() {
    let f = overlapping("30m");
    let crash = CaughtError { error: "Runtime.ExitError".into(), cause: "{}".into() };
    let (_, retired) = finalize_then_retire(&f, Some(crash)).await;
    assert!(retired.detail.as_deref().unwrap().contains("NOT revoked k-old"), "{retired:?}");
    let failed = f.event("retire_failed").unwrap();
    assert!(failed.detail["error"].contains("Runtime.ExitError"), "{:?}", failed.detail);
    assert_eq!(f.active_vendor_keys(), ["k-old", "k-1"], "nothing revoked blind");
    assert_eq!(f.mail.lock().unwrap().len(), 1);
}

/// Retried by Step Functions after it revoked: the vendor settles it, one event.
#[tokio::test]
async fn a_retried_retire_revokes_once_and_audits_once() {
    let f = overlapping("30m");
    let (_, _) = finalize_then_retire(&f, None).await;
    let mut i = input();
    i.rotation = Some(rotate(&f, &i, NOW).await.unwrap());
    i.retire = Some(keyturn_app::rotation::Retire { key_id: "k-old".into(), at: "2026-11-24T09:30:00Z".into() });
    retire(&f, &i, NOW + time::Duration::minutes(31)).await.unwrap();
    assert_eq!(f.event_names().iter().filter(|n| *n == "old_key_retired").count(), 1);
    assert_eq!(f.active_vendor_keys(), ["k-1"]);
}

/// A key that is current again (a later rotation rolled back onto it) is never revoked.
#[tokio::test]
async fn the_current_key_is_never_retired() {
    let f = overlapping("30m");
    let mut i = input();
    i.rotation = Some(rotate(&f, &i, NOW).await.unwrap());
    i.retire = Some(keyturn_app::rotation::Retire { key_id: "k-old".into(), at: "2026-11-24T09:30:00Z".into() });
    let out = retire(&f, &i, NOW).await.unwrap();
    assert!(out.detail.unwrap().contains("k-old is the current key"));
    assert!(f.active_vendor_keys().contains(&"k-old".to_owned()));
    assert!(f.event("retire_failed").is_some());
}
