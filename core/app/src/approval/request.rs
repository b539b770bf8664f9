//! The `request-approval` step: the workflow pauses on a task token; this
//! stores the token with the change, sends every approver links of their own,
//! and audits what was asked of whom.

use keyturn_domain::slack_escape;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::routing::Group;
use super::view::ChangeView;
use super::{ApprovalRequest, Email, TaskToken};
use crate::adapters::Adapters;
use crate::inventory::validate_stored;
use crate::ports::{Approvals, Chat, ConnectorLookup, Mailer, RoutingSource, SigningKeys, StoreError, Tickets};
use keyturn_domain::approval::html::{change_details, esc, page};
use keyturn_domain::approval::{Approver, Decision, KeyRing, LinkClaims, Nonce};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{Change, Connector, ErrorName, EventKind, NewAuditEvent};

/// What the state machine passes (`$$.Task.Token` arrives in the payload).
#[derive(Debug, Clone, Deserialize)]
pub struct RequestInput {
    pub change: Change,
    pub task_token: TaskToken,
    pub execution_arn: String,
}

/// What happened, for the function's result and logs. No links, no token.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestReport {
    pub change_id: String,
    pub approvers: usize,
    pub emails_sent: usize,
    pub slack_posted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    pub links_expire_at: String,
    /// False when the change was already decided (a late retry): nothing sent.
    pub opened: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Routing(#[from] super::RoutingError),
    #[error("change {change}: connector(s) {missing} no longer in the inventory")]
    ConnectorsMissing { change: String, missing: String },
    #[error("change {change}: connector {connector} is no longer valid: {problems}")]
    InvalidConnector { change: String, connector: String, problems: String },
    #[error("change {change}: no approver could be reached ({failures})")]
    Unreachable { change: String, failures: String },
}

impl RequestError {
    /// The stable error name the state machine sees.
    pub fn name(&self) -> ErrorName {
        match self {
            Self::Store(e) if e.retryable => ErrorName::StoreThrottled,
            Self::Store(_) => ErrorName::StoreUnavailable,
            Self::Routing(_) => ErrorName::ApprovalRoutingInvalid,
            Self::ConnectorsMissing { .. } | Self::InvalidConnector { .. } => ErrorName::InvalidConnector,
            Self::Unreachable { .. } => ErrorName::NotifyUnavailable,
        }
    }
}

/// Settings of the step.
#[derive(Debug, Clone)]
pub struct RequestSettings {
    /// The approval-callback Function URL.
    pub approval_url: String,
    /// Used when the change does not say how long approvers have.
    pub default_timeout: Duration,
    /// Links expire this long after they are sent, when that is before the
    /// approval times out (a stale link is as good as a timed-out one).
    pub link_ttl: Option<Duration>,
}

/// One approver's pair of links.
struct Links {
    approver: Approver,
    approve: String,
    reject: String,
}

pub(crate) fn link(base: &str, token: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}t={token}")
}

fn links_for(
    ring: &KeyRing,
    base: &str,
    change: &Change,
    approvers: &[Approver],
    expires: OffsetDateTime,
) -> Vec<Links> {
    let sign = |approver: &Approver, decision| {
        let claims = LinkClaims {
            change_id: change.id.clone(),
            approver: approver.clone(),
            decision,
            expires_at: expires,
            nonce: Nonce::random(),
            connector: None,
        };
        link(base, ring.sign(&claims).as_str())
    };
    approvers
        .iter()
        .map(|a| Links { approver: a.clone(), approve: sign(a, Decision::Approve), reject: sign(a, Decision::Reject) })
        .collect()
}

