//! keyturn's own signing keys: the HMAC key that signs approval links and
//! the Ed25519 key that signs audit digests, their rotation schedule, and
//! the audit keys' publication record.
//!
//! Both rotate when the current key is older than a maximum age
//! ([`RotationPolicy`]). The link key keeps one previous key, which still
//! verifies: that is enough exactly when every link expires before the
//! *next* rotation, so the maximum age must be longer than the longest link
//! lifetime (the configuration refuses anything else). An audit key signs
//! only while it is current, but every key that ever signed stays published
//! ([`PublishedKey`]) with its validity, so old digests verify for ever and a
//! digest a key signed after its retirement stands out.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::digest::AuditSigner;
use crate::timefmt::{format_utc, parse_instant};
use crate::ConnectorId;

/// The default maximum age of the link-signing key.
pub const LINK_KEY_MAX_AGE: Duration = Duration::days(30);
/// The default maximum age of the audit-signing key: longer than the link
/// key's, since every rotation is one more public key auditors are handed.
pub const AUDIT_KEY_MAX_AGE: Duration = Duration::days(90);

/// Which of keyturn's signing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyPurpose {
    /// HMAC-SHA256, signs approval and hand-over links.
    LinkSigning,
    /// Ed25519, signs the daily audit digests.
    AuditSigning,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LinkSigning => "link-signing",
            Self::AuditSigning => "audit-signing",
        }
    }

    /// The audit chain its rotations are recorded in. Connector ids are
    /// chosen by operators, so one could take this name; its events would
    /// then share that connector's chain, which stays a valid chain.
    pub fn chain(self) -> ConnectorId {
        ConnectorId::parse(match self {
            Self::LinkSigning => "keyturn/link-signing-key",
            Self::AuditSigning => "keyturn/audit-signing-key",
        })
        .unwrap_or_else(|_| unreachable!("a fixed, valid connector id"))
    }
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signing key as its store knows it: no key material, only its id (the
/// link key's version id, the audit key's public key, hex) and its age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub created_at: OffsetDateTime,
}

/// When a signing key rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    pub max_age: Duration,
}

impl RotationPolicy {
    /// The scheduled run rotates the key at its first run from then on.
    pub fn rotate_by(&self, created_at: OffsetDateTime) -> OffsetDateTime {
        created_at + self.max_age
    }

    pub fn due(&self, created_at: OffsetDateTime, now: OffsetDateTime) -> bool {
        now >= self.rotate_by(created_at)
    }
}

/// What `keyturn status` shows of one current signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyStatus {
    pub purpose: KeyPurpose,
    /// The link key's version id, or the audit key's public key (hex).
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The scheduled run rotates it at its first run from this time on.
    #[serde(with = "time::serde::rfc3339")]
    pub rotate_by: OffsetDateTime,
}

/// One rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotatedKey {
    pub purpose: KeyPurpose,
    /// The key id (link key) or public key (audit key) that was current.
    pub previous: String,
    pub current: String,
    /// The rotation happened but its audit event could not be written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_error: Option<String>,
}

/// What the daily run did with the signing keys (a field of the scan report).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyRotationReport {
    pub rotated: Vec<RotatedKey>,
    /// Keys that were due and could not be rotated (or read).
    pub errors: Vec<String>,
}

impl KeyRotationReport {
    pub fn is_empty(&self) -> bool {
        self.rotated.is_empty() && self.errors.is_empty()
    }
}

/// Why a link-key maximum age is refused: links signed just before a
/// rotation must still verify until they expire, and the ring keeps one
/// previous key, so every link must expire before the next rotation.
pub fn check_link_key_age(max_age: Duration, longest_link: Duration) -> Result<(), String> {
    if max_age > longest_link {
        return Ok(());
    }
    Err(format!(
        "must be longer than the longest link lifetime ({} h, the longest of the approval timeout, the link TTL and the intake timeout): a link signed just before a rotation must still verify until it expires, and only one previous key is kept",
        longest_link.whole_hours()
    ))
}

/// An audit-signing key that signed, or signs, digests: what auditors are
/// handed (`keyturn audit public-key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedKey {
    /// Ed25519 public key, 64 hex digits.
    pub public_key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the next key replaced it; `None` for the current key.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<OffsetDateTime>,
}

