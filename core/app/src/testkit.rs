//! In-memory ports for the unit tests of the use cases (feature `testkit`):
//! one struct that is every store and service, with the vendor reduced to the
//! set of keys it accepts.

// Test support only: a poisoned lock means a test already panicked.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use time::OffsetDateTime;

use crate::adapters::Adapters;
use crate::approval::{Email, Routing, SlackWebhook, TaskToken};
use crate::inventory::{Location, RawRecord};
use crate::ports::{
    AuditLog, ChangeStore, Chat, ConnectorLookup, ConnectorStates, Consumer, Delivery, DueItems, ExecutionState,
    IntakeTokens, Inventory, KeyVendor, Mailer, OpenIntake, RoutingSource, SecretStore, StartOutcome, StoreError,
    StoredConnector, TaskCallbacks, Workflow,
};
use crate::retry::RetryPolicy;
use crate::rotation::{StoredKey, VendorError};
use keyturn_domain::{
    AuditEvent, ChainHead, Change, ChangeId, ChangeLease, Connector, ConnectorId, NewAuditEvent, SecretArn,
};

pub const ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k";

/// How the fake vendor answers a probe whose key it does not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorMood {
    /// Accepted keys pass, others get a 401.
    Normal,
    /// Every call: no answer (5xx / timeout).
    Down,
    /// Every call: an answer keyturn cannot use (a 404 for an unknown directory).
    Rejecting,
}

