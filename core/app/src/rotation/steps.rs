//! The rotation steps, one function each, over small ports. Each step is
//! safe to run twice (Lambda and Step Functions retry): it finds what an
//! earlier attempt did instead of doing it again.

use time::{Duration, OffsetDateTime};

use super::{version_token, Outcome, Retire, Rotation, RotationError, StepInput, VendorError};
use crate::adapters::Adapters;
use crate::faults::{crash_after, CrashPoint};
use crate::inventory::{load_connector, LoadError};
use crate::ports::{AuditLog, ConnectorLookup, ConnectorStates, Consumer, KeyVendor, RoutingSource, SecretStore};
use crate::retry::{retry, Attempts};
use keyturn_domain::approval::Routing;
use keyturn_domain::procedures::{self, old_key_survives, procedure, KeySource};
use keyturn_domain::timefmt::{format_utc, parse_instant};
use keyturn_domain::{Connector, ConnectorKind, EventKind, IdpBinding, NewAuditEvent};

/// Atlassian SCIM keys (and most vendor keys) last a year when the vendor
/// does not say.
const DEFAULT_KEY_LIFETIME: Duration = Duration::days(365);

async fn load<L: ConnectorLookup>(
    lookup: &L,
    input: &StepInput,
    now: OffsetDateTime,
) -> Result<Connector, RotationError> {
    load_connector(lookup, &input.connector_id, now).await.map_err(|e| match e {
        LoadError::Store(e) => RotationError::Store(e),
        other => {
            RotationError::InvalidConnector { connector: input.connector_id.to_string(), problem: other.to_string() }
        }
    })
}

/// A step's event: written once per change even when the step is retried.
fn event(input: &StepInput, kind: EventKind, now: OffsetDateTime, actor: &str) -> NewAuditEvent {
    repeatable_event(input, kind, now, actor).once()
}

/// An event a step may write several times per change (one per stale version repaired).
fn repeatable_event(input: &StepInput, kind: EventKind, now: OffsetDateTime, actor: &str) -> NewAuditEvent {
    let mut ev = NewAuditEvent::new(input.connector_id.clone(), kind, now, actor).change(&input.change_id);
    ev.execution_arn = Some(input.execution_arn.clone());
    ev.correlation_id = Some(format!("{}/{}", input.change_id, input.connector_id));
    // The vendor's answers since the previous event: status, request id, latency.
    match crate::calls::drain() {
        Some(calls) => ev.detail("vendor_calls", calls),
        None => ev,
    }
}

fn attempts(ev: NewAuditEvent, a: Attempts) -> NewAuditEvent {
    ev.detail("attempts", a.attempts.to_string()).detail("throttled", a.throttled.to_string())
}

/// An authorisation failure of the new key is a verification failure; anything
/// else keeps its own name (throttled and unavailable, once retries are spent).
fn as_verification(connector: &Connector, stage: &str, e: VendorError) -> RotationError {
    match e {
        VendorError::Unauthorized { .. } | VendorError::Rejected { .. } | VendorError::Refused { .. } => {
            RotationError::VerificationFailed { connector: connector.id.to_string(), detail: format!("{stage}: {e}") }
        }
        other => other.into(),
    }
}

fn consumer_name(c: &Connector) -> &'static str {
    c.idp.name()
}

