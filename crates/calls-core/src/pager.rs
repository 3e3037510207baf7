//! Every matching call across pages and time windows, exactly once.
//!
//! ```no_run
//! use calls_core::{CallQuery, Client};
//!
//! let client = Client::builder_from_env()?.build()?;
//! // All outbound calls of the last 60 days: two 30-day windows, one iterator.
//! let since = chrono::Utc::now() - chrono::Duration::days(60);
//! let query = CallQuery::new()
//!     .call_direction("outbound")
//!     .end_time(calls_core::Cmp::Gte, since);
//! let mut pager = client.calls(&query);
//! for call in pager.by_ref() {
//!     let call = call?;
//!     println!("{} {:?}", call.call_uuid, call.total_amount);
//! }
//! println!("{:?}", pager.stats());
//! # Ok::<(), calls_core::Error>(())
//! ```
//!
//! # How it walks
//! The pager always sends both `end_time` bounds itself. With no bound it asks
//! for the policy's default window ending now; with a lower bound only, up to
//! now; with an upper bound only, the default window ending there. The upper
//! bound is pinned when iteration starts. A range wider than the policy's max
//! range is split into consecutive windows, newest first, half-open inside
//! (`end_time__gte` / `end_time__lt`) and keeping the caller's own inclusive or
//! exclusive outer bounds, so no call is counted twice at a seam.
//!
//! Each window is walked with an `end_time` cursor (a keyset walk, see the
//! `walk` module): after a page whose oldest call ended in second `S` the next
//! request asks for `end_time__lt = S + 1 s`, with an offset only inside that
//! second. Records that arrive while the export runs cannot shift it: every
//! call that existed when it started is yielded exactly once, a late one at
//! most once. With `concurrency` above 1 the windows are cut into time slices
//! fetched at once, split further as workers free up, and yielded newest first
//! with bounded buffering. Every page is checked (newest first, inside the
//! bounds asked for, at most `limit` calls); a service that breaks the order
//! or makes the walk stand still ends it with [`Error::BadResponse`].
//!
//! This module is the thin layer of threads and HTTP around that walk.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::checkpoint::Checkpoint;
use crate::client::{Attempts, Client, MAX_LIMIT};
use crate::error::{Error, Result};
use crate::model::{Call, Page};
use crate::policy::WindowPolicy;
use crate::query::{Bounds, CallQuery};
use crate::sync::{SyncRun, SyncState, filters_of};
use crate::time::format_api;
use crate::walk::{Cursor, LOOKAHEAD_PAGES, Request, Walk};

/// The most slices a checkpoint may hold.
pub(crate) const MAX_CHECKPOINT_SLICES: usize = 4096;

/// Counters of a pager's work so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagerStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Time windows of the plan (each at most the policy's max range wide).
    pub windows: u64,
    /// Time slices walked: the windows and the slices split off them.
    pub slices: u64,
    /// Of those, slices split off a running one for a free worker.
    pub splits: u64,
    /// Pages received.
    pub pages: u64,
    /// Calls yielded.
    pub items: u64,
    /// Calls skipped because their `call_uuid` was already yielded (an
    /// arrival inside a second being walked pushed them into the next page).
    pub duplicates_skipped: u64,
    /// For a sync pager: calls skipped because an earlier run delivered them.
    pub already_delivered: u64,
    /// An estimate of the calls this pager yields in all: those yielded so
    /// far and what the last `total_count` of each time slice says is left
    /// (slices not asked yet counted at the density of those asked). Exact
    /// on a service where nothing arrives, once every slice was asked;
    /// `None` before the first page.
    pub total_estimate: Option<u64>,
}

/// A progress callback: [`Pager::set_progress`].
pub type ProgressFn = Box<dyn FnMut(&PagerStats) -> ControlFlow<()> + Send>;

/// Stops a pager from any thread: [`Pager::canceller`].
///
/// After [`cancel`](Canceller::cancel), a `next` of the pager blocked in
/// another thread returns [`Error::Cancelled`] within a few milliseconds
/// (it does not wait for the requests in flight, which finish on their own),
/// and every later `next` returns it too.
#[derive(Debug, Clone, Default)]
pub struct Canceller(Arc<AtomicBool>);

impl Canceller {
    /// Cancels the pager. Safe from any thread, at any time, more than once.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Canceller::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How often a pager waiting for an answer looks at its canceller.
const CANCEL_POLL: Duration = Duration::from_millis(10);

/// One window of the plan: a query with both `end_time` bounds set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    /// The caller's filters with this window's `end_time` bounds.
    pub query: CallQuery,
}

