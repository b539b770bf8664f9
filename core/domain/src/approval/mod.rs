//! Approval primitives: signed links, votes, and the rules that turn votes
//! into a decision. Pure: no I/O, no clock (callers pass `now`).
//!
//! - `links.rs`: signing keys, the key ring, link claims and tokens, nonces,
//!   decisions and approvers;
//! - `tally.rs`: approval rules, votes, and the tally;
//! - [`routing`], [`view`], [`html`] and the messages: who is asked, and
//!   what they are shown.

pub mod html;
mod links;
mod message;
pub mod routing;
mod tally;
pub mod view;

pub use links::{
    unverified_decision, Approver, Decision, KeyRing, LinkClaims, LinkError, LinkToken, Nonce, SigningKey,
    MIN_KEY_BYTES,
};
pub use message::{html_message, ApprovalRequest, ChangeRecord, Email, TaskToken};
pub use routing::{Escalation, Group, Routing, RoutingError, SlackWebhook};
pub use tally::{tally, ApprovalRule, Tally, Vote};