impl PublishedKey {
    /// The form `keyturn audit verify --public-key` takes: `HEX` for the
    /// current key, `HEX@CREATED..RETIRED` for a retired one.
    pub fn verify_arg(&self) -> String {
        match self.retired_at {
            None => self.public_key.clone(),
            Some(t) => format!("{}@{}..{}", self.public_key, format_utc(self.created_at), format_utc(t)),
        }
    }
}

/// The audit-signing secret's value: the current seed and every key it
/// replaced. A value of just 64 hex digits (before rotation existed, and as
/// CDK and Terraform create it) is a seed with no retired keys.
pub struct AuditKeyFile {
    seed: Zeroizing<String>,
    pub retired: Vec<PublishedKey>,
}

#[derive(Serialize, Deserialize)]
struct FileJson {
    seed: String,
    #[serde(default)]
    retired: Vec<PublishedKey>,
}

impl AuditKeyFile {
    /// Errors never quote the value.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let (seed, retired) = if value.starts_with('{') {
            let f: FileJson = serde_json::from_str(value)
                .map_err(|e| format!("is not a seed or a {{\"seed\", \"retired\"}} document (line {})", e.line()))?;
            (Zeroizing::new(f.seed), f.retired)
        } else {
            (Zeroizing::new(value.to_owned()), Vec::new())
        };
        AuditSigner::from_hex_seed(&seed).map_err(|e| format!("seed {e}"))?;
        if let Some(bad) = retired.iter().find(|k| crate::digest::parse_public_key(&k.public_key).is_err()) {
            return Err(format!("retired key {:?} is not an Ed25519 public key", bad.public_key));
        }
        Ok(Self { seed, retired })
    }

    /// A fresh seed, no history.
    pub fn generate() -> Result<Self, String> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|e| format!("no randomness: {e}"))?;
        Ok(Self { seed: Zeroizing::new(hex::encode(bytes.as_ref())), retired: Vec::new() })
    }

    pub fn signer(&self) -> Result<AuditSigner, String> {
        AuditSigner::from_hex_seed(&self.seed)
    }

    /// Every key, oldest first, the current one (made at `current_created`) last.
    pub fn published(&self, current_created: OffsetDateTime) -> Result<Vec<PublishedKey>, String> {
        let mut all = self.retired.clone();
        all.push(PublishedKey {
            public_key: self.signer()?.public_key_hex(),
            created_at: current_created,
            retired_at: None,
        });
        Ok(all)
    }

    /// The next value: a fresh seed; the current key (made at
    /// `current_created`) retired at `now` and kept published.
    pub fn rotated(&self, current_created: OffsetDateTime, now: OffsetDateTime) -> Result<Self, String> {
        let mut next = Self::generate()?;
        next.retired = self.retired.clone();
        next.retired.push(PublishedKey {
            public_key: self.signer()?.public_key_hex(),
            created_at: current_created,
            retired_at: Some(now),
        });
        Ok(next)
    }

    /// The secret string (JSON; the seed is in it).
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        let f = FileJson { seed: self.seed.to_string(), retired: self.retired.clone() };
        // A struct of strings always serialises.
        let out = Zeroizing::new(serde_json::to_string(&f).unwrap_or_default());
        drop(Zeroizing::new(f.seed));
        out
    }
}

impl fmt::Debug for AuditKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKeyFile(<redacted seed>, {} retired)", self.retired.len())
    }
}

/// A key given to `keyturn audit verify --public-key`: `HEX`, or
/// `HEX@FROM..UNTIL` (RFC 3339, either end may be left out) for a key that
/// signed only in that period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub key: ed25519_dalek::VerifyingKey,
    pub valid_from: Option<OffsetDateTime>,
    pub retired_at: Option<OffsetDateTime>,
}

