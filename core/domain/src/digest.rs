//! Signed digests: anchors that make deleting the newest audit events
//! detectable, as CloudTrail's digest files do.
//!
//! A hash chain proves that nothing *inside* a chain was edited, removed or
//! reordered, but not that its newest events are all there: whoever can write
//! the table can drop the tail, or rewrite a chain and recompute every hash
//! (SHA-256 has no key). So once a day the scanner writes a digest: the head
//! (`seq`, `hash`) of every chain that grew that day, itself chained
//! (`seq`, `prev_hash`, `hash`) and signed with an Ed25519 key that only
//! keyturn can read. A verifier holding the public key then knows, for each
//! connector, that the chain reached at least that `seq` with exactly that hash
//! — and a hash commits to everything before it.
//!
//! Digests live in the audit table under the partition key [`DIGEST_PK`],
//! which no connector id can take (ids never contain `#`).

use std::collections::BTreeMap;

use ed25519_dalek::{Signer, Verifier};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::GENESIS_HASH;

/// The audit table's partition key for digests.
pub const DIGEST_PK: &str = "#digest";

/// A chain's last link as a digest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// What a digest covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every chain's head as of the end of `day` (the first digest of a table).
    Full,
    /// The heads of the chains that grew on `day`.
    Day,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Day => "day",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(Self::Full),
            "day" => Some(Self::Day),
            _ => None,
        }
    }
}

/// One signed digest item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub seq: u64,
    /// The UTC day (`YYYY-MM-DD`) whose events it covers.
    pub day: String,
    pub scope: Scope,
    /// When it was written.
    pub at: String,
    /// Connector id → head.
    pub heads: BTreeMap<String, Head>,
    pub prev_hash: String,
    pub hash: String,
    /// The signer's Ed25519 public key, hex. Informative only: a verifier
    /// trusts the key it was given, not the one an item names.
    pub public_key: String,
    /// Ed25519 over [`Digest::canonical_bytes`], hex.
    pub signature: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Canon<'a> {
    Str(&'a str),
    Num(u64),
    Heads(&'a BTreeMap<String, Head>),
}

impl Digest {
    /// Sorted, compact JSON of every field but `hash` and `signature` (the
    /// same rules as events, see `domain::audit`).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut m: BTreeMap<&str, Canon<'_>> = BTreeMap::new();
        m.insert("seq", Canon::Num(self.seq));
        m.insert("day", Canon::Str(&self.day));
        m.insert("scope", Canon::Str(self.scope.as_str()));
        m.insert("at", Canon::Str(&self.at));
        m.insert("heads", Canon::Heads(&self.heads));
        m.insert("prev_hash", Canon::Str(&self.prev_hash));
        m.insert("public_key", Canon::Str(&self.public_key));
        // Ordered maps of strings and integers always serialise.
        serde_json::to_vec(&m).unwrap_or_default()
    }

    pub fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_bytes()))
    }

    /// Whether `hash` matches the content and `signature` is valid under `key`.
    pub fn check(&self, key: &ed25519_dalek::VerifyingKey) -> Result<(), DigestProblem> {
        if self.compute_hash() != self.hash {
            return Err(DigestProblem::Edited);
        }
        let sig = hex::decode(&self.signature)
            .ok()
            .and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok())
            .ok_or(DigestProblem::BadSignature)?;
        key.verify(&self.canonical_bytes(), &sig).map_err(|_| DigestProblem::BadSignature)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DigestProblem {
    #[error("content does not match its hash (edited)")]
    Edited,
    #[error("signature does not verify (forged digest)")]
    BadSignature,
}

/// The key that signs digests. Its 32-byte seed is kept as 64 hex digits in
/// Secrets Manager, like the link-signing key.
pub struct AuditSigner(ed25519_dalek::SigningKey);

impl AuditSigner {
    pub fn from_hex_seed(hex_seed: &str) -> Result<Self, String> {
        let bytes = hex::decode(hex_seed.trim()).map_err(|_| "is not hex".to_owned())?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| "must be 32 bytes (64 hex digits)".to_owned())?;
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    /// Seals and signs the next digest after `prev`.
    pub fn sign(
        &self,
        prev: Option<&Digest>,
        day: &str,
        scope: Scope,
        at: &str,
        heads: BTreeMap<String, Head>,
    ) -> Digest {
        let mut d = Digest {
            seq: prev.map_or(1, |p| p.seq + 1),
            day: day.to_owned(),
            scope,
            at: at.to_owned(),
            heads,
            prev_hash: prev.map_or_else(|| GENESIS_HASH.to_owned(), |p| p.hash.clone()),
            hash: String::new(),
            public_key: self.public_key_hex(),
            signature: String::new(),
        };
        d.hash = d.compute_hash();
        d.signature = hex::encode(self.0.sign(&d.canonical_bytes()).to_bytes());
        d
    }
}

