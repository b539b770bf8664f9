//! Change approval: asking named humans, and taking their answer exactly once.
//!
//! - [`routing`]: who approves which approver group, and where they are told.
//! - [`view`]: what the approver is shown (the same facts in email, Slack and
//!   the confirmation page).
//! - [`request`]: the `request-approval` step (stores the task token, sends
//!   signed links).
//! - [`callback`]: the `approval-callback` page (GET shows, POST decides).
//!
//! The primitives (signed links, votes, N-of-M and two-person rules) are pure
//! and live in [`keyturn_domain::approval`].

pub mod callback;
pub mod intake;
pub mod request;

// The data types and pure parts live in keyturn-domain; re-exported so the
// steps and their adapters name them in one place.
pub use keyturn_domain::approval::{
    html_message, routing, view, ApprovalRequest, ChangeRecord, Email, Escalation, Group, Routing, RoutingError,
    SlackWebhook, TaskToken,
};
