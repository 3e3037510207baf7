//! When and how long to wait before sending a request again.
//!
//! Retried: 429 (after its `Retry-After`, capped), 500/502/503/504, a refused,
//! reset or dropped connection, a timeout, and a 200 whose body could not be
//! decoded (a truncated or corrupted transfer). Never retried: 400, 401, 403,
//! 404 and any other status, bad settings, and a body over the size cap.
//!
//! Backoff is exponential with full jitter: the n-th retry waits a uniformly
//! random time in `[0, min(max_backoff, base × 2ⁿ)]`, so that many clients
//! hit by the same outage do not come back in lock-step.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

/// Retry settings of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 4: at most 5 attempts).
    pub max_retries: u32,
    /// The first backoff ceiling (default 100 ms).
    pub base: Duration,
    /// The largest backoff ceiling (default 5 s).
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; a longer one is cut to this (default 60 s).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first retry), with full jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .base
            .checked_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX))
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(next_random() % nanos.saturating_add(1))
    }

    /// The wait before a retry of a 429: its `Retry-After` (capped), else the backoff.
    pub fn wait_for_429(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(d) => d.min(self.max_retry_after),
            None => self.backoff(retry),
        }
    }
}

/// Parses a `Retry-After` header: delta-seconds or an HTTP-date.
///
/// A date in the past is a zero wait. Anything else is `None`.
///
/// ```
/// use std::time::Duration;
/// use calls_core::retry::parse_retry_after;
/// assert_eq!(parse_retry_after("3", chrono::Utc::now()), Some(Duration::from_secs(3)));
/// assert_eq!(parse_retry_after("soon", chrono::Utc::now()), None);
/// ```
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            v.parse::<u64>()
                .map(Duration::from_secs)
                .unwrap_or(Duration::MAX),
        );
    }
    let when = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A per-thread xorshift generator seeded from the clock and the thread; jitter needs no more.
fn next_random() -> u64 {
    RNG.with(|cell| {
        let mut x = cell.get();
        if x == 0 {
            let t = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x9E37_79B9_7F4A_7C15);
            let addr = cell as *const Cell<u64> as u64;
            x = (t ^ addr.rotate_left(32)) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cell.set(x);
        x
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_the_exponential_ceiling() {
        let p = RetryPolicy::default();
        for retry in 0..40 {
            let ceiling = (p.base * 2u32.saturating_pow(retry.min(20))).min(p.max_backoff);
            for _ in 0..50 {
                assert!(p.backoff(retry) <= ceiling, "retry {retry}");
            }
        }
    }

    #[test]
    fn backoff_is_jittered() {
        let p = RetryPolicy::default();
        let waits: std::collections::HashSet<Duration> = (0..20).map(|_| p.backoff(3)).collect();
        assert!(waits.len() > 1, "full jitter gives different waits");
    }

    #[test]
    fn zero_base_means_no_wait() {
        let p = RetryPolicy {
            base: Duration::ZERO,
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(5), Duration::ZERO);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 10:00:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn retry_after_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.wait_for_429(0, Some(Duration::from_secs(3600))),
            p.max_retry_after
        );
        assert_eq!(
            p.wait_for_429(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert!(p.wait_for_429(0, None) <= p.base);
    }
}
