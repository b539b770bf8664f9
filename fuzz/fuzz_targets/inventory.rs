//! Inventory files: the first byte picks CSV, JSON or YAML; every record that
//! reads is validated. Errors are fine, panics are not.
#![no_main]

use keyturn_domain::inventory::{read_str, validate_record, Format, ValidationContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((pick, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let format = [Format::Csv, Format::Json, Format::Yaml][usize::from(*pick) % 3];
    let now = time::OffsetDateTime::from_unix_timestamp(1_795_600_000).expect("time");
    if let Ok(records) = read_str(text, format, "fuzz") {
        for r in &records {
            let _ = validate_record(r, &ValidationContext::at(now));
        }
    }
});
