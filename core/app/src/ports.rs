//! The capabilities the core logic needs, one small trait each. AWS adapters
//! live in [`crate::aws`]; unit tests use in-memory ones.
//!
//! Methods return `impl Future + Send` so handlers stay spawnable on tokio
//! without a boxing crate; implementations just write `async fn`.

use std::future::Future;

use time::OffsetDateTime;

pub use keyturn_domain::inventory::StoredConnector;
use keyturn_domain::{AuditEvent, Change, ChangeLease, ConnectorId, NewAuditEvent};

/// A failure talking to a store or service. `retryable` drives the state
/// machine's Retry (throttling, 5xx) versus Catch.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{service} {operation}: {message}")]
pub struct StoreError {
    pub service: &'static str,
    pub operation: &'static str,
    pub message: String,
    pub retryable: bool,
}

/// What the expiry query returned.
#[derive(Debug, Clone, Default)]
pub struct DueItems {
    pub items: Vec<StoredConnector>,
    /// Items DynamoDB evaluated (summed `ScannedCount` over pages): the cost.
    pub items_read: u64,
    pub pages: u32,
}

/// The connectors table as the scanner reads it: what is due, and leases.
pub trait Inventory: Send + Sync {
    /// Every tracked (non-retired) connector expiring at or before `cutoff`.
    fn due(&self, cutoff: OffsetDateTime) -> impl Future<Output = Result<DueItems, StoreError>> + Send;

