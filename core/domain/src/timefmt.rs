//! One timestamp format everywhere: RFC 3339, UTC, whole seconds, `Z`.
//! Fixed width, so string order is time order — the expiry index sorts on it.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// Formats `t` as `2026-05-01T00:00:00Z`.
pub fn format_utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `YYYYMMDD` of the UTC day of `t`.
pub fn day_stamp(t: OffsetDateTime) -> String {
    let d = t.to_offset(UtcOffset::UTC).date();
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses an RFC 3339 timestamp or a bare date (`2026-05-01`, midnight UTC),
/// in years 0001 to 9999 once in UTC: the range [`format_utc`] writes at a
/// fixed width (a year 0 or 10000 would sort out of place in the expiry
/// index).
pub fn parse_instant(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    // Four digits of year, no sign: `[year]` alone would also take `+2026`.
    if raw.len() < 4 || !raw.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let t = match OffsetDateTime::parse(raw, &Rfc3339) {
        // The offset can carry 9999-12-31T23:00:00-02:00 past year 9999.
        Ok(t) => t.checked_to_offset(UtcOffset::UTC)?,
        Err(_) => Date::parse(raw, format_description!("[year]-[month]-[day]")).ok()?.midnight().assume_utc(),
    };
    (1..=9999).contains(&t.year()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_fixed_width_utc() {
        let t = datetime!(2026-05-01 02:03:04.9 +02:00);
        assert_eq!(format_utc(t), "2026-05-01T00:03:04Z");
        assert_eq!(day_stamp(t), "20260501");
    }

    #[test]
    fn parses_dates_and_timestamps() {
        assert_eq!(parse_instant("2026-05-01"), Some(datetime!(2026-05-01 00:00 UTC)));
        assert_eq!(parse_instant("2026-05-01T10:00:00+01:00"), Some(datetime!(2026-05-01 09:00 UTC)));
        assert_eq!(parse_instant("2026-13-01"), None);
        assert_eq!(parse_instant("tomorrow"), None);
    }

    /// Years outside 0001-9999 (before or after the offset is applied) are
    /// not instants here, and none of them panics.
    #[test]
    fn years_outside_0001_to_9999_are_refused() {
        for raw in [
            "0000-01-01",
            "0000-06-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "-0001-01-01",
            "+2026-01-01",
            "10000-01-01",
            "+10000-01-01",
            "9999-12-31T23:59:59-23:59",
        ] {
            assert_eq!(parse_instant(raw), None, "{raw}");
        }
        assert_eq!(parse_instant("0001-01-01"), Some(datetime!(0001-01-01 00:00 UTC)));
        assert_eq!(parse_instant("9999-12-31T23:59:59Z"), Some(datetime!(9999-12-31 23:59:59 UTC)));
    }
}
