//! Signed links: the keys that sign them, the key ring that checks them,
//! what a link says (its claims) and who may hold one (an approver).
//!
//! A link token is `v1.<kid>.<claims>.<mac>`:
//! - `kid`: which signing key (`[A-Za-z0-9-]{1,64}`; the Secrets Manager version id);
//! - `claims`: base64url (no padding) of
//!   `change_id \n approver \n decision \n expires_unix \n nonce \n connector_id-or-empty`;
//! - `mac`: base64url of HMAC-SHA256 over `"keyturn-link-v1\n" + kid + "\n" + claims-bytes`.
//!
//! The claims encoding is unambiguous because no field can contain `\n`:
//! change ids are `[A-Za-z0-9_-]`, nonces `[0-9a-f]{32}`, connector ids exclude it, approvers are
//! validated email addresses without whitespace, decisions and numbers are fixed words and
//! digits; decoding demands exactly six fields. The MAC input is unambiguous too: the version is in
//! the fixed context string and the kid (`[A-Za-z0-9-]`) ends at the first `\n`. Every character
//! of a token is URL-safe (`[A-Za-z0-9_.-]`), so it goes into a query string or a form field
//! unescaped.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::{ChangeId, ConnectorId};

type HmacSha256 = Hmac<Sha256>;

const VERSION: &str = "v1";
const MAC_CONTEXT: &[u8] = b"keyturn-link-v1\n";
/// Shortest signing key accepted (bytes): the HMAC-SHA256 block of security.
pub const MIN_KEY_BYTES: usize = 32;

/// What a link lets its holder do: answer a change, or (the key's owner)
/// hand over a new key the vendor only shows in its console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
    Intake,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Intake => "intake",
        }
    }
}

impl FromStr for Decision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "approve" => Ok(Self::Approve),
            "reject" => Ok(Self::Reject),
            "intake" => Ok(Self::Intake),
            other => Err(format!("{other:?} is not a decision (approve, reject)")),
        }
    }
}

/// An approver: an email address, lower-cased so `Ana@X` and `ana@x` are one
/// person (and one vote).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Approver(String);

impl Approver {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("is empty".into());
        }
        if s.len() > 254 {
            return Err("is longer than 254 characters".into());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"'\\,;".contains(c)) {
            return Err(format!("{s:?} is not an email address (spaces or special characters)"));
        }
        match s.split_once('@') {
            Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@') => {
                Ok(Self(s.to_lowercase()))
            }
            _ => Err(format!("{s:?} is not an email address")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Approver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Approver {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Approver> for String {
    fn from(a: Approver) -> String {
        a.0
    }
}

/// 128 random bits, hex: makes every link unique even for the same claims.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        // The OS RNG failing is not recoverable; an all-zero nonce still
        // yields a valid (if not unique) link rather than a panic.
        let _ = getrandom::fill(&mut bytes);
        Self(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn parse(s: &str) -> Option<Self> {
        (s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())).then(|| Self(s.into()))
    }
}

/// What a link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    pub change_id: ChangeId,
    pub approver: Approver,
    pub decision: Decision,
    pub expires_at: OffsetDateTime,
    pub nonce: Nonce,
    /// Intake links name the one connector whose key they take.
    pub connector: Option<ConnectorId>,
}

impl LinkClaims {
    fn encode(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            self.change_id,
            self.approver,
            self.decision.as_str(),
            self.expires_at.unix_timestamp(),
            self.nonce.as_str(),
            self.connector.as_ref().map(ConnectorId::as_str).unwrap_or_default()
        )
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut parts = text.split('\n');
        let claims = Self {
            change_id: ChangeId::parse(parts.next()?).ok()?,
            approver: Approver::parse(parts.next()?).ok()?,
            decision: parts.next()?.parse().ok()?,
            expires_at: OffsetDateTime::from_unix_timestamp(parts.next()?.parse().ok()?).ok()?,
            nonce: Nonce::parse(parts.next()?)?,
            connector: match parts.next()? {
                "" => None,
                id => Some(ConnectorId::parse(id).ok()?),
            },
        };
        parts.next().is_none().then_some(claims)
    }
}

/// One HMAC key and its id. `Debug` never shows the key.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    secret: Vec<u8>,
}

