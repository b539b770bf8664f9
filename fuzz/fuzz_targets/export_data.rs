//! A DynamoDB export data file (gzip'd or not, any bytes): items or problems.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = keyturn_audit::export::read_data(data, |_, item| {
        if let Ok(item) = item {
            let _ = keyturn_audit::entry(item);
        }
    });
});
