//! The `approval-callback` page behind a signed link.
//!
//! `GET` only shows: mail scanners (Safe Links, Mimecast, Proofpoint) and
//! Slack's unfurler fetch every link they see, so a GET must never decide.
//! `POST` (the button on that page) verifies the link again, records the vote
//! with a conditional write (so it counts once however often it arrives), and
//! the vote that settles the change hands the decision to the workflow.

use serde_json::json;
use time::OffsetDateTime;

use super::request::{approver_list, load_connectors};
use super::view::ChangeView;
use super::ChangeRecord;
use crate::adapters::Adapters;
use crate::ports::{Approvals, AuditLog, Delivery, SigningKeys, StoreError, TaskCallbacks, VoteResult};
use keyturn_domain::approval::html::{change_details, esc, page};
use keyturn_domain::approval::{tally, Approver, Decision, LinkClaims, LinkError, Tally, Vote};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::SecretValue;
use keyturn_domain::{ChangeStatus, EventKind, NewAuditEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// The answer: an HTTP status and a complete HTML page. `outcome` is a stable
/// name for logs, metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub status: u16,
    pub outcome: &'static str,
    pub html: String,
}

impl Page {
    pub(crate) fn new(status: u16, outcome: &'static str, title: &str, body: &str) -> Self {
        Self { status, outcome, html: page(title, &format!("<h1>{}</h1>{body}", esc(title))) }
    }
}

/// Only store failures are errors; every user-facing outcome is a [`Page`].
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct CallbackError(#[from] pub StoreError);

/// How many times a decision is offered to Step Functions before giving up.
const DELIVERY_ATTEMPTS: u32 = 3;

/// A delivery claimed longer ago than this and not finished is taken as lost.
/// Longer than the callback function's timeout (30 s), so a press while the
/// deciding request is still delivering never delivers twice.
const DELIVERY_LOST_AFTER: time::Duration = time::Duration::seconds(90);

pub async fn handle<A: Adapters>(
    ports: &A,
    method: Method,
    token: Option<&str>,
    key: Option<&SecretValue>,
    now: OffsetDateTime,
) -> Result<Page, CallbackError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(Page::new(
            400,
            "malformed",
            "This link is incomplete",
            "<p>The address is missing its signature. Open the link exactly as it arrived in the email or Slack \
             message.</p>",
        ));
    };
    let ring = ports.keys().keyring().await?;
    let claims = match ring.verify(token, now) {
        Ok(c) => c,
        // Authentic but late: a real approver acted on a real change, so a
        // press of the button is audited. (A GET, as mail scanners send, is not.)
        Err(LinkError::Expired { claims }) if method == Method::Post && claims.decision != Decision::Intake => {
            if let Some(record) = ports.approvals().get(&claims.change_id).await? {
                refuse(ports.audit(), &record, &claims, "link_expired", now).await?;
            }
            return Ok(link_error_page(&LinkError::Expired { claims }));
        }
        Err(e) => return Ok(link_error_page(&e)),
    };
    if claims.decision == Decision::Intake {
        let post = (method == Method::Post).then_some(key);
        return Ok(super::intake::handle(ports, &claims, post, token, now).await?);
    }
    let Some(record) = ports.approvals().get(&claims.change_id).await? else {
        return Ok(Page::new(
            404,
            "unknown_change",
            "Unknown change",
            &format!(
                "<p>keyturn has no change <code>{}</code>. It may have been removed after its retention period.</p>",
                esc(claims.change_id.as_str())
            ),
        ));
    };
    let Some(request) = &record.request else {
        return Ok(Page::new(
            409,
            "not_open",
            "Not awaiting approval",
            "<p>This change is not waiting for approval.</p>",
        ));
    };
    if !request.approvers.contains(&claims.approver) {
        if method == Method::Post {
            refuse(ports.audit(), &record, &claims, "wrong_approver", now).await?;
        }
        return Ok(Page::new(
            403,
            "wrong_approver",
            "You are not an approver of this change",
            &format!(
                "<p><strong>{}</strong> is not among the approvers of change <code>{}</code> ({}). Nothing was \
                 recorded.</p>",
                esc(claims.approver.as_str()),
                esc(claims.change_id.as_str()),
                esc(&approver_list(&request.approvers))
            ),
        ));
    }
    match method {
        Method::Get => confirmation(ports, &record, &claims, token, now).await,
        Method::Post => decide(ports, record, claims, now).await,
    }
}

