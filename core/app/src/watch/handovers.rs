//! Reminders to owners whose key hand-over is still waiting after approval.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::adapters::Adapters;
use crate::approval::intake::{ask_owner, HandOver};
use crate::approval::routing::Routing;
use crate::approval::ChangeRecord;
use crate::ports::{AuditLog, IntakeTokens, Mailer, Notices, OpenIntake};
use crate::scanner::{Plan, ACTOR};
use keyturn_domain::approval::Approver;
use keyturn_domain::procedures::KeySource;
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{ChangeStatus, ConnectorId, EventKind, NewAuditEvent};

use super::*;

/// A key hand-over waiting for its owner with a reminder mark due.
pub(super) struct Handover<'r> {
    pub(super) record: &'r ChangeRecord,
    pub(super) intake: OpenIntake,
    /// The connector's current key expires then (the marks count back from it).
    expiry: OffsetDateTime,
    days: u32,
}

/// The hand-overs of approved changes still open with a mark due: only
/// held human-intake connectors are looked up, one batch read per change.
pub(super) async fn waiting_handovers<'r, A: Adapters>(
    ports: &A,
    settings: &WatchSettings,
    plan: &Plan,
    records: &'r [ChangeRecord],
    out: &mut WatchReport,
) -> Vec<Handover<'r>> {
    let mut due = Vec::new();
    if settings.approval_url.is_none() {
        return due;
    }
    let now = plan.now;
    for record in records.iter().filter(|r| r.status == ChangeStatus::Approved) {
        let held: BTreeMap<&ConnectorId, OffsetDateTime> = plan
            .skipped
            .iter()
            .filter(|s| s.held_by.as_ref() == Some(&record.change.id))
            .filter(|s| keyturn_domain::procedures::procedure(s.kind).key_source == KeySource::HumanIntake)
            .map(|s| (&s.connector_id, s.expires_at))
            .collect();
        if held.is_empty() {
            continue;
        }
        let ids: Vec<ConnectorId> = held.keys().map(|id| (*id).clone()).collect();
        let open = match ports.intake().open_intakes(&record.change.id, &ids).await {
            Ok(open) => open,
            Err(e) => {
                out.errors.push(format!("key hand-overs of {}: {e}", record.change.id));
                continue;
            }
        };
        for intake in open.into_iter().filter(|i| i.expires_at > now) {
            let Some(&expiry) = held.get(&intake.connector) else { continue };
            let Some(days) = due_mark(&settings.reminder_days, expiry, intake.requested_at, now) else { continue };
            if !record.notices.contains(&handover_notice(&intake.connector, days)) {
                due.push(Handover { record, intake, expiry, days });
            }
        }
    }
    due
}

pub(super) fn handover_notice(connector: &ConnectorId, days: u32) -> String {
    format!("intake-remind:{connector}:{days}")
}

pub(super) fn days_left(days: u32) -> String {
    if days == 1 {
        "1 day".to_owned()
    } else {
        format!("{days} days")
    }
}

/// Reminds the owner with a fresh hand-over link; the last mark also tells
/// the approver group's escalation contacts.
pub(super) async fn remind_owner<A: Adapters>(
    ports: &A,
    settings: &WatchSettings,
    routing: &Routing,
    h: &Handover<'_>,
    now: OffsetDateTime,
    out: &mut WatchReport,
) -> Result<(), String> {
    let Some(url) = &settings.approval_url else { return Ok(()) };
    let change = &h.record.change;
    let id = &h.intake.connector;
    if !ports
        .notices()
        .claim_change_notice(&change.id, &handover_notice(id, h.days))
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let c = crate::inventory::load_connector(ports.connectors(), id, now).await.map_err(|e| e.to_string())?;
    let owner = Approver::parse(&c.owner).map_err(|e| format!("owner: {e}"))?;
    let left = days_left(h.days);
    let mut emails_sent = 0;
    if ports.mailer().configured() {
        let ask = HandOver { url, change: &change.id, connector: &c, owner: &owner, expires: h.intake.expires_at };
        match ask_owner(ports.keys(), ports.mailer(), &ask, Some(&format!("{left} before the key expires"))).await {
            Ok(()) => emails_sent = 1,
            Err(e) => out.errors.push(format!("hand-over reminder to {owner}: {e}")),
        }
    } else {
        out.errors.push(format!("hand-over reminder for {id}: no email sender is set up (KEYTURN_EMAIL_FROM)"));
    }
    let last = settings.reminder_days.iter().min() == Some(&h.days);
    let mut escalated = false;
    if last {
        let group = routing.group(&change.approver_group).map_err(|e| e.to_string())?;
        let subject =
            format!("Escalation: the new key for {id} was not handed over and it expires in {left} ({})", change.id);
        let text = format!(
            "{subject}\n\nChange {} was approved; keyturn asked {owner} for the new key on {} and still waits for it \
             (the hand-over ends {}). The current key expires {}. The owner was reminded with a fresh link; if they \
             cannot act, someone with admin rights on the directory must regenerate the key and hand it over.\n",
            change.id,
            format_utc(h.intake.requested_at),
            format_utc(h.intake.expires_at),
            format_utc(h.expiry)
        );
        escalated =
            !escalate((ports.mailer(), ports.chat()), group, &subject, &text, &format!("escalation of {id}"), out)
                .await
                .is_empty();
    }
    let ev = NewAuditEvent::new(id.clone(), EventKind::Reminded, now, ACTOR)
        .change(&change.id)
        .detail("waiting_for", "key_handover")
        .detail("owner", owner.to_string())
        .detail("days_before_expiry", h.days.to_string())
        .detail("emails_sent", emails_sent.to_string())
        .detail("escalated", escalated.to_string());
    ports.audit().append(ev).await.map_err(|e| e.to_string())?;
    tracing::info!(change_id = %change.id, connector_id = %id, days = h.days, escalated, "owner reminded of a key hand-over");
    out.reminders.push(ReminderSent {
        change_id: change.id.to_string(),
        connector_id: Some(id.to_string()),
        days: h.days,
        emails_sent,
        slack_posted: false,
        escalated,
    });
    Ok(())
}
