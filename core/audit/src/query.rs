//! Questions auditors ask of an export: filters over events, and the three
//! reports (who approved what, what changed, what failed). The same reports
//! exist as SQL for Athena in `infra/athena/`.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use keyturn_domain::timefmt::parse_instant;
use keyturn_domain::AuditEvent;

/// Which events to keep. Every set field must match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub connector: Option<String>,
    pub change: Option<String>,
    /// Matches the whole actor (`approver:ann@x.example`) or the part after `:`.
    pub actor: Option<String>,
    pub events: Vec<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// The outcome an event records: its `outcome` detail, or what its kind means.
    pub outcome: Option<String>,
}

impl Filter {
    pub fn matches(&self, ev: &AuditEvent) -> bool {
        let at = parse_instant(&ev.at);
        self.connector.as_ref().is_none_or(|c| ev.connector_id.as_str() == c)
            && self.change.as_ref().is_none_or(|c| ev.change_id.as_deref() == Some(c))
            && self
                .actor
                .as_ref()
                .is_none_or(|a| ev.actor == *a || ev.actor.split_once(':').is_some_and(|(_, who)| who == a))
            && (self.events.is_empty() || self.events.contains(&ev.event))
            && self.since.is_none_or(|s| at.is_some_and(|t| t >= s))
            && self.until.is_none_or(|u| at.is_some_and(|t| t < u))
            && self.outcome.as_ref().is_none_or(|o| outcome(ev).is_some_and(|x| x == o))
    }
}

/// What an event says about how things ended, where it says anything.
pub fn outcome(ev: &AuditEvent) -> Option<&str> {
    if let Some(o) = ev.detail.get("outcome") {
        return Some(o);
    }
    Some(match ev.event.as_str() {
        "approved" => "approved",
        "rejected" => "rejected",
        "expired" => "expired",
        "finalized" => "rotated",
        "rolled_back" => "rolled_back",
        "rollback_failed" => "rollback_failed",
        "needs_manual_intervention" => "needs_manual_intervention",
        "verification_failed" => "verification_failed",
        "rotation_failed" => "rotation_failed",
        _ => return None,
    })
}

/// The built-in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Who approved (or rejected) which change, when, by which channel.
    Approvals,
    /// Per connector and change: the key before and after (fingerprints), and the outcome.
    Rotations,
    /// Rollbacks, failed rollbacks, failed verifications, manual interventions and their resolution.
    Failures,
}

impl Report {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approvals" => Some(Self::Approvals),
            "rotations" => Some(Self::Rotations),
            "failures" => Some(Self::Failures),
            _ => None,
        }
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Approvals => &["at", "change", "decision", "approver", "channel", "connectors"],
            Self::Rotations => &["connector", "change", "started", "ended", "before", "after", "outcome"],
            Self::Failures => &["at", "connector", "change", "event", "what"],
        }
    }
}

/// One report row: column → value, in [`Report::columns`] order.
pub type Row = Vec<String>;

/// Folds events (any order) into a report's rows, sorted.
#[derive(Default)]
pub struct ReportBuilder {
    approvals: BTreeMap<Decided, Approval>,
    /// (connector, change) → rotation so far
    rotations: BTreeMap<(String, String), Rotation>,
    failures: Vec<Row>,
}

/// (change, decision, approver)
type Decided = (String, String, String);

struct Approval {
    at: String,
    channel: String,
    connectors: Vec<String>,
}

#[derive(Default)]
struct Rotation {
    started: String,
    ended: String,
    before: String,
    after: String,
    outcome: String,
}

