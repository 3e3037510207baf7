//! A client-side limiter shared by every request of a [`Client`](crate::Client).
//!
//! Plivo allows 300 requests per 5 seconds per account, then answers 429. The
//! limiter keeps a client under its own budget (default 150 per 5 seconds, half
//! the account's limit, so that other programs on the account keep room), and a
//! 429 pauses every thread of the client until its `Retry-After` has passed.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A sliding-window limiter: at most `max` sends in any `per` interval.
#[derive(Debug)]
pub struct RateLimiter {
    max: usize,
    per: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

impl RateLimiter {
    /// A limiter of `max` requests per `per`; `max == 0` means no limit.
    pub fn new(max: u32, per: Duration) -> Self {
        RateLimiter {
            max: max as usize,
            per,
            state: Mutex::new(State::default()),
        }
    }

    /// Takes a slot at `now`, or tells when to try again.
    pub fn try_acquire(&self, now: Instant) -> Result<(), Instant> {
        let mut st = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(until) = st.paused_until {
            if now < until {
                return Err(until);
            }
            st.paused_until = None;
        }
        if self.max == 0 {
            return Ok(());
        }
        while let Some(&oldest) = st.sent.front() {
            if now.saturating_duration_since(oldest) >= self.per {
                st.sent.pop_front();
            } else {
                break;
            }
        }
        if st.sent.len() < self.max {
            st.sent.push_back(now);
            Ok(())
        } else {
            // The front is the oldest send still inside the window.
            Err(st
                .sent
                .front()
                .and_then(|&oldest| oldest.checked_add(self.per))
                .unwrap_or(now))
        }
    }

    /// Blocks until a slot is free, and takes it. Returns how long it waited.
    pub fn acquire(&self) -> Duration {
        let start = Instant::now();
        loop {
            let now = Instant::now();
            match self.try_acquire(now) {
                Ok(()) => return now - start,
                Err(at) => std::thread::sleep(at.saturating_duration_since(now)),
            }
        }
    }

    /// Holds every sender until `until` (after a 429's `Retry-After`).
    pub fn pause_until(&self, until: Instant) {
        let mut st = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if st.paused_until.is_none_or(|p| p < until) {
            st.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_max_per_window_then_says_when() {
        let l = RateLimiter::new(3, Duration::from_secs(5));
        let t0 = Instant::now();
        assert!(l.try_acquire(t0).is_ok());
        assert!(l.try_acquire(t0 + Duration::from_secs(1)).is_ok());
        assert!(l.try_acquire(t0 + Duration::from_secs(2)).is_ok());
        assert_eq!(
            l.try_acquire(t0 + Duration::from_secs(3)),
            Err(t0 + Duration::from_secs(5))
        );
        // The first send leaves the window at t0+5.
        assert!(l.try_acquire(t0 + Duration::from_secs(5)).is_ok());
        assert_eq!(
            l.try_acquire(t0 + Duration::from_secs(5)),
            Err(t0 + Duration::from_secs(6))
        );
    }

    #[test]
    fn pause_holds_everyone() {
        let l = RateLimiter::new(100, Duration::from_secs(5));
        let t0 = Instant::now();
        l.pause_until(t0 + Duration::from_secs(2));
        assert_eq!(
            l.try_acquire(t0 + Duration::from_secs(1)),
            Err(t0 + Duration::from_secs(2))
        );
        // A shorter pause does not shorten a longer one.
        l.pause_until(t0 + Duration::from_secs(1));
        assert_eq!(
            l.try_acquire(t0 + Duration::from_secs(1)),
            Err(t0 + Duration::from_secs(2))
        );
        assert!(l.try_acquire(t0 + Duration::from_secs(2)).is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let l = RateLimiter::new(0, Duration::from_secs(5));
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert!(l.try_acquire(t0).is_ok());
        }
    }
}