fn valid_kid(kid: &str) -> bool {
    (1..=64).contains(&kid.len()) && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl SigningKey {
    pub fn from_parts(kid: &str, secret: Vec<u8>) -> Result<Self, String> {
        if !valid_kid(kid) {
            return Err(format!("key id {kid:?} must be 1-64 of A-Z a-z 0-9 -"));
        }
        if secret.len() < MIN_KEY_BYTES {
            return Err(format!("signing key is {} bytes; at least {MIN_KEY_BYTES} are needed", secret.len()));
        }
        Ok(Self { kid: kid.to_owned(), secret })
    }

    /// A fresh random key.
    pub fn generate(kid: &str) -> Result<Self, String> {
        let mut secret = vec![0u8; MIN_KEY_BYTES];
        getrandom::fill(&mut secret).map_err(|e| format!("no randomness: {e}"))?;
        Self::from_parts(kid, secret)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn mac(&self, claims_b64: &str) -> HmacSha256 {
        // HMAC accepts keys of any length; ours are at least 32 bytes.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(MAC_CONTEXT);
        mac.update(self.kid.as_bytes());
        mac.update(b"\n");
        mac.update(claims_b64.as_bytes());
        mac
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, <redacted>)", self.kid)
    }
}

/// A signed link's token. URL-safe as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a link was refused. Messages are fit for the person holding the link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is damaged or incomplete")]
    Malformed,
    #[error("the link was signed with a key that is no longer accepted")]
    UnknownKey { kid: String },
    #[error("the link's signature does not match")]
    BadSignature,
    /// Authentic but too late: the claims are trustworthy (the MAC matched).
    #[error("the link expired at {}", crate::timefmt::format_utc(.claims.expires_at))]
    Expired { claims: Box<LinkClaims> },
}

impl LinkError {
    /// Stable name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Malformed => "LinkMalformed",
            Self::UnknownKey { .. } => "LinkUnknownKey",
            Self::BadSignature => "LinkForged",
            Self::Expired { .. } => "LinkExpired",
        }
    }
}

/// The keys links are checked against: the current one signs; the previous
/// one (before the last rotation) still verifies until its links expire.
#[derive(Debug, Clone)]
pub struct KeyRing {
    pub current: SigningKey,
    pub previous: Option<SigningKey>,
}

impl KeyRing {
    pub fn sign(&self, claims: &LinkClaims) -> LinkToken {
        let body = URL_SAFE_NO_PAD.encode(claims.encode());
        let tag = URL_SAFE_NO_PAD.encode(self.current.mac(&body).finalize().into_bytes());
        LinkToken(format!("{VERSION}.{}.{body}.{tag}", self.current.kid))
    }

    /// Checks format, key, signature, then expiry, in that order: expiry is
    /// only looked at once the MAC proved the claims authentic. A link is
    /// valid up to and including the second it expires.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<LinkClaims, LinkError> {
        let mut parts = token.split('.');
        let (Some(version), Some(kid), Some(body), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Malformed);
        };
        if version != VERSION || !valid_kid(kid) {
            return Err(LinkError::Malformed);
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| LinkError::Malformed)?;
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.kid == kid)
            .ok_or_else(|| LinkError::UnknownKey { kid: kid.to_owned() })?;
        // Constant-time comparison.
        key.mac(body).verify_slice(&tag).map_err(|_| LinkError::BadSignature)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| LinkError::Malformed)?;
        let claims = LinkClaims::decode(&bytes).ok_or(LinkError::Malformed)?;
        if now > claims.expires_at {
            return Err(LinkError::Expired { claims: Box::new(claims) });
        }
        Ok(claims)
    }
}

