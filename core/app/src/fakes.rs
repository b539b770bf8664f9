//! In-memory ports for the unit tests of the rotation steps and the key
//! hand-over: one struct that is every store and service, with the vendor
//! reduced to the set of keys it accepts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use time::OffsetDateTime;

use crate::approval::{Email, Routing, SlackWebhook, TaskToken};
use crate::domain::{AuditEvent, ChainHead, ChangeId, Connector, ConnectorId, NewAuditEvent, SecretArn};
use crate::inventory::{Location, RawRecord};
use crate::ports::{
    AuditLog, Chat, ConnectorLookup, ConnectorStates, Consumer, Delivery, IntakeTokens, KeyVendor, Mailer, OpenIntake,
    RoutingSource, SecretStore, StoreError, StoredConnector, TaskCallbacks,
};
use crate::retry::RetryPolicy;
use crate::rotation::steps::{Ports, PortsOf, RotationPorts};
use crate::rotation::{StoredKey, VendorError};

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
        versions
            .insert("v-old".to_owned(), (StoredKey::new(crate::domain::SecretValue::new(current)), vec!["AWSCURRENT"]));
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
        }
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

impl Ports for Fakes {
    type L = Fakes;
    type St = Fakes;
    type S = Fakes;
    type V = Fakes;
    type C = Fakes;
    type Au = Fakes;
    type R = Fakes;
    type M = Fakes;
    type Ch = Fakes;
    fn get(&self) -> PortsOf<'_, Self> {
        RotationPorts {
            connectors: self,
            states: self,
            secrets: self,
            vendor: self,
            consumer: self,
            audit: self,
            routing: self,
            mailer: self,
            chat: self,
            retry: QUICK,
        }
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
