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
/// A date in the past is a zero wait. Anything else is `None` (unit tests
/// below).
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
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

    /// Seeds this thread's jitter generator, so a statistical check is the
    /// same every run.
    fn seed(x: u64) {
        RNG.with(|c| c.set(x | 1));
    }

    /// The exact ceilings of the default policy: 100 ms doubling each retry
    /// up to the 5 s cap, and the cap for every retry after that.
    const DEFAULT_CEILINGS_MS: [u64; 9] = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000];

    /// The ceiling doubles up to the cap: the largest of 4,000 seeded waits
    /// of retry `n` is within 2% of `min(5 s, 100 ms × 2ⁿ)` and never above
    /// it, so a ceiling that stops growing (or grows too fast) fails here.
    #[test]
    fn backoff_ceiling_doubles_up_to_the_cap() {
        seed(0x5eed_0001);
        let p = RetryPolicy::default();
        for (retry, &ceiling_ms) in DEFAULT_CEILINGS_MS.iter().enumerate() {
            let ceiling = Duration::from_millis(ceiling_ms);
            let max = (0..4000).map(|_| p.backoff(retry as u32)).max().unwrap();
            assert!(max <= ceiling, "retry {retry}: {max:?} over {ceiling:?}");
            assert!(
                max >= ceiling.mul_f64(0.98),
                "retry {retry}: the largest of 4000 waits is {max:?}, the ceiling should be {ceiling:?}"
            );
        }
        // Far out, the cap holds (no overflow back to small waits).
        for retry in [20, 31, 32, 64, u32::MAX] {
            let max = (0..2000).map(|_| p.backoff(retry)).max().unwrap();
            assert!(
                max <= p.max_backoff && max >= p.max_backoff.mul_f64(0.95),
                "retry {retry}: {max:?}"
            );
        }
    }

    /// Full jitter: waits are uniform over `[0, ceiling]`. With a fixed seed,
    /// 8,000 waits fill each tenth of the range with 10% ± 1.5% of them and
    /// the mean is half the ceiling ± 2%; "equal" jitter (`ceiling/2 +
    /// random(ceiling/2)`) leaves the lower half empty and fails.
    #[test]
    fn backoff_jitter_is_full_and_uniform() {
        let p = RetryPolicy::default();
        for (retry, &ceiling_ms) in DEFAULT_CEILINGS_MS.iter().enumerate().take(7) {
            seed(0x5eed_0002 + retry as u64);
            let ceiling = Duration::from_millis(ceiling_ms).as_secs_f64();
            const N: usize = 8000;
            let mut deciles = [0usize; 10];
            let mut sum = 0.0;
            for _ in 0..N {
                let x = p.backoff(retry as u32).as_secs_f64() / ceiling;
                assert!((0.0..=1.0).contains(&x), "retry {retry}: {x}");
                sum += x;
                deciles[((x * 10.0) as usize).min(9)] += 1;
            }
            let mean = sum / N as f64;
            assert!(
                (mean - 0.5).abs() < 0.02,
                "retry {retry}: mean {mean} of the ceiling, not 0.5"
            );
            for (i, &n) in deciles.iter().enumerate() {
                let share = n as f64 / N as f64;
                assert!(
                    (share - 0.1).abs() < 0.015,
                    "retry {retry}: {share:.3} of the waits in tenth {i} of [0, ceiling] (deciles {deciles:?})"
                );
            }
        }
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
