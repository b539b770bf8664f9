//! Key material and how it may be shown: never, only as a fingerprint.

use std::fmt;

use sha2::{Digest, Sha256};

/// `hex(SHA-256(bytes))[..16]`: enough to tell two keys apart in an audit
/// trail, useless for recovering either.
///
/// ```
/// assert_eq!(keyturn_domain::fingerprint(b"abc"), "ba7816bf8f01cfea");
/// ```
pub fn fingerprint(bytes: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(bytes));
    digest[..16].to_owned()
}

/// A key value. It cannot be printed, serialised or compared by accident:
/// `Debug` and `Display` show its fingerprint, and there is no `Serialize`.
/// Reading the value takes an explicit [`SecretValue::expose`].
#[derive(Clone)]
pub struct SecretValue(String);

/// Key material is overwritten when its last copy goes away, so it does not
/// linger in freed memory (a core dump, a reused buffer).
impl Drop for SecretValue {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(self.0.as_bytes())
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue(sha256:{})", self.fingerprint())
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = SecretValue::new("canary-4f1d9a");
        for shown in [format!("{s:?}"), format!("{s}"), format!("{:?}", Some(s.clone()))] {
            assert!(!shown.contains("canary"), "{shown}");
            assert!(shown.contains(&s.fingerprint()));
        }
    }

    /// A panic while a key is in scope (forced here) carries its fingerprint, not the key.
    #[test]
    fn a_panic_with_a_key_in_scope_does_not_show_it() {
        let s = SecretValue::new("canary-7c2e01");
        let caught = std::panic::catch_unwind(|| panic!("rotation failed for {s} ({s:?})")).unwrap_err();
        let message = caught.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains(&s.fingerprint()) && !message.contains("canary"), "{message}");
    }
}