fn email_for(view: &ChangeView, links: &Links) -> Email {
    let text = format!(
        "{}\nYou ({}) are asked to approve this change.\n\nApprove: {}\nReject:  {}\n\n\
         Each link opens a confirmation page first; nothing happens until you press the button there.\n\
         The links are yours alone and expire at {}.\n",
        view.text(),
        links.approver,
        links.approve,
        links.reject,
        view.links_expire_at
    );
    let body = format!(
        "<h1>{}</h1>{}<p>You (<strong>{}</strong>) are asked to approve this change.</p>\
         <p><a href=\"{}\">Review and approve</a> · <a href=\"{}\">Review and reject</a></p>\
         <p class=\"note\">Each link opens a confirmation page first; nothing happens until you press the button \
         there. The links are yours alone and expire at {}.</p>",
        esc(&view.subject()),
        change_details(view),
        esc(links.approver.as_str()),
        esc(&links.approve),
        esc(&links.reject),
        esc(&view.links_expire_at)
    );
    Email { to: vec![links.approver.clone()], subject: view.subject(), text, html: page(&view.subject(), &body) }
}

/// Block Kit limits (Slack's block reference; docs/vendors.md): a message
/// over them is refused whole.
const SLACK_SECTION_CHARS: usize = 3000;
const SLACK_HEADER_CHARS: usize = 150;
const SLACK_BUTTON_CHARS: usize = 75;
const SLACK_BLOCKS: usize = 50;

/// `text` cut to `max` characters (an ellipsis marks the cut).
fn at_most(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Lines packed into mrkdwn texts of at most [`SLACK_SECTION_CHARS`] each;
/// a single line too long for one is cut.
fn sections(head: &str, lines: &[String]) -> Vec<String> {
    let mut out = vec![head.to_owned()];
    for line in lines {
        let line = at_most(line, SLACK_SECTION_CHARS - 1);
        let last = out.last_mut().map(|t| t.chars().count() + line.chars().count() + 1 > SLACK_SECTION_CHARS);
        match (last, out.last_mut()) {
            (Some(false), Some(t)) => {
                t.push('\n');
                t.push_str(&line);
            }
            _ => out.push(line),
        }
    }
    out
}

/// Slack Block Kit: the change, then one Approve/Reject pair per approver
/// (incoming webhooks post to a channel, so each button says whose it is).
/// A change with many connectors does not fit one section (3,000 characters)
/// or one message (50 blocks): it becomes as many sections, and messages,
/// as it needs, each message headed "(part n of m)", the buttons last.
fn slack_messages(view: &ChangeView, links: &[Links]) -> Vec<serde_json::Value> {
    let lines: Vec<String> = view
        .connectors
        .iter()
        .map(|c| {
            format!(
                "• *{}* ({}) → {}; expires {}{}{}",
                slack_escape(&c.id),
                slack_escape(c.kind),
                slack_escape(&c.consumer),
                slack_escape(&c.expires_at),
                if c.expired { " *EXPIRED*" } else { "" },
                if c.human_step { "; _a human pastes the new key_" } else { "" }
            )
        })
        .collect();
    let head = format!(
        "*When:* {}\n*Needs:* {}\n*Links expire:* {}",
        slack_escape(&view.when),
        slack_escape(&view.needs),
        slack_escape(&view.links_expire_at)
    );
    let mut body: Vec<serde_json::Value> = sections(&head, &lines)
        .into_iter()
        .map(|text| json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}))
        .collect();
    for l in links {
        body.push(json!({"type": "actions", "elements": [
            {"type": "button", "style": "primary",
             "text": {"type": "plain_text", "text": at_most(&format!("Approve as {}", l.approver), SLACK_BUTTON_CHARS)},
             "url": l.approve, "action_id": format!("approve-{}", l.approver)},
            {"type": "button", "style": "danger",
             "text": {"type": "plain_text", "text": at_most(&format!("Reject as {}", l.approver), SLACK_BUTTON_CHARS)},
             "url": l.reject, "action_id": format!("reject-{}", l.approver)},
        ]}));
    }
    body.push(json!({"type": "context", "elements": [{"type": "mrkdwn",
        "text": "Buttons open a confirmation page; nothing happens until it is confirmed there."}]}));
    // One block of each message is its header.
    let parts: Vec<&[serde_json::Value]> = body.chunks(SLACK_BLOCKS - 1).collect();
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let title = if n == 1 { view.subject() } else { format!("{} (part {} of {n})", view.subject(), i + 1) };
            // Cut from the front of the subject, so "(part n of m)" survives.
            let title = if title.chars().count() > SLACK_HEADER_CHARS {
                let suffix = if n == 1 { String::new() } else { format!(" (part {} of {n})", i + 1) };
                format!("{}{suffix}", at_most(&view.subject(), SLACK_HEADER_CHARS - suffix.chars().count()))
            } else {
                title
            };
            let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text", "text": title}})];
            blocks.extend(chunk.iter().cloned());
            json!({"text": slack_escape(&view.subject()), "blocks": blocks})
        })
        .collect()
}