    /// Takes the connector for a change unless another change holds a live
    /// lease on it. `Ok(false)`: held by someone else.
    fn claim(
        &self,
        id: &ConnectorId,
        lease: &ChangeLease,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Unwedges a connector that `change` left behind (its execution ended or
    /// never ran): `rotating` becomes `active` and the lease is dropped, only
    /// if `change` still holds it. `Ok(false)`: someone else moved it first.
    fn reset_wedged(
        &self,
        id: &ConnectorId,
        change: &keyturn_domain::ChangeId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives the connector back, if `change` still holds it and it is not
    /// `rotating` (then the next scan repairs it: the lease says by whom).
    fn release(
        &self,
        id: &ConnectorId,
        change: &keyturn_domain::ChangeId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Changes as the scanner records them (one per approval).
pub trait ChangeStore: Send + Sync {
    /// Records a new change. `Ok(false)` when it already existed (a second scan
    /// on the same day found the same change).
    fn create(&self, change: &Change) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Of `ids`, the changes still waiting for their approvers, with since
    /// when (one batch read; decided, ended or unknown changes are absent).
    fn awaiting_since(
        &self,
        ids: &[keyturn_domain::ChangeId],
    ) -> impl Future<Output = Result<Vec<(keyturn_domain::ChangeId, time::OffsetDateTime)>, StoreError>> + Send;

    /// Where a recorded change stands (`None`: no record).
    fn status(
        &self,
        id: &keyturn_domain::ChangeId,
    ) -> impl Future<Output = Result<Option<keyturn_domain::ChangeStatus>, StoreError>> + Send;
}

/// The hash-chained audit trail: append-only, one chain per connector.
pub trait AuditLog: Send + Sync {
    /// Appends to the connector's chain; never overwrites.
    fn append(&self, event: NewAuditEvent) -> impl Future<Output = Result<AuditEvent, StoreError>> + Send;
}

/// Outcome of asking the workflow engine to run a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started {
        execution_arn: String,
    },
    /// An execution with this change's name exists already.
    AlreadyRunning,
    /// The change ran to its end already (decided by the scanner, never by a
    /// workflow engine).
    Ended,
}

/// Step Functions as the scanner uses it: start a change, look at its execution.
pub trait Workflow: Send + Sync {
    fn start(&self, change: &Change) -> impl Future<Output = Result<StartOutcome, StoreError>> + Send;

    /// Where the change's execution is (to tell a live rotation from a wedged one).
    fn execution(&self, change: &ChangeId) -> impl Future<Output = Result<ExecutionState, StoreError>> + Send;
}

/// A change's execution, as the scanner needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionState {
    Running,
    /// SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    Ended(String),
    /// No execution by that name (never started, or expired from history).
    Missing,
}

// ---- approval ---------------------------------------------------------------

use keyturn_domain::approval::{ApprovalRequest, ChangeRecord, Email, Routing, SlackWebhook, TaskToken};
use keyturn_domain::approval::{KeyRing, Vote};
use keyturn_domain::ChangeId;

/// Reads connectors by id (the approval message and the rotation steps need
/// their details).
pub trait ConnectorLookup: Send + Sync {
    /// The connectors that exist, in no particular order.
    fn get_many(&self, ids: &[ConnectorId]) -> impl Future<Output = Result<Vec<StoredConnector>, StoreError>> + Send;
}

/// What recording one vote did.
#[derive(Debug, Clone)]
pub enum VoteResult {
    /// Counted; the record as it is now.
    Recorded(ChangeRecord),
    /// This approver had already voted (a replay, or a double click).
    AlreadyVoted(ChangeRecord),
    /// The change is no longer open (decided, expired, finished).
    Closed(ChangeRecord),
    UnknownChange,
}

/// The approval side of the changes table. The task token is written once
/// per request and read only to deliver the decision.
pub trait Approvals: Send + Sync {
    fn get(&self, id: &ChangeId) -> impl Future<Output = Result<Option<ChangeRecord>, StoreError>> + Send;
    /// The records of `ids` that exist (batch reads, strongly consistent).
    fn get_many(&self, ids: &[ChangeId]) -> impl Future<Output = Result<Vec<ChangeRecord>, StoreError>> + Send;

    /// Opens (or, on a retried request, re-opens) the change for approval.
    /// `Ok(false)`: the change is already decided and stays as it is.
    fn open(
        &self,
        id: &ChangeId,
        request: &ApprovalRequest,
        token: &TaskToken,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records one approver's vote, once (conditional write).
    fn vote(&self, id: &ChangeId, vote: &Vote) -> impl Future<Output = Result<VoteResult, StoreError>> + Send;

    /// Moves an open change to its final decision and claims its delivery to
    /// the workflow. `Ok(false)`: someone else closed it first.
    fn close(
        &self,
        id: &ChangeId,
        status: keyturn_domain::ChangeStatus,
        at: OffsetDateTime,
        rotate_at: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records how the change ended (after its workflow). Never moves a
    /// finished change back.
    fn finish(
        &self,
        id: &ChangeId,
        status: keyturn_domain::ChangeStatus,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn task_token(&self, id: &ChangeId) -> impl Future<Output = Result<Option<TaskToken>, StoreError>> + Send;

    /// The decision reached the workflow: drops the task token, so a token
    /// still stored on a decided change means "decided, not yet delivered".
    fn delivered(&self, id: &ChangeId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes over delivering a decided change's decision whose delivery was
    /// claimed (by [`Approvals::close`] or an earlier takeover) before
    /// `stale_before` and never finished. `Ok(false)`: nothing to deliver, or
    /// a delivery may still be under way.
    fn claim_redelivery(
        &self,
        id: &ChangeId,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Remembers the ticket opened for an urgent change.
    fn set_ticket(&self, id: &ChangeId, ticket: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Where each connector's end result is kept (the change record).
pub trait OutcomeLog: Send + Sync {
    /// Idempotent: recording the same connector again replaces its entry.
    fn record_outcome(
        &self,
        change: &ChangeId,
        outcome: &keyturn_domain::ConnectorOutcome,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Notices that must go out once: claimed before they are sent.
pub trait Notices: Send + Sync {
    /// True the first time `key` is claimed for `change`.
    fn claim_change_notice(
        &self,
        change: &ChangeId,
        key: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// True the first time `key` is claimed on `now`'s UTC day.
    fn claim_daily(&self, key: &str, now: OffsetDateTime) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The link-signing keys (current and previous).
pub trait SigningKeys: Send + Sync {
    fn keyring(&self) -> impl Future<Output = Result<KeyRing, StoreError>> + Send;
    /// The current key's id and when it was made (no key material).
    fn current_key(&self) -> impl Future<Output = Result<keyturn_domain::signing_keys::KeyInfo, StoreError>> + Send;
    /// Makes a new current key at `now`; the current one becomes previous
    /// (still verifying) and the previous one stops verifying. The new key.
    fn rotate(
        &self,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<keyturn_domain::signing_keys::KeyInfo, StoreError>> + Send;
}

/// The approver routing document.
pub trait RoutingSource: Send + Sync {
    fn routing(&self) -> impl Future<Output = Result<Routing, StoreError>> + Send;
}

/// What happened to a decision handed to the workflow engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// The task is gone: timed out, or the execution ended.
    TaskGone,
}

/// Answering a paused workflow: the task token of an approval or a key hand-over.
pub trait TaskCallbacks: Send + Sync {
    fn succeed(
        &self,
        token: &TaskToken,
        output: &serde_json::Value,
    ) -> impl Future<Output = Result<Delivery, StoreError>> + Send;
}

/// Email (SES).
pub trait Mailer: Send + Sync {
    /// The provider's message id.
    fn send(&self, email: &Email) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// False when no sender is set up: email is then not a channel at all
    /// (notices go to Slack only) rather than a channel that fails.
    fn configured(&self) -> bool {
        true
    }
}

/// Slack incoming webhooks.
pub trait Chat: Send + Sync {
    fn post(
        &self,
        hook: &SlackWebhook,
        payload: &serde_json::Value,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Issue tracker (Jira) for urgent changes.
pub trait Tickets: Send + Sync {
    /// Opens a ticket; returns its key (`OPS-123`).
    fn open(&self, summary: &str, description: &str) -> impl Future<Output = Result<String, StoreError>> + Send;
    fn comment(&self, key: &str, text: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A ticket system whose credentials are read on first use.
impl<T: Tickets> Tickets for crate::lazy::Lazy<T> {
    async fn open(&self, summary: &str, description: &str) -> Result<String, StoreError> {
        self.get().await.map_err(credentials_error)?.open(summary, description).await
    }
    async fn comment(&self, key: &str, text: &str) -> Result<(), StoreError> {
        self.get().await.map_err(credentials_error)?.comment(key, text).await
    }
}

fn credentials_error(message: String) -> StoreError {
    StoreError { service: "secretsmanager", operation: "GetSecretValue", message, retryable: false }
}

/// No mailer configured: sending fails with a clear reason, other channels go on.
impl<M: Mailer> Mailer for Option<M> {
    async fn send(&self, email: &Email) -> Result<String, StoreError> {
        match self {
            Some(m) => m.send(email).await,
            None => Err(StoreError {
                service: "sesv2",
                operation: "SendEmail",
                message: "no sender configured (KEYTURN_EMAIL_FROM)".into(),
                retryable: false,
            }),
        }
    }
    fn configured(&self) -> bool {
        self.is_some()
    }
}

/// No state machine configured: starting a change fails with a clear reason
/// (the CLI's dry runs need none).
impl<W: Workflow> Workflow for Option<W> {
    async fn start(&self, change: &Change) -> Result<StartOutcome, StoreError> {
        match self {
            Some(w) => w.start(change).await,
            None => Err(no_state_machine("StartExecution")),
        }
    }
    async fn execution(&self, change: &ChangeId) -> Result<ExecutionState, StoreError> {
        match self {
            Some(w) => w.execution(change).await,
            None => Err(no_state_machine("DescribeExecution")),
        }
    }
}

fn no_state_machine(operation: &'static str) -> StoreError {
    StoreError {
        service: "sfn",
        operation,
        message: "no state machine configured (KEYTURN_STATE_MACHINE_ARN)".into(),
        retryable: false,
    }
}

// ---- rotation -----------------------------------------------------------------

use keyturn_domain::rotation::{StoredKey, VendorError};
use keyturn_domain::{Connector, SecretArn};

/// Secrets Manager, as rotation uses it: versions and staging labels.
pub trait SecretStore: Send + Sync {
    /// The `AWSCURRENT` version: (version id, key).
    fn current(&self, arn: &SecretArn) -> impl Future<Output = Result<(String, StoredKey), StoreError>> + Send;
    /// A version by id; `Ok(None)` when it does not exist.
    fn version(&self, arn: &SecretArn, id: &str) -> impl Future<Output = Result<Option<StoredKey>, StoreError>> + Send;
    /// Version ids carrying `AWSPENDING`.
    fn pending(&self, arn: &SecretArn) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Writes `key` as `AWSPENDING` with `token` as its version id; writing
    /// the same token again is a no-op (a retried step).
    fn put_pending(
        &self,
        arn: &SecretArn,
        token: &str,
        key: &StoredKey,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Moves `AWSCURRENT` from `old` to `new` (old becomes `AWSPREVIOUS`) and
    /// takes `AWSPENDING` off `new`.
    fn promote(&self, arn: &SecretArn, new: &str, old: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Takes `AWSPENDING` off a version.
    fn drop_pending(&self, arn: &SecretArn, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The vendor side of a key: create, revoke, prove it works.
pub trait KeyVendor: Send + Sync {
    /// A new key, created with `auth` (the current key) where the vendor allows.
    fn create(
        &self,
        c: &Connector,
        auth: &StoredKey,
        label: &str,
    ) -> impl Future<Output = Result<StoredKey, VendorError>> + Send;
    fn revoke(
        &self,
        c: &Connector,
        auth: &StoredKey,
        key_id: &str,
    ) -> impl Future<Output = Result<(), VendorError>> + Send;
    /// Active keys named `label` (keyturn names a key after its change): left
    /// by an attempt that created a key and died before storing it.
    fn leftovers(
        &self,
        c: &Connector,
        auth: &StoredKey,
        label: &str,
    ) -> impl Future<Output = Result<Vec<String>, VendorError>> + Send;
    /// An authenticated read with `key` (SCIM list users, admin read).
    fn probe(&self, c: &Connector, key: &StoredKey) -> impl Future<Output = Result<(), VendorError>> + Send;
}

/// Where the key is used: the identity provider's provisioning connection.
pub trait Consumer: Send + Sync {
    /// Tests a candidate key without saving it (Entra `validateCredentials`).
    fn validate_candidate(
        &self,
        c: &Connector,
        key: &StoredKey,
    ) -> impl Future<Output = Result<(), VendorError>> + Send;
    /// Saves the key as the connection's credential.
    fn push(&self, c: &Connector, key: &StoredKey) -> impl Future<Output = Result<(), VendorError>> + Send;
    /// Checks the saved credential / connection status (restarting a
    /// quarantined job where the provider has one).
    fn check(&self, c: &Connector) -> impl Future<Output = Result<(), VendorError>> + Send;
    /// The consumer's state before keyturn touches it, for the audit trail:
    /// Entra's job status, Okta's connection status (never a credential).
    fn state(&self, c: &Connector) -> impl Future<Output = Result<String, VendorError>> + Send;
}

/// The connector states rotation moves through.
pub trait ConnectorStates: Send + Sync {
    fn mark_rotating(
        &self,
        id: &ConnectorId,
        change: &ChangeId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Active again with its new expiry; the change's lease is released.
    fn mark_rotated(
        &self,
        id: &ConnectorId,
        change: &ChangeId,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn mark_manual(
        &self,
        id: &ConnectorId,
        change: &ChangeId,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A key hand-over still waiting for its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIntake {
    pub connector: ConnectorId,
    pub requested_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Task tokens of owners' key hand-overs (one per change and connector).
pub trait IntakeTokens: Send + Sync {
    /// Opens the hand-over, asked for at `requested_at`, until `expires`.
    fn put_intake(
        &self,
        change: &ChangeId,
        connector: &ConnectorId,
        token: &TaskToken,
        requested_at: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The hand-overs of `change` still open among `connectors` (the scan's
    /// reminders).
    fn open_intakes(
        &self,
        change: &ChangeId,
        connectors: &[ConnectorId],
    ) -> impl Future<Output = Result<Vec<OpenIntake>, StoreError>> + Send;
    /// The token, while the hand-over is still open.
    fn intake_token(
        &self,
        change: &ChangeId,
        connector: &ConnectorId,
    ) -> impl Future<Output = Result<Option<TaskToken>, StoreError>> + Send;
    /// Closes the hand-over; `Ok(false)` if it was closed already (first wins).
    fn close_intake(
        &self,
        change: &ChangeId,
        connector: &ConnectorId,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

// ---- audit anchoring ----------------------------------------------------------

use keyturn_domain::digest::{AuditSigner, Digest, Head};

/// Where digests are kept and chain heads are read from (the audit table).
pub trait DigestStore: Send + Sync {
    /// The newest digest, if any.
    fn last_digest(&self) -> impl Future<Output = Result<Option<Digest>, StoreError>> + Send;
    /// The head of every chain that grew on `day` (`YYYY-MM-DD`, UTC).
    fn day_heads(
        &self,
        day: &str,
    ) -> impl Future<Output = Result<std::collections::BTreeMap<String, Head>, StoreError>> + Send;
    /// The head of every chain (a full read; only for the first digest).
    fn all_heads(&self) -> impl Future<Output = Result<std::collections::BTreeMap<String, Head>, StoreError>> + Send;
    /// Writes a digest unless one with its `seq` exists (`Ok(false)`: someone else anchored).
    fn put_digest(&self, digest: &Digest) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The digest-signing key, and every key that signed digests before it.
pub trait AuditKeys: Send + Sync {
    fn signer(&self) -> impl Future<Output = Result<AuditSigner, StoreError>> + Send;
    /// Every published key, oldest first, the current one last (its
    /// `created_at` tells its age).
    fn published(
        &self,
    ) -> impl Future<Output = Result<Vec<keyturn_domain::signing_keys::PublishedKey>, StoreError>> + Send;
    /// Makes a new current key at `now`; the current one is retired at `now`
    /// and stays published. The new key.
    fn rotate(
        &self,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<keyturn_domain::signing_keys::PublishedKey, StoreError>> + Send;
}

// ---- keyturn's own credentials ----------------------------------------------------

/// One of keyturn's own credentials as its issuer reports it (never its value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuedCredential {
    /// The issuer's id of it: Graph's `keyId`, Okta's API token id.
    pub id: String,
    /// RFC 3339; `None`: the issuer's answer has no expiry.
    pub expires_at: Option<String>,
    /// Said beside the expiry (e.g. that several secrets could be the one in use).
    pub note: Option<String>,
}

/// What the vendors report about the credentials keyturn itself uses with
/// them: its Entra client secret (Graph, its own app registration) and its
/// Okta API token. `None`: that credential is not configured.
pub trait OwnCredentials: Send + Sync {
    fn entra_secret(&self) -> impl Future<Output = Option<Result<IssuedCredential, VendorError>>> + Send;
    fn okta_token(&self) -> impl Future<Output = Option<Result<IssuedCredential, VendorError>>> + Send;
}

/// A signing key keyturn makes itself: which one is current and when it was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyAge {
    /// The current key's id (the secret's current version id).
    pub id: String,
    /// When the current key was made (RFC 3339), if the store says.
    pub created: Option<String>,
    /// When it is due to be rotated (RFC 3339); `None`: no schedule.
    pub rotate_by: Option<String>,
}

/// The link-signing and audit-signing keys' ages. `Ok(None)`: the key is not
/// made yet (keyturn makes it on first use).
pub trait KeyAges: Send + Sync {
    fn link_signing(&self) -> impl Future<Output = Result<Option<KeyAge>, StoreError>> + Send;
    fn audit_signing(&self) -> impl Future<Output = Result<Option<KeyAge>, StoreError>> + Send;
}
