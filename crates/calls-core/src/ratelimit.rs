//! The client-side request budget shared by every request of a [`Client`](crate::Client).
//!
//! Plivo allows 300 requests per 5 seconds per account, then answers 429. A
//! client keeps under its configured budget, `max` requests per `per`
//! (default 150 per 5 seconds, half the account's limit, so that other
//! programs on the account keep room). The budget is a ceiling, not a target:
//!
//! - **Counted like the service counts.** A request holds its slot while it is
//!   in flight and for `per` after its answer arrived, the latest moment the
//!   service can have counted it; so a budget equal to the service's own
//!   sliding window (300 per 5 s) never exceeds it, whatever the latency and
//!   its jitter (this costs one round trip per `per`: about 0.4% at 20 ms). A
//!   request answered 429 was not counted by the service and frees its slot.
//!   (A token bucket or GCRA cannot do this: one that lets the first 300 go
//!   at once lets 600 through in the first 5 s, and one that does not loses
//!   the first window.)
//! - **Spread.** Two sends are at least `per / (4 × budget)` apart (4.2 ms at
//!   300 per 5 s): a window's budget goes out over at least a quarter of the
//!   window, not in one burst. (Not evenly over the whole window: a sliding
//!   window accepts the most when each window's budget goes out early.)
//! - **Adaptive (AIMD).** A 429 pauses every thread until its `Retry-After`
//!   and lowers the effective budget multiplicatively: to what the service
//!   accepted from this client over the last `per`, but by at least 10% and
//!   at most half (a probe above the level last accepted that fails goes
//!   back to that level). The budget then climbs back additively while no
//!   429 comes, one step per `per`: by half the gap up to the level the
//!   service last accepted; there, after a wait of 2 windows (doubled after
//!   each failed probe, up to 8), by 1/32 of the ceiling per window; once 4
//!   windows passed without a 429, each probe that held doubles the next.
//!   Only a 429 to a request sent after the last cut cuts again (the others
//!   were sent at the old budget). Clients sharing one account each settle
//!   to a share.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest wait between probes above the level last accepted, in windows.
const MAX_PROBE_WAIT: u32 = 8;

/// Counters of a limiter: every request of one client, across its pagers
/// and threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Of those, answered 429.
    pub answered_429: u64,
    /// Time requests spent waiting on the budget, summed over threads.
    pub waited_budget: Duration,
    /// Time requests spent waiting on a 429's `Retry-After` pause, summed over threads.
    pub waited_retry_after: Duration,
    /// From the first request sent to the last answer.
    pub active: Duration,
    /// The effective budget now, requests per `per` (0: no client-side limit).
    pub budget: u32,
    /// The configured ceiling (0: no client-side limit).
    pub ceiling: u32,
}

impl RateStats {
    /// Requests per second over [`RateStats::active`] (0 before any answer).
    pub fn requests_per_second(&self) -> f64 {
        let secs = self.active.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }
}

/// Why [`RateLimiter::acquire_by`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// A pause (after a 429) lasts until then, beyond the limit given.
    Paused(Instant),
    /// The deadline came, or a slot of the budget frees only after it.
    Deadline,
}

/// Why a send has to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// A 429's pause lasts until then.
    Paused(Instant),
    /// The budget has a slot (or the spacing allows a send) then.
    Until(Instant),
    /// Every slot is held by a request in flight: until one is answered.
    Answer,
}

/// The adaptive limiter: at most `budget` requests in flight or answered in
/// the last `per`, with `budget <= max`.
#[derive(Debug)]
pub struct RateLimiter {
    ceiling: u32,
    per: Duration,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug)]
struct State {
    /// When requests not answered 429 were answered, oldest first.
    answered: VecDeque<Instant>,
    in_flight: u32,
    /// The earliest next send (the spacing).
    next_send: Option<Instant>,
    paused_until: Option<Instant>,
    /// The effective budget, 1..=ceiling.
    budget: u32,
    /// The highest budget the service accepted for a whole window.
    known: u32,
    /// Windows without a 429 at `known` before probing above it.
    probe_wait: u32,
    probe_step: u32,
    calm_windows: u32,
    /// Windows since the last 429.
    since_429: u32,
    /// When the next additive step is due.
    next_step: Option<Instant>,
    /// The last decrease: a 429 to a request sent before it is not acted on again.
    decreased_at: Option<Instant>,
    stats: RateStats,
    first_sent: Option<Instant>,
}

