//! Reminders to approvers at each mark before the earliest key expiry.

use time::{Duration, OffsetDateTime};

use crate::adapters::Adapters;
use crate::approval::request::{load_connectors, send_links, Asking};
use crate::approval::routing::Routing;
use crate::approval::ChangeRecord;
use crate::ports::{Notices, SigningKeys};
use crate::scanner::ACTOR;
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{ChangeStatus, EventKind, NewAuditEvent};

use super::handovers::days_left;
use super::*;

/// The mark due at `now`, if any: the most urgent one that has passed since
/// the request was made (a scan that missed days sends one reminder, not one
/// per missed mark; the ones it skipped stay unsent).
pub fn due_mark(
    marks: &[u32],
    expiry: OffsetDateTime,
    requested_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Option<u32> {
    marks
        .iter()
        .copied()
        .filter(|&m| {
            let at = expiry - Duration::days(i64::from(m));
            requested_at < at && at <= now
        })
        .min()
}

/// The reminder mark due for a change still waiting for approval, if any.
pub(super) fn reminder_mark(settings: &WatchSettings, record: &ChangeRecord, now: OffsetDateTime) -> Option<u32> {
    let request = record.request.as_ref()?;
    settings.approval_url.as_ref()?;
    // Links must still be good: past their expiry the approval times out and
    // the expiry path escalates instead.
    if record.status != ChangeStatus::AwaitingApproval || request.links_expire_at <= now {
        return None;
    }
    let days = due_mark(&settings.reminder_days, record.change.earliest_expiry, request.requested_at, now)?;
    (!record.notices.contains(&format!("remind:{days}"))).then_some(days)
}

pub(super) async fn remind<A: Adapters>(
    ports: &A,
    settings: &WatchSettings,
    routing: &Routing,
    record: &ChangeRecord,
    days: u32,
    now: OffsetDateTime,
    out: &mut WatchReport,
) -> Result<(), String> {
    let (Some(url), Some(request)) = (&settings.approval_url, &record.request) else { return Ok(()) };
    let change = &record.change;
    if !ports.notices().claim_change_notice(&change.id, &format!("remind:{days}")).await.map_err(|e| e.to_string())? {
        return Ok(());
    }
    let group = routing.group(&change.approver_group).map_err(|e| e.to_string())?;
    let connectors = load_connectors(ports.connectors(), change, now).await.map_err(|e| e.to_string())?;
    let ring = ports.keys().keyring().await.map_err(|e| e.to_string())?;
    let asking = Asking { url, ring: &ring, group, connectors: &connectors, expires: request.links_expire_at, now };
    let left = days_left(days);
    let sent =
        send_links(ports.mailer(), ports.chat(), change, &asking, Some(&format!("{left} before a key expires"))).await;
    let last = settings.reminder_days.iter().min() == Some(&days);
    let mut escalated = false;
    if last {
        let subject = format!("Escalation: change {} has no decision and a key expires in {left}", change.id);
        let text = format!(
            "{subject}\n\nChange {} ({} connector(s), approver group {}) has waited for a decision since {}.\n\
             Earliest key expiry: {}. Approvers were reminded with fresh links; please make sure one of them acts.\n",
            change.id,
            change.connectors.len(),
            change.approver_group,
            format_utc(request.requested_at),
            format_utc(change.earliest_expiry)
        );
        let failing = format!("escalation of {}", change.id);
        escalated = !escalate((ports.mailer(), ports.chat()), group, &subject, &text, &failing, out).await.is_empty();
    }
    out.errors.extend(sent.failures.iter().map(|f| format!("reminder for {}: {f}", change.id)));
    let events = change.connectors.iter().map(|c| {
        NewAuditEvent::new(c.clone(), EventKind::Reminded, now, ACTOR)
            .change(&change.id)
            .detail("days_before_expiry", days.to_string())
            .detail("emails_sent", sent.emails_sent.to_string())
            .detail("slack_posted", sent.slack_posted.to_string())
            .detail("escalated", escalated.to_string())
    });
    crate::audit::append_each(ports.audit(), events.collect()).await.map_err(|e| e.to_string())?;
    tracing::info!(change_id = %change.id, days, escalated, "approvers reminded");
    out.reminders.push(ReminderSent {
        change_id: change.id.to_string(),
        connector_id: None,
        days,
        emails_sent: sent.emails_sent,
        slack_posted: sent.slack_posted,
        escalated,
    });
    Ok(())
}