/// Loads and re-validates the change's connectors: the inventory may have
/// changed since the scan.
pub(crate) async fn load_connectors<L: ConnectorLookup>(
    lookup: &L,
    change: &Change,
    now: OffsetDateTime,
) -> Result<Vec<Connector>, RequestError> {
    let stored = lookup.get_many(&change.connectors).await?;
    let missing: Vec<&str> =
        change.connectors.iter().filter(|id| !stored.iter().any(|s| &s.id == *id)).map(|id| id.as_str()).collect();
    if !missing.is_empty() {
        return Err(RequestError::ConnectorsMissing { change: change.id.to_string(), missing: missing.join(", ") });
    }
    stored
        .iter()
        .map(|s| {
            validate_stored(s, now).map_err(|problems| RequestError::InvalidConnector {
                change: change.id.to_string(),
                connector: s.id.to_string(),
                problems: problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            })
        })
        .collect()
}

fn owners(connectors: &[Connector]) -> Vec<Approver> {
    let mut owners: Vec<Approver> = connectors.iter().filter_map(|c| Approver::parse(&c.owner).ok()).collect();
    owners.sort();
    owners.dedup();
    owners
}

pub async fn request_approval<A: Adapters>(
    ports: &A,
    settings: &RequestSettings,
    input: &RequestInput,
    now: OffsetDateTime,
) -> Result<RequestReport, RequestError> {
    let change = &input.change;
    let routing = ports.routing().routing().await?;
    let group: &Group = routing.group(&change.approver_group)?;
    let connectors = load_connectors(ports.connectors(), change, now).await?;
    let ring = ports.keys().keyring().await?;

    let timeout = change.approval_timeout().unwrap_or(settings.default_timeout);
    let expires = now + settings.link_ttl.map_or(timeout, |ttl| ttl.min(timeout));
    let request = ApprovalRequest {
        approvers: group.approvers.clone(),
        rule: group.rule(),
        owners: owners(&connectors),
        requested_at: now,
        links_expire_at: expires,
        execution_arn: input.execution_arn.clone(),
    };
    let mut report = RequestReport {
        change_id: change.id.to_string(),
        approvers: group.approvers.len(),
        emails_sent: 0,
        slack_posted: false,
        ticket: None,
        links_expire_at: format_utc(expires),
        opened: false,
    };
    if !ports.approvals().open(&change.id, &request, &input.task_token).await? {
        tracing::warn!(change_id = %change.id, "change already decided; not asking again");
        return Ok(report);
    }
    report.opened = true;

    let asked = Asking { url: &settings.approval_url, ring: &ring, group, connectors: &connectors, expires, now };
    let sent = send_links(ports.mailer(), ports.chat(), change, &asked, None).await;
    (report.emails_sent, report.slack_posted) = (sent.emails_sent, sent.slack_posted);
    let mut failures = sent.failures;
    if group.email && !ports.mailer().configured() {
        failures.push("email: no sender configured (KEYTURN_EMAIL_FROM)".into());
    }
    if report.emails_sent == 0 && !report.slack_posted {
        return Err(RequestError::Unreachable { change: change.id.to_string(), failures: failures.join("; ") });
    }
    for f in &failures {
        tracing::warn!(change_id = %change.id, problem = %f, "an approval channel failed; others reached");
    }

    if change.urgent {
        if let Some(tickets) = ports.tickets() {
            let view = ChangeView::new(change, &connectors, group.approvers.len(), &group.rule(), expires, now);
            let description =
                format!("{}\nApproval requested from: {}\n", view.text(), approver_list(&group.approvers));
            match tickets.open(&view.subject(), &description).await {
                Ok(key) => {
                    ports.approvals().set_ticket(&change.id, &key).await?;
                    report.ticket = Some(key);
                }
                // The approval matters more than the ticket: go on, but say so.
                Err(e) => {
                    tracing::error!(change_id = %change.id, error = %e, "could not open the urgent ticket");
                    failures.push(format!("jira: {e}"));
                }
            }
        }
    }

    let mut events = Vec::with_capacity(change.connectors.len());
    for c in &change.connectors {
        let mut ev = NewAuditEvent::new(c.clone(), EventKind::ApprovalRequested, now, "keyturn:request-approval")
            .change(&change.id)
            .detail("approvers", approver_list(&group.approvers))
            .detail("required", group.required.to_string())
            .detail("two_person", group.two_person.to_string())
            .detail("emails_sent", report.emails_sent.to_string())
            .detail("slack_posted", report.slack_posted.to_string())
            .detail("links_expire_at", report.links_expire_at.clone());
        // An auditor sees which channel was not reached, not only the logs.
        if !failures.is_empty() {
            ev = ev.detail("failed", failures.join("; "));
        }
        ev.execution_arn = Some(input.execution_arn.clone());
        if let Some(t) = &report.ticket {
            ev = ev.detail("ticket", t.clone());
        }
        events.push(ev);
    }
    crate::audit::append_each(ports.audit(), events).await?;
    tracing::info!(change_id = %change.id, approvers = report.approvers, emails = report.emails_sent,
        slack = report.slack_posted, "approval requested");
    Ok(report)
}