/// Splits a query into the windows the pager will ask for, newest first.
///
/// `now` pins the upper bound when the query has none. Errors when the query
/// is invalid or its range is empty. Retention is checked by the pager when
/// it starts (the one place, for fresh and resumed exports alike). A policy
/// `WindowPolicy::new` would refuse (its fields are public) is an
/// [`Error::InvalidArgument`]: a zero max range would never end the plan.
pub(crate) fn plan_windows(
    query: &CallQuery,
    policy: &WindowPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<Window>> {
    WindowPolicy::new(
        policy.default_window_days,
        policy.max_range_days,
        policy.retention_days,
    )
    .map_err(Error::InvalidArgument)?;
    query.validate()?;
    let b = query.end_time_bounds();
    if b.eq.is_some() {
        // An exact end_time is one instant: one window, as given.
        return Ok(vec![Window {
            query: query.clone(),
        }]);
    }
    let (upper, upper_incl) = b.upper().unwrap_or((now, true));
    let (lower, lower_incl) = match b.lower() {
        Some(l) => l,
        None => (
            upper
                .checked_sub_signed(policy.default_window())
                .ok_or_else(|| Error::validation("end_time", "the upper bound is out of range"))?,
            true,
        ),
    };
    if lower > upper || (lower == upper && !(lower_incl && upper_incl)) {
        return Err(Error::validation(
            "end_time",
            "empty range: the lower bound is not before the upper bound",
        ));
    }
    let span = policy.max_range();
    let mut windows = Vec::new();
    let mut hi = (upper, upper_incl);
    loop {
        let (last, lo) = match hi.0.checked_sub_signed(span) {
            Some(c) if c > lower => (false, (c, true)),
            _ => (true, (lower, lower_incl)),
        };
        let mut wb: Bounds<DateTime<Utc>> = Bounds::default();
        if lo.1 {
            wb.gte = Some(lo.0);
        } else {
            wb.gt = Some(lo.0);
        }
        if hi.1 {
            wb.lte = Some(hi.0);
        } else {
            wb.lt = Some(hi.0);
        }
        windows.push(Window {
            query: query.with_end_time(wb),
        });
        if last {
            break;
        }
        // The next (older) window ends where this one starts, exclusive.
        hi = (lo.0, false);
    }
    Ok(windows)
}

/// A lazy iterator over every call matching a query, each exactly once (the
/// README's "How an export walks" gives the argument).
///
/// Nothing is sent before the first `next()`. After an error it yields that
/// error once and then `None`.
pub struct Pager {
    client: Client,
    query: CallQuery,
    max_items: Option<u64>,
    /// Where a resumed pager starts.
    resume: Option<Checkpoint>,
    /// For a sync pager ([`Client::sync`]): what it skips and records.
    sync: Option<Box<SyncPager>>,
    cancel: Canceller,
    /// When the whole iteration must be over (`fetch_all` under a deadline);
    /// otherwise each `next` has the client's deadline of its own.
    until: Option<Instant>,
    phase: Phase,
    stats: PagerStats,
    progress: Option<ProgressFn>,
}

/// The sync side of a pager.
struct SyncPager {
    run: SyncRun,
    /// `run.skip` as a set.
    skip: std::collections::HashSet<String>,
    /// The query walked: the caller's filters from the run's lower bound.
    plan: CallQuery,
}

/// Where a pager is.
enum Phase {
    /// Nothing sent yet.
    Idle,
    /// Walking.
    Walking(Box<Run>),
    /// Walked to the end, or stopped by `max_items`: `None` from now on.
    Done(Box<Run>),
    /// Failed (the error was yielded): `None` from now on. The run, when
    /// there was one, stays for the checkpoint, so that a resume retries.
    Failed(Option<Box<Run>>),
}

/// A started export: the walk and the requests in flight for it.
struct Run {
    /// The pinned "now" of the plan.
    now: DateTime<Utc>,
    /// The caller's query; each request replaces its `end_time` bounds.
    query: CallQuery,
    walk: Walk,
    /// Answers from the request threads.
    tx: Sender<Reply>,
    rx: Receiver<Reply>,
    in_flight: usize,
    /// Calls taken into the walk (what `max_items` counts).
    accepted: u64,
    /// Calls the requests in flight may bring (the sum of their limits).
    scheduled: u64,
}

/// What a request thread sends back.
struct Reply {
    request: Request,
    page: Result<Page>,
    attempts: Attempts,
}

impl std::fmt::Debug for Pager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("query", &self.query)
            .field("max_items", &self.max_items)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A lazy pager over every call matching `query`; see [`Pager`].
    pub fn calls(&self, query: &CallQuery) -> Pager {
        Pager {
            client: self.clone(),
            query: query.clone(),
            max_items: None,
            resume: None,
            sync: None,
            cancel: Canceller::default(),
            until: None,
            phase: Phase::Idle,
            stats: PagerStats::default(),
            progress: None,
        }
    }

    /// A pager that continues an interrupted export from a [`Pager::checkpoint`].
    ///
    /// `query` must be the query of the checkpoint, and this client's account
    /// and window policy those of the pager that made it; a checkpoint from
    /// another query, or a damaged one, is a validation error on `checkpoint`.
    /// The export continues in the same windows (the same pinned upper bound)
    /// right after the last call handed out before the checkpoint was taken:
    /// none of those comes again, none after it is missed, however long ago
    /// the checkpoint was taken and whatever arrived since (within retention).
    pub fn resume(&self, query: &CallQuery, checkpoint: &str) -> Result<Pager> {
        let cp = Checkpoint::decode(checkpoint, self.auth_id())?;
        if cp.query != query.to_query_string() {
            return Err(Error::validation(
                "checkpoint",
                "made for another query: resume with the query the export started with",
            ));
        }
        if cp.policy() != self.policy() {
            return Err(Error::validation(
                "checkpoint",
                "made under another window policy: resume with a client of the same policy",
            ));
        }
        // The integrity check catches accidents, not forgery: the values are
        // checked for what this library could have written.
        let corrupt = |why: &str| Error::validation("checkpoint", format!("corrupt: {why}"));
        let real_now = Utc::now();
        match (cp.now_us, &cp.slices) {
            (None, None) => {}
            (Some(_), Some(slices)) => {
                let pinned = cp.now().ok_or_else(|| corrupt("bad pinned time"))?;
                let oldest = real_now
                    .checked_sub_signed(chrono::Duration::days(36_600))
                    .unwrap_or(DateTime::<Utc>::MIN_UTC);
                if pinned > real_now + chrono::Duration::days(1) || pinned < oldest {
                    return Err(corrupt("the pinned time is out of range"));
                }
                if slices.len() > MAX_CHECKPOINT_SLICES {
                    return Err(corrupt("too many slices"));
                }
                // A sync run walks its own range (from its state).
                let plan_query = match &cp.sync {
                    Some(run) => CallQuery::from_query_string(&run.plan_query)
                        .map_err(|_| corrupt("its sync run's query"))?,
                    None => query.clone(),
                };
                let plan = plan_windows(&plan_query, &self.policy(), pinned)?;
                let whole = plan_cursors(&plan)?;
                let (top, bottom) = match (whole.first(), whole.last()) {
                    (Some(t), Some(b)) => (t.upper.us, b.lower.us),
                    _ => return Err(corrupt("no window")),
                };
                let mut above = i64::MAX;
                for c in slices {
                    c.check().map_err(corrupt)?;
                    // Disjoint, newest first, inside the plan.
                    if c.upper.us > above || c.upper.us > top || c.lower.us < bottom {
                        return Err(corrupt("a slice lies outside the export's range"));
                    }
                    above = c.lower.us;
                }
            }
            _ => return Err(corrupt("the pinned time and the slices disagree")),
        }
        let mut pager = self.calls(query);
        if let Some(run) = cp.sync.clone() {
            if run.filters != filters_of(query) {
                return Err(corrupt("its sync run is for other filters"));
            }
            let plan = CallQuery::from_query_string(&run.plan_query)
                .map_err(|_| corrupt("its sync run's query"))?;
            pager.sync = Some(Box::new(SyncPager {
                skip: run.skip_set(),
                run,
                plan,
            }));
        }
        pager.resume = Some(cp);
        Ok(pager)
    }

    /// A pager for a scheduled job: every call matching `query` that ended
    /// since the last run, exactly once across runs; see the `sync` module.
    ///
    /// `state` is [`Pager::sync_state`] of the previous run (`None` for the
    /// first). The first run walks from the query's lower `end_time` bound
    /// (the policy's default window without one) up to now; a later one from
    /// the previous run's pinned upper bound minus `lookback` (zero: the
    /// default, [`DEFAULT_LOOKBACK`](crate::DEFAULT_LOOKBACK), 60 minutes) up
    /// to now, skipping the calls earlier runs delivered. A call that becomes
    /// visible later than `lookback` after the previous run ended is missed;
    /// a longer lookback re-reads more. A longer lookback than the previous
    /// run's takes full effect from the next run.
    ///
    /// Errors (validation): an upper `end_time` bound in `query` (a sync
    /// always runs to now); a lookback longer than the retention; a state
    /// that is damaged, from another account, or for other filters. A state
    /// so old that part of what it still owes is beyond retention fails when
    /// the pager starts, naming what can no longer be fetched.
    pub fn sync(
        &self,
        query: &CallQuery,
        state: Option<&str>,
        lookback: std::time::Duration,
    ) -> Result<Pager> {
        query.validate()?;
        let b = query.end_time_bounds();
        let upper = if b.lt.is_some() {
            Some("end_time__lt")
        } else if b.lte.is_some() {
            Some("end_time__lte")
        } else if b.eq.is_some() {
            Some("end_time")
        } else {
            None
        };
        if let Some(field) = upper {
            return Err(Error::validation(
                field,
                "a sync always runs up to now: remove the upper end_time bound",
            ));
        }
        let policy = self.policy();
        let lookback = if lookback.is_zero() {
            crate::DEFAULT_LOOKBACK
        } else {
            lookback
        };
        let retention = policy
            .retention()
            .to_std()
            .unwrap_or(std::time::Duration::MAX);
        if lookback > retention {
            return Err(Error::validation(
                "lookback",
                format!(
                    "{lookback:?} is longer than the service keeps records ({} days)",
                    policy.retention_days
                ),
            ));
        }
        let lookback_us = i64::try_from(lookback.as_micros()).unwrap_or(i64::MAX);
        let filters = filters_of(query);
        let (plan, lower_us, skip) = match state {
            None => {
                let plan = match b.lower() {
                    Some(_) => query.clone(),
                    None => {
                        let lower = crate::query::to_micros(Utc::now())
                            .checked_sub_signed(policy.default_window())
                            .unwrap_or(DateTime::<Utc>::MIN_UTC);
                        query.with_end_time(Bounds {
                            gte: Some(lower),
                            ..Bounds::default()
                        })
                    }
                };
                let lower = plan
                    .end_time_bounds()
                    .lower()
                    .map(|(t, _)| t.timestamp_micros());
                (plan, lower, Vec::new())
            }
            Some(s) => {
                let st = SyncState::decode(s, self.auth_id())?;
                if st.filters != filters {
                    return Err(Error::validation(
                        "state",
                        "made for other filters: a sync state belongs to the filters of one \
                         query (end_time aside); start a new sync (no state) for these",
                    ));
                }
                if st.policy() != policy {
                    return Err(Error::validation(
                        "state",
                        "made under another window policy: sync with a client of the same policy",
                    ));
                }
                let lower_us = st
                    .pinned_us
                    .saturating_sub(lookback_us)
                    .max(st.kept_from_us);
                let lower = DateTime::from_timestamp_micros(lower_us)
                    .ok_or_else(|| Error::validation("state", "corrupt: out of range"))?;
                let eb = Bounds {
                    gte: Some(lower),
                    ..Bounds::default()
                };
                let skip: Vec<(i64, String)> = st
                    .delivered
                    .into_iter()
                    .filter(|(us, _)| *us >= lower_us)
                    .collect();
                (query.with_end_time(eb), Some(lower_us), skip)
            }
        };
        let run = SyncRun {
            filters,
            plan_query: plan.to_query_string(),
            lower_us,
            lookback_us,
            skip,
            delivered: Vec::new(),
            skipped: 0,
        };
        let mut pager = self.calls(query);
        pager.sync = Some(Box::new(SyncPager {
            skip: run.skip_set(),
            run,
            plan,
        }));
        Ok(pager)
    }

    /// Every call matching `query` (at most `max_items`), in one vector.
    pub fn fetch_all(&self, query: &CallQuery, max_items: Option<u64>) -> Result<Vec<Call>> {
        let mut pager = self.calls(query);
        if let Some(n) = max_items {
            pager = pager.max_items(n);
        }
        // One library call: the deadline covers all of it.
        pager.until = self.until();
        pager.collect()
    }
}

