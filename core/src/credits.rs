//! Credit rules (`docs/api.md#credits-and-limits`): anonymous visitors get one smelt per UTC
//! day per client address, signed-in users five per week (reset Monday 00:00 UTC), users with a
//! valid own API key are unlimited. One smelt costs one credit whatever its file count.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};

/// Weekly credits of a signed-in user without an own key.
pub const WEEKLY_CREDITS: i32 = 5;
/// Daily smelts of an anonymous client address.
pub const ANONYMOUS_DAILY: i32 = 1;

/// The first Monday 00:00 UTC strictly after `now`.
pub fn next_weekly_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let days_since_monday = i64::from(now.weekday().num_days_from_monday());
    let this_monday = (now - Duration::days(days_since_monday))
        .date_naive()
        .and_time(NaiveTime::MIN)
        .and_utc();
    this_monday + Duration::days(7)
}

/// Whole days until `reset`, rounded up (the `{days}` of the `weekly_limit` message).
pub fn days_until(now: DateTime<Utc>, reset: DateTime<Utc>) -> i64 {
    let secs = (reset - now).num_seconds().max(0);
    (secs + 86_399) / 86_400
}

/// `{used}/{max} SMELTS USED THIS WEEK. RESETS IN {days} DAYS. OR ADD YOUR API KEY FOR UNLIMITED`.
pub fn weekly_limit_message(used: i32, max: i32, days: i64) -> String {
    format!("{used}/{max} SMELTS USED THIS WEEK. RESETS IN {days} DAYS. OR ADD YOUR API KEY FOR UNLIMITED")
}

/// The `daily_limit` message.
pub const DAILY_LIMIT_MESSAGE: &str =
    "DAILY LIMIT HIT. SIGN UP FOR 5/WEEK OR ADD YOUR API KEY FOR UNLIMITED";

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_week_resets_on_the_next_monday_at_midnight_utc() {
        let sunday_late = Utc.with_ymd_and_hms(2026, 11, 22, 23, 59, 59).unwrap();
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        assert_eq!(next_weekly_reset(sunday_late), monday);
        assert_eq!(
            next_weekly_reset(monday),
            Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
        );
        let wednesday = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        assert_eq!(
            next_weekly_reset(wednesday),
            Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
        );
        assert_eq!(days_until(wednesday, next_weekly_reset(wednesday)), 5);
        assert_eq!(days_until(sunday_late, monday), 1);
    }
}
