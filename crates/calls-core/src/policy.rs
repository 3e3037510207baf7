//! The service's time-window policy: how far back records exist, how wide one
//! request's `end_time` range may be, and what the service searches when no
//! `end_time` filter is given.
//!
//! Plivo's pages disagree (older: 7/30/90 days, newer: 30/90/90), so the three
//! numbers are settings; [`WindowPolicy::default`] is 7/30/90.

use chrono::{DateTime, Duration, Utc};

/// The window policy of the service, in whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPolicy {
    /// Searched when the request has no `end_time` filter (default 7).
    pub default_window_days: u32,
    /// The widest `end_time` range one request may ask for (default 30).
    pub max_range_days: u32,
    /// How far back records can be retrieved (default 90).
    pub retention_days: u32,
}

impl Default for WindowPolicy {
    fn default() -> Self {
        WindowPolicy {
            default_window_days: 7,
            max_range_days: 30,
            retention_days: 90,
        }
    }
}

impl WindowPolicy {
    /// A policy from three day counts; each must be at least 1, the default
    /// window and the max range no longer than retention.
    pub fn new(
        default_window_days: u32,
        max_range_days: u32,
        retention_days: u32,
    ) -> Result<Self, String> {
        if default_window_days == 0 || max_range_days == 0 || retention_days == 0 {
            return Err("window policy: every day count must be at least 1".into());
        }
        if retention_days > 36_500 {
            return Err("window policy: retention_days must be at most 36500".into());
        }
        if default_window_days > retention_days || max_range_days > retention_days {
            return Err(
                "window policy: default window and max range must not exceed retention".into(),
            );
        }
        Ok(WindowPolicy {
            default_window_days,
            max_range_days,
            retention_days,
        })
    }

    /// The default window as a duration.
    pub fn default_window(&self) -> Duration {
        Duration::days(i64::from(self.default_window_days))
    }

    /// The max range as a duration.
    pub fn max_range(&self) -> Duration {
        Duration::days(i64::from(self.max_range_days))
    }

    /// The retention as a duration.
    pub fn retention(&self) -> Duration {
        Duration::days(i64::from(self.retention_days))
    }

    /// The earliest instant whose records still exist at `now`.
    pub fn earliest(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(self.retention())
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn default_is_7_30_90_days() {
        let p = WindowPolicy::default();
        assert_eq!(
            (p.default_window_days, p.max_range_days, p.retention_days),
            (7, 30, 90)
        );
        assert_eq!(p.default_window(), Duration::hours(7 * 24));
        assert_eq!(p.max_range(), Duration::hours(30 * 24));
        assert_eq!(p.retention(), Duration::hours(90 * 24));
    }

    #[test]
    fn durations_follow_the_day_counts() {
        let p = WindowPolicy::new(2, 3, 5).unwrap();
        assert_eq!(p.default_window(), Duration::seconds(2 * 86_400));
        assert_eq!(p.max_range(), Duration::seconds(3 * 86_400));
        assert_eq!(p.retention(), Duration::seconds(5 * 86_400));
    }

    #[test]
    fn earliest_is_now_minus_retention() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let want = Utc.with_ymd_and_hms(2026, 8, 22, 12, 0, 0).unwrap();
        assert_eq!(WindowPolicy::default().earliest(now), want);
        // Past the start of chrono's range: the earliest instant there is.
        let p = WindowPolicy {
            retention_days: u32::MAX,
            ..WindowPolicy::default()
        };
        assert_eq!(p.earliest(now), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn new_checks_the_day_counts() {
        for (d, m, r) in [
            (1, 1, 1),
            (7, 30, 90),
            (36_500, 36_500, 36_500),
            (90, 90, 90),
        ] {
            let p = WindowPolicy::new(d, m, r).unwrap();
            assert_eq!(
                (p.default_window_days, p.max_range_days, p.retention_days),
                (d, m, r)
            );
        }
        for (d, m, r, words) in [
            (0, 30, 90, "at least 1"),
            (7, 0, 90, "at least 1"),
            (7, 30, 0, "at least 1"),
            (7, 30, 36_501, "at most 36500"),
            (91, 30, 90, "must not exceed retention"),
            (7, 91, 90, "must not exceed retention"),
        ] {
            let e = WindowPolicy::new(d, m, r).unwrap_err();
            assert!(e.contains(words), "{d}/{m}/{r}: {e}");
        }
    }
}