/// One cursor per planned window.
fn plan_cursors(plan: &[Window]) -> Result<Vec<Cursor>> {
    plan.iter()
        .map(|w| {
            Cursor::of_bounds(w.query.end_time_bounds()).ok_or_else(|| {
                Error::BadResponse("pager state lost: a window without bounds".into())
            })
        })
        .collect()
}

impl Pager {
    /// Stops after `n` calls, never requesting a page it does not need for
    /// them (pages are then fetched one at a time). Defaults to no cap.
    pub fn max_items(mut self, n: u64) -> Self {
        self.max_items = Some(n);
        self
    }

    /// The state for the next run of a sync pager ([`Client::sync`]), once
    /// it walked to its end; `None` before that, after an error, and for a
    /// pager that is not a sync pager.
    pub fn sync_state(&self) -> Option<String> {
        let sync = self.sync.as_ref()?;
        let Phase::Done(run) = &self.phase else {
            return None;
        };
        if self.max_items.is_some() {
            return None;
        }
        let state = sync.run.next_state(&self.client.policy(), run.now);
        Some(state.encode(self.client.auth_id()))
    }

    /// Calls `f` after every page received, with the counters then (a page
    /// that brought nothing new included), on the thread iterating the pager
    /// (with concurrency, pages come from request threads, but the callback
    /// runs in the one calling `next`). Returning `ControlFlow::Break(())`
    /// cancels the pager: that `next` and every later one yield
    /// [`Error::Cancelled`]. Defaults to none; `None` removes it.
    pub fn set_progress(&mut self, f: Option<ProgressFn>) {
        self.progress = f;
    }