/// Step 1: stage the new key, pre-flight it, switch the consumer.
pub async fn rotate<A: Adapters>(p: &A, input: &StepInput, now: OffsetDateTime) -> Result<Rotation, RotationError> {
    let c = load(p.connectors(), input, now).await?;
    let proc = procedure(c.kind);
    let (old_version, old) = p.secrets().current(&c.secret_arn).await?;
    let token = version_token(&input.change_id, &input.connector_id);

    p.states().mark_rotating(&c.id, &input.change_id, now).await?;
    p.audit()
        .append(
            event(input, EventKind::RotationStarted, now, "keyturn:rotate")
                .detail("kind", c.kind.as_str())
                .detail("key_source", proc.key_source.as_str())
                .detail("consumer", consumer_name(&c))
                .detail("old_version", old_version.clone())
                .detail("old_fingerprint", old.fingerprint()),
        )
        .await?;

    // A pending version left by an earlier, unfinished rotation blocks every
    // later one ("a previous rotation isn't complete"): repair it, say so.
    for stale in p.secrets().pending(&c.secret_arn).await?.into_iter().filter(|v| !input.owns_pending(v)) {
        let mut ev =
            repeatable_event(input, EventKind::PendingRepaired, now, "keyturn:rotate").detail("version", stale.clone());
        // A key the vendor made for that rotation would otherwise stay live,
        // recorded nowhere once its version is gone.
        if proc.key_source == KeySource::VendorApi {
            let orphan = p.secrets().version(&c.secret_arn, &stale).await?.and_then(|k| k.key_id);
            if let Some(id) = orphan.filter(|id| old.key_id.as_ref() != Some(id)) {
                let (res, _) = retry(&p.retry(), || p.vendor().revoke(&c, &old, &id)).await;
                let outcome = match res {
                    Ok(()) => "revoked".to_owned(),
                    Err(e) => format!("NOT revoked: {e}"),
                };
                ev = ev.detail("orphan_vendor_key", id).detail("outcome", outcome);
            }
        }
        p.secrets().drop_pending(&c.secret_arn, &stale).await?;
        p.audit().append(ev).await?;
    }

    let (new_version, new, created) = match proc.key_source {
        KeySource::HumanIntake => {
            let v = input.intake.as_ref().map(|i| i.pending_version.clone()).ok_or_else(|| {
                RotationError::InvalidConnector {
                    connector: c.id.to_string(),
                    problem: "no key was handed over".into(),
                }
            })?;
            let key = p.secrets().version(&c.secret_arn, &v).await?.ok_or_else(|| RotationError::InvalidConnector {
                connector: c.id.to_string(),
                problem: format!("the handed-over key (version {v}) is not in Secrets Manager"),
            })?;
            (v, key, false)
        }
        KeySource::VendorApi => match p.secrets().version(&c.secret_arn, &token).await? {
            // A retried step: the key was created and stored already (its
            // `pending_stored` event may not be: the once-event settles that).
            Some(key) => (token.clone(), key, true),
            None => {
                let label = super::vendor_key_label(&input.change_id, &c.id);
                // An earlier attempt may have created a key and died before
                // storing it: that key would live on unrecorded. Revoke it.
                let (found, _) = retry(&p.retry(), || p.vendor().leftovers(&c, &old, &label)).await;
                for orphan in found.unwrap_or_default() {
                    let (res, _) = retry(&p.retry(), || p.vendor().revoke(&c, &old, &orphan)).await;
                    let outcome = match res {
                        Ok(()) => "revoked".to_owned(),
                        Err(e) => format!("NOT revoked: {e}"),
                    };
                    p.audit()
                        .append(
                            repeatable_event(input, EventKind::PendingRepaired, now, "keyturn:rotate")
                                .detail("orphan_vendor_key", orphan)
                                .detail("outcome", outcome),
                        )
                        .await?;
                }
                let (key, a) = retry(&p.retry(), || p.vendor().create(&c, &old, &label)).await;
                let key = key.map_err(|e| as_verification(&c, "creating the new key", e))?;
                let v = p.secrets().put_pending(&c.secret_arn, &token, &key).await?;
                crash_after(CrashPoint::PutSecret, &c.id)?;
                tracing::info!(attempts = a.attempts, "new key created at the vendor");
                (v, key, true)
            }
        },
    };
    if created {
        let mut ev = event(input, EventKind::PendingStored, now, "keyturn:rotate")
            .detail("new_version", new_version.clone())
            .detail("new_fingerprint", new.fingerprint())
            .detail("source", "vendor_api");
        if let Some(id) = &new.key_id {
            ev = ev.detail("new_key_id", id.clone());
        }
        p.audit().append(ev).await?;
    }

    // Pre-flight: the new key must work at the vendor before any consumer sees it.
    let (probe, a) = retry(&p.retry(), || p.vendor().probe(&c, &new)).await;
    probe.map_err(|e| as_verification(&c, &format!("pre-flight after {} attempt(s)", a.attempts), e))?;
    // Recorded by verify's event: rotate may write no further event (no consumer).
    let preflight = crate::calls::drain();

    let mut rotation = Rotation {
        old_version,
        old_fingerprint: old.fingerprint(),
        new_version,
        new_fingerprint: new.fingerprint(),
        old_key_id: old.key_id.clone(),
        new_key_id: if proc.key_source == KeySource::VendorApi { new.key_id.clone() } else { None },
        consumer: consumer_name(&c).to_owned(),
        pushed: false,
        started_at: format_utc(now),
        preflight,
    };
    if c.idp != IdpBinding::None && !c.idp.takes_key_by_api() {
        // The owner set the key in the provider's console during the hand-over;
        // verify proves it works there. Said so in the trail, not claimed as ours.
        let (before, _) = retry(&p.retry(), || p.consumer().state(&c)).await;
        rotation.pushed = true;
        p.audit()
            .append(
                event(input, EventKind::IdpUpdated, now, "keyturn:rotate")
                    .detail("consumer", consumer_name(&c))
                    .detail("updated_by", "the key's owner, in the identity provider's admin console")
                    .detail("before_state", before.unwrap_or_else(|e| format!("unknown ({e})")))
                    .detail("before_fingerprint", rotation.old_fingerprint.clone())
                    .detail("after_fingerprint", rotation.new_fingerprint.clone()),
            )
            .await?;
    } else if c.idp != IdpBinding::None {
        let (valid, a) = retry(&p.retry(), || p.consumer().validate_candidate(&c, &new)).await;
        valid.map_err(|e| RotationError::ConsumerRejected {
            connector: c.id.to_string(),
            detail: format!("candidate check after {} attempt(s): {e}", a.attempts),
        })?;
        // What the consumer looked like before: the trail shows the change.
        let (before, _) = retry(&p.retry(), || p.consumer().state(&c)).await;
        let before = before.unwrap_or_else(|e| format!("unknown ({e})"));
        let (pushed, a) = retry(&p.retry(), || p.consumer().push(&c, &new)).await;
        pushed.map_err(|e| RotationError::ConsumerRejected { connector: c.id.to_string(), detail: e.to_string() })?;
        crash_after(CrashPoint::IdpPush, &c.id)?;
        rotation.pushed = true;
        p.audit()
            .append(attempts(
                event(input, EventKind::IdpUpdated, now, "keyturn:rotate")
                    .detail("consumer", consumer_name(&c))
                    .detail("before_state", before)
                    .detail("before_fingerprint", rotation.old_fingerprint.clone())
                    .detail("after_fingerprint", rotation.new_fingerprint.clone()),
                a,
            ))
            .await?;
    }
    Ok(rotation)
}

