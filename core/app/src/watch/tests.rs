//! The watch's pure parts.

use super::*;
use time::macros::datetime;

const EXPIRY: OffsetDateTime = datetime!(2026-12-31 00:00 UTC);
const ASKED: OffsetDateTime = datetime!(2026-11-20 09:00 UTC);

#[test]
fn a_mark_is_due_once_it_passed_after_the_request() {
    let marks = REMINDER_DAYS;
    assert_eq!(due_mark(&marks, EXPIRY, ASKED, datetime!(2026-11-30 23:00 UTC)), None, "30 d mark is Dec 1");
    assert_eq!(due_mark(&marks, EXPIRY, ASKED, datetime!(2026-12-01 00:00 UTC)), Some(30));
    assert_eq!(due_mark(&marks, EXPIRY, ASKED, datetime!(2026-12-20 00:00 UTC)), Some(14));
    assert_eq!(
        due_mark(&marks, EXPIRY, ASKED, datetime!(2026-12-30 12:00 UTC)),
        Some(1),
        "missed days: the most urgent"
    );
}

#[test]
fn marks_that_passed_before_the_request_are_not_reminders() {
    let late = datetime!(2026-12-20 09:00 UTC);
    assert_eq!(due_mark(&REMINDER_DAYS, EXPIRY, late, datetime!(2026-12-21 00:00 UTC)), None);
    assert_eq!(due_mark(&REMINDER_DAYS, EXPIRY, late, datetime!(2026-12-24 00:00 UTC)), Some(7));
}