    /// [`set_progress`](Pager::set_progress) in builder form.
    pub fn on_progress(
        mut self,
        f: impl FnMut(&PagerStats) -> ControlFlow<()> + Send + 'static,
    ) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// A handle that cancels this pager from any thread (see [`Canceller`]).
    pub fn canceller(&self) -> Canceller {
        self.cancel.clone()
    }

    /// Whether this is a sync pager.
    pub fn is_sync(&self) -> bool {
        self.sync.is_some()
    }

    /// The counters so far.
    pub fn stats(&self) -> PagerStats {
        merged_stats(
            self.stats,
            self.run().map(|r| &r.walk),
            self.sync.as_ref().map(|s| s.run.skipped),
        )
    }

    fn run(&self) -> Option<&Run> {
        match &self.phase {
            Phase::Walking(r) | Phase::Done(r) | Phase::Failed(Some(r)) => Some(r),
            Phase::Idle | Phase::Failed(None) => None,
        }
    }

    /// Where this export stands, as an opaque string for [`Client::resume`].
    ///
    /// It covers every call handed out so far (by `next` or `next_page`) and
    /// keeps the walk's cursors, not offsets: a resume, even days later,
    /// continues right after the last call handed out. Calls fetched but not
    /// yet handed out are fetched again on resume. Cheap: take one after every
    /// call or every page.
    pub fn checkpoint(&self) -> String {
        let (now_us, slices) = match self.run() {
            Some(run) => (Some(run.now.timestamp_micros()), Some(run.walk.cursors())),
            None => match &self.resume {
                Some(cp) => (cp.now_us, cp.slices.clone()),
                None => (None, None),
            },
        };
        let policy = self.client.policy();
        Checkpoint {
            query: self.query.to_query_string(),
            policy: [
                policy.default_window_days,
                policy.max_range_days,
                policy.retention_days,
            ],
            now_us,
            slices,
            sync: self.sync.as_ref().map(|s| s.run.clone()),
        }
        .encode(self.client.auth_id())
    }