impl ReportBuilder {
    pub fn add(&mut self, ev: &AuditEvent) {
        let change = ev.change_id.clone().unwrap_or_default();
        let connector = ev.connector_id.to_string();
        let approver = ev.actor.strip_prefix("approver:").unwrap_or(&ev.actor).to_owned();
        match ev.event.as_str() {
            "approved" | "rejected" => {
                let channel = ev.detail.get("channel").cloned().unwrap_or_else(|| "signed link".into());
                let e = self
                    .approvals
                    .entry((change.clone(), ev.event.clone(), approver))
                    .or_insert_with(|| Approval { at: ev.at.clone(), channel, connectors: Vec::new() });
                e.connectors.push(connector.clone());
            }
            "vote_recorded" if ev.detail.get("decision").is_some_and(|d| d == "approve") => {
                let e = self.approvals.entry((change.clone(), "voted approve".into(), approver)).or_insert_with(|| {
                    Approval {
                        at: ev.at.clone(),
                        channel: ev.detail.get("channel").cloned().unwrap_or_else(|| "signed link".into()),
                        connectors: Vec::new(),
                    }
                });
                e.connectors.push(connector.clone());
            }
            "rotation_started" | "pending_stored" | "finalized" | "rolled_back" | "rollback_failed" => {
                let r = self.rotations.entry((connector.clone(), change.clone())).or_default();
                let fp = |k: &str| ev.detail.get(k).cloned().unwrap_or_default();
                match ev.event.as_str() {
                    // Exports are unordered: a start never overrides an end.
                    "rotation_started" => {
                        r.started = ev.at.clone();
                        r.before = fp("old_fingerprint");
                        if r.outcome.is_empty() {
                            r.outcome = "in progress".into();
                        }
                    }
                    "pending_stored" => {
                        if r.started.is_empty() {
                            r.started = ev.at.clone();
                        }
                        if r.after.is_empty() {
                            r.after = fp("new_fingerprint");
                        }
                        if r.outcome.is_empty() {
                            r.outcome = "in progress".into();
                        }
                    }
                    "finalized" => {
                        r.ended = ev.at.clone();
                        r.after = fp("current_fingerprint");
                        r.outcome = "rotated".into();
                    }
                    other => {
                        r.ended = ev.at.clone();
                        r.outcome = other.into();
                    }
                }
            }
            _ => {}
        }
        if matches!(
            ev.event.as_str(),
            "rolled_back"
                | "rollback_failed"
                | "verification_failed"
                | "rotation_failed"
                | "needs_manual_intervention"
                | "resolved"
        ) {
            let what = ["reason", "error", "not_restored", "restored", "note"]
                .iter()
                .filter_map(|k| ev.detail.get(*k).filter(|v| !v.is_empty()).map(|v| format!("{k}: {v}")))
                .collect::<Vec<_>>()
                .join("; ");
            self.failures.push(vec![ev.at.clone(), connector, change, ev.event.clone(), what]);
        }
    }

    pub fn rows(self, report: Report) -> Vec<Row> {
        let mut rows: Vec<Row> = match report {
            // A vote is its own row only when its approver did not also make the
            // decision (N-of-M): otherwise the decision row says it all.
            Report::Approvals => {
                let deciders: std::collections::BTreeSet<(String, String)> = self
                    .approvals
                    .keys()
                    .filter(|(_, decision, _)| decision != "voted approve")
                    .map(|(change, _, approver)| (change.clone(), approver.clone()))
                    .collect();
                self.approvals
                    .into_iter()
                    .filter(|((change, decision, approver), _)| {
                        decision != "voted approve" || !deciders.contains(&(change.clone(), approver.clone()))
                    })
                    .map(|((change, decision, approver), a)| {
                        vec![a.at, change, decision, approver, a.channel, a.connectors.join(" ")]
                    })
                    .collect()
            }
            Report::Rotations => self
                .rotations
                .into_iter()
                .map(|((connector, change), r)| {
                    vec![connector, change, r.started, r.ended, r.before, r.after, r.outcome]
                })
                .collect(),
            Report::Failures => self.failures,
        };
        rows.sort();
        rows
    }
}

/// An event as a flat row for `--format csv|table`.
#[derive(Debug, Serialize)]
pub struct EventRow<'a> {
    pub at: &'a str,
    pub connector: &'a str,
    pub seq: u64,
    pub event: &'a str,
    pub actor: &'a str,
    pub change: &'a str,
    pub detail: String,
}

