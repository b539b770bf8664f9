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

/// Parses an RFC 3339 timestamp or a bare date (`2026-05-01`, midnight UTC).
pub fn parse_instant(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Some(t.to_offset(UtcOffset::UTC));
    }
    Date::parse(raw, format_description!("[year]-[month]-[day]")).ok().map(|d| d.midnight().assume_utc())
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
}
