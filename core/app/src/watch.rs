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
//!
//! Every notice is claimed on the change record (or per day) *before* it is
//! sent, so a second scan, or two at once, never sends one twice; a claimed
//! notice whose sending failed is reported in the scan's errors instead.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::adapters::Adapters;
use crate::approval::intake::{ask_owner, HandOver};
use crate::approval::request::{load_connectors, send_links, Asking};
use crate::approval::routing::Routing;
use crate::approval::ChangeRecord;
use crate::notify::{audience, tell, NotifyEvent};
use crate::ports::{
    Approvals, AuditLog, Chat, ExecutionState, IntakeTokens, Mailer, Notices, OpenIntake, SigningKeys, StoreError,
    Workflow,
};
use crate::scanner::{ChangeOutcome, Plan, ScanReport, ACTOR};
use keyturn_domain::approval::Approver;
use keyturn_domain::procedures::KeySource;
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{ChangeId, ChangeStatus, ConnectorId, EventKind, NewAuditEvent};

/// The default reminder marks, in days before the earliest expiry.
pub const REMINDER_DAYS: [u32; 4] = [30, 14, 7, 1];

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

/// One reminder sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReminderSent {
    pub change_id: String,
    /// Set for a key hand-over: the connector whose owner was reminded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    /// The mark: days before the earliest expiry.
    pub days: u32,
    pub emails_sent: usize,
    pub slack_posted: bool,
    /// The last mark: the escalation contacts were told as well.
    pub escalated: bool,
}

/// What the watch did; part of the scan report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WatchReport {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reminders: Vec<ReminderSent>,
    /// Changes whose execution runs past the bound (counted every scan,
    /// told once a day).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stuck: Vec<String>,
    /// Alerts sent: `stuck chg-… → email:oncall@…, slack`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// Approver groups that got today's digest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<String>,
    #[serde(skip)]
    pub errors: Vec<String>,
}

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

