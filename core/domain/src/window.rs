//! Change windows: when a connector may be rotated, e.g. `sat 02:00-04:00`,
//! `mon-fri 22:00-01:00` (crosses midnight) or `daily 09:00-17:00`. All UTC.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset, Weekday};

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ALL_DAYS: u8 = 0b111_1111;

/// A weekly UTC window. A window whose end is before its start runs past
/// midnight and belongs to the day it starts on.
///
/// ```
/// use keyturn_domain::ChangeWindow;
/// let w: ChangeWindow = "mon-fri 22:00-01:00".parse().unwrap();
/// assert_eq!(w.to_string(), "mon,tue,wed,thu,fri 22:00-01:00 UTC");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChangeWindow {
    /// Bit 0 = Monday … bit 6 = Sunday.
    days: u8,
    start_min: u16,
    end_min: u16,
}

impl ChangeWindow {
    /// Is `t` inside the window?
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        let t = t.to_offset(UtcOffset::UTC);
        let minute = u16::from(t.hour()) * 60 + u16::from(t.minute());
        let today = self.has_day(t.weekday());
        let yesterday = self.has_day(t.weekday().previous());
        if self.start_min < self.end_min {
            today && (self.start_min..self.end_min).contains(&minute)
        } else {
            (today && minute >= self.start_min) || (yesterday && minute < self.end_min)
        }
    }

    /// `t` itself when the window is open, otherwise the next moment it opens.
    pub fn next_open(&self, t: OffsetDateTime) -> OffsetDateTime {
        if self.contains(t) {
            return t;
        }
        let t = t.to_offset(UtcOffset::UTC);
        let start_of_day = t.replace_time(time::Time::MIDNIGHT);
        // A window is open at least once a week, so eight days always suffice.
        (0..8)
            .map(|d| start_of_day + Duration::days(d) + Duration::minutes(i64::from(self.start_min)))
            .find(|open| *open > t && self.has_day(open.weekday()))
            .unwrap_or(t)
    }

    fn has_day(&self, day: Weekday) -> bool {
        self.days & (1 << day.number_days_from_monday()) != 0
    }
}

impl std::str::FromStr for ChangeWindow {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let shown = super::excerpt(raw);
        let mut parts = raw.split_whitespace();
        let (Some(days), Some(span)) = (parts.next(), parts.next()) else {
            return Err(format!(
                "{shown} is not a change window; expected e.g. \"sat 02:00-04:00\" or \"mon-fri 22:00-01:00 UTC\""
            ));
        };
        match parts.next() {
            None => {}
            Some(tz) if tz.eq_ignore_ascii_case("utc") && parts.next().is_none() => {}
            Some(other) => {
                return Err(format!("{shown}: unexpected {}; change windows are always UTC", super::excerpt(other)))
            }
        }
        let days = parse_days(days).map_err(|e| format!("{shown}: {e}"))?;
        let (start, end) =
            span.split_once('-').ok_or_else(|| format!("{shown}: expected a time span like 02:00-04:00"))?;
        let start_min = parse_hhmm(start).map_err(|e| format!("{shown}: {e}"))?;
        let end_min = parse_hhmm(end).map_err(|e| format!("{shown}: {e}"))?;
        if start_min == end_min {
            return Err(format!("{shown}: the window is empty (start equals end)"));
        }
        Ok(Self { days, start_min, end_min })
    }
}

fn parse_days(raw: &str) -> Result<u8, String> {
    match raw.to_ascii_lowercase().as_str() {
        "daily" => return Ok(ALL_DAYS),
        "weekdays" => return Ok(0b001_1111),
        "weekends" => return Ok(0b110_0000),
        _ => {}
    }
    let mut mask = 0u8;
    for item in raw.split(',') {
        let (from, to) = item.split_once('-').unwrap_or((item, item));
        let (from, to) = (day_index(from)?, day_index(to)?);
        if from > to {
            return Err(format!("day range {} runs backwards", super::excerpt(item)));
        }
        for d in from..=to {
            mask |= 1 << d;
        }
    }
    Ok(mask)
}