    /// Page-wise access: each item is the new (not yet seen) calls of one page.
    pub fn pages(self) -> Pages {
        Pages { pager: self }
    }

    /// The next batch of new calls (at most 20), or `None` when done.
    pub fn next_page(&mut self) -> Option<Result<Vec<Call>>> {
        loop {
            match self.fill() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
            let mut out = Vec::with_capacity(MAX_LIMIT as usize);
            while out.len() < MAX_LIMIT as usize {
                match self.hand_out() {
                    Some(call) => out.push(call),
                    None => break,
                }
            }
            // Empty only when a sync pager skipped every ready call.
            if !out.is_empty() {
                return Some(Ok(out));
            }
        }
    }

    /// The next call of the walk, if one is ready (a sync pager skips the
    /// calls earlier runs delivered and records those the next run must skip).
    fn hand_out(&mut self) -> Option<Call> {
        let Phase::Walking(run) = &mut self.phase else {
            return None;
        };
        loop {
            let call = run.walk.pop()?;
            if let Some(sync) = self.sync.as_mut() {
                if sync.skip.contains(&call.call_uuid) {
                    sync.run.skipped += 1;
                    continue;
                }
                let us = call.end_time.map_or(i64::MIN, |t| t.timestamp_micros());
                let keep_from = run
                    .now
                    .timestamp_micros()
                    .saturating_sub(sync.run.lookback_us);
                if us >= keep_from {
                    sync.run.delivered.push((us, call.call_uuid.clone()));
                }
            }
            self.stats.items += 1;
            return Some(call);
        }
    }

    /// Walks until a call is ready (true) or the export is over (false).
    fn fill(&mut self) -> Result<bool> {
        if self.cancel.is_cancelled() && !matches!(self.phase, Phase::Done(_)) {
            self.phase = match std::mem::replace(&mut self.phase, Phase::Idle) {
                Phase::Walking(run) => Phase::Failed(Some(run)),
                Phase::Failed(run) => Phase::Failed(run),
                _ => Phase::Failed(None),
            };
            return Err(Error::Cancelled);
        }
        if matches!(self.phase, Phase::Idle) {
            match self.start() {
                Ok(run) => self.phase = Phase::Walking(Box::new(run)),
                Err(e) => {
                    self.phase = Phase::Failed(None);
                    return Err(e);
                }
            }
        }
        let Phase::Walking(run) = &mut self.phase else {
            return Ok(false);
        };
        let until = self.until.or_else(|| self.client.until());
        let skipped = self.sync.as_ref().map(|s| s.run.skipped);
        let progress = &mut self.progress;
        let mut report = |walk: &Walk, stats: &PagerStats| match progress {
            Some(f) => f(&merged_stats(*stats, Some(walk), skipped)),
            None => ControlFlow::Continue(()),
        };
        let filled = run
            .fill(
                &self.client,
                self.max_items,
                &mut self.stats,
                &self.cancel,
                until,
                &mut report,
            )
            // The walk's own errors quote what the service sent (a call's uuid,
            // its end_time): scrubbed like every error of a request.
            .map_err(|e| self.client.redact(e));
        if matches!(filled, Err(Error::Cancelled)) {
            // Stopped by the progress callback: sticky, like a cancel.
            self.cancel.cancel();
        }
        match filled {
            Ok(true) => Ok(true),
            Ok(false) => {
                self.phase = match std::mem::replace(&mut self.phase, Phase::Idle) {
                    Phase::Walking(run) => Phase::Done(run),
                    other => other,
                };
                Ok(false)
            }
            Err(e) => {
                self.phase = match std::mem::replace(&mut self.phase, Phase::Idle) {
                    Phase::Walking(run) => Phase::Failed(Some(run)),
                    _ => Phase::Failed(None),
                };
                Err(e)
            }
        }
    }