/// Heads per digest item: 1,000 heads are about 150 KB, well inside
/// DynamoDB's 400 KB item limit; more chains take several digests.
pub const MAX_HEADS_PER_DIGEST: usize = 1000;

impl AuditSigner {
    /// The digests naming `heads`, [`MAX_HEADS_PER_DIGEST`] per item, chained
    /// after `prev` (at least one, even with no heads: a day with no events
    /// is anchored too).
    pub fn sign_all(
        &self,
        prev: Option<&Digest>,
        day: &str,
        scope: Scope,
        at: &str,
        heads: BTreeMap<String, Head>,
    ) -> Vec<Digest> {
        let mut parts: Vec<BTreeMap<String, Head>> = vec![BTreeMap::new()];
        for (conn, head) in heads {
            if parts.last().is_some_and(|p| p.len() >= MAX_HEADS_PER_DIGEST) {
                parts.push(BTreeMap::new());
            }
            if let Some(p) = parts.last_mut() {
                p.insert(conn, head);
            }
        }
        let mut out: Vec<Digest> = Vec::with_capacity(parts.len());
        for part in parts {
            let d = self.sign(out.last().or(prev), day, scope, at, part);
            out.push(d);
        }
        out
    }
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditSigner(public {})", self.public_key_hex())
    }
}

/// A public key given as 64 hex digits.
pub fn parse_public_key(hex_key: &str) -> Result<ed25519_dalek::VerifyingKey, String> {
    let bytes = hex::decode(hex_key.trim()).map_err(|_| "is not hex".to_owned())?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| "must be 32 bytes (64 hex digits)".to_owned())?;
    ed25519_dalek::VerifyingKey::from_bytes(&arr).map_err(|_| "is not an Ed25519 public key".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> AuditSigner {
        AuditSigner::from_hex_seed(&"11".repeat(32)).unwrap()
    }

    fn heads() -> BTreeMap<String, Head> {
        BTreeMap::from([("atlassian/acme/entra".to_owned(), Head { seq: 7, hash: "ab".repeat(32) })])
    }

    #[test]
    fn a_signed_digest_checks_and_chains() {
        let s = signer();
        let key = parse_public_key(&s.public_key_hex()).unwrap();
        let first = s.sign(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", heads());
        let second = s.sign(Some(&first), "2026-11-25", Scope::Day, "2026-11-26T06:00:00Z", BTreeMap::new());
        assert_eq!(first.check(&key), Ok(()));
        assert_eq!((second.seq, second.prev_hash.as_str()), (2, first.hash.as_str()));
        assert_eq!(first.prev_hash, GENESIS_HASH);
    }

    #[test]
    fn edits_and_other_keys_are_caught() {
        let s = signer();
        let key = parse_public_key(&s.public_key_hex()).unwrap();
        let mut d = s.sign(None, "2026-11-24", Scope::Day, "2026-11-25T06:00:00Z", heads());
        let other = AuditSigner::from_hex_seed(&"22".repeat(32)).unwrap();
        let forged = other.sign(None, "2026-11-24", Scope::Day, "2026-11-25T06:00:00Z", heads());
        assert_eq!(forged.check(&key), Err(DigestProblem::BadSignature), "signed by someone else");

        d.heads.get_mut("atlassian/acme/entra").unwrap().seq = 5;
        assert_eq!(d.check(&key), Err(DigestProblem::Edited));
        d.hash = d.compute_hash();
        assert_eq!(d.check(&key), Err(DigestProblem::BadSignature), "rehashed but not re-signed");
    }

    #[test]
    fn many_heads_are_split_across_chained_digests() {
        let heads: BTreeMap<String, Head> =
            (0..2500).map(|i| (format!("c/{i:05}"), Head { seq: 1, hash: "ab".repeat(32) })).collect();
        let parts = signer().sign_all(None, "2026-11-24", Scope::Full, "2026-11-25T06:00:00Z", heads);
        assert_eq!(parts.iter().map(|d| d.heads.len()).collect::<Vec<_>>(), [1000, 1000, 500]);
        assert!(parts.windows(2).all(|w| w[1].prev_hash == w[0].hash && w[1].seq == w[0].seq + 1));
        let empty = signer().sign_all(Some(&parts[2]), "2026-11-25", Scope::Day, "x", BTreeMap::new());
        assert_eq!((empty.len(), empty[0].seq), (1, 4));
    }

    #[test]
    fn seeds_are_validated() {
        assert!(AuditSigner::from_hex_seed("zz").is_err());
        assert!(AuditSigner::from_hex_seed(&"11".repeat(31)).is_err());
        assert!(parse_public_key("00").is_err());
    }
}
