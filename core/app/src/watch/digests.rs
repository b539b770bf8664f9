//! The daily digest: each approver group's keys expiring within 30 days.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::adapters::Adapters;
use crate::approval::routing::Routing;
use crate::notify::{audience, tell, NotifyEvent};
use crate::ports::Notices;
use crate::scanner::{Plan, ScanReport};
use keyturn_domain::timefmt::format_utc;

use super::*;

/// One line of the digest.
pub(super) struct DigestLine {
    id: String,
    expires_at: OffsetDateTime,
    state: String,
}

/// Each approver group's keys expiring within the digest horizon, with
/// where each stands, from what the scan already read.
pub(super) fn digest_lines<'p>(
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

pub(super) async fn send_digests<A: Adapters>(
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
