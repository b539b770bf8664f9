//! In-memory ports for the unit tests of the use cases (feature `testkit`):
//! one struct, [`Fakes`], that is every store and service, with the vendor
//! reduced to the keys it holds and the identity provider to the key it
//! uses. Fault switches (the `Mutex` fields a test flips) make a port answer
//! the way a real one fails: a vendor that throttles or answers garbage, an
//! identity provider that refuses the key, a workflow whose task is gone, a
//! step that "crashes" right after its n-th write.
//!
//! - `stores`: the tables (inventory, changes, approvals, notices, key
//!   hand-overs, audit trail) and Secrets Manager.
//! - `services`: the vendor, the identity provider, email, Slack, Jira,
//!   Step Functions callbacks, the link-signing keys.
//! - `keys`: [`MemLinkKeys`] and [`MemAuditKeys`], signing keys that rotate.
//! - `unused`: [`Unused`], a port whose every call fails (for bundles of
//!   other crates' tests that model only some ports).

// Test support only: a poisoned lock means a test already panicked.
#![allow(clippy::unwrap_used)]

mod keys;
mod services;
mod stores;
mod unused;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use time::OffsetDateTime;

pub use self::keys::{MemAuditKeys, MemLinkKeys};
pub use self::services::OwnFakes;
pub use self::unused::Unused;
use crate::adapters::Adapters;
use crate::approval::{ChangeRecord, Email, Routing, TaskToken};
use crate::inventory::{Location, RawRecord};
use crate::ports::{StoreError, StoredConnector};
use crate::retry::RetryPolicy;
use crate::rotation::{StoredKey, VendorError};
use keyturn_domain::approval::{KeyRing, SigningKey};
use keyturn_domain::{AuditEvent, Change, ChangeId, ChangeLease, ConnectorId};

pub const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k";

/// How the fake vendor answers (a probe, or a create with [`Fakes::create_mood`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorMood {
    /// Accepted keys pass, others get a 401.
    Normal,
    /// Every call: no answer (HTTP 503).
    Down,
    /// Every call: an answer keyturn cannot use (a 404 for an unknown directory).
    Rejecting,
    /// Every call: HTTP 401, whatever the key.
    Unauthorized,
    /// Every call: HTTP 403 (keyturn's credential lacks the right).
    Forbidden,
    /// Every call: HTTP 429, `Retry-After: 0`.
    Throttled,
    /// Every call: the request timed out.
    TimedOut,
    /// Every call: a 200 whose body is not what the vendor documents.
    Garbage,
}

impl VendorMood {
    /// The error this mood answers with (`None`: answer normally).
    pub fn error(self, service: &'static str, operation: &'static str) -> Option<VendorError> {
        match self {
            Self::Normal => None,
            Self::Down => Some(VendorError::Unavailable { service, operation, detail: "HTTP 503".into() }),
            Self::Rejecting => Some(VendorError::Rejected { service, operation, detail: "HTTP 404".into() }),
            Self::Unauthorized => Some(VendorError::Unauthorized { service, operation, status: 401 }),
            Self::Forbidden => Some(VendorError::Unauthorized { service, operation, status: 403 }),
            Self::Throttled => Some(VendorError::Throttled { service, operation, retry_after: Some(0) }),
            Self::TimedOut => Some(VendorError::Unavailable { service, operation, detail: "timed out".into() }),
            Self::Garbage => Some(VendorError::Rejected {
                service,
                operation,
                detail: "the answer is not JSON (expected a ListResponse)".into(),
            }),
        }
    }
}

/// What the workflow engine answers to a decision or a handed-over key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAnswer {
    Deliver,
    /// The task timed out or the execution ended.
    Gone,
    /// Step Functions failed the call (not retryable): the decision stays undelivered.
    Fail,
}

