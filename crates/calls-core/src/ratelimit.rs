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
//!   at most half (above the level the service last accepted, it goes back
//!   to that level instead). The budget then climbs back while no 429 comes:
//!   by half the gap per `per` up to that level; and from a window after the
//!   cut on (two after a failed probe, four after two in a row, and at least
//!   four times the pause the failed probe brought) it probes: when the
//!   whole budget is out and the next slot frees at least `per / 10` later
//!   (or whatever the wait, once a window more has passed), one request
//!   goes beyond it. A probe accepted (answered with what it asked for)
//!   raises the budget by 1, then by twice as much after each probe that
//!   held in a row, so an account another client just left is taken up
//!   within a second or two; a probe answered 429 costs one refused request
//!   and a pause, mostly at a moment the client would have waited anyway,
//!   and leaves the budget as it was. Only a 429 to a request sent after the
//!   last cut cuts again (the others were sent at the old budget). Clients
//!   sharing one account each settle to a share.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest wait after failed probes before the next, in windows, unless
/// a failed probe's pause asks for longer (four times the pause).
const MAX_PROBE_WAIT: u32 = 4;

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
    /// The highest budget the service last accepted (a whole window's worth,
    /// or one more than the budget for a probe that held).
    known: u32,
    /// Calm windows to wait before probing.
    probe_wait: u32,
    /// What the next probe that holds adds to the budget.
    probe_step: u32,
    /// Windows without a 429 since the last one (or the last failed probe).
    calm_windows: u32,
    /// A probe is in flight.
    probing: bool,
    /// When the next additive step is due.
    next_step: Option<Instant>,
    /// The last decrease: a 429 to a request sent before it is not acted on again.
    decreased_at: Option<Instant>,
    stats: RateStats,
    first_sent: Option<Instant>,
}

/// A slot taken by one HTTP request; tell the limiter how it ended
/// ([`Permit::accepted`], [`Permit::answered`], [`Permit::rate_limited`]).
/// Dropped without any, it counts as answered when dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
    sent: Sent,
    done: bool,
}

/// One request as the limiter let it go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// When.
    pub at: Instant,
    /// A probe: one request beyond the budget.
    pub probe: bool,
}

/// How a request ended, for [`RateLimiter::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with what was asked for: the service accepted it.
    Accepted,
    /// Answered otherwise (an error status but 429) or failed in transport.
    Answered,
    /// Answered 429: every sender pauses until then.
    RateLimited(Instant),
}

impl Permit<'_> {
    /// The request was answered with what it asked for.
    pub fn accepted(mut self) {
        self.end(Outcome::Accepted);
    }

    /// The request was answered otherwise (anything but 429) or failed in transport.
    pub fn answered(mut self) {
        self.end(Outcome::Answered);
    }

    /// The request was answered 429: every thread pauses until `until`, and
    /// the budget drops.
    pub fn rate_limited(mut self, until: Instant) {
        self.end(Outcome::RateLimited(until));
    }

    /// Tells the limiter once; later calls (the drop after one of the
    /// above) do nothing.
    fn end(&mut self, outcome: Outcome) {
        if !self.done {
            self.done = true;
            self.limiter.finish(self.sent, Instant::now(), outcome);
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.end(Outcome::Answered);
    }
}