pub struct Fakes {
    pub connectors: Vec<StoredConnector>,
    /// Version id → (key, staging labels).
    pub versions: Mutex<BTreeMap<String, (StoredKey, Vec<&'static str>)>>,
    /// The keys the vendor accepts now.
    pub live: Mutex<HashSet<String>>,
    pub mood: Mutex<VendorMood>,
    /// Every probe, by the key's fingerprint.
    pub probes: Mutex<Vec<String>>,
    pub audit: Mutex<Vec<AuditEvent>>,
    pub mail: Mutex<Vec<Email>>,
    pub marks: Mutex<Vec<String>>,
    /// (change, connector) → (task token, still open).
    pub intakes: Mutex<HashMap<(String, String), (TaskToken, bool)>>,
    pub delivered: Mutex<Vec<serde_json::Value>>,
    pub routing: Routing,
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

impl Fakes {
    /// One connector whose secret holds `current` as `AWSCURRENT` (version `v-old`).
    pub fn new(connector: StoredConnector, current: &str) -> Self {
        let routing = Routing::from_yaml(
            "groups:\n  it-change:\n    approvers: [ana@acme.example]\n    escalation: { email: [oncall@acme.example] }\n",
        )
        .expect("routing");
        let mut versions = BTreeMap::new();
        versions.insert(
            "v-old".to_owned(),
            (StoredKey::new(keyturn_domain::SecretValue::new(current)), vec!["AWSCURRENT"]),
        );
        Self {
            connectors: vec![connector],
            versions: Mutex::new(versions),
            live: Mutex::new(HashSet::new()),
            mood: Mutex::new(VendorMood::Normal),
            probes: Mutex::new(Vec::new()),
            audit: Mutex::new(Vec::new()),
            mail: Mutex::new(Vec::new()),
            marks: Mutex::new(Vec::new()),
            intakes: Mutex::new(HashMap::new()),
            delivered: Mutex::new(Vec::new()),
            routing,
            leases: Mutex::default(),
            changes: Mutex::default(),
            started: Mutex::default(),
            fail_start: false,
            made_at: Mutex::default(),
            reset: Mutex::default(),
        }
    }

    /// The connectors `connectors`, each secret holding `current-key`.
    pub fn with_connectors(connectors: Vec<StoredConnector>) -> Self {
        let mut f = Self::new(record("unused", "atlassian-scim", &[]), "current-key");
        f.connectors = connectors;
        f
    }

    pub fn accept(&self, key: &str) {
        self.live.lock().unwrap().insert(key.to_owned());
    }

    pub fn events(&self) -> Vec<AuditEvent> {
        self.audit.lock().unwrap().clone()
    }

    /// Everything the fakes were told, as text (for searching a key in it).
    pub fn everything_said(&self) -> String {
        format!(
            "{:?}{:?}{:?}{:?}",
            self.audit.lock().unwrap(),
            self.mail.lock().unwrap(),
            self.delivered.lock().unwrap(),
            self.marks.lock().unwrap()
        )
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

impl Inventory for Fakes {
    async fn due(&self, cutoff: OffsetDateTime) -> Result<DueItems, StoreError> {
        let items: Vec<StoredConnector> = self
            .connectors
            .iter()
            .filter(|s| {
                s.record.get("expires_at").and_then(keyturn_domain::timefmt::parse_instant).is_none_or(|t| t <= cutoff)
            })
            .map(|s| {
                let mut s = StoredConnector { lease: self.leases.lock().unwrap().get(&s.id).cloned(), ..s.clone() };
                if self.reset.lock().unwrap().contains(&s.id) {
                    s.record.fields.insert("status".into(), "active".into());
                }
                s
            })
            .collect();
        Ok(DueItems { items_read: items.len() as u64, pages: 1, items })
    }
    async fn claim(&self, id: &ConnectorId, lease: &ChangeLease, now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut leases = self.leases.lock().unwrap();
        match leases.get(id) {
            Some(l) if l.until > now && l.change_id != lease.change_id => Ok(false),
            _ => {
                leases.insert(id.clone(), lease.clone());
                Ok(true)
            }
        }
    }
    async fn reset_wedged(&self, id: &ConnectorId, change: &ChangeId, _: OffsetDateTime) -> Result<bool, StoreError> {
        let mut leases = self.leases.lock().unwrap();
        if leases.get(id).is_some_and(|l| &l.change_id == change) {
            leases.remove(id);
            self.reset.lock().unwrap().insert(id.clone());
            return Ok(true);
        }
        Ok(false)
    }
    async fn release(&self, id: &ConnectorId, change: &ChangeId) -> Result<(), StoreError> {
        let mut leases = self.leases.lock().unwrap();
        if leases.get(id).is_some_and(|l| &l.change_id == change) {
            leases.remove(id);
        }
        Ok(())
    }
}
impl ChangeStore for Fakes {
    async fn create(&self, change: &Change) -> Result<bool, StoreError> {
        Ok(self.changes.lock().unwrap().insert(change.id.clone()))
    }
    async fn awaiting_since(&self, ids: &[ChangeId]) -> Result<Vec<(ChangeId, OffsetDateTime)>, StoreError> {
        // Every change in this store waits for approval since it was made.
        let (changes, made_at) = (self.changes.lock().unwrap(), *self.made_at.lock().unwrap());
        Ok(ids.iter().filter(|id| changes.contains(*id)).filter_map(|id| Some((id.clone(), made_at?))).collect())
    }
    async fn status(&self, id: &ChangeId) -> Result<Option<keyturn_domain::ChangeStatus>, StoreError> {
        Ok(self.changes.lock().unwrap().contains(id).then_some(keyturn_domain::ChangeStatus::Detected))
    }
}
impl Workflow for Fakes {
    async fn start(&self, change: &Change) -> Result<StartOutcome, StoreError> {
        if self.fail_start {
            return Err(StoreError {
                service: "sfn",
                operation: "StartExecution",
                message: "boom".into(),
                retryable: true,
            });
        }
        if self.started.lock().unwrap().insert(change.id.clone()) {
            Ok(StartOutcome::Started { execution_arn: format!("arn:exec:{}", change.id) })
        } else {
            Ok(StartOutcome::AlreadyRunning)
        }
    }
    async fn execution(&self, change: &ChangeId) -> Result<ExecutionState, StoreError> {
        // Changes this store started are still running; any other never ran.
        Ok(if self.started.lock().unwrap().contains(change) {
            ExecutionState::Running
        } else {
            ExecutionState::Missing
        })
    }
}

/// The ports [`Fakes`] models are itself; the rest are [`Unused`].
impl Adapters for Fakes {
    type Inventory = Fakes;
    type Connectors = Fakes;
    type States = Fakes;
    type Changes = Fakes;
    type Approvals = Unused;
    type Outcomes = Unused;
    type Notices = Unused;
    type Intake = Fakes;
    type Audit = Fakes;
    type Digests = Unused;
    type AuditKeys = Unused;
    type Workflow = Fakes;
    type Tasks = Fakes;
    type Secrets = Fakes;
    type Vendor = Fakes;
    type Consumer = Fakes;
    type SigningKeys = Unused;
    type Routing = Fakes;
    type Mailer = Fakes;
    type Chat = Fakes;
    type Tickets = Unused;

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
    fn approvals(&self) -> &Unused {
        &Unused
    }
    fn outcomes(&self) -> &Unused {
        &Unused
    }
    fn notices(&self) -> &Unused {
        &Unused
    }
    fn intake(&self) -> &Fakes {
        self
    }
    fn audit(&self) -> &Fakes {
        self
    }
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
    fn keys(&self) -> &Unused {
        &Unused
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
    fn tickets(&self) -> Option<&Unused> {
        None
    }
    fn retry(&self) -> RetryPolicy {
        QUICK
    }
}

impl ConnectorLookup for Fakes {
    async fn get_many(&self, ids: &[ConnectorId]) -> Result<Vec<StoredConnector>, StoreError> {
        Ok(self.connectors.iter().filter(|c| ids.contains(&c.id)).cloned().collect())
    }
}

impl ConnectorStates for Fakes {
    async fn mark_rotating(&self, id: &ConnectorId, _: &ChangeId, _: OffsetDateTime) -> Result<(), StoreError> {
        self.marks.lock().unwrap().push(format!("rotating {id}"));
        Ok(())
    }
    async fn mark_rotated(
        &self,
        id: &ConnectorId,
        _: &ChangeId,
        _: OffsetDateTime,
        _: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.marks.lock().unwrap().push(format!("rotated {id}"));
        Ok(())
    }
    async fn mark_manual(&self, id: &ConnectorId, _: &ChangeId, _: OffsetDateTime) -> Result<(), StoreError> {
        self.marks.lock().unwrap().push(format!("manual {id}"));
        Ok(())
    }
}

impl SecretStore for Fakes {
    async fn current(&self, _: &SecretArn) -> Result<(String, StoredKey), StoreError> {
        let versions = self.versions.lock().unwrap();
        versions
            .iter()
            .find(|(_, (_, labels))| labels.contains(&"AWSCURRENT"))
            .map(|(id, (k, _))| (id.clone(), k.clone()))
            .ok_or_else(|| Self::store_error("GetSecretValue", "no AWSCURRENT"))
    }
    async fn version(&self, _: &SecretArn, id: &str) -> Result<Option<StoredKey>, StoreError> {
        Ok(self.versions.lock().unwrap().get(id).map(|(k, _)| k.clone()))
    }
    async fn pending(&self, _: &SecretArn) -> Result<Vec<String>, StoreError> {
        let versions = self.versions.lock().unwrap();
        Ok(versions.iter().filter(|(_, (_, l))| l.contains(&"AWSPENDING")).map(|(id, _)| id.clone()).collect())
    }
    async fn put_pending(&self, _: &SecretArn, token: &str, key: &StoredKey) -> Result<String, StoreError> {
        self.versions.lock().unwrap().entry(token.to_owned()).or_insert_with(|| (key.clone(), vec!["AWSPENDING"]));
        Ok(token.to_owned())
    }
    async fn promote(&self, _: &SecretArn, new: &str, old: &str) -> Result<(), StoreError> {
        let mut versions = self.versions.lock().unwrap();
        if let Some((_, l)) = versions.get_mut(old) {
            *l = vec!["AWSPREVIOUS"];
        }
        if let Some((_, l)) = versions.get_mut(new) {
            *l = vec!["AWSCURRENT"];
        }
        Ok(())
    }
    async fn drop_pending(&self, _: &SecretArn, id: &str) -> Result<(), StoreError> {
        if let Some((_, l)) = self.versions.lock().unwrap().get_mut(id) {
            l.retain(|s| *s != "AWSPENDING");
        }
        Ok(())
    }
}

impl KeyVendor for Fakes {
    async fn create(&self, _: &Connector, _: &StoredKey, _: &str) -> Result<StoredKey, VendorError> {
        Err(VendorError::Rejected { service: "fake", operation: "CreateKey", detail: "no key API".into() })
    }
    async fn revoke(&self, _: &Connector, _: &StoredKey, _: &str) -> Result<(), VendorError> {
        Ok(())
    }
    async fn leftovers(&self, _: &Connector, _: &StoredKey, _: &str) -> Result<Vec<String>, VendorError> {
        Ok(Vec::new())
    }
    async fn probe(&self, _: &Connector, key: &StoredKey) -> Result<(), VendorError> {
        self.probes.lock().unwrap().push(key.fingerprint());
        let (service, operation) = ("atlassian", "ScimListUsers");
        match *self.mood.lock().unwrap() {
            VendorMood::Down => Err(VendorError::Unavailable { service, operation, detail: "HTTP 503".into() }),
            VendorMood::Rejecting => Err(VendorError::Rejected { service, operation, detail: "HTTP 404".into() }),
            VendorMood::Normal if self.live.lock().unwrap().contains(key.value.expose()) => Ok(()),
            VendorMood::Normal => Err(VendorError::Unauthorized { service, operation, status: 401 }),
        }
    }
}

impl Consumer for Fakes {
    async fn validate_candidate(&self, _: &Connector, _: &StoredKey) -> Result<(), VendorError> {
        Ok(())
    }
    async fn push(&self, _: &Connector, _: &StoredKey) -> Result<(), VendorError> {
        Ok(())
    }
    async fn check(&self, _: &Connector) -> Result<(), VendorError> {
        Ok(())
    }
    async fn state(&self, _: &Connector) -> Result<String, VendorError> {
        Ok("fake".into())
    }
}

impl AuditLog for Fakes {
    async fn append(&self, event: NewAuditEvent) -> Result<AuditEvent, StoreError> {
        let mut log = self.audit.lock().unwrap();
        let head: Option<ChainHead> = log.iter().rfind(|e| e.connector_id == event.connector_id).map(AuditEvent::head);
        let ev = event.seal(head.as_ref());
        log.push(ev.clone());
        Ok(ev)
    }
}

impl RoutingSource for Fakes {
    async fn routing(&self) -> Result<Routing, StoreError> {
        Ok(self.routing.clone())
    }
}

impl Mailer for Fakes {
    async fn send(&self, email: &Email) -> Result<String, StoreError> {
        self.mail.lock().unwrap().push(email.clone());
        Ok("msg-1".into())
    }
}

impl Chat for Fakes {
    async fn post(&self, _: &SlackWebhook, _: &serde_json::Value) -> Result<(), StoreError> {
        Ok(())
    }
}

impl IntakeTokens for Fakes {
    async fn put_intake(
        &self,
        change: &ChangeId,
        connector: &ConnectorId,
        token: &TaskToken,
        _: OffsetDateTime,
        _: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.intakes.lock().unwrap().insert((change.to_string(), connector.to_string()), (token.clone(), true));
        Ok(())
    }
    async fn open_intakes(&self, _: &ChangeId, _: &[ConnectorId]) -> Result<Vec<OpenIntake>, StoreError> {
        Ok(Vec::new())
    }
    async fn intake_token(&self, change: &ChangeId, connector: &ConnectorId) -> Result<Option<TaskToken>, StoreError> {
        let intakes = self.intakes.lock().unwrap();
        Ok(intakes.get(&(change.to_string(), connector.to_string())).filter(|(_, open)| *open).map(|(t, _)| t.clone()))
    }
    async fn close_intake(
        &self,
        change: &ChangeId,
        connector: &ConnectorId,
        _: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut intakes = self.intakes.lock().unwrap();
        match intakes.get_mut(&(change.to_string(), connector.to_string())) {
            Some((_, open)) if *open => {
                *open = false;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl TaskCallbacks for Fakes {
    async fn succeed(&self, _: &TaskToken, output: &serde_json::Value) -> Result<Delivery, StoreError> {
        self.delivered.lock().unwrap().push(output.clone());
        Ok(Delivery::Delivered)
    }
}

// ---- Unused: the ports a test's bundle does not model ------------------------------

/// A port a test does not use: every call fails with a store error naming the
/// port (a test that reaches it fails on that error, not on a panic).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unused;

fn unused(port: &'static str) -> StoreError {
    StoreError {
        service: "testkit",
        operation: port,
        message: format!("{port} is not part of this test's bundle"),
        retryable: false,
    }
}

fn unused_vendor() -> VendorError {
    VendorError::Rejected { service: "testkit", operation: "vendor", detail: "not part of this test's bundle".into() }
}

mod unused_impls {
    use super::{unused, unused_vendor, Unused};
    use crate::approval::{ApprovalRequest, ChangeRecord, Email, Routing, SlackWebhook, TaskToken};
    use crate::ports::*;
    use crate::rotation::{StoredKey, VendorError};
    use keyturn_domain::approval::{KeyRing, Vote};
    use keyturn_domain::digest::{AuditSigner, Digest, Head};
    use keyturn_domain::{AuditEvent, Change, ChangeId, ChangeLease, Connector, ConnectorId, NewAuditEvent, SecretArn};
    use time::OffsetDateTime;

    impl Inventory for Unused {
        async fn due(&self, _: OffsetDateTime) -> Result<DueItems, StoreError> {
            Err(unused("Inventory"))
        }

        async fn claim(&self, _: &ConnectorId, _: &ChangeLease, _: OffsetDateTime) -> Result<bool, StoreError> {
            Err(unused("Inventory"))
        }

        async fn reset_wedged(
            &self,
            _: &ConnectorId,
            _: &keyturn_domain::ChangeId,
            _: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            Err(unused("Inventory"))
        }

        async fn release(&self, _: &ConnectorId, _: &keyturn_domain::ChangeId) -> Result<(), StoreError> {
            Err(unused("Inventory"))
        }
    }

    impl ChangeStore for Unused {
        async fn create(&self, _: &Change) -> Result<bool, StoreError> {
            Err(unused("ChangeStore"))
        }

        async fn awaiting_since(
            &self,
            _: &[keyturn_domain::ChangeId],
        ) -> Result<Vec<(keyturn_domain::ChangeId, time::OffsetDateTime)>, StoreError> {
            Err(unused("ChangeStore"))
        }

        async fn status(
            &self,
            _: &keyturn_domain::ChangeId,
        ) -> Result<Option<keyturn_domain::ChangeStatus>, StoreError> {
            Err(unused("ChangeStore"))
        }
    }

    impl AuditLog for Unused {
        async fn append(&self, _: NewAuditEvent) -> Result<AuditEvent, StoreError> {
            Err(unused("AuditLog"))
        }
    }

    impl Workflow for Unused {
        async fn start(&self, _: &Change) -> Result<StartOutcome, StoreError> {
            Err(unused("Workflow"))
        }

        async fn execution(&self, _: &ChangeId) -> Result<ExecutionState, StoreError> {
            Err(unused("Workflow"))
        }
    }

    impl ConnectorLookup for Unused {
        async fn get_many(&self, _: &[ConnectorId]) -> Result<Vec<StoredConnector>, StoreError> {
            Err(unused("ConnectorLookup"))
        }
    }

    impl Approvals for Unused {
        async fn get(&self, _: &ChangeId) -> Result<Option<ChangeRecord>, StoreError> {
            Err(unused("Approvals"))
        }

        async fn get_many(&self, _: &[ChangeId]) -> Result<Vec<ChangeRecord>, StoreError> {
            Err(unused("Approvals"))
        }

        async fn open(&self, _: &ChangeId, _: &ApprovalRequest, _: &TaskToken) -> Result<bool, StoreError> {
            Err(unused("Approvals"))
        }

        async fn vote(&self, _: &ChangeId, _: &Vote) -> Result<VoteResult, StoreError> {
            Err(unused("Approvals"))
        }

        async fn close(
            &self,
            _: &ChangeId,
            _: keyturn_domain::ChangeStatus,
            _: OffsetDateTime,
            _: Option<OffsetDateTime>,
        ) -> Result<bool, StoreError> {
            Err(unused("Approvals"))
        }

        async fn finish(
            &self,
            _: &ChangeId,
            _: keyturn_domain::ChangeStatus,
            _: OffsetDateTime,
        ) -> Result<(), StoreError> {
            Err(unused("Approvals"))
        }

        async fn task_token(&self, _: &ChangeId) -> Result<Option<TaskToken>, StoreError> {
            Err(unused("Approvals"))
        }

        async fn delivered(&self, _: &ChangeId) -> Result<(), StoreError> {
            Err(unused("Approvals"))
        }

        async fn claim_redelivery(
            &self,
            _: &ChangeId,
            _: OffsetDateTime,
            _: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            Err(unused("Approvals"))
        }

        async fn set_ticket(&self, _: &ChangeId, _: &str) -> Result<(), StoreError> {
            Err(unused("Approvals"))
        }
    }

    impl OutcomeLog for Unused {
        async fn record_outcome(&self, _: &ChangeId, _: &crate::notify::ConnectorOutcome) -> Result<(), StoreError> {
            Err(unused("OutcomeLog"))
        }
    }

    impl Notices for Unused {
        async fn claim_change_notice(&self, _: &ChangeId, _: &str) -> Result<bool, StoreError> {
            Err(unused("Notices"))
        }

        async fn claim_daily(&self, _: &str, _: OffsetDateTime) -> Result<bool, StoreError> {
            Err(unused("Notices"))
        }
    }

    impl SigningKeys for Unused {
        async fn keyring(&self) -> Result<KeyRing, StoreError> {
            Err(unused("SigningKeys"))
        }
    }

    impl RoutingSource for Unused {
        async fn routing(&self) -> Result<Routing, StoreError> {
            Err(unused("RoutingSource"))
        }
    }

    impl TaskCallbacks for Unused {
        async fn succeed(&self, _: &TaskToken, _: &serde_json::Value) -> Result<Delivery, StoreError> {
            Err(unused("TaskCallbacks"))
        }
    }

    impl Mailer for Unused {
        async fn send(&self, _: &Email) -> Result<String, StoreError> {
            Err(unused("Mailer"))
        }
    }

    impl Chat for Unused {
        async fn post(&self, _: &SlackWebhook, _: &serde_json::Value) -> Result<(), StoreError> {
            Err(unused("Chat"))
        }
    }

    impl Tickets for Unused {
        async fn open(&self, _: &str, _: &str) -> Result<String, StoreError> {
            Err(unused("Tickets"))
        }

        async fn comment(&self, _: &str, _: &str) -> Result<(), StoreError> {
            Err(unused("Tickets"))
        }
    }

    impl SecretStore for Unused {
        async fn current(&self, _: &SecretArn) -> Result<(String, StoredKey), StoreError> {
            Err(unused("SecretStore"))
        }

        async fn version(&self, _: &SecretArn, _: &str) -> Result<Option<StoredKey>, StoreError> {
            Err(unused("SecretStore"))
        }

        async fn pending(&self, _: &SecretArn) -> Result<Vec<String>, StoreError> {
            Err(unused("SecretStore"))
        }

        async fn put_pending(&self, _: &SecretArn, _: &str, _: &StoredKey) -> Result<String, StoreError> {
            Err(unused("SecretStore"))
        }

        async fn promote(&self, _: &SecretArn, _: &str, _: &str) -> Result<(), StoreError> {
            Err(unused("SecretStore"))
        }

        async fn drop_pending(&self, _: &SecretArn, _: &str) -> Result<(), StoreError> {
            Err(unused("SecretStore"))
        }
    }

    impl KeyVendor for Unused {
        async fn create(&self, _: &Connector, _: &StoredKey, _: &str) -> Result<StoredKey, VendorError> {
            Err(unused_vendor())
        }

        async fn revoke(&self, _: &Connector, _: &StoredKey, _: &str) -> Result<(), VendorError> {
            Err(unused_vendor())
        }

        async fn leftovers(&self, _: &Connector, _: &StoredKey, _: &str) -> Result<Vec<String>, VendorError> {
            Err(unused_vendor())
        }

        async fn probe(&self, _: &Connector, _: &StoredKey) -> Result<(), VendorError> {
            Err(unused_vendor())
        }
    }

    impl Consumer for Unused {
        async fn validate_candidate(&self, _: &Connector, _: &StoredKey) -> Result<(), VendorError> {
            Err(unused_vendor())
        }

        async fn push(&self, _: &Connector, _: &StoredKey) -> Result<(), VendorError> {
            Err(unused_vendor())
        }

        async fn check(&self, _: &Connector) -> Result<(), VendorError> {
            Err(unused_vendor())
        }

        async fn state(&self, _: &Connector) -> Result<String, VendorError> {
            Err(unused_vendor())
        }
    }

    impl ConnectorStates for Unused {
        async fn mark_rotating(&self, _: &ConnectorId, _: &ChangeId, _: OffsetDateTime) -> Result<(), StoreError> {
            Err(unused("ConnectorStates"))
        }

        async fn mark_rotated(
            &self,
            _: &ConnectorId,
            _: &ChangeId,
            _: OffsetDateTime,
            _: OffsetDateTime,
        ) -> Result<(), StoreError> {
            Err(unused("ConnectorStates"))
        }

        async fn mark_manual(&self, _: &ConnectorId, _: &ChangeId, _: OffsetDateTime) -> Result<(), StoreError> {
            Err(unused("ConnectorStates"))
        }
    }

    impl IntakeTokens for Unused {
        async fn put_intake(
            &self,
            _: &ChangeId,
            _: &ConnectorId,
            _: &TaskToken,
            _: OffsetDateTime,
            _: OffsetDateTime,
        ) -> Result<(), StoreError> {
            Err(unused("IntakeTokens"))
        }

        async fn open_intakes(&self, _: &ChangeId, _: &[ConnectorId]) -> Result<Vec<OpenIntake>, StoreError> {
            Err(unused("IntakeTokens"))
        }

        async fn intake_token(&self, _: &ChangeId, _: &ConnectorId) -> Result<Option<TaskToken>, StoreError> {
            Err(unused("IntakeTokens"))
        }

        async fn close_intake(&self, _: &ChangeId, _: &ConnectorId, _: OffsetDateTime) -> Result<bool, StoreError> {
            Err(unused("IntakeTokens"))
        }
    }

    impl DigestStore for Unused {
        async fn last_digest(&self) -> Result<Option<Digest>, StoreError> {
            Err(unused("DigestStore"))
        }

        async fn day_heads(&self, _: &str) -> Result<std::collections::BTreeMap<String, Head>, StoreError> {
            Err(unused("DigestStore"))
        }

        async fn all_heads(&self) -> Result<std::collections::BTreeMap<String, Head>, StoreError> {
            Err(unused("DigestStore"))
        }

        async fn put_digest(&self, _: &Digest) -> Result<bool, StoreError> {
            Err(unused("DigestStore"))
        }
    }

    impl AuditKeys for Unused {
        async fn signer(&self) -> Result<AuditSigner, StoreError> {
            Err(unused("AuditKeys"))
        }
    }
}