/// A key the fake vendor made (keyturn's `create`), by id.
#[derive(Debug, Clone)]
pub struct VendorKey {
    pub id: String,
    pub label: String,
    pub value: keyturn_domain::SecretValue,
    pub active: bool,
}

/// A change record as the changes table holds it, with what is kept beside it.
#[derive(Debug, Clone)]
pub struct StoredChange {
    pub record: ChangeRecord,
    pub task_token: Option<TaskToken>,
    pub delivery_claimed_at: Option<OffsetDateTime>,
}

/// A key hand-over as the changes table holds it.
#[derive(Debug, Clone)]
pub struct StoredIntake {
    pub token: TaskToken,
    pub open: bool,
    pub requested_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

pub struct Fakes {
    pub connectors: Vec<StoredConnector>,
    /// Version id → (key, staging labels).
    pub versions: Mutex<BTreeMap<String, (StoredKey, Vec<&'static str>)>>,
    /// The keys the vendor accepts now, by value.
    pub live: Mutex<HashSet<String>>,
    /// How the vendor answers probes.
    pub mood: Mutex<VendorMood>,
    /// How the vendor answers key creation.
    pub create_mood: Mutex<VendorMood>,
    /// The vendor refuses to revoke these key ids (HTTP 503 every time).
    pub unrevocable: Mutex<HashSet<String>>,
    /// Keys the vendor made, in order.
    pub vendor_keys: Mutex<Vec<VendorKey>>,
    /// Every probe, by the key's fingerprint.
    pub probes: Mutex<Vec<String>>,
    /// The identity provider's credential, by fingerprint.
    pub idp_key: Mutex<Option<String>>,
    /// The identity provider refuses new keys (candidate check and push).
    pub idp_refuses: Mutex<Option<VendorError>>,
    /// The identity provider's provisioning check fails.
    pub idp_check_fails: Mutex<Option<VendorError>>,
    pub audit: Mutex<Vec<AuditEvent>>,
    pub mail: Mutex<Vec<Email>>,
    /// Email fails while set.
    pub mail_fails: Mutex<bool>,
    /// Slack posts: (webhook URL, text).
    pub posts: Mutex<Vec<(String, String)>>,
    /// Slack fails while set.
    pub chat_fails: Mutex<bool>,
    pub marks: Mutex<Vec<String>>,
    /// (change, connector) → the hand-over.
    pub intakes: Mutex<HashMap<(String, String), StoredIntake>>,
    /// What the workflow was handed (decisions, pending versions).
    pub delivered: Mutex<Vec<serde_json::Value>>,
    pub task_answer: Mutex<TaskAnswer>,
    pub routing: Routing,
    /// The link-signing keys (a fixed test key).
    pub ring: KeyRing,
    // The scanner's side: leases, changes, executions.
    pub leases: Mutex<HashMap<ConnectorId, ChangeLease>>,
    pub changes: Mutex<HashSet<ChangeId>>,
    pub started: Mutex<HashSet<ChangeId>>,
    /// Starting a workflow fails (throttled) while set.
    pub fail_start: bool,
    /// When the first scan ran: every change here waits since then.
    pub made_at: Mutex<Option<OffsetDateTime>>,
    /// Connectors `reset_wedged` put back to active.
    pub reset: Mutex<HashSet<ConnectorId>>,
    /// Change records (approvals, outcomes, notices), by change.
    pub records: Mutex<BTreeMap<ChangeId, StoredChange>>,
    /// Daily notices claimed: `key@YYYY-MM-DD`.
    pub daily: Mutex<HashSet<String>>,
    /// `Some(log)`: a ticket system that records (key, summary) and comments (key, text).
    pub tickets: Option<Mutex<Vec<(String, String)>>>,
    pub ticket_comments: Mutex<Vec<(String, String)>>,
    /// Every side effect, in order (`put_pending v-…`, `audit rotation_started`, …).
    pub writes: Mutex<Vec<String>>,
    /// A crash right after write number n (1-based): that write happens,
    /// then the call fails as if the function died; later calls succeed.
    pub crash_after_write: Mutex<Option<usize>>,
    /// What keyturn's own credentials' issuers report.
    pub own: Mutex<OwnFakes>,
}

/// An inventory record of `kind` (`atlassian-scim`, …) with `idp`.
pub fn record(id: &str, kind: &str, idp: &[(&str, &str)]) -> StoredConnector {
    let mut fields: BTreeMap<String, String> = [
        ("id", id),
        ("kind", kind),
        ("org", "acme"),
        ("directory_id", "d-1"),
        ("idp", "none"),
        ("owner", "owner@acme.example"),
        ("approver_group", "it-change"),
        ("secret_arn", ARN),
        ("expires_at", "2026-12-10T00:00:00Z"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in idp {
        fields.insert(k.to_string(), v.to_string());
    }
    StoredConnector {
        id: ConnectorId::parse(id).expect("id"),
        record: RawRecord { location: Location::Item, fields },
        version: 1,
        lease: None,
    }
}

/// A `generic-http` template whose keys keyturn makes through the vendor's API.
pub const KEY_TEMPLATE: &str = r#"{"base":"https://api.vendor.example","create":{"method":"POST","path":"/v1/orgs/{org}/keys","body":{"name":"{label}"},"key":"/data/secret","key_id":"/data/id","expires_at":"/data/expires"},"revoke":{"method":"DELETE","path":"/v1/orgs/{org}/keys/{key_id}"},"probe":{"method":"GET","path":"/v1/orgs/{org}/me"}}"#;

/// A change of the one connector `connector` (approver group `it-change`,
/// org `acme`, no window), detected at `detected_at`.
pub fn one_connector_change(id: &str, connector: &str, detected_at: OffsetDateTime) -> Change {
    Change {
        id: ChangeId::from_trusted(id),
        connectors: vec![ConnectorId::parse(connector).expect("connector id")],
        urgent: false,
        approver_group: "it-change".into(),
        org: Some("acme".into()),
        window: None,
        earliest_expiry: time::macros::datetime!(2026-12-10 00:00 UTC),
        detected_at,
        approval_timeout_seconds: None,
        intake_timeout_seconds: None,
        max_concurrency: None,
        items: Vec::new(),
    }
}

/// The fixed link-signing key of every [`Fakes`] (a test key, nothing else).
pub fn test_keyring() -> KeyRing {
    KeyRing { current: SigningKey::from_parts("test-1", vec![7u8; 32]).expect("a valid test key"), previous: None }
}

/// The routing every [`Fakes`] starts with: group `it-change`, one approver,
/// on-call for escalations.
pub const ROUTING: &str =
    "groups:\n  it-change:\n    approvers: [ana@acme.example]\n    escalation: { email: [oncall@acme.example] }\n";

impl Fakes {
    /// One connector whose secret holds `current` as `AWSCURRENT` (version `v-old`).
    pub fn new(connector: StoredConnector, current: &str) -> Self {
        let mut versions = BTreeMap::new();
        versions.insert(
            "v-old".to_owned(),
            (StoredKey::new(keyturn_domain::SecretValue::new(current)), vec!["AWSCURRENT"]),
        );
        Self {
            connectors: vec![connector],
            versions: Mutex::new(versions),
            live: Mutex::default(),
            mood: Mutex::new(VendorMood::Normal),
            create_mood: Mutex::new(VendorMood::Normal),
            unrevocable: Mutex::default(),
            vendor_keys: Mutex::default(),
            probes: Mutex::default(),
            idp_key: Mutex::default(),
            idp_refuses: Mutex::default(),
            idp_check_fails: Mutex::default(),
            audit: Mutex::default(),
            mail: Mutex::default(),
            mail_fails: Mutex::default(),
            posts: Mutex::default(),
            chat_fails: Mutex::default(),
            marks: Mutex::default(),
            intakes: Mutex::default(),
            delivered: Mutex::default(),
            task_answer: Mutex::new(TaskAnswer::Deliver),
            routing: Routing::from_yaml(ROUTING).expect("routing"),
            ring: test_keyring(),
            leases: Mutex::default(),
            changes: Mutex::default(),
            started: Mutex::default(),
            fail_start: false,
            made_at: Mutex::default(),
            reset: Mutex::default(),
            records: Mutex::default(),
            daily: Mutex::default(),
            tickets: None,
            ticket_comments: Mutex::default(),
            writes: Mutex::default(),
            crash_after_write: Mutex::default(),
            own: Mutex::default(),
        }
    }

    /// The connectors `connectors`, each secret holding `current-key`.
    pub fn with_connectors(connectors: Vec<StoredConnector>) -> Self {
        let mut f = Self::new(record("unused", "atlassian-scim", &[]), "current-key");
        f.connectors = connectors;
        f
    }

    /// A vendor key keyturn rotates itself: the current key `current` has
    /// id `k-old` at the vendor, which accepts it.
    pub fn with_vendor_key(connector: StoredConnector, current: &str) -> Self {
        let f = Self::new(connector, current);
        let mut old = StoredKey::new(keyturn_domain::SecretValue::new(current));
        old.key_id = Some("k-old".into());
        f.versions.lock().unwrap().insert("v-old".to_owned(), (old, vec!["AWSCURRENT"]));
        let value = keyturn_domain::SecretValue::new(current);
        f.vendor_keys.lock().unwrap().push(VendorKey {
            id: "k-old".into(),
            label: "before".into(),
            value,
            active: true,
        });
        f.accept(current);
        f
    }

    /// Routing from YAML (replaces the default).
    pub fn routed(mut self, yaml: &str) -> Self {
        self.routing = Routing::from_yaml(yaml).expect("routing");
        self
    }

    /// With a ticket system (Jira) configured.
    pub fn with_tickets(mut self) -> Self {
        self.tickets = Some(Mutex::default());
        self
    }

    pub fn accept(&self, key: &str) {
        self.live.lock().unwrap().insert(key.to_owned());
    }

    pub fn events(&self) -> Vec<AuditEvent> {
        self.audit.lock().unwrap().clone()
    }

    /// The audit event names, in order.
    pub fn event_names(&self) -> Vec<String> {
        self.audit.lock().unwrap().iter().map(|e| e.event.clone()).collect()
    }

    /// The first audit event named `name`.
    pub fn event(&self, name: &str) -> Option<AuditEvent> {
        self.audit.lock().unwrap().iter().find(|e| e.event == name).cloned()
    }

    /// The change record `id`, as the store holds it now.
    pub fn change_record(&self, id: &ChangeId) -> Option<ChangeRecord> {
        self.records.lock().unwrap().get(id).map(|s| s.record.clone())
    }

    /// Version ids carrying `label`.
    pub fn labelled(&self, label: &str) -> Vec<String> {
        let versions = self.versions.lock().unwrap();
        versions.iter().filter(|(_, (_, l))| l.contains(&label)).map(|(id, _)| id.clone()).collect()
    }

    /// Ids of the keys still active at the vendor.
    pub fn active_vendor_keys(&self) -> Vec<String> {
        self.vendor_keys.lock().unwrap().iter().filter(|k| k.active).map(|k| k.id.clone()).collect()
    }

    /// Everything the fakes were told, as text (for searching a key in it).
    pub fn everything_said(&self) -> String {
        format!(
            "{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
            self.audit.lock().unwrap(),
            self.mail.lock().unwrap(),
            self.posts.lock().unwrap(),
            self.delivered.lock().unwrap(),
            self.marks.lock().unwrap(),
            self.writes.lock().unwrap(),
            self.tickets.as_ref().map(|t| t.lock().unwrap().clone()),
        )
    }

    /// Notes a side effect that has happened; fails if a test armed a crash right after it.
    fn wrote(&self, what: String) -> Result<(), StoreError> {
        let mut writes = self.writes.lock().unwrap();
        writes.push(what.clone());
        let mut crash = self.crash_after_write.lock().unwrap();
        if *crash == Some(writes.len()) {
            *crash = None;
            return Err(StoreError {
                service: "testkit",
                operation: "crash",
                message: format!("simulated crash right after {what}"),
                retryable: false,
            });
        }
        Ok(())
    }

    /// [`Fakes::wrote`] for a vendor call: the crash is not a vendor answer
    /// to retry, so it fails as an unusable answer (the step ends there).
    fn wrote_at_vendor(&self, what: String) -> Result<(), VendorError> {
        self.wrote(what).map_err(|e| VendorError::Rejected {
            service: "testkit",
            operation: "crash",
            detail: e.message,
        })
    }

    fn store_error(operation: &'static str, message: &str) -> StoreError {
        StoreError { service: "fake", operation, message: message.into(), retryable: false }
    }
}

/// Retries without waiting.
pub const QUICK: RetryPolicy = RetryPolicy {
    attempts: 2,
    base: std::time::Duration::from_millis(1),
    max_delay: std::time::Duration::from_millis(1),
    deadline: std::time::Duration::from_secs(5),
};

/// Every port is the one [`Fakes`].
impl Adapters for Fakes {
    type Inventory = Fakes;
    type Connectors = Fakes;
    type States = Fakes;
    type Changes = Fakes;
    type Approvals = Fakes;
    type Outcomes = Fakes;
    type Notices = Fakes;
    type Intake = Fakes;
    type Audit = Fakes;
    type Digests = Unused;
    type AuditKeys = Unused;
    type Workflow = Fakes;
    type Tasks = Fakes;
    type Secrets = Fakes;
    type Vendor = Fakes;
    type Consumer = Fakes;
    type SigningKeys = Fakes;
    type Routing = Fakes;
    type Mailer = Fakes;
    type Chat = Fakes;
    type Tickets = Fakes;
    type Own = Fakes;
    type KeyAges = Fakes;

    fn inventory(&self) -> &Fakes {
        self
    }
    fn connectors(&self) -> &Fakes {
        self
    }
    fn states(&self) -> &Fakes {
        self
    }
    fn changes(&self) -> &Fakes {
        self
    }
    fn approvals(&self) -> &Fakes {
        self
    }
    fn outcomes(&self) -> &Fakes {
        self
    }
    fn notices(&self) -> &Fakes {
        self
    }
    fn intake(&self) -> &Fakes {
        self
    }
    fn audit(&self) -> &Fakes {
        self
    }
    // Digests are anchored by `audit::anchor`, which takes its two ports
    // directly (its own tests bring an in-memory store).
    fn digests(&self) -> &Unused {
        &Unused
    }
    fn audit_keys(&self) -> &Unused {
        &Unused
    }
    fn workflow(&self) -> &Fakes {
        self
    }
    fn tasks(&self) -> &Fakes {
        self
    }
    fn secrets(&self) -> &Fakes {
        self
    }
    fn vendor(&self) -> &Fakes {
        self
    }
    fn consumer(&self) -> &Fakes {
        self
    }
    fn keys(&self) -> &Fakes {
        self
    }
    fn routing(&self) -> &Fakes {
        self
    }
    fn mailer(&self) -> &Fakes {
        self
    }
    fn chat(&self) -> &Fakes {
        self
    }
    fn tickets(&self) -> Option<&Fakes> {
        self.tickets.as_ref().map(|_| self)
    }
    fn own(&self) -> &Fakes {
        self
    }
    fn key_ages(&self) -> &Fakes {
        self
    }
    fn retry(&self) -> RetryPolicy {
        QUICK
    }
}
