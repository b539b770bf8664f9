//! Signing keys that rotate, in memory: the link-signing ring and the
//! audit-signing key, each with a clock of its own (the time a key was made
//! is the `now` it was rotated at).

use std::sync::Mutex;

use time::OffsetDateTime;

use crate::ports::{AuditKeys, SigningKeys, StoreError};
use keyturn_domain::approval::{KeyRing, SigningKey};
use keyturn_domain::digest::AuditSigner;
use keyturn_domain::signing_keys::{AuditKeyFile, KeyInfo, PublishedKey};

fn failing(operation: &'static str) -> StoreError {
    StoreError { service: "secretsmanager", operation, message: "unavailable (test switch)".into(), retryable: true }
}

/// The link-signing ring: `k1` made at the given time, then `k2`, `k3`, …
pub struct MemLinkKeys {
    /// (ring, when its current key was made).
    pub state: Mutex<(KeyRing, OffsetDateTime)>,
    /// Rotations fail while set.
    pub fail: Mutex<bool>,
}

impl MemLinkKeys {
    pub fn new(created_at: OffsetDateTime) -> Self {
        let first = SigningKey::from_parts("k1", vec![1; 32]).expect("a valid test key");
        Self { state: Mutex::new((KeyRing { current: first, previous: None }, created_at)), fail: Mutex::new(false) }
    }

    pub fn ring(&self) -> KeyRing {
        self.state.lock().unwrap().0.clone()
    }
}

impl SigningKeys for MemLinkKeys {
    async fn keyring(&self) -> Result<KeyRing, StoreError> {
        Ok(self.ring())
    }

    async fn current_key(&self) -> Result<KeyInfo, StoreError> {
        let s = self.state.lock().unwrap();
        Ok(KeyInfo { id: s.0.current.kid().to_owned(), created_at: s.1 })
    }

    async fn rotate(&self, now: OffsetDateTime) -> Result<KeyInfo, StoreError> {
        if *self.fail.lock().unwrap() {
            return Err(failing("PutSecretValue"));
        }
        let mut s = self.state.lock().unwrap();
        let n: u8 = s.0.current.kid().trim_start_matches('k').parse().unwrap_or(0) + 1;
        let next = SigningKey::from_parts(&format!("k{n}"), vec![n; 32]).expect("a valid test key");
        let old = std::mem::replace(&mut s.0.current, next);
        s.0.previous = Some(old);
        s.1 = now;
        Ok(KeyInfo { id: s.0.current.kid().to_owned(), created_at: now })
    }
}

/// The audit-signing key as its secret holds it ([`AuditKeyFile`]), with
/// the time its current key was made.
pub struct MemAuditKeys {
    pub state: Mutex<(AuditKeyFile, OffsetDateTime)>,
    pub fail: Mutex<bool>,
}

impl MemAuditKeys {
    /// A plain 64-hex seed, as CDK and Terraform create it.
    pub fn new(seed_hex: &str, created_at: OffsetDateTime) -> Self {
        let file = AuditKeyFile::parse(seed_hex).expect("a valid test seed");
        Self { state: Mutex::new((file, created_at)), fail: Mutex::new(false) }
    }
}

impl AuditKeys for MemAuditKeys {
    async fn signer(&self) -> Result<AuditSigner, StoreError> {
        self.state.lock().unwrap().0.signer().map_err(|_| failing("GetSecretValue"))
    }

    async fn published(&self) -> Result<Vec<PublishedKey>, StoreError> {
        let s = self.state.lock().unwrap();
        s.0.published(s.1).map_err(|_| failing("GetSecretValue"))
    }

    async fn rotate(&self, now: OffsetDateTime) -> Result<PublishedKey, StoreError> {
        if *self.fail.lock().unwrap() {
            return Err(failing("PutSecretValue"));
        }
        let mut s = self.state.lock().unwrap();
        let next = s.0.rotated(s.1, now).map_err(|_| failing("PutSecretValue"))?;
        *s = (next, now);
        let public_key = s.0.signer().map_err(|_| failing("PutSecretValue"))?.public_key_hex();
        Ok(PublishedKey { public_key, created_at: now, retired_at: None })
    }
}