    /// Plans the walk, pinning "now" (a resumed export keeps its own), and
    /// checks retention: the one place, for fresh and resumed exports.
    fn start(&mut self) -> Result<Run> {
        let policy = self.client.policy();
        let real_now = crate::query::to_micros(Utc::now());
        let now = self
            .resume
            .as_ref()
            .and_then(Checkpoint::now)
            .unwrap_or(real_now);
        let plan_query = self.sync.as_ref().map_or(&self.query, |s| &s.plan);
        let plan = plan_windows(plan_query, &policy, now)?;
        self.stats.windows = plan.len() as u64;
        let cursors = match self.resume.as_ref().and_then(|cp| cp.slices.clone()) {
            Some(slices) => slices,
            None => plan_cursors(&plan)?,
        };
        // How many calls may be buffered or asked for ahead of the consumer.
        // One worker: the page being handed out and the next. Several: each
        // walks a piece right behind the head, so about LOOKAHEAD_PAGES pages
        // per worker (320 × (concurrency + 1) calls; a few MB at the API's
        // 1–2 kB a call), whatever the size of the export.
        let concurrency = self.client.concurrency();
        let lookahead = if concurrency > 1 && self.max_items.is_none() {
            u64::from(MAX_LIMIT)
                .saturating_mul(LOOKAHEAD_PAGES)
                .saturating_mul(concurrency as u64 + 1)
        } else {
            2 * u64::from(MAX_LIMIT)
        };
        let walk = Walk::new(cursors, lookahead, 4 * concurrency + plan.len());
        if let Some(oldest) = walk.oldest() {
            let earliest = policy.earliest(real_now);
            let lower = DateTime::from_timestamp_micros(oldest.us).unwrap_or(earliest);
            if lower < earliest && self.sync.is_some() {
                return Err(Error::validation(
                    "state",
                    format!(
                        "this sync would walk from {}, but the service keeps records for {} \
                         days: calls that ended between {} and {} can no longer be fetched; \
                         start a new sync (no state) from a recent lower bound",
                        format_api(lower),
                        policy.retention_days,
                        format_api(lower),
                        format_api(earliest)
                    ),
                ));
            }
            if lower < earliest {
                let b = self.query.end_time_bounds();
                let field = if b.gte.is_some() {
                    "end_time__gte"
                } else if b.gt.is_some() {
                    "end_time__gt"
                } else if b.eq.is_some() {
                    "end_time"
                } else {
                    "end_time__lt"
                };
                return Err(Error::validation(
                    field,
                    format!(
                        "{} is older than the service keeps records ({} days): the earliest \
                         allowed time is {}",
                        format_api(lower),
                        policy.retention_days,
                        format_api(earliest)
                    ),
                ));
            }
        }
        let (tx, rx) = channel();
        Ok(Run {
            now,
            query: plan_query.clone(),
            walk,
            tx,
            rx,
            in_flight: 0,
            accepted: 0,
            scheduled: 0,
        })
    }
}

impl Run {
    /// Walks until a call is ready (true) or the walk is over (false). Keeps
    /// the workers busy either way.
    fn fill(
        &mut self,
        client: &Client,
        max_items: Option<u64>,
        stats: &mut PagerStats,
        cancel: &Canceller,
        until: Option<Instant>,
        report: &mut dyn FnMut(&Walk, &PagerStats) -> ControlFlow<()>,
    ) -> Result<bool> {
        // Answers already there first: they may free a worker.
        while let Ok(reply) = self.rx.try_recv() {
            self.take(reply, stats, report)?;
        }
        // A cancel from inside the progress callback (or from another
        // thread meanwhile) sends nothing more.
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        loop {
            self.dispatch(client, max_items)?;
            if self.walk.has_ready() {
                return Ok(true);
            }
            if self.in_flight == 0 {
                // Nothing ready, nothing to wait for: walked to the end, or
                // stopped by max_items. Anything else would end short.
                let capped = max_items.is_some_and(|m| self.accepted >= m);
                if self.walk.finished() || capped {
                    return Ok(false);
                }
                return Err(Error::BadResponse(
                    "pager state lost: the walk has slices left but nothing to send".into(),
                ));
            }
            let reply = self.wait(client, cancel, until)?;
            self.take(reply, stats, report)?;
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
        }
    }