fn link_error_page(e: &LinkError) -> Page {
    match e {
        LinkError::Expired { .. } => Page::new(
            410,
            "expired",
            "This link has expired",
            "<p>The approval period for this link is over. If the key still needs rotating, keyturn's next scan \
             opens a new change and sends new links.</p>",
        ),
        LinkError::Malformed => Page::new(
            400,
            "malformed",
            "This link is damaged",
            "<p>The address is not a complete keyturn link. Open it exactly as it arrived (some mail clients \
             break long links).</p>",
        ),
        // Unknown key and bad signature look the same to the visitor: a forger
        // learns nothing about which part failed.
        _ => Page::new(
            403,
            "forged",
            "This link is not valid",
            "<p>The link's signature does not match. Nothing was recorded. If you did not alter the link, report \
             it to your security team.</p>",
        ),
    }
}

fn already_page(record: &ChangeRecord, claims: &LinkClaims) -> Page {
    if let Some(v) = record.votes.iter().find(|v| v.approver == claims.approver) {
        if record.status.is_open() {
            return Page::new(
                409,
                "already_voted",
                "You have already answered",
                &format!(
                    "<p>You answered <strong>{}</strong> at {}. The change is waiting for the other approvers.</p>",
                    v.decision.as_str(),
                    esc(&format_utc(v.at))
                ),
            );
        }
    }
    let said = match record.status {
        ChangeStatus::Approved | ChangeStatus::Completed | ChangeStatus::Failed => "approved",
        ChangeStatus::Rejected => "rejected",
        ChangeStatus::Expired => "expired without a decision",
        ChangeStatus::Detected | ChangeStatus::AwaitingApproval => "open",
    };
    Page::new(
        409,
        "already_decided",
        "This change is already decided",
        &format!(
            "<p>Change <code>{}</code> was <strong>{said}</strong>{}. Your link changes nothing now.</p>",
            esc(record.change.id.as_str()),
            record.decided_at.map(|t| format!(" at {}", format_utc(t))).unwrap_or_default()
        ),
    )
}

async fn confirmation<A: Adapters>(
    ports: &A,
    record: &ChangeRecord,
    claims: &LinkClaims,
    token: &str,
    now: OffsetDateTime,
) -> Result<Page, CallbackError> {
    if !record.status.is_open() || record.votes.iter().any(|v| v.approver == claims.approver) {
        return Ok(already_page(record, claims));
    }
    let Some(request) = &record.request else { return Ok(already_page(record, claims)) };
    // The page shows what the connectors are now; if they vanished the page
    // still lets the approver reject.
    let connectors = load_connectors(ports.connectors(), &record.change, now).await.unwrap_or_default();
    let view = ChangeView::new(
        &record.change,
        &connectors,
        request.approvers.len(),
        &request.rule,
        request.links_expire_at,
        now,
    );
    let (verb, class) = match claims.decision {
        Decision::Approve => ("Approve", "approve"),
        Decision::Reject => ("Reject", "reject"),
        Decision::Intake => {
            return Ok(Page::new(400, "malformed", "Wrong kind of link", "<p>This is a key intake link.</p>"))
        }
    };
    let title = format!("{verb} change {}?", record.change.id);
    let body = format!(
        "<p class=\"status\">You are <strong>{}</strong>. Nothing has been recorded yet.</p>{}\
         <form method=\"post\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
         <button type=\"submit\" class=\"{class}\" name=\"decision\" value=\"{}\" data-decision=\"{}\">{verb} this change</button></form>\
         <p class=\"note\">Your link expires at {}. Wrong decision? Close this page: only the button acts.</p>",
        esc(claims.approver.as_str()),
        change_details(&view),
        esc(token),
        claims.decision.as_str(),
        claims.decision.as_str(),
        esc(&view.links_expire_at),
    );
    Ok(Page::new(200, "confirm", &title, &body))
}