impl<'a> From<&'a AuditEvent> for EventRow<'a> {
    fn from(ev: &'a AuditEvent) -> Self {
        Self {
            at: &ev.at,
            connector: ev.connector_id.as_str(),
            seq: ev.seq,
            event: &ev.event,
            actor: &ev.actor,
            change: ev.change_id.as_deref().unwrap_or_default(),
            detail: ev.detail.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyturn_domain::{ChangeId, ConnectorId, EventKind, NewAuditEvent};
    use time::macros::datetime;

    fn ev(conn: &str, kind: EventKind, actor: &str, minute: u8, detail: &[(&str, &str)]) -> AuditEvent {
        let mut e = NewAuditEvent::new(
            ConnectorId::parse(conn).unwrap(),
            kind,
            datetime!(2026-11-24 06:00 UTC) + time::Duration::minutes(minute.into()),
            actor,
        )
        .change(&ChangeId::from_trusted("chg-1"));
        for (k, v) in detail {
            e = e.detail(k, *v);
        }
        e.seal(None)
    }

    fn events() -> Vec<AuditEvent> {
        vec![
            ev("a/1", EventKind::VoteRecorded, "approver:bob@x.example", 0, &[("decision", "approve")]),
            ev("a/1", EventKind::VoteRecorded, "approver:ann@x.example", 1, &[("decision", "approve")]),
            ev("a/1", EventKind::Approved, "approver:ann@x.example", 1, &[]),
            ev("a/2", EventKind::Approved, "approver:ann@x.example", 1, &[]),
            ev("a/1", EventKind::RotationStarted, "keyturn:rotate", 2, &[("old_fingerprint", "aaaa")]),
            ev("a/1", EventKind::PendingStored, "keyturn:rotate", 2, &[("new_fingerprint", "bbbb")]),
            ev("a/1", EventKind::Finalized, "keyturn:finalize", 3, &[("current_fingerprint", "bbbb")]),
            ev("a/2", EventKind::RotationStarted, "keyturn:rotate", 2, &[("old_fingerprint", "cccc")]),
            ev("a/2", EventKind::RolledBack, "keyturn:rollback", 4, &[("restored", "old key current")]),
            ev("a/2", EventKind::NeedsManualIntervention, "keyturn:rollback", 4, &[("reason", "401 from Entra")]),
        ]
    }

    fn report(r: Report) -> Vec<Row> {
        let mut b = ReportBuilder::default();
        for e in events().iter().rev() {
            b.add(e);
        }
        b.rows(r)
    }

    #[test]
    fn the_three_reports_answer_the_auditors_questions() {
        // Bob's vote counted towards the decision Ann's vote completed: both are shown, Ann once.
        assert_eq!(
            report(Report::Approvals),
            vec![
                vec!["2026-11-24T06:00:00Z", "chg-1", "voted approve", "bob@x.example", "signed link", "a/1"],
                vec!["2026-11-24T06:01:00Z", "chg-1", "approved", "ann@x.example", "signed link", "a/2 a/1"],
            ]
        );
        assert_eq!(
            report(Report::Rotations),
            vec![
                vec!["a/1", "chg-1", "2026-11-24T06:02:00Z", "2026-11-24T06:03:00Z", "aaaa", "bbbb", "rotated"],
                vec!["a/2", "chg-1", "2026-11-24T06:02:00Z", "2026-11-24T06:04:00Z", "cccc", "", "rolled_back"],
            ]
        );
        let failures = report(Report::Failures);
        assert_eq!(failures.len(), 2);
        assert!(failures.iter().any(|r| r[3] == "needs_manual_intervention" && r[4] == "reason: 401 from Entra"));
    }

    #[test]
    fn filters_combine() {
        let all = events();
        let count = |f: Filter| all.iter().filter(|e| f.matches(e)).count();
        assert_eq!(count(Filter::default()), 10);
        assert_eq!(count(Filter { actor: Some("ann@x.example".into()), ..Filter::default() }), 3);
        assert_eq!(
            count(Filter { connector: Some("a/2".into()), outcome: Some("rolled_back".into()), ..Filter::default() }),
            1
        );
        assert_eq!(count(Filter { since: Some(datetime!(2026-11-24 06:03 UTC)), ..Filter::default() }), 3);
        assert_eq!(count(Filter { until: Some(datetime!(2026-11-24 06:02 UTC)), ..Filter::default() }), 4);
        assert_eq!(count(Filter { events: vec!["finalized".into(), "approved".into()], ..Filter::default() }), 3);
        assert_eq!(count(Filter { change: Some("other".into()), ..Filter::default() }), 0);
    }
}
