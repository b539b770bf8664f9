//! What an approval request and a change record hold, and the messages sent
//! about them: plain data shared by the approval steps and their stores.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{html, ApprovalRule, Approver, Vote};
use crate::{Change, ChangeStatus, ConnectorOutcome};

/// A plain-text message as a minimal HTML email body.
pub fn html_message(subject: &str, text: &str) -> String {
    html::page(
        subject,
        &format!("<h1>{}</h1><pre style=\"white-space:pre-wrap\">{}</pre>", html::esc(subject), html::esc(text)),
    )
}

/// A Step Functions task token. Stored in the changes table only; never put in
/// a link, a log line or an error (its `Debug` shows a fingerprint).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskToken(String);

impl TaskToken {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TaskToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskToken(sha256:{})", crate::fingerprint(self.0.as_bytes()))
    }
}

/// What `request-approval` decided to ask, kept on the change record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    pub approvers: Vec<Approver>,
    pub rule: ApprovalRule,
    /// Owners of the change's connectors (for the two-person rule).
    pub owners: Vec<Approver>,
    pub requested_at: OffsetDateTime,
    pub links_expire_at: OffsetDateTime,
    pub execution_arn: String,
}

/// A change as the changes table holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub change: Change,
    pub status: ChangeStatus,
    pub request: Option<ApprovalRequest>,
    /// In the order they were cast.
    pub votes: Vec<Vote>,
    pub decided_at: Option<OffsetDateTime>,
    pub rotate_at: Option<OffsetDateTime>,
    pub ticket: Option<String>,
    /// Each connector's end result, recorded by `finalize`/`rollback` as it
    /// happens (not carried in the workflow state: a batch of thousands would
    /// not fit Step Functions' 256 KB). Sorted by connector id.
    pub outcomes: Vec<ConnectorOutcome>,
    /// Notices already sent about this change (`remind:30`, `stuck:2026-11-26`):
    /// each is claimed once, so a second scan sends nothing twice.
    pub notices: Vec<String>,
}

/// One email, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: Vec<Approver>,
    pub subject: String,
    pub text: String,
    pub html: String,
}