async fn decide<A: Adapters>(
    ports: &A,
    record: ChangeRecord,
    claims: LinkClaims,
    now: OffsetDateTime,
) -> Result<Page, CallbackError> {
    if !record.status.is_open() {
        return closed(ports, &record, &claims, now).await;
    }
    let vote = Vote { approver: claims.approver.clone(), decision: claims.decision, at: now };
    let record = match ports.approvals().vote(&record.change.id, &vote).await? {
        VoteResult::Recorded(r) => r,
        VoteResult::AlreadyVoted(r) => {
            refuse(ports.audit(), &r, &claims, "already_voted", now).await?;
            return Ok(already_page(&r, &claims));
        }
        VoteResult::Closed(r) => return closed(ports, &r, &claims, now).await,
        VoteResult::UnknownChange => {
            return Ok(Page::new(404, "unknown_change", "Unknown change", "<p>This change no longer exists.</p>"))
        }
    };
    let Some(request) = &record.request else { return Ok(already_page(&record, &claims)) };
    audit_all(ports.audit(), &record, EventKind::VoteRecorded, &claims.approver, now, |ev| {
        ev.detail("decision", claims.decision.as_str())
    })
    .await?;

    match tally(&request.rule, &request.owners, &record.votes) {
        Tally::Pending { approvals, required, waiting_for_second_person } => {
            let waiting = if waiting_for_second_person {
                "The two-person rule needs an approver who does not own these keys.".to_owned()
            } else {
                format!("{approvals} of {required} approvals so far.")
            };
            Ok(Page::new(
                200,
                "vote_recorded",
                "Your approval is recorded",
                &format!("<p class=\"status\">Thank you. {}</p><p>The change goes ahead once enough approvers have answered.</p>", esc(&waiting)),
            ))
        }
        Tally::Approved { approvers } => {
            let rotate_at = record.change.window.map(|w| w.next_open(now)).filter(|t| *t > now);
            if !ports.approvals().close(&record.change.id, ChangeStatus::Approved, now, rotate_at).await? {
                let latest = ports.approvals().get(&record.change.id).await?.unwrap_or(record);
                return Ok(already_page(&latest, &claims));
            }
            let decided = Decided::Approved { approvers, rotate_at, at: now, by: claims.approver.clone() };
            announce(ports, &record, &decided, &claims, now).await
        }
        Tally::Rejected { by } => {
            if !ports.approvals().close(&record.change.id, ChangeStatus::Rejected, now, None).await? {
                let latest = ports.approvals().get(&record.change.id).await?.unwrap_or(record);
                return Ok(already_page(&latest, &claims));
            }
            announce(ports, &record, &Decided::Rejected { by, at: now }, &claims, now).await
        }
    }
}

/// A decision the approvers reached and the change record holds.
enum Decided {
    Approved { approvers: Vec<Approver>, rotate_at: Option<OffsetDateTime>, at: OffsetDateTime, by: Approver },
    Rejected { by: Approver, at: OffsetDateTime },
}

impl Decided {
    /// The decision a closed record holds (votes in the order cast).
    fn of(record: &ChangeRecord) -> Option<Self> {
        let at = record.decided_at?;
        let cast = |d: Decision| record.votes.iter().filter(move |v| v.decision == d).map(|v| v.approver.clone());
        match record.status {
            ChangeStatus::Approved => {
                let approvers: Vec<Approver> = cast(Decision::Approve).collect();
                let by = approvers.last()?.clone();
                Some(Self::Approved { approvers, rotate_at: record.rotate_at, at, by })
            }
            ChangeStatus::Rejected => Some(Self::Rejected { by: cast(Decision::Reject).next()?, at }),
            _ => None,
        }
    }

    /// What the workflow's `RequestApproval` task returns.
    fn output(&self) -> serde_json::Value {
        match self {
            Self::Approved { approvers, rotate_at, at, .. } => {
                let mut output = json!({
                    "decision": "approved",
                    "approvers": approvers.iter().map(Approver::as_str).collect::<Vec<_>>(),
                    "decided_at": format_utc(*at),
                });
                if let Some(t) = rotate_at {
                    output["rotate_at"] = json!(format_utc(*t));
                }
                output
            }
            Self::Rejected { by, at } => {
                json!({"decision": "rejected", "rejected_by": by.as_str(), "decided_at": format_utc(*at)})
            }
        }
    }

    fn page(&self, change: &keyturn_domain::ChangeId) -> Page {
        match self {
            Self::Approved { rotate_at, .. } => {
                let when = rotate_at
                    .map(|t| format!("in its change window, at {}", format_utc(t)))
                    .unwrap_or_else(|| "now".to_owned());
                Page::new(
                    200,
                    "approved",
                    "Approved",
                    &format!(
                        "<p class=\"status\">Change <code>{}</code> is approved. Rotation starts {}.</p><p>You will be \
                         told the outcome.</p>",
                        esc(change.as_str()),
                        esc(&when)
                    ),
                )
            }
            Self::Rejected { .. } => Page::new(
                200,
                "rejected",
                "Rejected",
                &format!(
                    "<p class=\"status\">Change <code>{}</code> is rejected. Nothing will be changed.</p>",
                    esc(change.as_str())
                ),
            ),
        }
    }
}