/// What signing fresh links for a change needs.
pub(crate) struct Asking<'a> {
    pub url: &'a str,
    pub ring: &'a KeyRing,
    pub group: &'a Group,
    pub connectors: &'a [Connector],
    pub expires: OffsetDateTime,
    pub now: OffsetDateTime,
}

/// What reached the approvers.
pub(crate) struct Sent {
    pub emails_sent: usize,
    pub slack_posted: bool,
    pub failures: Vec<String>,
}

/// Signs fresh links for every approver of the group and sends them (email
/// each, one Slack post). `reminder` (e.g. `7 days before the key expires`)
/// marks a reminder of a request already made.
pub(crate) async fn send_links<M: Mailer, C: Chat>(
    mailer: &M,
    chat: &C,
    change: &Change,
    asking: &Asking<'_>,
    reminder: Option<&str>,
) -> Sent {
    let group = asking.group;
    let view =
        ChangeView::new(change, asking.connectors, group.approvers.len(), &group.rule(), asking.expires, asking.now);
    let links = links_for(asking.ring, asking.url, change, &group.approvers, asking.expires);
    let mut sent = Sent { emails_sent: 0, slack_posted: false, failures: Vec::new() };
    if group.email && mailer.configured() {
        for l in &links {
            let mut email = email_for(&view, l);
            if let Some(r) = reminder {
                email.subject = format!("Reminder ({r}): {}", email.subject);
                email.text = format!("REMINDER: this change still waits for a decision ({r}).\n\n{}", email.text);
            }
            match mailer.send(&email).await {
                Ok(_) => sent.emails_sent += 1,
                Err(e) => sent.failures.push(format!("email to {}: {e}", l.approver)),
            }
        }
    }
    if let Some(hook) = &group.slack_webhook {
        let mut posted = true;
        for mut message in slack_messages(&view, &links) {
            if let Some(r) = reminder {
                message["text"] = json!(format!("Reminder ({}): {}", slack_escape(r), slack_escape(&view.subject())));
            }
            if let Err(e) = chat.post(hook, &message).await {
                sent.failures.push(format!("slack {}: {e}", hook.redacted()));
                posted = false;
                break;
            }
        }
        sent.slack_posted = posted;
    }
    sent
}

