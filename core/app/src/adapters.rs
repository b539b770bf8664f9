//! One adapter bundle: every port a use case may need, named once.
//!
//! A use case takes `&impl Adapters` (or `<A: Adapters>`) and asks the bundle
//! for the port it needs (`a.audit().append(ev)`), so no signature lists the
//! ports it touches as type parameters. keyturn-aws's `AwsAdapters` is the
//! bundle every Lambda builds once; [`crate::testkit::Fakes`] is the
//! in-memory one the unit tests use. One adapter may serve several ports
//! (DynamoDB's changes table is the change store, the approvals, the notices
//! and the intake tokens).
//!
//! ```
//! use keyturn_app::adapters::Adapters;
//! use keyturn_app::ports::{AuditLog, StoreError};
//! use keyturn_domain::{AuditEvent, NewAuditEvent};
//!
//! /// A use case names one type parameter, whatever ports it uses.
//! async fn record(a: &impl Adapters, ev: NewAuditEvent) -> Result<AuditEvent, StoreError> {
//!     a.audit().append(ev).await
//! }
//! ```

use crate::ports::{
    Approvals, AuditKeys, AuditLog, ChangeStore, Chat, ConnectorLookup, ConnectorStates, Consumer, DigestStore,
    IntakeTokens, Inventory, KeyAges, KeyVendor, Mailer, Notices, OutcomeLog, OwnCredentials, RoutingSource,
    SecretStore, SigningKeys, TaskCallbacks, Tickets, Workflow,
};
use crate::retry::RetryPolicy;

/// Every port, by what it is for. See the module docs.
pub trait Adapters: Send + Sync {
    /// The connectors table as the scanner reads it (due items, leases).
    type Inventory: Inventory;
    /// Connectors read by id.
    type Connectors: ConnectorLookup;
    /// A connector's lifecycle marks (rotating, rotated, manual).
    type States: ConnectorStates;
    /// Changes as the scanner creates them.
    type Changes: ChangeStore;
    /// Change records: approval requests, votes, decisions.
    type Approvals: Approvals;
    /// Each connector's end result, on its change.
    type Outcomes: OutcomeLog;
    /// Notices sent once (reminders, stuck-run alerts, digests).
    type Notices: Notices;
    /// Open key hand-overs.
    type Intake: IntakeTokens;
    /// The hash-chained audit trail.
    type Audit: AuditLog;
    /// Chain heads and signed digests.
    type Digests: DigestStore;
    /// The key that signs digests.
    type AuditKeys: AuditKeys;
    /// Starting and inspecting workflow executions.
    type Workflow: Workflow;
    /// Answering a paused workflow's task token.
    type Tasks: TaskCallbacks;
    /// Connectors' keys, with versions and staging labels.
    type Secrets: SecretStore;
    /// The vendor that issues (or accepts) a connector's key.
    type Vendor: KeyVendor;
    /// The identity provider that uses it.
    type Consumer: Consumer;
    /// The keys that sign approval links.
    type SigningKeys: SigningKeys;
    /// Who approves what, and where they are told.
    type Routing: RoutingSource;
    type Mailer: Mailer;
    type Chat: Chat;
    type Tickets: Tickets;
    /// What the vendors report about keyturn's own credentials.
    type Own: OwnCredentials;
    /// When keyturn's signing keys were made.
    type KeyAges: KeyAges;

    fn inventory(&self) -> &Self::Inventory;
    fn connectors(&self) -> &Self::Connectors;
    fn states(&self) -> &Self::States;
    fn changes(&self) -> &Self::Changes;
    fn approvals(&self) -> &Self::Approvals;
    fn outcomes(&self) -> &Self::Outcomes;
    fn notices(&self) -> &Self::Notices;
    fn intake(&self) -> &Self::Intake;
    fn audit(&self) -> &Self::Audit;
    fn digests(&self) -> &Self::Digests;
    fn audit_keys(&self) -> &Self::AuditKeys;
    fn workflow(&self) -> &Self::Workflow;
    fn tasks(&self) -> &Self::Tasks;
    fn secrets(&self) -> &Self::Secrets;
    fn vendor(&self) -> &Self::Vendor;
    fn consumer(&self) -> &Self::Consumer;
    fn keys(&self) -> &Self::SigningKeys;
    fn routing(&self) -> &Self::Routing;
    /// An unconfigured mailer refuses to send (see `impl Mailer for Option`).
    fn mailer(&self) -> &Self::Mailer;
    fn chat(&self) -> &Self::Chat;
    /// `None`: no ticket system configured.
    fn tickets(&self) -> Option<&Self::Tickets>;
    fn own(&self) -> &Self::Own;
    fn key_ages(&self) -> &Self::KeyAges;

    /// How hard the rotation steps retry a vendor (tests shorten it).
    fn retry(&self) -> RetryPolicy {
        RetryPolicy::default()
    }
}