    /// The next answer, looking at the canceller and the deadline meanwhile.
    fn wait(&self, client: &Client, cancel: &Canceller, until: Option<Instant>) -> Result<Reply> {
        let start = Instant::now();
        let bound = start.checked_add(client.reply_bound()).unwrap_or(start);
        loop {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let now = Instant::now();
            if until.is_some_and(|u| now >= u) {
                return Err(Error::Timeout(
                    "the deadline was reached waiting for a page".into(),
                ));
            }
            if now >= bound {
                return Err(Error::Timeout(
                    "no page request finished within the longest time its timeouts and \
                     retries allow"
                        .into(),
                ));
            }
            let mut slice = CANCEL_POLL.min(bound - now);
            if let Some(u) = until {
                slice = slice.min(u.saturating_duration_since(now));
            }
            match self.rx.recv_timeout(slice) {
                Ok(r) => return Ok(r),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::BadResponse("pager state lost".into()));
                }
            }
        }
    }

    /// Sends every request the walk allows now.
    fn dispatch(&mut self, client: &Client, max_items: Option<u64>) -> Result<()> {
        let parallel = max_items.is_none() && client.concurrency() > 1;
        let slots = if parallel { client.concurrency() } else { 1 };
        while self.in_flight < slots {
            let mut limit = MAX_LIMIT;
            if let Some(max) = max_items {
                let promised = self.accepted.saturating_add(self.scheduled);
                let rem = max.saturating_sub(promised);
                if rem == 0 {
                    return Ok(());
                }
                limit = limit.min(u32::try_from(rem).unwrap_or(MAX_LIMIT));
            }
            let Some(request) = self.walk.next_request(parallel, limit) else {
                return Ok(());
            };
            self.send(client, request)?;
        }
        Ok(())
    }

    /// Starts one request on its own thread.
    fn send(&mut self, client: &Client, request: Request) -> Result<()> {
        // The caller's filters with this request's bounds.
        let query = self
            .query
            .with_end_time(request.bounds()?)
            .to_query_string();
        let worker = client.clone();
        let tx = self.tx.clone();
        let limit = request.limit;
        let until = client.until();
        let job = move || {
            let (limit, offset) = (request.limit, request.offset);
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                worker.fetch_page(&query, limit, offset, until)
            }));
            let (page, attempts) = run.unwrap_or_else(|_| {
                (
                    Err(Error::BadResponse("a page request panicked".into())),
                    Attempts::default(),
                )
            });
            // The pager may be gone: then nobody wants the answer.
            let _ = tx.send(Reply {
                request,
                page,
                attempts,
            });
        };
        // `thread::spawn` would panic when the OS refuses a thread: an error instead.
        std::thread::Builder::new()
            .name("calls-page".into())
            .spawn(job)
            .map_err(|e| Error::Transport(format!("cannot start a page request thread: {e}")))?;
        self.in_flight += 1;
        self.scheduled = self.scheduled.saturating_add(u64::from(limit));
        Ok(())
    }

    /// Takes one answer into the walk, and reports the page.
    fn take(
        &mut self,
        reply: Reply,
        stats: &mut PagerStats,
        report: &mut dyn FnMut(&Walk, &PagerStats) -> ControlFlow<()>,
    ) -> Result<()> {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.scheduled = self
            .scheduled
            .saturating_sub(u64::from(reply.request.limit));
        // A failed request counts too: its attempts are in the stats.
        stats.requests += u64::from(reply.attempts.sent);
        stats.retries += u64::from(reply.attempts.sent.saturating_sub(1));
        let page = reply.page?;
        stats.pages += 1;
        let fresh = self.walk.absorb(&reply.request, page)?;
        self.accepted = self.accepted.saturating_add(fresh);
        match report(&self.walk, stats) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err(Error::Cancelled),
        }
    }
}

/// The pager's own counters with the walk's and the sync's.
fn merged_stats(mut s: PagerStats, walk: Option<&Walk>, skipped: Option<u64>) -> PagerStats {
    if let Some(skipped) = skipped {
        s.already_delivered = skipped;
    }
    if let Some(walk) = walk {
        s.slices = walk.stats.slices;
        s.splits = walk.stats.splits;
        s.duplicates_skipped = walk.stats.duplicates;
        s.total_estimate = walk
            .remaining_estimate()
            .map(|left| left.saturating_add(s.items));
    }
    s
}