/// Step 2: provisioning works with the new key, through the consumer.
pub async fn verify<A: Adapters>(
    p: &A,
    input: &StepInput,
    now: OffsetDateTime,
) -> Result<serde_json::Value, RotationError> {
    let c = load(p.connectors(), input, now).await?;
    let r = input.rotation.as_ref().ok_or_else(|| RotationError::InvalidConnector {
        connector: c.id.to_string(),
        problem: "verify ran without a rotation".into(),
    })?;
    let new =
        p.secrets().version(&c.secret_arn, &r.new_version).await?.ok_or_else(|| RotationError::VerificationFailed {
            connector: c.id.to_string(),
            detail: format!("version {} vanished from Secrets Manager", r.new_version),
        })?;
    let (probe, probe_attempts) = retry(&p.retry(), || p.vendor().probe(&c, &new)).await;
    if let Err(e) = probe {
        p.audit()
            .append(attempts(
                event(input, EventKind::VerificationFailed, now, "keyturn:verify")
                    .detail("check", "vendor")
                    .detail("error", e.to_string()),
                probe_attempts,
            ))
            .await?;
        return Err(as_verification(&c, "verification", e));
    }
    if r.pushed {
        let (check, a) = retry(&p.retry(), || p.consumer().check(&c)).await;
        if let Err(e) = check {
            p.audit()
                .append(attempts(
                    event(input, EventKind::VerificationFailed, now, "keyturn:verify")
                        .detail("check", consumer_name(&c))
                        .detail("error", e.to_string()),
                    a,
                ))
                .await?;
            return Err(as_verification(&c, "identity provider check", e));
        }
    }
    p.audit()
        .append(attempts(
            event(input, EventKind::Verified, now, "keyturn:verify")
                .detail("new_version", r.new_version.clone())
                .detail("consumer", r.consumer.clone())
                .detail("preflight_calls", r.preflight.clone().unwrap_or_else(|| "none".into())),
            probe_attempts,
        ))
        .await?;
    crash_after(CrashPoint::AuditWrite, &c.id)?;
    Ok(serde_json::json!({"verified_at": format_utc(now), "attempts": probe_attempts.attempts}))
}

/// Step 3: the new key becomes current; the old one is revoked where possible.
pub async fn finalize<A: Adapters>(p: &A, input: &StepInput, now: OffsetDateTime) -> Result<Outcome, RotationError> {
    let c = load(p.connectors(), input, now).await?;
    let r = input.rotation.as_ref().ok_or_else(|| RotationError::InvalidConnector {
        connector: c.id.to_string(),
        problem: "finalize ran without a rotation".into(),
    })?;
    let new = p.secrets().version(&c.secret_arn, &r.new_version).await?;
    let (current, _) = p.secrets().current(&c.secret_arn).await?;
    if current != r.new_version {
        p.secrets().promote(&c.secret_arn, &r.new_version, &r.old_version).await?;
        crash_after(CrashPoint::StageUpdate, &c.id)?;
    }
    let mut revoked = "not applicable".to_owned();
    let mut retire = None;
    let overlap = procedures::overlap(&c);
    if procedure(c.kind).revokes_old_key {
        revoked = match (&r.old_key_id, &new) {
            // The old key lives on for the overlap; the state machine waits,
            // then `retire` revokes it. Recorded here first (the event and
            // the outcome), so nothing waits on a key nobody wrote down.
            (Some(old_id), Some(_)) if overlap > Duration::ZERO => {
                let at = format_utc(now + overlap);
                retire = Some(Retire { key_id: old_id.clone(), at: at.clone() });
                format!("{old_id} stays valid for the overlap ({}), revoked at {at}", overlap_text(overlap))
            }
            (Some(old_id), Some(new)) => {
                let (res, _) = retry(&p.retry(), || p.vendor().revoke(&c, new, old_id)).await;
                match res {
                    Ok(()) => format!("revoked {old_id}"),
                    // The rotation stands; a lingering old key is reported, not hidden.
                    Err(e) => format!("NOT revoked {old_id}: {e}; the owner revokes it at the vendor"),
                }
            }
            // A handed-over key's predecessor may have no recorded id: only its owner can find it.
            _ => "NOT revoked (its key id is not recorded): the owner revokes it at the vendor".to_owned(),
        };
    }
    let expires_at = new
        .as_ref()
        .and_then(|k| k.expires_at.as_deref())
        .and_then(parse_instant)
        .unwrap_or(now + DEFAULT_KEY_LIFETIME);
    p.states().mark_rotated(&c.id, &input.change_id, expires_at, now).await?;
    let mut ev = event(input, EventKind::Finalized, now, "keyturn:finalize")
        .detail("current_version", r.new_version.clone())
        .detail("previous_version", r.old_version.clone())
        .detail("current_fingerprint", r.new_fingerprint.clone())
        .detail("old_key", revoked.clone())
        .detail("expires_at", format_utc(expires_at));
    if let Some(retire) = &retire {
        ev = ev.detail("retire_key_id", retire.key_id.clone()).detail("retire_at", retire.at.clone());
    }
    p.audit().append(ev).await?;
    Ok(Outcome {
        connector_id: c.id.to_string(),
        outcome: "rotated".into(),
        detail: Some(format!(
            "new key {} current, expires {}; old key {revoked}",
            r.new_fingerprint,
            format_utc(expires_at)
        )),
        time_to_rotate_seconds: parse_instant(&r.started_at).map(|t| (now - t).whole_seconds()),
        retire,
    })
}