fn day(now: OffsetDateTime) -> String {
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

/// The reminder mark due for a change still waiting for approval, if any.
fn reminder_mark(settings: &WatchSettings, record: &ChangeRecord, now: OffsetDateTime) -> Option<u32> {
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

/// Opened longer ago than the bound and not finished.
fn past_bound(settings: &WatchSettings, record: &ChangeRecord, now: OffsetDateTime) -> bool {
    let finished = matches!(
        record.status,
        ChangeStatus::Rejected | ChangeStatus::Expired | ChangeStatus::Completed | ChangeStatus::Failed
    );
    !finished && now - record.change.detected_at > settings.stuck_after
}

async fn remind<A: Adapters>(
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

/// A key hand-over waiting for its owner with a reminder mark due.
struct Handover<'r> {
    record: &'r ChangeRecord,
    intake: OpenIntake,
    /// The connector's current key expires then (the marks count back from it).
    expiry: OffsetDateTime,
    days: u32,
}

/// The hand-overs of approved changes still open with a mark due: only
/// held human-intake connectors are looked up, one batch read per change.
async fn waiting_handovers<'r, A: Adapters>(
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

fn handover_notice(connector: &ConnectorId, days: u32) -> String {
    format!("intake-remind:{connector}:{days}")
}

fn days_left(days: u32) -> String {
    if days == 1 {
        "1 day".to_owned()
    } else {
        format!("{days} days")
    }
}

/// Reminds the owner with a fresh hand-over link; the last mark also tells
/// the approver group's escalation contacts.
async fn remind_owner<A: Adapters>(
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

async fn stuck<A: Adapters>(
    ports: &A,
    settings: &WatchSettings,
    routing: &Routing,
    record: &ChangeRecord,
    now: OffsetDateTime,
    out: &mut WatchReport,
) -> Result<(), String> {
    let change = &record.change;
    if ports.workflow().execution(&change.id).await.map_err(|e| e.to_string())? != ExecutionState::Running {
        return Ok(());
    }
    out.stuck.push(change.id.to_string());
    tracing::error!(change_id = %change.id, since = %format_utc(change.detected_at), "execution running past its bound");
    if !ports
        .notices()
        .claim_change_notice(&change.id, &format!("stuck:{}", day(now)))
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let group = routing.group(&change.approver_group).map_err(|e| e.to_string())?;
    let subject = format!("Stuck: change {} has run since {}", change.id, format_utc(change.detected_at));
    let text = format!(
        "{subject}\n\nIts execution is still running {} days after the change was opened (bound: {} days; status \
         {}). Every wait in the workflow has a deadline, so this needs a look: `keyturn changes show {}`.\n",
        (now - change.detected_at).whole_days(),
        settings.stuck_after.whole_days(),
        record.status.as_str(),
        change.id
    );
    alert((ports.mailer(), ports.chat()), group, &format!("stuck {}", change.id), &subject, &text, out).await;
    Ok(())
}

/// Tells the group's escalation contacts; returns where it went, and reports
/// each channel that failed as `FAILING: …` in the scan's errors.
async fn escalate<M: Mailer, C: Chat>(
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
async fn alert<M: Mailer, C: Chat>(
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

/// Each change the scan unwedged connectors of: its escalation contacts hear
/// which connectors and what had become of the execution. The group comes
/// from the connectors themselves: a dead change may have no record left.
async fn repaired<A: Adapters>(ports: &A, routing: &Routing, plan: &Plan, report: &ScanReport, out: &mut WatchReport) {
    let group_of = |id: &keyturn_domain::ConnectorId| {
        plan.due
            .iter()
            .find(|d| &d.connector.id == id)
            .map(|d| d.connector.approver_group.as_str())
            .or_else(|| plan.skipped.iter().find(|s| &s.connector_id == id).map(|s| s.approver_group.as_str()))
    };
    let mut by_change: BTreeMap<(&ChangeId, &str), Vec<&crate::scanner::RepairedItem>> = BTreeMap::new();
    for r in &report.repaired {
        match group_of(&r.connector_id) {
            Some(g) => by_change.entry((&r.change_id, g)).or_default().push(r),
            None => out.errors.push(format!("repair alert: {} is not in this scan", r.connector_id)),
        }
    }
    for ((change, group), items) in by_change {
        let Ok(group) = routing.group(group) else {
            out.errors.push(format!("repair alert for {change}: approver group {group} not in the routing"));
            continue;
        };
        let subject = format!("Repaired: {} connector(s) left rotating by change {change}", items.len());
        let mut text = format!(
            "{subject}\n\nThe change's execution is no longer running, but its connectors were still marked \
             rotating. keyturn reset them to active and audited `repaired`; they join today's changes.\n\n"
        );
        for i in &items {
            text.push_str(&format!("* {}: execution {}\n", i.connector_id, i.execution));
        }
        alert((ports.mailer(), ports.chat()), group, &format!("repaired {change}"), &subject, &text, out).await;
    }
}

/// One line of the digest.
struct DigestLine {
    id: String,
    expires_at: OffsetDateTime,
    state: String,
}

/// Each approver group's keys expiring within the digest horizon, with
/// where each stands, from what the scan already read.
fn digest_lines<'p>(
    settings: &WatchSettings,
    plan: &'p Plan,
    report: &ScanReport,
) -> BTreeMap<&'p str, Vec<DigestLine>> {
    let within = plan.now + settings.digest_within;
    let mut groups: BTreeMap<&str, Vec<DigestLine>> = BTreeMap::new();
    for d in plan.due.iter().filter(|d| d.connector.expires_at <= within) {
        let c = &d.connector;
        let change = report.changes.iter().find(|ch| ch.connector_ids.contains(&c.id));
        let state = match change {
            Some(ch) => format!("change {} {}", ch.change_id, ch.outcome.as_str().replace('_', " ")),
            None => "due, no change yet".to_owned(),
        };
        groups.entry(&c.approver_group).or_default().push(DigestLine {
            id: c.id.to_string(),
            expires_at: c.expires_at,
            state,
        });
    }
    for s in plan.skipped.iter().filter(|s| s.expires_at <= within) {
        groups.entry(&s.approver_group).or_default().push(DigestLine {
            id: s.connector_id.to_string(),
            expires_at: s.expires_at,
            state: s.reason.clone(),
        });
    }
    groups
}

async fn send_digests<A: Adapters>(
    ports: &A,
    routing: &Routing,
    groups: BTreeMap<&str, Vec<DigestLine>>,
    now: OffsetDateTime,
    out: &mut WatchReport,
) {
    for (name, mut lines) in groups {
        let Ok(group) = routing.group(name) else {
            out.errors.push(format!("digest: approver group {name} not in the routing"));
            continue;
        };
        match ports.notices().claim_daily(&format!("digest:{name}"), now).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                out.errors.push(format!("digest for {name}: {e}"));
                continue;
            }
        }
        lines.sort_by(|a, b| a.expires_at.cmp(&b.expires_at).then_with(|| a.id.cmp(&b.id)));
        let subject = format!("keyturn daily: {} key(s) of {name} expire within 30 days", lines.len());
        let mut text = format!("{subject} (as of {})\n\n", format_utc(now));
        for l in &lines {
            let when = if l.expires_at <= now {
                "EXPIRED".to_owned()
            } else {
                format!("in {} d", (l.expires_at - now).whole_days())
            };
            text.push_str(&format!("* {}: expires {} ({when}): {}\n", l.id, format_utc(l.expires_at), l.state));
        }
        let (to, hook) = audience(NotifyEvent::Completed, group);
        let (reached, failed) = tell(ports.mailer(), ports.chat(), &to, hook, &subject, &text).await;
        if !reached.is_empty() {
            out.digests.push(name.to_owned());
        }
        out.errors.extend(failed.into_iter().map(|f| format!("digest for {name}: {f}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const EXPIRY: OffsetDateTime = datetime!(2026-12-31 00:00 UTC);
    const ASKED: OffsetDateTime = datetime!(2026-11-20 09:00 UTC);

    #[test]
    fn a_mark_is_due_once_it_passed_after_the_request() {
        let marks = REMINDER_DAYS;
        assert_eq!(due_mark(&marks, EXPIRY, ASKED, datetime!(2026-11-30 23:00 UTC)), None, "30 d mark is Dec 1");
        assert_eq!(due_mark(&marks, EXPIRY, ASKED, datetime!(2026-12-01 00:00 UTC)), Some(30));
        assert_eq!(due_mark(&marks, EXPIRY, ASKED, datetime!(2026-12-20 00:00 UTC)), Some(14));
        assert_eq!(
            due_mark(&marks, EXPIRY, ASKED, datetime!(2026-12-30 12:00 UTC)),
            Some(1),
            "missed days: the most urgent"
        );
    }

    #[test]
    fn marks_that_passed_before_the_request_are_not_reminders() {
        let late = datetime!(2026-12-20 09:00 UTC);
        assert_eq!(due_mark(&REMINDER_DAYS, EXPIRY, late, datetime!(2026-12-21 00:00 UTC)), None);
        assert_eq!(due_mark(&REMINDER_DAYS, EXPIRY, late, datetime!(2026-12-24 00:00 UTC)), Some(7));
    }
}