impl Iterator for Pager {
    type Item = Result<Call>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.fill() {
                // None only when a sync pager skipped every ready call.
                Ok(true) => {
                    if let Some(call) = self.hand_out() {
                        return Some(Ok(call));
                    }
                }
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl std::iter::FusedIterator for Pager {}

/// Page-wise access to a [`Pager`]: each item is at most a page of new calls.
#[derive(Debug)]
pub struct Pages {
    pager: Pager,
}

impl Pages {
    /// The counters so far.
    pub fn stats(&self) -> PagerStats {
        self.pager.stats()
    }
}

impl Iterator for Pages {
    type Item = Result<Vec<Call>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.pager.next_page()
    }
}

/// The plan of windows (moved from tests/pager.rs when `plan_windows`
/// became private).
#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::Cmp;

    #[test]
    fn each_window_query_string() {
        let t = |s: &str| crate::time::parse_timestamp(s).unwrap();
        let now = t("2026-11-28 12:00:00");
        let policy = WindowPolicy::default();
        let strings = |q: &CallQuery| -> Vec<String> {
            plan_windows(q, &policy, now)
                .unwrap()
                .into_iter()
                .map(|w| w.query.to_query_string())
                .collect()
        };
        // No bound: the default window ending now, both bounds sent.
        assert_eq!(
            strings(&CallQuery::new().call_direction("inbound")),
            [
                "call_direction=inbound&end_time__gte=2026-11-21%2012%3A00%3A00&end_time__lte=2026-11-28%2012%3A00%3A00"
            ]
        );
        // 60 days from an exclusive lower bound: two windows, half-open at the seam.
        let q = CallQuery::new().end_time(Cmp::Gt, t("2026-09-29 12:00:00"));
        assert_eq!(
            strings(&q),
            [
                "end_time__gte=2026-10-29%2012%3A00%3A00&end_time__lte=2026-11-28%2012%3A00%3A00",
                "end_time__gt=2026-09-29%2012%3A00%3A00&end_time__lt=2026-10-29%2012%3A00%3A00",
            ]
        );
        // 75 days with the caller's own exclusive upper bound: three windows.
        let q = CallQuery::new()
            .end_time(Cmp::Gte, t("2026-09-01 00:00"))
            .end_time(Cmp::Lt, t("2026-11-15 00:00"));
        assert_eq!(
            strings(&q),
            [
                "end_time__gte=2026-10-16%2000%3A00%3A00&end_time__lt=2026-11-15%2000%3A00%3A00",
                "end_time__gte=2026-09-16%2000%3A00%3A00&end_time__lt=2026-10-16%2000%3A00%3A00",
                "end_time__gte=2026-09-01%2000%3A00%3A00&end_time__lt=2026-09-16%2000%3A00%3A00",
            ]
        );
        // An upper bound alone: the default window ending there.
        let q = CallQuery::new().end_time(Cmp::Lte, t("2026-11-10 00:00"));
        assert_eq!(
            strings(&q),
            ["end_time__gte=2026-11-03%2000%3A00%3A00&end_time__lte=2026-11-10%2000%3A00%3A00"]
        );
        // Exactly the max range is one window.
        let q = CallQuery::new().end_time(Cmp::Gte, t("2026-10-29 12:00:00"));
        assert_eq!(strings(&q).len(), 1);
        // Another policy splits otherwise.
        let wide = WindowPolicy::new(30, 90, 90).unwrap();
        let q = CallQuery::new().end_time(Cmp::Gte, t("2026-09-01 00:00"));
        assert_eq!(plan_windows(&q, &wide, now).unwrap().len(), 1);
        // An empty range is refused.
        let q = CallQuery::new()
            .end_time(Cmp::Gte, t("2026-11-01 00:00"))
            .end_time(Cmp::Lt, t("2026-11-01 00:00"));
        assert!(plan_windows(&q, &policy, now).is_err());
    }

    /// A hand-made policy (its fields are public) that `WindowPolicy::new`
    /// refuses is refused here too: a zero max range planned forever
    /// before (found by cargo-mutants' timeout on `max_range` -> 0).
    #[test]
    fn a_policy_new_would_refuse_is_an_error_not_an_endless_plan() {
        let now = crate::time::parse_timestamp("2026-11-28 12:00:00").unwrap();
        let q = CallQuery::new().end_time(Cmp::Gte, now - chrono::Duration::days(20));
        for (d, m, r) in [
            (7, 0, 90),
            (0, 30, 90),
            (7, 30, 0),
            (u32::MAX, u32::MAX, u32::MAX),
        ] {
            let policy = WindowPolicy {
                default_window_days: d,
                max_range_days: m,
                retention_days: r,
            };
            match plan_windows(&q, &policy, now) {
                Err(Error::InvalidArgument(msg)) => assert!(msg.contains("window policy"), "{msg}"),
                other => panic!("({d}, {m}, {r}): {other:?}"),
            }
        }
        assert_eq!(
            plan_windows(&q, &WindowPolicy::default(), now)
                .unwrap()
                .len(),
            1
        );
    }
}