fn day_index(raw: &str) -> Result<u8, String> {
    let shown = super::excerpt(raw);
    let lower = raw.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| *d == lower)
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| format!("{shown} is not a day (mon..sun, daily, weekdays, weekends)"))
}

fn parse_hhmm(raw: &str) -> Result<u16, String> {
    let shown = super::excerpt(raw);
    let bad = || format!("{shown} is not a time (HH:MM, 00:00..24:00)");
    let (h, m) = raw.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl fmt::Display for ChangeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.days == ALL_DAYS {
            f.write_str("daily")?;
        } else {
            let names: Vec<&str> = (0..7).filter(|d| self.days & (1 << d) != 0).map(|d| DAY_NAMES[d]).collect();
            f.write_str(&names.join(","))?;
        }
        write!(
            f,
            " {:02}:{:02}-{:02}:{:02} UTC",
            self.start_min / 60,
            self.start_min % 60,
            self.end_min / 60,
            self.end_min % 60
        )
    }
}

impl TryFrom<String> for ChangeWindow {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ChangeWindow> for String {
    fn from(w: ChangeWindow) -> Self {
        w.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn w(s: &str) -> ChangeWindow {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_canonically() {
        assert_eq!(w("SAT 02:00-04:00").to_string(), "sat 02:00-04:00 UTC");
        assert_eq!(w("weekends 00:00-24:00 UTC").to_string(), "sat,sun 00:00-24:00 UTC");
        assert_eq!(w("mon,wed-thu 10:30-11:00").to_string(), "mon,wed,thu 10:30-11:00 UTC");
        assert_eq!(w("daily 22:00-02:00").to_string(), "daily 22:00-02:00 UTC");
    }

    #[test]
    fn rejects_nonsense_with_reasons() {
        for (raw, needle) in [
            ("sat", "not a change window"),
            ("funday 02:00-04:00", "not a day"),
            ("sat 2:00-04:00", "not a time"),
            ("sat 02:00-02:00", "empty"),
            ("sat 02:00-04:60", "not a time"),
            ("sat 02:00-04:00 CET", "always UTC"),
            ("fri-mon 02:00-04:00", "backwards"),
        ] {
            let err = raw.parse::<ChangeWindow>().unwrap_err();
            assert!(err.contains(needle), "{raw}: {err}");
        }
    }

    #[test]
    fn window_across_midnight_belongs_to_its_start_day() {
        let win = w("fri 22:00-02:00");
        // 2026-11-27 is a Friday.
        assert!(win.contains(datetime!(2026-11-27 23:00 UTC)));
        assert!(win.contains(datetime!(2026-11-28 01:59 UTC)));
        assert!(!win.contains(datetime!(2026-11-28 02:00 UTC)));
        assert!(!win.contains(datetime!(2026-11-27 01:00 UTC)));
    }

    #[test]
    fn next_open_finds_the_next_start() {
        let win = w("sat 02:00-04:00");
        assert_eq!(win.next_open(datetime!(2026-11-24 06:40 UTC)), datetime!(2026-11-28 02:00 UTC));
        assert_eq!(win.next_open(datetime!(2026-11-28 03:00 UTC)), datetime!(2026-11-28 03:00 UTC));
        assert_eq!(win.next_open(datetime!(2026-11-28 04:00 UTC)), datetime!(2026-12-05 02:00 UTC));
    }

    proptest! {
        #[test]
        fn next_open_is_open_and_never_in_the_past(
            days in 1u8..=ALL_DAYS, start in 0u16..1440, len in 1u16..1440, at in 0i64..(3 * 365 * 86_400)
        ) {
            let win = ChangeWindow { days, start_min: start, end_min: (start + len) % 1440 };
            prop_assume!(win.start_min != win.end_min);
            let t = datetime!(2026-01-01 00:00 UTC) + Duration::seconds(at);
            let open = win.next_open(t);
            prop_assert!(open >= t);
            prop_assert!(open - t <= Duration::days(8));
            prop_assert!(win.contains(open));
            let reparsed: ChangeWindow = win.to_string().parse().unwrap();
            prop_assert_eq!(reparsed, win);
        }
    }
}