/// A press of the button on a change already decided. While its task token
/// is still stored, long after the decision, the decision never reached the
/// workflow (the deciding request died, or Step Functions failed, after the
/// decision was recorded): hand it over now, so one more press, by anyone
/// with a link, finishes the job instead of the workflow waiting out its
/// timeout.
async fn closed<A: Adapters>(
    ports: &A,
    record: &ChangeRecord,
    claims: &LinkClaims,
    now: OffsetDateTime,
) -> Result<Page, CallbackError> {
    if let Some(decided) = Decided::of(record) {
        if ports.approvals().claim_redelivery(&record.change.id, now, now - DELIVERY_LOST_AFTER).await? {
            return announce(ports, record, &decided, claims, now).await;
        }
    }
    refuse(ports.audit(), record, claims, "already_decided", now).await?;
    Ok(already_page(record, claims))
}

/// Hands the decision to the waiting workflow, forgets the task token, and
/// only then audits `approved`/`rejected`: the audited decision is the one
/// the workflow acts on.
async fn announce<A: Adapters>(
    ports: &A,
    record: &ChangeRecord,
    decided: &Decided,
    claims: &LinkClaims,
    now: OffsetDateTime,
) -> Result<Page, CallbackError> {
    if deliver(ports, record, &decided.output()).await? == Delivery::TaskGone {
        refuse(ports.audit(), record, claims, "workflow_ended", now).await?;
        return Ok(task_gone_page());
    }
    ports.approvals().delivered(&record.change.id).await?;
    match decided {
        Decided::Approved { approvers, rotate_at, by, .. } => {
            audit_all(ports.audit(), record, EventKind::Approved, by, now, |ev| {
                ev.detail("approvers", approver_list(approvers))
                    .detail("rotate_at", rotate_at.map(format_utc).unwrap_or_else(|| "now".into()))
            })
            .await?
        }
        Decided::Rejected { by, .. } => audit_all(ports.audit(), record, EventKind::Rejected, by, now, |ev| ev).await?,
    }
    Ok(decided.page(&record.change.id))
}

fn task_gone_page() -> Page {
    Page::new(
        410,
        "expired",
        "The approval period ended",
        "<p>The workflow stopped waiting before your answer arrived. If the key still needs rotating, the next scan \
         opens a new change.</p>",
    )
}

async fn deliver<A: Adapters>(
    ports: &A,
    record: &ChangeRecord,
    output: &serde_json::Value,
) -> Result<Delivery, CallbackError> {
    let Some(token) = ports.approvals().task_token(&record.change.id).await? else {
        return Ok(Delivery::TaskGone);
    };
    let mut attempt = 1;
    loop {
        match ports.tasks().succeed(&token, output).await {
            Ok(d) => return Ok(d),
            Err(e) if e.retryable && attempt < DELIVERY_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

async fn refuse<Au: AuditLog>(
    audit: &Au,
    record: &ChangeRecord,
    claims: &LinkClaims,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(), CallbackError> {
    // A once-event per approver and change: repeats fold into the first, so a
    // storm of presses (a script, a scanner that POSTs) adds a few events at
    // most (presses landing at the same instant), not one per press.
    audit_all(audit, record, EventKind::ApprovalRefused, &claims.approver, now, |ev| {
        ev.detail("reason", reason).detail("decision", claims.decision.as_str()).once()
    })
    .await
}

async fn audit_all<Au: AuditLog>(
    audit: &Au,
    record: &ChangeRecord,
    kind: EventKind,
    actor: &Approver,
    now: OffsetDateTime,
    extra: impl Fn(NewAuditEvent) -> NewAuditEvent,
) -> Result<(), CallbackError> {
    let events = record.change.connectors.iter().map(|c| {
        let mut ev = NewAuditEvent::new(c.clone(), kind, now, format!("approver:{actor}")).change(&record.change.id);
        ev.execution_arn = record.request.as_ref().map(|r| r.execution_arn.clone());
        extra(ev)
    });
    Ok(crate::audit::append_each(audit, events.collect()).await?)
}