impl TrustedKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let time = |t: &str| -> Result<Option<OffsetDateTime>, String> {
            match t.trim() {
                "" => Ok(None),
                t => parse_instant(t).map(Some).ok_or_else(|| format!("{t:?} is not an RFC 3339 time")),
            }
        };
        let (hex_key, valid_from, retired_at) = match raw.split_once('@') {
            None => (raw, None, None),
            Some((k, period)) => {
                let (from, until) = period
                    .split_once("..")
                    .ok_or_else(|| format!("{period:?} is not a validity period FROM..UNTIL"))?;
                (k, time(from)?, time(until)?)
            }
        };
        if let (Some(f), Some(u)) = (valid_from, retired_at) {
            if u < f {
                return Err(format!("its validity ends ({}) before it starts ({})", format_utc(u), format_utc(f)));
            }
        }
        let key = crate::digest::parse_public_key(hex_key)?;
        Ok(Self { key, valid_from, retired_at })
    }

    pub fn hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    #[test]
    fn a_key_is_due_at_its_maximum_age() {
        let p = RotationPolicy { max_age: Duration::days(30) };
        assert!(!p.due(T0, T0 + Duration::days(30) - Duration::seconds(1)));
        assert!(p.due(T0, T0 + Duration::days(30)));
        assert_eq!(p.rotate_by(T0), datetime!(2026-01-31 00:00 UTC));
    }

    #[test]
    fn the_link_key_must_outlive_every_link() {
        assert!(check_link_key_age(Duration::days(30), Duration::hours(72)).is_ok());
        let err = check_link_key_age(Duration::days(3), Duration::hours(72)).unwrap_err();
        assert!(err.contains("72 h"), "{err}");
        assert!(check_link_key_age(Duration::days(30), Duration::days(30)).is_err(), "equal is not longer");
    }

    #[test]
    fn a_plain_seed_reads_as_a_file_without_history() {
        let f = AuditKeyFile::parse(&format!(" {}\n", "11".repeat(32))).unwrap();
        assert!(f.retired.is_empty());
        let plain = AuditSigner::from_hex_seed(&"11".repeat(32)).unwrap().public_key_hex();
        assert_eq!(f.signer().unwrap().public_key_hex(), plain);
        assert_eq!(f.published(T0).unwrap(), [PublishedKey { public_key: plain, created_at: T0, retired_at: None }]);
    }

    #[test]
    fn rotation_keeps_every_old_key_published() {
        let f = AuditKeyFile::parse(&"11".repeat(32)).unwrap();
        let first = f.signer().unwrap().public_key_hex();
        let t1 = T0 + Duration::days(90);
        let g = AuditKeyFile::parse(&f.rotated(T0, t1).unwrap().to_secret_string()).unwrap();
        let t2 = t1 + Duration::days(90);
        let h = AuditKeyFile::parse(&g.rotated(t1, t2).unwrap().to_secret_string()).unwrap();
        let keys = h.published(t2).unwrap();
        assert_eq!(keys.len(), 3);
        assert_eq!((keys[0].public_key.as_str(), keys[0].retired_at), (first.as_str(), Some(t1)));
        assert_eq!(keys[1].public_key, g.signer().unwrap().public_key_hex());
        assert_eq!((keys[1].created_at, keys[1].retired_at), (t1, Some(t2)));
        assert_eq!(keys[2].retired_at, None);
        let distinct: std::collections::BTreeSet<&str> = keys.iter().map(|k| k.public_key.as_str()).collect();
        assert_eq!(distinct.len(), 3, "every rotation makes a new seed");
        assert_eq!(keys[0].verify_arg(), format!("{first}@2026-01-01T00:00:00Z..2026-04-01T00:00:00Z"));
        let trusted = TrustedKey::parse(&keys[0].verify_arg()).unwrap();
        assert_eq!((trusted.valid_from, trusted.retired_at, trusted.hex()), (Some(T0), Some(t1), first));
        assert_eq!(keys[2].verify_arg(), keys[2].public_key, "the current key: hex alone");
    }

    #[test]
    fn bad_values_are_refused_without_quoting_them() {
        let seed = "ab".repeat(31);
        for bad in [seed.clone(), format!("{{\"seed\":\"{seed}\"}}"), "{\"seed\":".into()] {
            let err = AuditKeyFile::parse(&bad).unwrap_err();
            assert!(!err.contains(&seed), "{err}");
        }
        let f = AuditKeyFile::parse(&"11".repeat(32)).unwrap();
        assert!(!format!("{f:?}").contains("1111"));
        assert!(TrustedKey::parse("zz").is_err());
        let hex_key = AuditSigner::from_hex_seed(&"11".repeat(32)).unwrap().public_key_hex();
        for bad in ["@yesterday..", "@2026-01-01T00:00:00Z", "@2026-02-01T00:00:00Z..2026-01-01T00:00:00Z"] {
            assert!(TrustedKey::parse(&format!("{hex_key}{bad}")).is_err(), "{bad}");
        }
        let open = TrustedKey::parse(&format!("{hex_key}@2026-01-01T00:00:00Z..")).unwrap();
        assert_eq!((open.valid_from, open.retired_at), (Some(T0), None));
    }
}