/// What a link token says it is for, read **without** checking its
/// signature: for labelling links in developer tools (`keyturn dev outbox`),
/// never for deciding anything.
pub fn unverified_decision(token: &str) -> Option<Decision> {
    let body = token.split('.').nth(2)?;
    let bytes = URL_SAFE_NO_PAD.decode(body).ok()?;
    std::str::from_utf8(&bytes).ok()?.split('\n').nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;
    use time::Duration;

    const NOW: OffsetDateTime = datetime!(2026-11-24 09:00 UTC);

    fn key(kid: &str, byte: u8) -> SigningKey {
        SigningKey::from_parts(kid, vec![byte; 32]).unwrap()
    }

    fn ring() -> KeyRing {
        KeyRing { current: key("k2", 2), previous: Some(key("k1", 1)) }
    }

    fn claims() -> LinkClaims {
        LinkClaims {
            change_id: ChangeId::parse("chg-20261124-0123456789abcdef").unwrap(),
            approver: Approver::parse("Ana@Acme.example").unwrap(),
            decision: Decision::Approve,
            expires_at: NOW + Duration::hours(72),
            nonce: Nonce::random(),
            connector: None,
        }
    }

    fn parts(token: &LinkToken) -> Vec<String> {
        token.as_str().split('.').map(str::to_owned).collect()
    }

    fn reassemble(p: &[String]) -> String {
        p.join(".")
    }

    /// Re-encodes the claims with one field changed, keeping the old MAC.
    fn tampered(token: &LinkToken, edit: impl Fn(&mut Vec<String>)) -> String {
        let mut p = parts(token);
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(&p[2]).unwrap()).unwrap();
        let mut fields: Vec<String> = raw.split('\n').map(str::to_owned).collect();
        edit(&mut fields);
        p[2] = URL_SAFE_NO_PAD.encode(fields.join("\n"));
        reassemble(&p)
    }

    #[test]
    fn round_trip() {
        let c = claims();
        let t = ring().sign(&c);
        assert_eq!(ring().verify(t.as_str(), NOW).unwrap(), c);
        assert_eq!(c.approver.as_str(), "ana@acme.example");
    }

    #[test]
    fn tampering_with_any_claim_is_a_forgery() {
        let t = ring().sign(&claims());
        let edits: [(usize, &str); 5] = [
            (0, "chg-20261124-fedcba9876543210"),
            (1, "mallory@acme.example"),
            (2, "reject"),
            (3, "1900000000"),
            (4, "00000000000000000000000000000000"),
        ];
        for (i, v) in edits {
            let forged = tampered(&t, |f| f[i] = v.to_owned());
            assert_eq!(ring().verify(&forged, NOW), Err(LinkError::BadSignature), "field {i}");
        }
    }

    #[test]
    fn broken_tokens_are_malformed_or_forged() {
        let t = ring().sign(&claims());
        let p = parts(&t);
        let mut flipped = p.clone();
        let mut tag = URL_SAFE_NO_PAD.decode(&p[3]).unwrap();
        tag[0] ^= 1;
        flipped[3] = URL_SAFE_NO_PAD.encode(tag);
        assert_eq!(ring().verify(&reassemble(&flipped), NOW), Err(LinkError::BadSignature));
        let s = t.as_str();
        let truncated = ring().verify(&s[..s.len() - 5], NOW);
        assert!(matches!(truncated, Err(LinkError::Malformed | LinkError::BadSignature)), "{truncated:?}");
        assert_eq!(ring().verify(&format!("{s}.x"), NOW), Err(LinkError::Malformed));
        assert_eq!(ring().verify(&s.replacen("v1.", "v2.", 1), NOW), Err(LinkError::Malformed));
        assert_eq!(ring().verify("", NOW), Err(LinkError::Malformed));
        assert_eq!(ring().verify("v1.k2.%%%.abc", NOW), Err(LinkError::BadSignature));
        let mut other_kid = p.clone();
        other_kid[1] = "k1".into();
        assert_eq!(ring().verify(&reassemble(&other_kid), NOW), Err(LinkError::BadSignature), "kid is under the MAC");
        let mut unknown_kid = p.clone();
        unknown_kid[1] = "k9".into();
        assert_eq!(ring().verify(&reassemble(&unknown_kid), NOW), Err(LinkError::UnknownKey { kid: "k9".into() }));
        assert_eq!(ring().verify(&reassemble(&p[..3]), NOW), Err(LinkError::Malformed), "no MAC segment");
        let mut bad_kid = p.clone();
        bad_kid[1] = "k_2".into();
        assert_eq!(ring().verify(&reassemble(&bad_kid), NOW), Err(LinkError::Malformed), "kid outside [A-Za-z0-9-]");
    }

    #[test]
    fn intake_links_carry_their_connector_under_the_mac() {
        let c = LinkClaims {
            decision: Decision::Intake,
            connector: Some(ConnectorId::parse("atlassian/acme/entra").unwrap()),
            ..claims()
        };
        let t = ring().sign(&c);
        assert_eq!(ring().verify(t.as_str(), NOW).unwrap(), c);
        let swapped = tampered(&t, |f| f[5] = "atlassian/acme/okta".into());
        assert_eq!(ring().verify(&swapped, NOW), Err(LinkError::BadSignature));
    }

    #[test]
    fn expiry_is_checked_after_the_signature() {
        let c = claims();
        let t = ring().sign(&c);
        assert!(ring().verify(t.as_str(), c.expires_at).is_ok(), "valid through its last second");
        match ring().verify(t.as_str(), c.expires_at + Duration::seconds(1)) {
            Err(LinkError::Expired { claims }) => assert_eq!(*claims, c),
            other => panic!("{other:?}"),
        }
        let forged = tampered(&t, |f| f[3] = "0".into());
        assert_eq!(ring().verify(&forged, NOW), Err(LinkError::BadSignature), "a forger learns nothing about expiry");
    }

    #[test]
    fn rotation_keeps_the_previous_key_only() {
        let old = KeyRing { current: key("k1", 1), previous: Some(key("k0", 0)) };
        let ancient = KeyRing { current: key("k0", 0), previous: None };
        let c = claims();
        assert!(ring().verify(old.sign(&c).as_str(), NOW).is_ok(), "signed before the last rotation");
        assert_eq!(
            ring().verify(ancient.sign(&c).as_str(), NOW),
            Err(LinkError::UnknownKey { kid: "k0".into() }),
            "two rotations ago"
        );
        let impostor = KeyRing { current: key("k2", 9), previous: None };
        assert_eq!(ring().verify(impostor.sign(&c).as_str(), NOW), Err(LinkError::BadSignature));
    }

    #[test]
    fn keys_never_print() {
        let k = key("kid-1", 0xAB);
        for shown in
            [format!("{k:?}"), format!("{:?}", ring()), format!("{:?}", KeyRing { current: k, previous: None })]
        {
            assert!(!shown.contains("abab") && !shown.contains("171"), "{shown}");
            assert!(!shown.contains(&URL_SAFE_NO_PAD.encode([0xAB; 32])[..10]), "{shown}");
        }
        assert!(SigningKey::from_parts("k", vec![0; 31]).is_err());
        assert!(SigningKey::from_parts("bad kid", vec![0; 32]).is_err());
        assert_ne!(SigningKey::generate("a").unwrap().secret, SigningKey::generate("a").unwrap().secret);
    }

    #[test]
    fn approvers_are_normalised_and_checked() {
        assert_eq!(Approver::parse(" Bo@X.example ").unwrap().as_str(), "bo@x.example");
        for bad in ["", "bo", "bo@", "@x.example", "bo@x", "b o@x.example", "a@b@c.example", "bo\u{7}@x.example"] {
            assert!(Approver::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Approver::parse(&format!("{}@x.example", "a".repeat(250))).is_err(), "over 254 characters");
        // Surrounding whitespace (a pasted address, a trailing newline) is trimmed, not refused.
        assert_eq!(Approver::parse("bo@x.example\n").unwrap().as_str(), "bo@x.example");
        assert!("maybe".parse::<Decision>().is_err());
    }

    proptest! {
        /// Hostile input: any string is refused, never accepted, never a panic.
        #[test]
        fn arbitrary_strings_never_verify(s in ".{0,300}", dots in "(v1\\.[a-z0-9_-]{0,40}\\.){0,3}[A-Za-z0-9_=-]{0,80}") {
            prop_assert!(ring().verify(&s, NOW).is_err());
            prop_assert!(ring().verify(&dots, NOW).is_err());
        }

        /// Changing any one character of a real token breaks it.
        #[test]
        fn a_changed_character_breaks_a_token(at in 0usize..400, c in "[A-Za-z0-9_.-]") {
            let t = ring().sign(&claims());
            let mut bytes = t.as_str().as_bytes().to_vec();
            let i = at % bytes.len();
            let b = c.as_bytes()[0];
            prop_assume!(bytes[i] != b);
            bytes[i] = b;
            let forged = String::from_utf8(bytes).unwrap();
            prop_assert!(ring().verify(&forged, NOW).is_err(), "{forged}");
        }

        #[test]
        fn tokens_are_url_safe_and_round_trip(
            user in "[a-z0-9._+-]{1,20}",
            domain in "[a-z0-9-]{1,20}\\.[a-z]{2,6}",
            hours in 1i64..10_000,
            reject in any::<bool>(),
        ) {
            let c = LinkClaims {
                approver: Approver::parse(&format!("{user}@{domain}")).unwrap(),
                decision: if reject { Decision::Reject } else { Decision::Approve },
                expires_at: NOW + Duration::hours(hours),
                ..claims()
            };
            let t = ring().sign(&c);
            prop_assert!(t.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)), "{}", t);
            prop_assert_eq!(ring().verify(t.as_str(), NOW).unwrap(), c);
        }
    }
}