/// `3600 s` as the record would say it: `1h`.
fn overlap_text(d: Duration) -> String {
    let s = d.whole_seconds();
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Step 3b, after the overlap: the old key finalize left valid is revoked.
/// The rotation stands whatever happens here; a key that cannot be revoked
/// is audited (`retire_failed`, by id), put in the connector's outcome and
/// told to on-call with where to remove it. Called with the state machine's
/// caught error (the function kept dying), it revokes nothing and says so.
pub async fn retire<A: Adapters>(p: &A, input: &StepInput, now: OffsetDateTime) -> Result<Outcome, RotationError> {
    let c = load(p.connectors(), input, now).await?;
    let (Some(r), Some(retire)) = (input.rotation.as_ref(), input.retire.as_ref()) else {
        return Err(RotationError::InvalidConnector {
            connector: c.id.to_string(),
            problem: "retire ran without a rotation and the key to retire".into(),
        });
    };
    let id = &retire.key_id;
    let (current_version, current) = p.secrets().current(&c.secret_arn).await?;
    let result: Result<(), String> = if let Some(e) = &input.error {
        Err(format!("the retire step kept failing ({}); nothing was revoked", e.error))
    } else if current.key_id.as_deref() == Some(id.as_str()) {
        // Never the key in use: a rotation that put it back has the last word.
        Err(format!("{id} is the current key (version {current_version}); it is not revoked"))
    } else {
        let (res, _) = retry(&p.retry(), || p.vendor().revoke(&c, &current, id)).await;
        res.map_err(|e| e.to_string())
    };
    let (kind, said) = match &result {
        Ok(()) => (EventKind::OldKeyRetired, format!("old key revoked {id} after the overlap")),
        Err(e) => (EventKind::RetireFailed, format!("old key NOT revoked {id} after the overlap: {e}")),
    };
    let mut ev = event(input, kind, now, "keyturn:retire")
        .detail("key_id", id.clone())
        .detail("retire_at", retire.at.clone())
        .detail("current_version", r.new_version.clone());
    if let Err(e) = &result {
        ev = ev.detail("error", e.clone());
    }
    p.audit().append(ev).await?;
    if result.is_err() {
        let (vendor, place) = revoke_where(c.kind);
        let subject = format!("Old key NOT revoked: {} ({})", input.connector_id, input.change_id);
        let text = format!(
            "{subject}\n\nThe rotation stands: the new key (version {}) is current. Its predecessor, key id {id}, \
             was to be revoked after its overlap, at {}, and was not: {said}.\n\nIt is still live at {vendor}: \
             remove it there ({place}).\n\nExecution: {}\n",
            r.new_version, retire.at, input.execution_arn
        );
        let told = escalate(p, Some(&c), &subject, &text).await;
        p.audit()
            .append(event(input, EventKind::Notified, now, "keyturn:retire").detail("notified", told.join(", ")))
            .await?;
    }
    Ok(Outcome {
        connector_id: c.id.to_string(),
        outcome: "rotated".into(),
        detail: Some(format!("new key {} current; {said}", r.new_fingerprint)),
        time_to_rotate_seconds: None,
        retire: None,
    })
}

/// Step 4 (on any failure): put back what can be put back, say exactly what
/// could not, hand the connector to a human. Never fails quietly: a rollback
/// that cannot finish is audited and escalated as `rollback_failed`.
pub async fn rollback<A: Adapters>(p: &A, input: &StepInput, now: OffsetDateTime) -> Result<Outcome, RotationError> {
    crash_after(CrashPoint::RollbackStart, &input.connector_id)?;
    // A Lambda error's cause is its JSON `{"errorType","errorMessage"}`: keep the message.
    let cause = input.error.as_ref().map(|e| {
        let message = serde_json::from_str::<serde_json::Value>(&e.cause)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
            .unwrap_or_else(|| e.cause.clone());
        format!("{}: {}", e.error, message.chars().take(300).collect::<String>())
    });
    let cause = cause.unwrap_or_else(|| "unknown failure".into());
    // Named for what failed: only a key that did not prove itself is a
    // verification failure (a throttled vendor or a refusing IdP is not).
    let failed = if input.error.as_ref().is_some_and(|e| e.error == keyturn_domain::ErrorName::VerificationFailed) {
        EventKind::VerificationFailed
    } else {
        EventKind::RotationFailed
    };
    p.audit().append(event(input, failed, now, "keyturn:rollback").detail("error", cause.clone())).await?;

    let mut restored: Vec<String> = Vec::new();
    let mut not_restored: Vec<String> = Vec::new();
    let c = match load(p.connectors(), input, now).await {
        Ok(c) => c,
        Err(e) => {
            not_restored.push(format!("everything: {e}"));
            return finish_rollback(p, input, None, &cause, Told { restored, not_restored, owner: Vec::new() }, now)
                .await;
        }
    };
    let r = input.rotation.as_ref();
    let proc = procedure(c.kind);

    // Read once: it names the old key for the consumer and authenticates revocation.
    let current = p.secrets().current(&c.secret_arn).await;
    match &current {
        Ok((current_version, old)) => {
            if r.is_some_and(|r| &r.new_version == current_version) {
                not_restored.push("AWSCURRENT already points at the new key (finalize had started)".into());
            } else {
                restored.push(format!("AWSCURRENT unchanged (version {current_version})"));
            }
            let touched = r.map_or(c.idp != IdpBinding::None, |r| r.pushed) && c.idp != IdpBinding::None;
            // What on-call hears about the old key follows the procedure row
            // and a probe, never an assumption: a key that may have died
            // (regenerating an Atlassian SCIM key kills the old one) is
            // probed whether or not an identity provider holds it.
            let alive = if touched || !old_key_survives(&c) {
                Some(retry(&p.retry(), || p.vendor().probe(&c, old)).await.0)
            } else {
                None
            };
            match &alive {
                Some(Ok(())) => restored.push(format!("the old key (version {current_version}) answers at the vendor")),
                Some(Err(e @ VendorError::Unauthorized { .. })) => not_restored.push(format!(
                    "the old key (AWSCURRENT, version {current_version}) no longer works at the vendor ({e}): \
                     provisioning needs a working key by hand"
                )),
                Some(Err(e)) => not_restored.push(format!(
                    "could not tell whether the old key (version {current_version}) still works ({e}): check it by hand"
                )),
                None if c.old_key_survives.is_some() => restored.push(format!(
                    "the old key (version {current_version}) stays valid: this connector's record says it survives \
                     a new one (old_key_survives: true)"
                )),
                None => restored.push(format!(
                    "the old key (version {current_version}) stays valid: the {} procedure keeps it until a new key \
                     is verified",
                    c.kind
                )),
            }
            // The consumer: back on the old key, if the old key still works.
            if touched {
                match alive {
                    Some(Ok(())) => {
                        let (pushed, _) = retry(&p.retry(), || p.consumer().push(&c, old)).await;
                        match pushed {
                            Ok(()) => restored.push(format!("{} back on the old key", c.idp.name())),
                            Err(e) => not_restored.push(format!("{} still on the new key: {e}", c.idp.name())),
                        }
                    }
                    Some(Err(e @ VendorError::Unauthorized { .. })) => not_restored.push(format!(
                        "{} not restored: the old key no longer works ({e}); it needs a new key by hand",
                        c.idp.name()
                    )),
                    Some(Err(e)) => not_restored
                        .push(format!("{} left on the new key: the old key could not be checked ({e})", c.idp.name())),
                    None => {}
                }
            }
        }
        Err(e) => not_restored.push(format!("could not read AWSCURRENT: {e}")),
    }

    // AWSPENDING: ours (this change's token or the handed-over key) comes off.
    let mut owner = Vec::new();
    match p.secrets().pending(&c.secret_arn).await {
        Ok(pending) => {
            for v in pending.into_iter().filter(|v| input.owns_pending(v)) {
                // A handed-over key whose predecessor survives is a second key
                // at the vendor (an org API key the owner created): keyturn
                // has no id to revoke it by, and it still works there.
                if proc.key_source == KeySource::HumanIntake && old_key_survives(&c) {
                    let fingerprint = match p.secrets().version(&c.secret_arn, &v).await {
                        Ok(Some(k)) => format!(" (fingerprint {})", k.fingerprint()),
                        _ => String::new(),
                    };
                    let (vendor, place) = revoke_where(c.kind);
                    owner.push(format!(
                        "the handed-over key{fingerprint} is still live at {vendor}: keyturn did not create it and \
                         cannot revoke it; its owner should revoke it ({place})"
                    ));
                }
                // A key keyturn created at the vendor is revoked.
                if let (KeySource::VendorApi, Ok(Some(new))) =
                    (procedure(c.kind).key_source, p.secrets().version(&c.secret_arn, &v).await)
                {
                    if let Some(id) = new.key_id.clone() {
                        let auth = current.as_ref().map(|(_, k)| k.clone()).unwrap_or_else(|_| new.clone());
                        let (res, _) = retry(&p.retry(), || p.vendor().revoke(&c, &auth, &id)).await;
                        match res {
                            Ok(()) => restored.push(format!("new vendor key {id} revoked")),
                            Err(e) => not_restored.push(format!("new vendor key {id} NOT revoked: {e}")),
                        }
                    }
                }
                match p.secrets().drop_pending(&c.secret_arn, &v).await {
                    Ok(()) => restored.push(format!("AWSPENDING removed from {v}")),
                    Err(e) => not_restored.push(format!("AWSPENDING left on {v}: {e}")),
                }
            }
        }
        Err(e) => not_restored.push(format!("could not list pending versions: {e}")),
    }
    finish_rollback(p, input, Some(&c), &cause, Told { restored, not_restored, owner }, now).await
}

/// Where an owner revokes a key keyturn cannot: (vendor, place).
fn revoke_where(kind: ConnectorKind) -> (&'static str, &'static str) {
    match kind {
        ConnectorKind::AtlassianApiKey => ("Atlassian", "admin.atlassian.com > Settings > API keys"),
        ConnectorKind::EntraAppSecret => {
            ("Microsoft Entra", "Entra admin center > App registrations > the app > Certificates & secrets")
        }
        ConnectorKind::OktaClientSecret => ("Okta", "Okta Admin Console > Applications > the app > Client secrets"),
        ConnectorKind::AtlassianScim | ConnectorKind::ScimToken | ConnectorKind::GenericHttp => {
            ("the vendor", "in the vendor's console")
        }
    }
}

/// What a rollback tells on-call: what it put back, what it could not, and
/// what is left for the key's owner (nothing broken, but a live key to revoke).
struct Told {
    restored: Vec<String>,
    not_restored: Vec<String>,
    owner: Vec<String>,
}

async fn finish_rollback<A: Adapters>(
    p: &A,
    input: &StepInput,
    c: Option<&Connector>,
    cause: &str,
    told: Told,
    now: OffsetDateTime,
) -> Result<Outcome, RotationError> {
    let Told { restored, mut not_restored, owner } = told;
    if let Err(e) = p.states().mark_manual(&input.connector_id, &input.change_id, now).await {
        not_restored.push(format!("connector status not set to needs_manual_intervention: {e}"));
    }
    let failed = !not_restored.is_empty();
    let kind = if failed { EventKind::RollbackFailed } else { EventKind::RolledBack };
    let mut ev = event(input, kind, now, "keyturn:rollback")
        .detail("restored", restored.join("; "))
        .detail("not_restored", not_restored.join("; "));
    if !owner.is_empty() {
        ev = ev.detail("owner_to_do", owner.join("; "));
    }
    p.audit().append(ev).await?;
    p.audit()
        .append(
            event(input, EventKind::NeedsManualIntervention, now, "keyturn:rollback")
                .detail("reason", cause.to_owned()),
        )
        .await?;

    let subject = format!(
        "{}: {} needs manual intervention ({})",
        if failed { "ROLLBACK INCOMPLETE" } else { "Rotation rolled back" },
        input.connector_id,
        input.change_id
    );
    let mut text = format!("{subject}\n\nWhat failed: {cause}\n\nRestored:\n");
    for r in &restored {
        text.push_str(&format!("  - {r}\n"));
    }
    text.push_str("\nNOT restored:\n");
    if not_restored.is_empty() {
        // What the old key's state is was said above, from the procedure row or a probe.
        text.push_str("  (nothing)\n");
    }
    for r in &not_restored {
        text.push_str(&format!("  - {r}\n"));
    }
    if !owner.is_empty() {
        text.push_str("\nFor the key's owner:\n");
        for r in &owner {
            text.push_str(&format!("  - {r}\n"));
        }
    }
    text.push_str(&format!("\nExecution: {}\n", input.execution_arn));
    let told = escalate(p, c, &subject, &text).await;
    p.audit()
        .append(event(input, EventKind::Notified, now, "keyturn:rollback").detail("notified", told.join(", ")))
        .await?;
    Ok(Outcome {
        connector_id: input.connector_id.to_string(),
        outcome: if failed { "rollback_failed" } else { "rolled_back" }.into(),
        detail: Some(
            if failed { not_restored } else { restored }.into_iter().chain(owner).collect::<Vec<_>>().join("; "),
        ),
        time_to_rotate_seconds: None,
        retire: None,
    })
}

/// Tells the connector's escalation contacts (falling back to its approvers).
async fn escalate<A: Adapters>(p: &A, c: Option<&Connector>, subject: &str, text: &str) -> Vec<String> {
    let routing: Option<Routing> = p.routing().routing().await.ok();
    let Some(group) = c.and_then(|c| routing.as_ref().and_then(|r| r.group(&c.approver_group).ok())) else {
        tracing::error!(subject, "no escalation route; the audit trail and the execution carry the failure");
        return Vec::new();
    };
    // The same audience and channels as notify's failure message.
    let (to, hook) = crate::notify::audience(crate::notify::NotifyEvent::Failed, group);
    let (told, failed) = crate::notify::tell(p.mailer(), p.chat(), &to, hook, subject, text).await;
    for f in failed {
        tracing::error!(failure = %f, "escalation not delivered");
    }
    told
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotation::{CaughtError, Intake, StoredKey};
    use crate::testkit::{record, Fakes};
    use keyturn_domain::ChangeId;

    const NOW: OffsetDateTime = time::macros::datetime!(2026-11-24 09:00 UTC);

    /// A SCIM key handed over and refused by the pre-flight: what rollback gets.
    fn refused_handover(connector: &str) -> StepInput {
        StepInput {
            connector_id: ConnectorId::parse(connector).unwrap(),
            change_id: ChangeId::from_trusted("chg-20261124-00000000000000aa"),
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:keyturn-rotation:x".into(),
            intake: Some(Intake { pending_version: "v-new".into() }),
            rotation: None,
            retire: None,
            error: Some(CaughtError {
                error: keyturn_domain::ErrorName::VerificationFailed.to_string(),
                cause: r#"{"errorType":"VerificationFailed","errorMessage":"pre-flight: atlassian ScimListUsers: not authorised (HTTP 401)"}"#.into(),
            }),
        }
    }

    use keyturn_domain::ConnectorId;

    fn mail_text(f: &Fakes) -> String {
        let mail = f.mail.lock().unwrap();
        assert_eq!(mail.len(), 1, "on-call is told once");
        assert_eq!(mail[0].to[0].as_str(), "oncall@acme.example");
        mail[0].text.clone()
    }

    /// Issue 20 item 6: with IdP `none` the owner has regenerated the key, so
    /// the old one is dead; on-call must hear that, not "the old key is live".
    #[tokio::test]
    async fn a_dead_old_scim_key_without_an_identity_provider_is_reported_dead() {
        let f = Fakes::new(record("acme/scim", "atlassian-scim", &[]), "old-key-regenerated-away");
        // The vendor accepts neither the old key (regenerated) nor the pasted one.
        let out = rollback(&f, &refused_handover("acme/scim"), NOW).await.unwrap();
        assert_eq!(out.outcome, "rollback_failed", "{out:?}");
        let text = mail_text(&f);
        assert!(text.starts_with("ROLLBACK INCOMPLETE"), "{text}");
        assert!(text.contains("no longer works at the vendor"), "{text}");
        assert!(!text.contains("live and current") && !text.contains("(nothing"), "{text}");
        assert_eq!(f.probes.lock().unwrap().len(), 1, "the old key was probed, IdP or not");
        let failed = f.events().into_iter().find(|e| e.event == "rollback_failed").unwrap();
        assert!(failed.detail["not_restored"].contains("version v-old"), "{:?}", failed.detail);
        assert!(!f.everything_said().contains("old-key-regenerated-away"), "the key is never written anywhere");
    }

    /// The same failure before the owner regenerated: the probe says the old
    /// key still works, and the email says so because it was checked.
    #[tokio::test]
    async fn a_live_old_scim_key_is_reported_live_because_it_was_probed() {
        let f = Fakes::new(record("acme/scim", "atlassian-scim", &[]), "old-key-still-live-123");
        f.accept("old-key-still-live-123");
        let out = rollback(&f, &refused_handover("acme/scim"), NOW).await.unwrap();
        assert_eq!(out.outcome, "rolled_back", "{out:?}");
        let text = mail_text(&f);
        assert!(text.contains("the old key (version v-old) answers at the vendor"), "{text}");
        assert!(text.contains("NOT restored:\n  (nothing)\n"), "{text}");
    }

    /// A vendor that cannot be asked is not taken as a live key, nor a dead one.
    #[tokio::test]
    async fn an_old_key_that_cannot_be_checked_is_reported_unknown() {
        let f = Fakes::new(record("acme/scim", "atlassian-scim", &[]), "old-key-unknown-12345");
        *f.mood.lock().unwrap() = crate::testkit::VendorMood::Down;
        let out = rollback(&f, &refused_handover("acme/scim"), NOW).await.unwrap();
        assert_eq!(out.outcome, "rollback_failed");
        assert!(mail_text(&f).contains("could not tell whether the old key (version v-old) still works"));
    }

    /// An org API key handed over and refused: the old key stays current, and
    /// the handed-over one, a second live key at Atlassian that keyturn did not
    /// create, is named for its owner to revoke (never by value).
    #[tokio::test]
    async fn a_refused_handed_over_org_key_is_left_for_its_owner_to_revoke() {
        let f = Fakes::new(record("acme/admin", "atlassian-api-key", &[]), "old-org-key-1234567");
        let pasted = "org-key-pasted-by-owner-0123456789";
        let stored = StoredKey::new(keyturn_domain::SecretValue::new(pasted));
        f.versions.lock().unwrap().insert("v-new".to_owned(), (stored.clone(), vec!["AWSPENDING"]));
        let out = rollback(&f, &refused_handover("acme/admin"), NOW).await.unwrap();
        assert_eq!(out.outcome, "rolled_back", "nothing broken: the old key is current and live {out:?}");
        let text = mail_text(&f);
        let owner = text.split("For the key's owner:\n").nth(1).unwrap_or_default();
        let named = format!("the handed-over key (fingerprint {}) is still live at Atlassian", stored.fingerprint());
        assert!(owner.contains(&named) && owner.contains("its owner should revoke it (admin.atlassian.com"), "{text}");
        assert!(out.detail.unwrap().contains("still live at Atlassian"));
        let rolled = f.events().into_iter().find(|e| e.event == "rolled_back").unwrap();
        assert!(rolled.detail["owner_to_do"].contains("still live at Atlassian"), "{:?}", rolled.detail);
        assert!(!f.everything_said().contains(pasted), "the key is never written anywhere");
    }

    /// A SCIM key's regeneration killed its predecessor: nothing extra is
    /// live, so nothing is asked of the owner.
    #[tokio::test]
    async fn a_refused_scim_key_leaves_the_owner_nothing_to_revoke() {
        let f = Fakes::new(record("acme/scim", "atlassian-scim", &[]), "old-key-still-live-123");
        f.accept("old-key-still-live-123");
        let stored = StoredKey::new(keyturn_domain::SecretValue::new("scim-key-pasted-0123456789"));
        f.versions.lock().unwrap().insert("v-new".to_owned(), (stored, vec!["AWSPENDING"]));
        rollback(&f, &refused_handover("acme/scim"), NOW).await.unwrap();
        assert!(!mail_text(&f).contains("For the key's owner"));
    }

    const SCIM_BASE: (&str, &str) = ("scim_base", "https://scim.vendor.example/v2");

    /// A `scim-token` follows its row like its Atlassian preset: by default
    /// the regenerated token killed the old one, so rollback probes it and
    /// says it is dead, and nothing is asked of the owner.
    #[tokio::test]
    async fn a_refused_scim_token_probes_the_old_token_by_default() {
        let f = Fakes::new(record("acme/gh", "scim-token", &[SCIM_BASE]), "old-github-token-regenerated");
        let stored = StoredKey::new(keyturn_domain::SecretValue::new("gh-token-pasted-0123456789"));
        f.versions.lock().unwrap().insert("v-new".to_owned(), (stored, vec!["AWSPENDING"]));
        let out = rollback(&f, &refused_handover("acme/gh"), NOW).await.unwrap();
        assert_eq!(out.outcome, "rollback_failed", "{out:?}");
        assert_eq!(f.probes.lock().unwrap().len(), 1, "the old token was probed");
        let text = mail_text(&f);
        assert!(text.contains("no longer works at the vendor") && !text.contains("For the key's owner"), "{text}");
        assert!(!f.everything_said().contains("old-github-token-regenerated"));
    }

    /// A record that says its vendor keeps the old token alive: not probed
    /// (the record vouches, and says so), and the handed-over token, a
    /// second live one, is left for its owner to revoke.
    #[tokio::test]
    async fn a_scim_token_whose_old_token_survives_is_vouched_for_by_its_record() {
        let survives = [SCIM_BASE, ("old_key_survives", "true")];
        let f = Fakes::new(record("acme/gh", "scim-token", &survives), "old-github-token-still-live");
        let stored = StoredKey::new(keyturn_domain::SecretValue::new("gh-token-pasted-0123456789"));
        f.versions.lock().unwrap().insert("v-new".to_owned(), (stored.clone(), vec!["AWSPENDING"]));
        let out = rollback(&f, &refused_handover("acme/gh"), NOW).await.unwrap();
        assert_eq!(out.outcome, "rolled_back", "{out:?}");
        assert!(f.probes.lock().unwrap().is_empty(), "no probe needed");
        let text = mail_text(&f);
        assert!(text.contains("this connector's record says it survives a new one"), "{text}");
        let named = format!("the handed-over key (fingerprint {}) is still live at the vendor", stored.fingerprint());
        assert!(text.contains(&named), "{text}");
    }

    /// A key the procedure keeps valid (vendor API keys) is not probed; the
    /// email names the procedure as the reason, not a guess.
    #[tokio::test]
    async fn a_surviving_old_key_is_vouched_for_by_the_procedure_row() {
        let f = Fakes::new(record("acme/admin", "atlassian-api-key", &[]), "old-org-key-1234567");
        let mut input = refused_handover("acme/admin");
        input.intake = None;
        let out = rollback(&f, &input, NOW).await.unwrap();
        assert_eq!(out.outcome, "rolled_back", "{out:?}");
        assert!(f.probes.lock().unwrap().is_empty(), "no probe needed");
        let text = mail_text(&f);
        assert!(text.contains("the atlassian-api-key procedure keeps it until a new key is verified"), "{text}");
    }
}
