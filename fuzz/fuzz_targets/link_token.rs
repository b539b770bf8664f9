//! A signed-link token from a URL: any string is refused or accepted, never a panic.
#![no_main]

use keyturn_domain::approval::{KeyRing, SigningKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let ring = KeyRing { current: SigningKey::from_parts("k1", vec![7u8; 32]).expect("key"), previous: None };
    let now = time::OffsetDateTime::from_unix_timestamp(1_795_600_000).expect("time");
    let _ = ring.verify(token, now);
});