pub(crate) fn approver_list(approvers: &[Approver]) -> String {
    approvers.iter().map(Approver::as_str).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::view::ConnectorLine;

    /// Inventory values are attacker-controlled text: names that try to break
    /// out of HTML, Slack mrkdwn and email headers.
    fn hostile_view() -> ChangeView {
        ChangeView {
            change_id: "chg-1".into(),
            urgent: false,
            approver_group: "it-change".into(),
            org: Some("<script>alert(1)</script> <!channel>".into()),
            when: "as soon as approved".into(),
            connectors: vec![ConnectorLine {
                id: "atlassian/acme/entra".into(),
                kind: "atlassian-scim",
                org: "<img src=x onerror=alert(1)>".into(),
                consumer: "Entra ID (service principal <http://evil.example|click here>, job <!here>)".into(),
                expires_at: "2026-12-01T00:00:00Z".into(),
                expired: false,
                owner: "ann@x.example".into(),
                procedure: "p",
                human_step: false,
                rollback: "r",
            }],
            needs: "1 of 2 approvers".into(),
            links_expire_at: "2026-11-27T00:00:00Z".into(),
        }
    }

    fn links() -> Links {
        Links {
            approver: Approver::parse("ann@x.example").unwrap(),
            approve: "https://k.example/?t=a".into(),
            reject: "https://k.example/?t=r".into(),
        }
    }

    #[test]
    fn a_large_change_is_split_within_slacks_block_limits() {
        let mut view = hostile_view();
        // An organization name long enough that the subject alone passes the header limit.
        view.org = Some("a-very-long-organization-name ".repeat(10));
        let line = view.connectors[0].clone();
        view.connectors = (0..2000)
            .map(|i| ConnectorLine { id: format!("acme/connector-with-a-long-name-{i:05}"), ..line.clone() })
            .collect();
        let msgs = slack_messages(&view, &[links()]);
        assert!(msgs.len() > 1, "2,000 connectors do not fit one message");
        let mut shown = 0;
        for m in &msgs {
            let blocks = m["blocks"].as_array().unwrap();
            assert!(blocks.len() <= 50, "{} blocks", blocks.len());
            for b in blocks {
                let text = b["text"]["text"].as_str().unwrap_or_default();
                match b["type"].as_str() {
                    Some("header") => assert!(text.chars().count() <= 150, "header {}", text.chars().count()),
                    Some("section") => assert!(text.chars().count() <= 3000, "section {}", text.chars().count()),
                    _ => {}
                }
                shown += text.matches("acme/connector-with-a-long-name-").count();
            }
        }
        assert_eq!(shown, 2000, "every connector is listed once");
        let last = msgs.last().unwrap()["blocks"].as_array().unwrap();
        assert!(last.iter().any(|b| b["type"] == "actions"), "the buttons come with the last part");
    }

    #[test]
    fn slack_messages_cannot_mention_or_disguise_links() {
        let msg = slack_messages(&hostile_view(), &[links()]).remove(0);
        // mrkdwn fields parse mentions and links; plain_text ones (the header) do not.
        let mrkdwn = format!("{}\n{}", msg["text"], msg["blocks"][1]["text"]["text"]);
        for raw in ["<!channel>", "<!here>", "<http://evil.example|click here>", "<script>"] {
            assert!(!mrkdwn.contains(raw), "{raw} reached Slack mrkdwn unescaped: {mrkdwn}");
        }
        assert!(mrkdwn.contains("&lt;!here&gt;"), "{mrkdwn}");
        assert_eq!(msg["blocks"][0]["text"]["type"], "plain_text");
    }

    #[test]
    fn email_html_is_escaped_and_the_subject_is_one_line() {
        let mail = email_for(&hostile_view(), &links());
        assert!(!mail.html.contains("<script>") && !mail.html.contains("<img src=x"), "{}", mail.html);
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(!mail.subject.contains('\n') && !mail.subject.contains('\r'));
    }
}
