//! What vendors and identity providers answer: SCIM ListResponse, Atlassian
//! API-key and directory listings, Graph job status, Okta connection.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = keyturn_vendors::parse::all(data);
});