/// A slot taken by one HTTP request; tell the limiter how it ended
/// ([`Permit::answered`], [`Permit::rate_limited`]). Dropped without either,
/// it counts as answered when dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
    sent_at: Instant,
    done: bool,
}

impl Permit<'_> {
    /// The request was answered (anything but 429) or failed in transport.
    pub fn answered(mut self) {
        self.done = true;
        self.limiter.finish(self.sent_at, Instant::now(), None);
    }

    /// The request was answered 429: every thread pauses until `until`, and
    /// the budget drops.
    pub fn rate_limited(mut self, until: Instant) {
        self.done = true;
        self.limiter
            .finish(self.sent_at, Instant::now(), Some(until));
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.limiter.finish(self.sent_at, Instant::now(), None);
        }
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RateLimiter {
    /// A limiter of at most `max` requests per `per`; `max == 0` means no
    /// client-side limit (a 429 still pauses every thread).
    pub fn new(max: u32, per: Duration) -> Self {
        RateLimiter {
            ceiling: max,
            per,
            state: Mutex::new(State {
                answered: VecDeque::new(),
                in_flight: 0,
                next_send: None,
                paused_until: None,
                budget: max,
                known: max,
                probe_wait: 2,
                probe_step: (max / 32).max(1),
                since_429: 0,
                calm_windows: 0,
                next_step: None,
                decreased_at: None,
                stats: RateStats {
                    budget: max,
                    ceiling: max,
                    ..RateStats::default()
                },
                first_sent: None,
            }),
            changed: Condvar::new(),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> RateStats {
        let st = lock(&self.state);
        let mut s = st.stats;
        s.budget = st.budget;
        s
    }

    #[cfg(test)] // the unit tests' clock-free entry
    /// Takes a slot at `now`, or tells why and until when not.
    pub fn try_acquire(&self, now: Instant) -> Result<Instant, Wait> {
        let mut st = lock(&self.state);
        self.try_start(&mut st, now)
    }

    fn try_start(&self, st: &mut State, now: Instant) -> Result<Instant, Wait> {
        if let Some(until) = st.paused_until {
            if now < until {
                return Err(Wait::Paused(until));
            }
            st.paused_until = None;
        }
        if self.ceiling > 0 {
            self.adapt(st, now);
            self.prune(st, now);
            if let Some(t) = st.next_send
                && now < t
            {
                return Err(Wait::Until(t));
            }
            let used = st.answered.len() as u64 + u64::from(st.in_flight);
            if used >= u64::from(st.budget) {
                return Err(match st.answered.front() {
                    Some(&oldest) => Wait::Until(oldest.checked_add(self.per).unwrap_or(now)),
                    None => Wait::Answer,
                });
            }
            let spacing = self.per / st.budget.saturating_mul(4).max(1);
            st.next_send = now.checked_add(spacing);
        }
        st.in_flight = st.in_flight.saturating_add(1);
        st.stats.requests += 1;
        st.first_sent.get_or_insert(now);
        Ok(now)
    }

    #[cfg(test)] // the unit tests' clock-free entry
    /// Blocks until a slot is free and takes it; returns it with how long it
    /// waited. Rather than wait for a pause that ends after `give_up`,
    /// returns `Err` with the time the pause would end.
    pub fn acquire(&self, give_up: Option<Instant>) -> Result<(Permit<'_>, Duration), Instant> {
        let max_pause = give_up.map(|g| g.saturating_duration_since(Instant::now()));
        self.acquire_by(max_pause, None).map_err(|g| match g {
            GiveUp::Paused(t) => t,
            GiveUp::Deadline => Instant::now(),
        })
    }

    /// Blocks until a slot is free and takes it, like
    /// [`acquire`](RateLimiter::acquire), but gives up rather than wait for
    /// a pause with more than `max_pause` left when it is seen
    /// ([`GiveUp::Paused`]; every pause is at most the longest `Retry-After`
    /// honoured when it is set, so one set by another thread a moment later
    /// is still waited out), and waits for nothing past `deadline`: a pause
    /// or a budget slot that frees only after it gives up at once
    /// ([`GiveUp::Paused`] for a pause, else [`GiveUp::Deadline`]); waiting
    /// for an answer gives up at it.
    pub fn acquire_by(
        &self,
        max_pause: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Result<(Permit<'_>, Duration), GiveUp> {
        let start = Instant::now();
        let mut st = lock(&self.state);
        loop {
            let now = Instant::now();
            let wait = match self.try_start(&mut st, now) {
                Ok(sent_at) => {
                    let permit = Permit {
                        limiter: self,
                        sent_at,
                        done: false,
                    };
                    return Ok((permit, now.saturating_duration_since(start)));
                }
                Err(w) => w,
            };
            let (until, paused) = match wait {
                Wait::Paused(t) => (Some(t), true),
                Wait::Until(t) => (Some(t), false),
                Wait::Answer => (None, false),
            };
            // Only a pause gives up: a slot of the budget frees within `per`
            // of an answer, and every request is answered or times out.
            if let Some(max) = max_pause
                && paused
                && until.is_some_and(|t| t.saturating_duration_since(now) > max)
            {
                return Err(GiveUp::Paused(until.unwrap_or(now)));
            }
            if let Some(d) = deadline
                && until.map_or(now >= d, |t| t > d)
            {
                return Err(if paused {
                    GiveUp::Paused(until.unwrap_or(now))
                } else {
                    GiveUp::Deadline
                });
            }
            // A pause or a slot can change at every answer: woken by `finish`.
            let mut timeout = match until {
                Some(t) => t.saturating_duration_since(now),
                None => self.per.max(Duration::from_millis(1)),
            };
            if let Some(d) = deadline {
                timeout = timeout.min(
                    d.saturating_duration_since(now)
                        .max(Duration::from_millis(1)),
                );
            }
            st = match self.changed.wait_timeout(st, timeout) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
            let waited = now.elapsed();
            if paused {
                st.stats.waited_retry_after += waited;
            } else {
                st.stats.waited_budget += waited;
            }
        }
    }

    /// Ends a request sent at `sent_at`: answered at `now`, or answered 429
    /// with a pause until `pause` (`Some`).
    pub fn finish(&self, sent_at: Instant, now: Instant, pause: Option<Instant>) {
        let mut st = lock(&self.state);
        st.in_flight = st.in_flight.saturating_sub(1);
        if let Some(first) = st.first_sent {
            st.stats.active = st.stats.active.max(now.saturating_duration_since(first));
        }
        match pause {
            None => {
                if self.ceiling > 0 {
                    // Kept in order even when threads race to here.
                    let at = st.answered.back().map_or(now, |&b| b.max(now));
                    st.answered.push_back(at);
                }
            }
            Some(until) => {
                st.stats.answered_429 += 1;
                if st.paused_until.is_none_or(|p| p < until) {
                    st.paused_until = Some(until);
                }
                if self.ceiling > 0 && st.decreased_at.is_none_or(|d| sent_at >= d) {
                    self.decrease(&mut st, now);
                }
            }
        }
        drop(st);
        self.changed.notify_all();
    }

    #[cfg(test)] // the unit tests' pause without a 429
    /// Holds every sender until `until`, without a 429 to account for.
    pub fn pause_until(&self, until: Instant) {
        let mut st = lock(&self.state);
        if st.paused_until.is_none_or(|p| p < until) {
            st.paused_until = Some(until);
        }
        drop(st);
        self.changed.notify_all();
    }

    fn prune(&self, st: &mut State, now: Instant) {
        while let Some(&t) = st.answered.front() {
            if now.saturating_duration_since(t) >= self.per {
                st.answered.pop_front();
            } else {
                break;
            }
        }
    }

    /// The multiplicative decrease, on a 429 to a request sent at the current budget.
    fn decrease(&self, st: &mut State, now: Instant) {
        self.prune(st, now);
        let observed = u32::try_from(st.answered.len()).unwrap_or(u32::MAX);
        let old = st.budget;
        if old > st.known {
            // A probe above the level last accepted failed: back to that
            // level, and a longer wait before the next probe.
            st.budget = st.known;
            st.probe_wait = st.probe_wait.saturating_mul(2).min(MAX_PROBE_WAIT);
        } else {
            let cut = u32::try_from(u64::from(old) * 9 / 10).unwrap_or(old);
            st.budget = observed.min(cut).max(old.div_ceil(2)).max(1);
            st.known = st.budget.max(observed.min(old));
            st.probe_wait = 2;
        }
        st.probe_step = self.base_step();
        st.since_429 = 0;
        st.calm_windows = 0;
        st.decreased_at = Some(now);
        let resume = st.paused_until.map_or(now, |p| p.max(now));
        st.next_step = resume.checked_add(self.per);
    }

    /// The first probe above the level last accepted: 1/32 of the ceiling.
    fn base_step(&self) -> u32 {
        (self.ceiling / 32).max(1)
    }

    /// The additive increase: one step per `per` without a 429.
    fn adapt(&self, st: &mut State, now: Instant) {
        let Some(mut next) = st.next_step else {
            st.next_step = now.checked_add(self.per);
            return;
        };
        let mut steps = 0;
        while now >= next && steps < 64 {
            steps += 1;
            st.calm_windows = st.calm_windows.saturating_add(1);
            st.since_429 = st.since_429.saturating_add(1);
            if st.budget > st.known {
                // The probe held for a whole window: the service accepts it.
                // Once no 429 came for 4 windows (the account looks free),
                // the probes double.
                st.known = st.budget;
                if st.since_429 >= 4 {
                    st.probe_step = st.probe_step.saturating_mul(2);
                }
                st.probe_wait = 1;
            }
            if st.budget < st.known {
                let gap = st.known - st.budget;
                st.budget += gap.div_ceil(2).max(1);
            } else if st.budget < self.ceiling && st.calm_windows >= st.probe_wait {
                st.budget = st.budget.saturating_add(st.probe_step).min(self.ceiling);
                st.calm_windows = 0;
            }
            match next.checked_add(self.per) {
                Some(n) => next = n,
                None => break,
            }
        }
        if now >= next {
            next = now.checked_add(self.per).unwrap_or(next);
        }
        st.next_step = Some(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn budget(l: &RateLimiter) -> u32 {
        l.stats().budget
    }

    #[test]
    fn a_slot_is_held_in_flight_and_for_per_after_the_answer() {
        // Spacing is per / (4 × 3) = 417 ms: sends 1 s apart are not held by it.
        let l = RateLimiter::new(3, 5 * S);
        let t0 = Instant::now();
        assert!(l.try_acquire(t0).is_ok());
        assert!(l.try_acquire(t0 + S).is_ok());
        assert!(l.try_acquire(t0 + 2 * S).is_ok());
        // All three in flight: nothing frees until an answer.
        assert_eq!(l.try_acquire(t0 + 3 * S), Err(Wait::Answer));
        l.finish(t0, t0 + 4 * S, None);
        // Answered at t0+4: its slot frees at t0+9, not at t0+5 (send + per).
        assert_eq!(l.try_acquire(t0 + 5 * S), Err(Wait::Until(t0 + 9 * S)));
        assert!(l.try_acquire(t0 + 9 * S).is_ok());
    }

    #[test]
    fn sends_are_spread() {
        let l = RateLimiter::new(10, 5 * S);
        let t0 = Instant::now();
        assert!(l.try_acquire(t0).is_ok());
        // 5 s / (4 × 10) = 125 ms.
        let next = t0 + Duration::from_millis(125);
        assert_eq!(l.try_acquire(t0), Err(Wait::Until(next)));
        assert!(l.try_acquire(next).is_ok());
    }

    #[test]
    fn a_429_frees_its_slot_and_pauses_everyone() {
        let l = RateLimiter::new(4, 5 * S);
        let t0 = Instant::now();
        let a = l.try_acquire(t0).unwrap();
        let _b = l.try_acquire(t0 + 3 * S).unwrap();
        l.finish(a, t0 + 3 * S, Some(t0 + 4 * S));
        assert_eq!(l.try_acquire(t0 + 3 * S), Err(Wait::Paused(t0 + 4 * S)));
        // A shorter pause does not shorten a longer one.
        l.pause_until(t0 + 3 * S);
        assert_eq!(l.try_acquire(t0 + 3 * S), Err(Wait::Paused(t0 + 4 * S)));
        // The 429 was not counted by the service: its slot is free at once
        // (the budget, cut to 2, holds b in flight and this one).
        assert!(l.try_acquire(t0 + 4 * S).is_ok());
        let s = l.stats();
        assert_eq!((s.requests, s.answered_429, s.budget), (3, 1, 2));
    }

    /// Sends one request from `t` on, as soon as allowed; returns when.
    fn send(l: &RateLimiter, mut t: Instant) -> Instant {
        loop {
            match l.try_acquire(t) {
                Ok(s) => return s,
                Err(Wait::Until(u)) | Err(Wait::Paused(u)) => t = u,
                Err(Wait::Answer) => panic!("nothing in flight"),
            }
        }
    }

    /// Sends `n` requests answered at once, from `t`; returns the last answer's time.
    fn fill(l: &RateLimiter, mut t: Instant, n: u32) -> Instant {
        for _ in 0..n {
            t = send(l, t);
            l.finish(t, t, None);
        }
        t
    }

    #[test]
    fn a_429_cuts_the_budget_to_what_was_accepted() {
        // Budget 600 where the service took 300: 300.
        let l = RateLimiter::new(600, 5 * S);
        let t0 = Instant::now();
        let t = fill(&l, t0, 300);
        let sent = send(&l, t);
        l.finish(sent, sent, Some(sent + S));
        assert_eq!(budget(&l), 300);
        // In-flight requests sent before the cut and answered 429 after it
        // do not cut again.
        l.finish(t0, sent, Some(sent + S));
        assert_eq!(budget(&l), 300);
    }

    #[test]
    fn a_cut_is_at_least_ten_percent_and_at_most_half() {
        let t0 = Instant::now();
        // The service took all 100 of a 100 budget: 90.
        let l = RateLimiter::new(100, 5 * S);
        let t = fill(&l, t0, 100);
        l.finish(t, t, Some(t));
        assert_eq!(budget(&l), 90);
        // It took 3 of a budget of 100 (a client with little to send): 50.
        let l = RateLimiter::new(100, 5 * S);
        let t = fill(&l, t0, 3);
        l.finish(t, t, Some(t));
        assert_eq!(budget(&l), 50);
    }

    #[test]
    fn the_budget_climbs_back_to_the_level_accepted_then_probes_rarely() {
        let l = RateLimiter::new(100, 5 * S);
        let t0 = Instant::now();
        let t = fill(&l, t0, 100);
        l.finish(t, t, Some(t));
        assert_eq!(budget(&l), 90);
        // Half the gap to 100 per window: 95, 98, 99, 100.
        let mut seen = Vec::new();
        for w in 1..=4 {
            let _ = l.try_acquire(t + 5 * S * w);
            seen.push(budget(&l));
        }
        assert_eq!(seen, [95, 98, 99, 100]);

        // Ceiling 200, service 100: after the cut, no probe for 2 windows,
        // then +6 (1/32 of the ceiling); its failure goes back to 100 and the
        // next probe waits 4 windows.
        let l = RateLimiter::new(200, 5 * S);
        let t = fill(&l, t0, 100);
        l.finish(t, t, Some(t));
        assert_eq!(budget(&l), 100);
        let mut at = t;
        let mut seen = Vec::new();
        for _ in 0..2 {
            at += 5 * S;
            let _ = l.try_acquire(at);
            seen.push(budget(&l));
        }
        assert_eq!(seen, [100, 106]);
        l.finish(at, at, Some(at));
        assert_eq!(budget(&l), 100);
        let mut seen = Vec::new();
        for _ in 0..4 {
            at += 5 * S;
            let _ = l.try_acquire(at);
            seen.push(budget(&l));
        }
        assert_eq!(seen, [100, 100, 100, 106]);
    }

    #[test]
    fn a_probe_that_holds_grows_the_next_one() {
        let l = RateLimiter::new(1000, 5 * S);
        let t0 = Instant::now();
        let t = fill(&l, t0, 10);
        l.finish(t, t, Some(t));
        assert_eq!(budget(&l), 500);
        let mut at = t;
        let mut seen = Vec::new();
        for _ in 0..6 {
            at += 5 * S;
            let _ = l.try_acquire(at);
            seen.push(budget(&l));
        }
        // Wait 2 windows, +31; it held: +31 again; from 4 windows without
        // a 429 on, each held probe doubles the next: +62, +124, +248.
        assert_eq!(seen, [500, 531, 562, 624, 748, 996]);
        for _ in 0..2 {
            at += 5 * S;
            let _ = l.try_acquire(at);
        }
        assert_eq!(budget(&l), 1000, "never above the ceiling");
    }

    #[test]
    fn zero_means_unlimited_but_a_429_still_pauses() {
        let l = RateLimiter::new(0, 5 * S);
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert!(l.try_acquire(t0).is_ok());
        }
        l.finish(t0, t0, Some(t0 + S));
        assert_eq!(l.try_acquire(t0), Err(Wait::Paused(t0 + S)));
        assert!(l.try_acquire(t0 + S).is_ok());
        // Still no client-side budget to cut.
        assert_eq!(budget(&l), 0);
    }

    #[test]
    fn acquire_gives_up_rather_than_wait_past_the_deadline() {
        let l = RateLimiter::new(0, 5 * S);
        let now = Instant::now();
        l.pause_until(now + 3600 * S);
        assert_eq!(l.acquire(Some(now)).map(|_| ()), Err(now + 3600 * S));
        // A pause ending before the deadline is waited out.
        let l = RateLimiter::new(0, 5 * S);
        l.pause_until(Instant::now());
        let (p, _) = l.acquire(Some(Instant::now() + 3600 * S)).unwrap();
        p.answered();
        assert_eq!(l.stats().requests, 1);
    }

    #[test]
    fn under_a_deadline_no_budget_wait_outlasts_it() {
        // A budget of 1 per hour, used: the next slot frees in an hour.
        let l = RateLimiter::new(1, 3600 * S);
        let (p, _) = l.acquire_by(None, None).unwrap();
        p.answered();
        let t0 = Instant::now();
        assert_eq!(
            l.acquire_by(None, Some(t0 + Duration::from_millis(50)))
                .map(|_| ()),
            Err(GiveUp::Deadline)
        );
        assert!(t0.elapsed() < 10 * S, "gave up at once, not after the slot");
        // Waiting for an answer (the one slot held by a request in flight)
        // ends at the deadline.
        let l = RateLimiter::new(1, Duration::from_millis(1));
        let (held, _) = l.acquire_by(None, None).unwrap();
        let deadline = Instant::now() + Duration::from_millis(20);
        assert_eq!(
            l.acquire_by(None, Some(deadline)).map(|_| ()),
            Err(GiveUp::Deadline)
        );
        assert!(Instant::now() >= deadline);
        held.answered();
        // A pause beyond the deadline is told as a pause.
        let l = RateLimiter::new(0, 5 * S);
        let now = Instant::now();
        l.pause_until(now + 3600 * S);
        assert_eq!(
            l.acquire_by(None, Some(now + S)).map(|_| ()),
            Err(GiveUp::Paused(now + 3600 * S))
        );
    }

    #[test]
    fn a_pause_within_the_longest_retry_after_is_waited_out_whoever_set_it() {
        // Another thread's 429 pauses the account for the longest wait
        // honoured, a moment after this thread began waiting: waited out.
        let max = Duration::from_millis(30);
        let l = RateLimiter::new(0, 5 * S);
        l.pause_until(Instant::now() + max);
        let (p, _) = l.acquire_by(Some(max), None).unwrap();
        p.answered();
        // One longer than that is not.
        l.pause_until(Instant::now() + 100 * max);
        assert!(matches!(
            l.acquire_by(Some(max), None).map(|_| ()),
            Err(GiveUp::Paused(_))
        ));
    }

    #[test]
    fn requests_per_second_is_requests_over_the_active_time() {
        let s = RateStats {
            requests: 10,
            active: 4 * S,
            ..RateStats::default()
        };
        assert_eq!(s.requests_per_second(), 2.5);
        // Sent but not answered yet: no active time, no rate.
        let s = RateStats {
            requests: 3,
            ..RateStats::default()
        };
        assert_eq!(s.requests_per_second(), 0.0);
    }

    #[test]
    fn a_permit_answered_429_pauses_everyone_and_counts_it() {
        let l = RateLimiter::new(10, 5 * S);
        let (p, _) = l.acquire_by(None, None).unwrap();
        let until = Instant::now() + 3600 * S;
        p.rate_limited(until);
        assert_eq!(l.try_acquire(Instant::now()), Err(Wait::Paused(until)));
        let s = l.stats();
        assert_eq!((s.requests, s.answered_429), (1, 1));
    }

    #[test]
    fn a_dropped_permit_counts_as_answered_once() {
        // One slot per hour: a permit dropped unanswered is answered (its
        // slot is held for `per`), not still in flight.
        // (Asked past the spacing of 3600 s / 4 = 900 s, the only wait left
        // is the slot's: until `per` after the answer, not `Answer`.)
        let l = RateLimiter::new(1, 3600 * S);
        let (p, _) = l.acquire_by(None, None).unwrap();
        drop(p);
        let later = Instant::now() + 1000 * S;
        assert!(matches!(l.try_acquire(later), Err(Wait::Until(_))));
        // Two slots: one answered permit holds one of them, not two (its
        // drop after `answered` does not answer again). Sends are spaced by
        // 3600 s / (4 × 2) = 450 s.
        let l = RateLimiter::new(2, 3600 * S);
        let (p, _) = l.acquire_by(None, None).unwrap();
        p.answered();
        assert!(l.try_acquire(Instant::now() + 450 * S).is_ok());
    }

    #[test]
    fn a_shorter_429_pause_does_not_shorten_a_longer_one() {
        let l = RateLimiter::new(10, 5 * S);
        let t0 = Instant::now();
        let a = l.try_acquire(t0).unwrap();
        let b = l.try_acquire(t0 + S).unwrap();
        let c = l.try_acquire(t0 + 2 * S).unwrap();
        l.finish(a, t0 + 2 * S, Some(t0 + 40 * S));
        l.finish(b, t0 + 2 * S, Some(t0 + 30 * S));
        assert_eq!(l.try_acquire(t0 + 2 * S), Err(Wait::Paused(t0 + 40 * S)));
        // A longer one extends it.
        l.finish(c, t0 + 2 * S, Some(t0 + 50 * S));
        assert_eq!(l.try_acquire(t0 + 2 * S), Err(Wait::Paused(t0 + 50 * S)));
    }

    #[test]
    fn a_pause_ending_at_the_deadline_is_waited_out() {
        // Nothing frees after the deadline: the pause ends at it.
        let l = RateLimiter::new(0, 5 * S);
        let end = Instant::now() + Duration::from_millis(30);
        l.pause_until(end);
        let (p, _) = l.acquire_by(None, Some(end)).unwrap();
        p.answered();
        assert!(Instant::now() >= end);
    }

    #[test]
    fn a_longer_pause_extends_a_shorter_one() {
        let l = RateLimiter::new(10, 5 * S);
        let t0 = Instant::now();
        l.pause_until(t0 + 3 * S);
        l.pause_until(t0 + 4 * S);
        assert_eq!(l.try_acquire(t0), Err(Wait::Paused(t0 + 4 * S)));
    }

    #[test]
    fn the_budget_steps_once_per_window_from_the_cut() {
        // Cut to 90 at t: the next step is due at t + 5 s, whenever the
        // limiter is asked in between.
        let l = RateLimiter::new(100, 5 * S);
        let t = fill(&l, Instant::now(), 100);
        l.finish(t, t, Some(t));
        assert_eq!(budget(&l), 90);
        let _ = l.try_acquire(t + S);
        assert_eq!(budget(&l), 90);
        let _ = l.try_acquire(t + Duration::from_millis(5500));
        assert_eq!(budget(&l), 95);
    }
}