/// The wait before probing after a probe failed: twice the last, up to
/// [`MAX_PROBE_WAIT`].
fn longer_wait(wait: u32) -> u32 {
    wait.saturating_mul(2).min(MAX_PROBE_WAIT)
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
                probe_wait: 1,
                probe_step: 1,
                calm_windows: 0,
                probing: false,
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
    pub fn try_acquire(&self, now: Instant) -> Result<Sent, Wait> {
        let mut st = lock(&self.state);
        self.try_start(&mut st, now)
    }

    fn try_start(&self, st: &mut State, now: Instant) -> Result<Sent, Wait> {
        if let Some(until) = st.paused_until {
            if now < until {
                return Err(Wait::Paused(until));
            }
            st.paused_until = None;
        }
        let mut probe = false;
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
                let free_at = st.answered.front().and_then(|&o| o.checked_add(self.per));
                // The whole budget is out and the next slot frees a while
                // from now: one request beyond it finds out whether the
                // service would take more, at a moment the pause of a 429
                // costs little (or whatever the wait, once a window passed
                // since the probe became due: so right after a probe that
                // held, the next, which makes a chain of them).
                let due = self.probe_due(st);
                let idle =
                    free_at.is_some_and(|t| t.saturating_duration_since(now) >= self.per / 10);
                let overdue = st.calm_windows > st.probe_wait;
                probe = due && (idle || overdue) && used == u64::from(st.budget);
                if !probe {
                    return Err(match free_at {
                        // Woken when the next window's step may make a probe due.
                        Some(t) => Wait::Until(match st.next_step {
                            Some(n) if !due && n > now && n < t && st.budget < self.ceiling => n,
                            _ => t,
                        }),
                        None => Wait::Answer,
                    });
                }
                st.probing = true;
            }
            let spacing = self.per / st.budget.saturating_mul(4).max(1);
            st.next_send = now.checked_add(spacing);
        }
        st.in_flight = st.in_flight.saturating_add(1);
        st.stats.requests += 1;
        st.first_sent.get_or_insert(now);
        Ok(Sent { at: now, probe })
    }

    /// A probe may go: the budget is below the ceiling, no probe is in
    /// flight, and enough windows passed calm.
    fn probe_due(&self, st: &State) -> bool {
        !st.probing && st.budget < self.ceiling && st.calm_windows >= st.probe_wait
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
    /// or a budget slot that frees only after it gives up at once, or at the
    /// window's step before the deadline when a probe may become due then
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
                Ok(sent) => {
                    let permit = Permit {
                        limiter: self,
                        sent,
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

    /// Ends a request `sent`, answered at `now` as `outcome` says.
    pub fn finish(&self, sent: Sent, now: Instant, outcome: Outcome) {
        let mut st = lock(&self.state);
        st.in_flight = st.in_flight.saturating_sub(1);
        if let Some(first) = st.first_sent {
            st.stats.active = st.stats.active.max(now.saturating_duration_since(first));
        }
        if sent.probe {
            st.probing = false;
        }
        // Sent at the budget of now, not before the last cut.
        let current = st.decreased_at.is_none_or(|d| sent.at >= d);
        match outcome {
            Outcome::Accepted | Outcome::Answered => {
                if self.ceiling > 0 {
                    // Kept in order even when threads race to here.
                    let at = st.answered.back().map_or(now, |&b| b.max(now));
                    st.answered.push_back(at);
                    if sent.probe && current && outcome == Outcome::Accepted {
                        // The service took the whole budget and one more.
                        // (Capped: the budget may have climbed to the ceiling
                        // while the probe was in flight.)
                        st.known = st.known.max(st.budget.saturating_add(1)).min(self.ceiling);
                        st.budget = st.budget.saturating_add(st.probe_step).min(self.ceiling);
                        st.probe_step = st.probe_step.saturating_mul(2);
                        st.probe_wait = 1;
                    }
                }
            }
            Outcome::RateLimited(until) => {
                st.stats.answered_429 += 1;
                if st.paused_until.is_none_or(|p| p < until) {
                    st.paused_until = Some(until);
                }
                if self.ceiling > 0 && current {
                    if sent.probe {
                        // Beyond the budget: the budget stands, the next
                        // probe waits longer, and at least 4 times the
                        // pause it brought (a pause longer than the window
                        // costs more than the window's sends).
                        let pause = until.saturating_duration_since(now).as_nanos() * 4;
                        let windows = pause.div_ceil(self.per.as_nanos().max(1));
                        st.probe_wait = longer_wait(st.probe_wait)
                            .max(u32::try_from(windows).unwrap_or(u32::MAX));
                        self.calm_from_now(&mut st, now);
                    } else {
                        self.decrease(&mut st, now);
                    }
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
            // Probes that held took the budget past the level the service
            // last accepted: back to that level, and a longer wait before
            // the next probe.
            st.budget = st.known;
            st.probe_wait = longer_wait(st.probe_wait);
        } else {
            let cut = u32::try_from(u64::from(old) * 9 / 10).unwrap_or(old);
            st.budget = observed.min(cut).max(old.div_ceil(2)).max(1);
            st.known = st.budget.max(observed.min(old));
            st.probe_wait = 1;
        }
        st.decreased_at = Some(now);
        self.calm_from_now(st, now);
    }

    /// After a 429: calm windows count again from the end of its pause, and
    /// the next probe that holds adds one.
    fn calm_from_now(&self, st: &mut State, now: Instant) {
        st.probe_step = 1;
        st.calm_windows = 0;
        let resume = st.paused_until.map_or(now, |p| p.max(now));
        st.next_step = resume.checked_add(self.per);
    }

    /// Back up to the level last accepted: half the gap per `per` without a 429.
    fn adapt(&self, st: &mut State, now: Instant) {
        let Some(mut next) = st.next_step else {
            st.next_step = now.checked_add(self.per);
            return;
        };
        let mut steps = 0;
        while now >= next && steps < 64 {
            steps += 1;
            st.calm_windows = st.calm_windows.saturating_add(1);
            if st.budget < st.known {
                let gap = st.known - st.budget;
                st.budget += gap.div_ceil(2).max(1);
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

    /// Ends a request (not a probe) sent at `at`: answered at `now` with
    /// what it asked for, or 429 with a pause until `pause`.
    fn done(l: &RateLimiter, at: Instant, now: Instant, pause: Option<Instant>) {
        let sent = Sent { at, probe: false };
        l.finish(
            sent,
            now,
            pause.map_or(Outcome::Accepted, Outcome::RateLimited),
        );
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
        done(&l, t0, t0 + 4 * S, None);
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
        let a = l.try_acquire(t0).unwrap().at;
        let _b = l.try_acquire(t0 + 3 * S).unwrap();
        done(&l, a, t0 + 3 * S, Some(t0 + 4 * S));
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
    fn send(l: &RateLimiter, t: Instant) -> Instant {
        next(l, t).at
    }

    /// Sends one request from `t` on, as soon as allowed.
    fn next(l: &RateLimiter, mut t: Instant) -> Sent {
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
            let s = next(l, t);
            l.finish(s, s.at, Outcome::Accepted);
            t = s.at;
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
        done(&l, sent, sent, Some(sent + S));
        assert_eq!(budget(&l), 300);
        // In-flight requests sent before the cut and answered 429 after it
        // do not cut again.
        done(&l, t0, sent, Some(sent + S));
        assert_eq!(budget(&l), 300);
    }

    #[test]
    fn a_cut_is_at_least_ten_percent_and_at_most_half() {
        let t0 = Instant::now();
        // The service took all 100 of a 100 budget: 90.
        let l = RateLimiter::new(100, 5 * S);
        let t = fill(&l, t0, 100);
        done(&l, t, t, Some(t));
        assert_eq!(budget(&l), 90);
        // It took 3 of a budget of 100 (a client with little to send): 50.
        let l = RateLimiter::new(100, 5 * S);
        let t = fill(&l, t0, 3);
        done(&l, t, t, Some(t));
        assert_eq!(budget(&l), 50);
    }

    #[test]
    fn the_budget_climbs_back_to_the_level_accepted() {
        let l = RateLimiter::new(100, 5 * S);
        let t0 = Instant::now();
        let t = fill(&l, t0, 100);
        done(&l, t, t, Some(t));
        assert_eq!(budget(&l), 90);
        // Half the gap to 100 per window: 95, 98, 99, 100.
        let mut seen = Vec::new();
        for w in 1..=4 {
            let _ = l.try_acquire(t + 5 * S * w);
            seen.push(budget(&l));
        }
        assert_eq!(seen, [95, 98, 99, 100]);
    }

    /// Ceiling 200, a service that took 100: the budget is cut to 100 at the
    /// returned time, and the next probe may go a window later.
    fn cut_to_100() -> (RateLimiter, Instant) {
        let l = RateLimiter::new(200, 5 * S);
        let t = fill(&l, Instant::now(), 100);
        done(&l, t, t, Some(t));
        assert_eq!(budget(&l), 100);
        (l, t)
    }

    /// Sends the whole budget from `t` (answered at once), then asks for one
    /// more request as soon as the spacing allows.
    fn starve(l: &RateLimiter, t: Instant) -> Result<Sent, Wait> {
        let t = fill(l, t, budget(l));
        let spacing = 5 * S / (4 * budget(l));
        l.try_acquire(t + spacing)
    }

    #[test]
    fn a_probe_goes_beyond_a_used_budget_when_due() {
        let (l, t) = cut_to_100();
        // Within the window of the cut, the budget used: no probe, the wait
        // is for a slot.
        let early = l.try_acquire(t + S);
        assert!(matches!(early, Err(Wait::Until(_))), "{early:?}");
        // A window later: the whole budget out, the next slot seconds away,
        // one request beyond it.
        let p = starve(&l, t + 6 * S).expect("a probe");
        assert!(p.probe);
        // One at a time.
        assert!(matches!(l.try_acquire(p.at + S / 100), Err(Wait::Until(_))));
        // It held: one more, then twice as much after each probe that held,
        // never above the ceiling.
        let mut seen = Vec::new();
        let mut probe = Some(p);
        while let Some(p) = probe {
            l.finish(p, p.at, Outcome::Accepted);
            seen.push(budget(&l));
            assert!(seen.len() <= 8, "no end to the probes: {seen:?}");
            probe = to_next_probe(&l, p.at);
        }
        assert_eq!(seen, [101, 103, 107, 115, 131, 163, 200]);
    }

    /// Sends what the budget has room for from `at` (answered at once),
    /// until a probe goes (returned) or nothing can go for a tenth of a second.
    fn to_next_probe(l: &RateLimiter, mut at: Instant) -> Option<Sent> {
        for _ in 0..1000 {
            match l.try_acquire(at) {
                Ok(s) if s.probe => return Some(s),
                Ok(s) => {
                    l.finish(s, s.at, Outcome::Accepted);
                    at = s.at;
                }
                Err(Wait::Until(u)) if u <= at + S / 10 => at = u,
                Err(_) => return None,
            }
        }
        None
    }

    #[test]
    fn a_probe_sent_below_the_ceiling_never_takes_the_budget_above_it() {
        let l = RateLimiter::new(100, 5 * S);
        let t = fill(&l, Instant::now(), 100);
        done(&l, t, t, Some(t));
        // 90, then 95, 98, 99 a window apart: a probe at 99.
        let p = to_next_probe(&l, t + 15 * S + S / 10).expect("a probe");
        assert_eq!(budget(&l), 99);
        // While it is in flight the budget climbs to the ceiling.
        let _ = l.try_acquire(t + 20 * S + S / 10);
        assert_eq!(budget(&l), 100);
        l.finish(p, t + 20 * S + S / 10, Outcome::Accepted);
        for w in 5..8 {
            let _ = l.try_acquire(t + 5 * S * w + S / 5);
            assert_eq!(budget(&l), 100);
        }
    }

    #[test]
    fn no_probe_when_a_slot_frees_soon() {
        let (l, t) = cut_to_100();
        // From a moment after the probe is due to a window after it (when
        // it goes whatever the wait).
        let w = t + 5 * S + S / 10;
        let end = fill(&l, w, 100);
        // The first of these frees at w + 5 s: 0.2 s before, no probe (the
        // pause of a 429 would cost sends); 1 s before, one.
        let soon = w + 5 * S - S / 5;
        assert!(soon > end);
        assert_eq!(l.try_acquire(soon), Err(Wait::Until(w + 5 * S)));
        let (l, t) = cut_to_100();
        let w = t + 5 * S + S / 10;
        fill(&l, w, 100);
        assert!(l.try_acquire(w + 4 * S).is_ok_and(|s| s.probe));
    }

    #[test]
    fn a_failed_probe_keeps_the_budget_and_waits_longer() {
        let (l, t) = cut_to_100();
        let p = starve(&l, t + 6 * S).expect("a probe");
        assert!(p.probe);
        l.finish(p, p.at, Outcome::RateLimited(p.at + S));
        let s = l.stats();
        assert_eq!((s.budget, s.answered_429), (100, 2));
        assert_eq!(l.try_acquire(p.at), Err(Wait::Paused(p.at + S)));
        // Two calm windows now, counted from the pause's end (p.at + 1 s),
        // before the next probe: not after one. Waiting for a slot (the
        // first of these frees at p.at + 11.1 s), a worker wakes at the
        // window's step (p.at + 11 s), when a probe may become due.
        let again = starve(&l, p.at + 6 * S + S / 10);
        assert_eq!(again, Err(Wait::Until(p.at + 11 * S)));
        let p = starve(&l, p.at + 16 * S).expect("a probe two windows on");
        assert!(p.probe);
    }

    #[test]
    fn after_a_failed_probe_with_a_long_pause_the_next_waits_four_pauses() {
        let (l, t) = cut_to_100();
        let p = starve(&l, t + 6 * S).expect("a probe");
        // A pause of 10 s (two windows): no probe for 8 windows from its end
        // (p.at + 15 s, 20 s, ... 50 s): none after 6, one after 8.
        l.finish(p, p.at, Outcome::RateLimited(p.at + 10 * S));
        let at = p.at + 10 * S;
        let again = starve(&l, at + 34 * S);
        assert!(matches!(again, Err(Wait::Until(_))), "{again:?}");
        let p = starve(&l, at + 41 * S).expect("a probe 8 windows on");
        assert!(p.probe);
    }

    #[test]
    fn a_429_past_probes_that_held_goes_back_to_the_level_accepted() {
        let (l, t) = cut_to_100();
        // Probes at 100, 101 and 103 hold: accepted up to 104, budget 107.
        let mut at = t + 6 * S;
        let mut first = true;
        for _ in 0..3 {
            let p = if first {
                starve(&l, at).expect("a probe")
            } else {
                // The slots the last probe added, then a probe.
                to_next_probe(&l, at).expect("a probe")
            };
            first = false;
            assert!(p.probe);
            l.finish(p, p.at, Outcome::Accepted);
            at = p.at;
        }
        assert_eq!(budget(&l), 107);
        let s = next(&l, at);
        assert!(!s.probe);
        l.finish(s, s.at, Outcome::RateLimited(s.at + S));
        assert_eq!(budget(&l), 104);
    }

    #[test]
    fn zero_means_unlimited_but_a_429_still_pauses() {
        let l = RateLimiter::new(0, 5 * S);
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert!(l.try_acquire(t0).is_ok());
        }
        done(&l, t0, t0, Some(t0 + S));
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
        let a = l.try_acquire(t0).unwrap().at;
        let b = l.try_acquire(t0 + S).unwrap().at;
        let c = l.try_acquire(t0 + 2 * S).unwrap().at;
        done(&l, a, t0 + 2 * S, Some(t0 + 40 * S));
        done(&l, b, t0 + 2 * S, Some(t0 + 30 * S));
        assert_eq!(l.try_acquire(t0 + 2 * S), Err(Wait::Paused(t0 + 40 * S)));
        // A longer one extends it.
        done(&l, c, t0 + 2 * S, Some(t0 + 50 * S));
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
        done(&l, t, t, Some(t));
        assert_eq!(budget(&l), 90);
        let _ = l.try_acquire(t + S);
        assert_eq!(budget(&l), 90);
        let _ = l.try_acquire(t + Duration::from_millis(5500));
        assert_eq!(budget(&l), 95);
    }
}
