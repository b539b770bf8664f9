//! Never silent: what the scheduled scan says besides starting changes.
//!
//! - **Reminders**: while a change waits for approval, its approvers get fresh
//!   links at each mark (default 30, 14, 7 and 1 days before the earliest key
//!   expiry); the last mark also tells the escalation contacts. The same goes
//!   for a key hand-over still waiting for its owner after approval (marks
//!   before that connector's expiry, a fresh hand-over link each time).
//! - **Stuck runs**: a change whose execution still runs past the bound is
//!   reported to the escalation contacts (once a day) and counted.
//! - **Repairs**: each change the scan unwedged is told to its escalation contacts.
//! - **Daily digest**: each approver group gets, once a day, the keys of theirs
//!   that expire within 30 days and where each stands.
//! - **Signing keys** ([`signing_keys`]): the daily run (not `keyturn scan`)
//!   rotates keyturn's link- and audit-signing keys on their schedule.
//!
//! Every notice is claimed on the change record (or per day) *before* it is
//! sent, so a second scan, or two at once, never sends one twice; a claimed
//! notice whose sending failed is reported in the scan's errors instead.

mod digests;
mod handovers;
mod reminders;
mod repairs;
pub mod signing_keys;
mod stuck;
#[cfg(test)]
mod tests;

use digests::{digest_lines, send_digests};
use handovers::{remind_owner, waiting_handovers};
pub use reminders::due_mark;
use reminders::{remind, reminder_mark};
use repairs::repaired;
pub use signing_keys::{rotate_due_keys, signing_key_status, KeyRotationReport, KeySchedule};
use stuck::{past_bound, stuck};

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

use crate::adapters::Adapters;
use crate::approval::routing::Routing;
use crate::approval::ChangeRecord;
use crate::notify::{audience, tell, NotifyEvent};
use crate::ports::{Approvals, Chat, Mailer, StoreError};
use crate::scanner::{ChangeOutcome, Plan, ScanReport};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::ChangeId;

pub use crate::config::REMINDER_DAYS;

#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// Days before the earliest expiry at which approvers are reminded; the
    /// smallest is the last and escalates.
    pub reminder_days: Vec<u32>,
    /// An execution running longer than this is stuck.
    pub stuck_after: Duration,
    /// The digest lists keys expiring within this.
    pub digest_within: Duration,
    /// Where reminder links point (the approval-callback URL); no reminders without it.
    pub approval_url: Option<String>,
}

impl From<&crate::config::Config> for WatchSettings {
    fn from(cfg: &crate::config::Config) -> Self {
        Self {
            reminder_days: cfg.reminder_days.clone(),
            stuck_after: cfg.stuck_after,
            digest_within: Duration::days(30),
            approval_url: cfg.approval.url.clone(),
        }
    }
}

pub use crate::scanner::{ReminderSent, WatchReport};

pub(super) fn day(now: OffsetDateTime) -> String {
    format_utc(now).get(..10).unwrap_or_default().to_owned()
}

/// The changes this scan met that may still be open: those holding due
/// connectors and those already running today.
fn open_changes(plan: &Plan, report: &ScanReport) -> Vec<ChangeId> {
    let mut ids: BTreeSet<ChangeId> = plan.skipped.iter().filter_map(|s| s.held_by.clone()).collect();
    ids.extend(
        report
            .changes
            .iter()
            .filter(|c| c.outcome == ChangeOutcome::AlreadyRunning)
            .map(|c| ChangeId::from_trusted(&c.change_id)),
    );
    ids.into_iter().collect()
}

/// Runs after the scan carried out `plan`. `full_scan`: the scan covered the
/// whole inventory (no `--only` prefix), so today's digests are complete and
/// may be sent. `routing`: as the scan read it (once per scan, so both see
/// the same one).
pub async fn watch<A: Adapters>(
    ports: &A,
    routing: &Result<Routing, StoreError>,
    settings: &WatchSettings,
    plan: &Plan,
    report: &ScanReport,
    full_scan: bool,
) -> WatchReport {
    let now = plan.now;
    let mut out = WatchReport::default();
    let ids = open_changes(plan, report);
    let records: Vec<ChangeRecord> = match ports.approvals().get_many(&ids).await {
        Ok(r) => r,
        Err(e) => {
            out.errors.push(format!("change records: {e}"));
            Vec::new()
        }
    };
    // What may need saying, decided before anything is loaded to say it.
    let reminders: Vec<(&ChangeRecord, u32)> =
        records.iter().filter_map(|r| reminder_mark(settings, r, now).map(|d| (r, d))).collect();
    let handovers = waiting_handovers(ports, settings, plan, &records, &mut out).await;
    let old: Vec<&ChangeRecord> = records.iter().filter(|r| past_bound(settings, r, now)).collect();
    let digests = if full_scan { digest_lines(settings, plan, report) } else { BTreeMap::new() };
    if reminders.is_empty()
        && handovers.is_empty()
        && old.is_empty()
        && report.repaired.is_empty()
        && digests.is_empty()
    {
        return out;
    }
    let routing = match routing {
        Ok(r) => r,
        Err(e) => {
            out.errors.push(format!("routing (no reminders, alerts or digests): {e}"));
            return out;
        }
    };
    for (record, days) in reminders {
        if let Err(e) = remind(ports, settings, routing, record, days, now, &mut out).await {
            out.errors.push(format!("reminder for {}: {e}", record.change.id));
        }
    }
    for h in handovers {
        if let Err(e) = remind_owner(ports, settings, routing, &h, now, &mut out).await {
            out.errors.push(format!("hand-over reminder for {} in {}: {e}", h.intake.connector, h.record.change.id));
        }
    }
    for record in old {
        if let Err(e) = stuck(ports, settings, routing, record, now, &mut out).await {
            out.errors.push(format!("stuck check of {}: {e}", record.change.id));
        }
    }
    repaired(ports, routing, plan, report, &mut out).await;
    send_digests(ports, routing, digests, now, &mut out).await;
    out
}

/// Tells the group's escalation contacts; returns where it went, and reports
/// each channel that failed as `FAILING: …` in the scan's errors.
pub(super) async fn escalate<M: Mailer, C: Chat>(
    (mailer, chat): (&M, &C),
    group: &crate::approval::routing::Group,
    subject: &str,
    text: &str,
    failing: &str,
    out: &mut WatchReport,
) -> Vec<String> {
    let (to, hook) = audience(NotifyEvent::Failed, group);
    let (reached, failed) = tell(mailer, chat, &to, hook, subject, text).await;
    out.errors.extend(failed.into_iter().map(|f| format!("{failing}: {f}")));
    reached
}

/// Tells the group's escalation contacts; notes where it went (`WHAT → email:…, slack`).
pub(super) async fn alert<M: Mailer, C: Chat>(
    channels: (&M, &C),
    group: &crate::approval::routing::Group,
    what: &str,
    subject: &str,
    text: &str,
    out: &mut WatchReport,
) {
    let reached = escalate(channels, group, subject, text, &format!("{what} alert"), out).await;
    out.alerts.push(format!("{what} → {}", reached.join(", ")));
}
