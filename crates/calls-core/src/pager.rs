//! Every matching call across pages and time windows, exactly once.
//!
//! ```no_run
//! use calls_core::{CallQuery, Client};
//! use calls_core::time::parse_timestamp;
//!
//! let client = Client::builder_from_env()?.build()?;
//! // All outbound calls of the last 60 days: two 30-day windows, one iterator.
//! let since = chrono::Utc::now() - chrono::Duration::days(60);
//! let query = CallQuery::new()
//!     .call_direction("outbound")
//!     .end_time(calls_core::query::Cmp::Gte, since);
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
//! In a window the first page gives `total_count`; the other pages are then
//! fetched by up to `concurrency` threads and yielded in order. The service
//! lists newest first, so a record arriving late shifts offsets: duplicates are
//! skipped by `call_uuid`, and when a window's `total_count` changes during its
//! walk the window is walked again (at most [`MAX_REWALKS`] times) so that
//! nothing that existed at the start is missed. A window whose distinct calls
//! still fall short of its `total_count` after that is an error, never a short
//! result reported as success.

use std::collections::{HashSet, VecDeque};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};

use crate::checkpoint::Checkpoint;
use crate::client::{Attempts, Client, MAX_LIMIT};
use crate::error::{Error, Result};
use crate::model::{Call, Page};
use crate::policy::WindowPolicy;
use crate::query::{Bounds, CallQuery};
use crate::time::format_api;

/// The largest offset or `total_count` a checkpoint may hold (2^53: no
/// window holds more calls).
const MAX_CHECKPOINT_OFFSET: u64 = 1 << 53;

/// Full pages in a row with nothing new that a walk without `total_count`
/// goes on through before it fails.
const MAX_STALE_PAGES: u32 = 3;

/// How many times one window is walked again after its `total_count` changed.
pub const MAX_REWALKS: u32 = 4;

/// Counters of a pager's work so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagerStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Time windows started.
    pub windows: u64,
    /// Pages received.
    pub pages: u64,
    /// Calls yielded.
    pub items: u64,
    /// Calls skipped because their `call_uuid` was already yielded.
    pub duplicates_skipped: u64,
    /// Windows walked again because their `total_count` changed.
    pub rewalks: u64,
}

/// One window of the plan: a query with both `end_time` bounds set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The caller's filters with this window's `end_time` bounds.
    pub query: CallQuery,
}

/// Splits a query into the windows the pager will ask for, newest first.
///
/// `now` pins the upper bound when the query has none. Errors when the query
/// is invalid or its lower bound is older than the policy's retention.
pub fn plan_windows(
    query: &CallQuery,
    policy: &WindowPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<Window>> {
    query.validate()?;
    let b = query.end_time_bounds();
    if b.eq.is_some() {
        // An exact end_time is one instant: one request, as given.
        let q = query.clone();
        q.validate_window(policy, now)?;
        return Ok(vec![Window { query: q }]);
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
    let earliest = policy.earliest(now);
    if lower < earliest {
        let field = match (b.gte.is_some(), b.gt.is_some()) {
            (true, _) => "end_time__gte",
            (_, true) => "end_time__gt",
            _ => "end_time__lt",
        };
        return Err(Error::validation(
            field,
            format!(
                "{} is older than the service keeps records ({} days): the earliest allowed time is {}",
                format_api(lower),
                policy.retention_days,
                format_api(earliest)
            ),
        ));
    }
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

/// A lazy iterator over every call matching a query; see the [module docs](self).
///
/// Nothing is sent before the first `next()`. After an error it yields that
/// error once and then `None`.
pub struct Pager {
    client: Client,
    query: CallQuery,
    max_items: Option<u64>,
    /// Calls taken into the buffer (what `max_items` counts); `stats.items`
    /// counts those handed out.
    accepted: u64,
    started: bool,
    finished: bool,
    /// Every window was walked to its end.
    done: bool,
    /// The pinned "now" of the plan, set when iteration starts.
    now: Option<DateTime<Utc>>,
    /// Where a resumed pager starts.
    resume: Option<Checkpoint>,
    /// The windows not yet started, and how many the plan has.
    windows: VecDeque<Window>,
    plan_len: usize,
    walk: Option<Walk>,
    /// Calls ready to hand out, each with the window offset reached once it is handed out.
    buffer: VecDeque<(u64, Call)>,
    stats: PagerStats,
    /// Calls that requests in flight may bring (the sum of their limits).
    scheduled: u64,
}

/// A page request running on its own thread.
type PageFetch = JoinHandle<(Result<Page>, Attempts)>;

/// The walk of one window.
struct Walk {
    query_string: String,
    /// Distinct uuids seen in this window (windows never share a call).
    seen: HashSet<String>,
    /// `total_count` at the start of this walk.
    total: Option<u64>,
    /// Whether any page of this walk reported another `total_count`.
    changed: Option<u64>,
    /// The offset this walk started from (not 0 only for a resumed window).
    base: u64,
    /// The offset up to which calls were handed out.
    consumed: u64,
    /// The next offset to request.
    next_offset: u64,
    /// Requests in flight, oldest first: (offset, limit, handle).
    in_flight: VecDeque<(u64, u32, PageFetch)>,
    /// No more offsets to request in this walk.
    exhausted: bool,
    rewalks: u32,
    /// Full pages in a row with nothing new, on a walk without `total_count`.
    stale: u32,
}

impl std::fmt::Debug for Pager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("query", &self.query)
            .field("max_items", &self.max_items)
            .field("stats", &self.stats)
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
            accepted: 0,
            started: false,
            finished: false,
            done: false,
            now: None,
            resume: None,
            windows: VecDeque::new(),
            plan_len: 0,
            walk: None,
            buffer: VecDeque::new(),
            stats: PagerStats::default(),
            scheduled: 0,
        }
    }

    /// A pager that continues an interrupted export from a [`Pager::checkpoint`].
    ///
    /// `query` must be the query of the checkpoint, and this client's account
    /// and window policy those of the pager that made it; a checkpoint from
    /// another query, or a damaged one, is a validation error on `checkpoint`.
    /// The export continues in the same windows (the same pinned upper bound)
    /// from the offset reached. Calls handed out before the checkpoint was taken
    /// may come again (when the checkpoint fell inside a page, or a window
    /// changed since): the caller skips those by `call_uuid`. None is missed.
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
        let real_now = Utc::now();
        if let Some(us) = cp.now_us {
            let pinned = cp
                .now()
                .ok_or_else(|| Error::validation("checkpoint", "corrupt: bad pinned time"))?;
            let oldest = real_now
                .checked_sub_signed(chrono::Duration::days(36_600))
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            if pinned > real_now + chrono::Duration::days(1) || pinned < oldest || us < 0 {
                return Err(Error::validation(
                    "checkpoint",
                    "corrupt: the pinned time is out of range",
                ));
            }
        }
        if cp.offset > MAX_CHECKPOINT_OFFSET || cp.total.is_some_and(|t| t > MAX_CHECKPOINT_OFFSET)
        {
            return Err(Error::validation(
                "checkpoint",
                "corrupt: the offset is out of range",
            ));
        }
        let mut pager = self.calls(query);
        pager.resume = Some(cp);
        Ok(pager)
    }

    /// Every call matching `query` (at most `max_items`), in one vector.
    pub fn fetch_all(&self, query: &CallQuery, max_items: Option<u64>) -> Result<Vec<Call>> {
        let mut pager = self.calls(query);
        if let Some(n) = max_items {
            pager = pager.max_items(n);
        }
        pager.collect()
    }
}

impl Pager {
    /// Stops after `n` calls, never requesting a page it does not need for them.
    pub fn max_items(mut self, n: u64) -> Self {
        self.max_items = Some(n);
        self
    }

    /// The counters so far.
    pub fn stats(&self) -> PagerStats {
        self.stats
    }

    /// Where this export stands, as an opaque string for [`Client::resume`].
    ///
    /// It covers every call handed out so far (by `next` or `next_page`);
    /// calls fetched but not yet handed out are fetched again on resume.
    /// Cheap: take one after every call or every page.
    pub fn checkpoint(&self) -> String {
        let (window, offset, total) = match &self.walk {
            // After an error the walk is kept, so that a resume retries from it.
            Some(w) => (self.current_window(), w.consumed, w.total),
            None if !self.started => match &self.resume {
                Some(cp) => (cp.window, cp.offset, cp.total),
                None => (0, 0, None),
            },
            None if self.done => (self.plan_len, 0, None),
            // Between windows, or stopped by max_items or an error there.
            None => (self.plan_len - self.windows.len(), 0, None),
        };
        let policy = self.client.policy();
        let now = self
            .now
            .or_else(|| self.resume.as_ref().and_then(Checkpoint::now));
        Checkpoint {
            query: self.query.to_query_string(),
            policy: [
                policy.default_window_days,
                policy.max_range_days,
                policy.retention_days,
            ],
            now_us: now.map(|t| t.timestamp_micros()),
            window,
            offset,
            total,
        }
        .encode(self.client.auth_id())
    }

    /// The plan index of the window being walked.
    fn current_window(&self) -> usize {
        (self.plan_len - self.windows.len()).saturating_sub(1)
    }

    /// Page-wise access: each item is the new (not yet seen) calls of one page.
    pub fn pages(self) -> Pages {
        Pages { pager: self }
    }

    /// The next batch of new calls, or `None` when done.
    pub fn next_page(&mut self) -> Option<Result<Vec<Call>>> {
        if self.buffer.is_empty() {
            match self.fill() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        let mut out = Vec::with_capacity(self.buffer.len());
        while let Some(call) = self.hand_out() {
            out.push(call);
        }
        Some(Ok(out))
    }

    /// Takes the next buffered call and records the offset reached.
    fn hand_out(&mut self) -> Option<Call> {
        let (reached, call) = self.buffer.pop_front()?;
        self.stats.items += 1;
        if let Some(w) = self.walk.as_mut() {
            w.consumed = w.consumed.max(reached);
        }
        Some(call)
    }

    fn remaining(&self) -> Option<u64> {
        self.max_items.map(|m| m.saturating_sub(self.accepted))
    }

    /// Fetches until the buffer has calls (true) or everything is done (false).
    fn fill(&mut self) -> Result<bool> {
        if self.finished {
            return Ok(false);
        }
        let r = self.fill_inner();
        match r {
            Ok(true) => {}
            // Done, stopped by max_items, or failed: the walk stays for the
            // checkpoint; requests still in flight finish on their own.
            Ok(false) | Err(_) => {
                self.finished = true;
                if let Some(w) = self.walk.as_mut() {
                    w.in_flight.clear();
                }
            }
        }
        r
    }

    fn fill_inner(&mut self) -> Result<bool> {
        if !self.started {
            self.started = true;
            self.start()?;
        }
        loop {
            if self.remaining() == Some(0) {
                return Ok(false);
            }
            if self.walk.is_none() {
                let Some(w) = self.windows.pop_front() else {
                    self.done = true;
                    return Ok(false);
                };
                self.stats.windows += 1;
                // A resumed export starts its first window at the offset reached.
                let (base, total) = match self.resume.take() {
                    Some(cp) => (cp.offset, cp.total),
                    None => (0, None),
                };
                self.walk = Some(Walk {
                    query_string: w.query.to_query_string(),
                    seen: HashSet::new(),
                    total,
                    changed: None,
                    base,
                    consumed: base,
                    next_offset: base,
                    in_flight: VecDeque::new(),
                    exhausted: false,
                    rewalks: 0,
                    stale: 0,
                });
            }
            if self.step()? {
                return Ok(true);
            }
        }
    }

    /// Plans the windows, pinning "now" (a resumed export keeps its own).
    fn start(&mut self) -> Result<()> {
        let policy = self.client.policy();
        let real_now = crate::query::to_micros(Utc::now());
        let now = self
            .resume
            .as_ref()
            .and_then(Checkpoint::now)
            .unwrap_or(real_now);
        let plan = plan_windows(&self.query, &policy, now)?;
        // A resumed export may have waited: its oldest bound must still be retrievable.
        let earliest = policy.earliest(real_now);
        if let Some((lower, _)) = plan.last().and_then(|w| w.query.end_time_bounds().lower())
            && lower < earliest
        {
            return Err(Error::validation(
                "end_time__gte",
                format!(
                    "{} is older than the service keeps records ({} days): the earliest allowed time is {}",
                    format_api(lower),
                    policy.retention_days,
                    format_api(earliest)
                ),
            ));
        }
        self.now = Some(now);
        self.plan_len = plan.len();
        let skip = self.resume.as_ref().map_or(0, |cp| cp.window);
        if skip > plan.len() {
            return Err(Error::validation(
                "checkpoint",
                "corrupt: window out of range",
            ));
        }
        self.windows = plan.into_iter().skip(skip).collect();
        Ok(())
    }

    /// Sends what may be sent, takes the oldest answer, and buffers its new
    /// calls. Returns whether the buffer got calls.
    fn step(&mut self) -> Result<bool> {
        let concurrency = self.client.concurrency();
        let Some(walk) = self.walk.as_mut() else {
            return Ok(false);
        };
        // The first page of a walk goes alone: its total_count plans the rest.
        let parallel = if walk.total.is_some() { concurrency } else { 1 };
        while !walk.exhausted && walk.in_flight.len() < parallel {
            let mut limit = MAX_LIMIT;
            let promised = self.accepted.saturating_add(self.scheduled);
            if let Some(rem) = self.max_items.map(|m| m.saturating_sub(promised)) {
                if rem == 0 {
                    break;
                }
                limit = limit.min(u32::try_from(rem).unwrap_or(MAX_LIMIT));
            }
            if walk.total.is_some_and(|t| walk.next_offset >= t) {
                walk.exhausted = true;
                break;
            }
            let offset = walk.next_offset;
            let client = self.client.clone();
            let qs = walk.query_string.clone();
            // `thread::spawn` would panic when the OS refuses a thread: an error instead.
            let handle = std::thread::Builder::new()
                .name("calls-page".into())
                .spawn(move || client.fetch_page(&qs, limit, offset))
                .map_err(|e| {
                    Error::Transport(format!("cannot start a page request thread: {e}"))
                })?;
            walk.in_flight.push_back((offset, limit, handle));
            walk.next_offset = walk.next_offset.saturating_add(u64::from(limit));
            self.scheduled += u64::from(limit);
            if walk.total.is_none() {
                break;
            }
        }
        let Some((offset, limit, handle)) = walk.in_flight.pop_front() else {
            // Nothing in flight and nothing more to send: the walk is over.
            return self.finish_walk();
        };
        self.scheduled = self.scheduled.saturating_sub(u64::from(limit));
        let (page, attempts) = handle
            .join()
            .map_err(|_| Error::BadResponse("a page request thread panicked".into()))?;
        // A failed request counts too: its attempts are in the stats.
        self.stats.requests += u64::from(attempts.sent);
        self.stats.retries += u64::from(attempts.sent.saturating_sub(1));
        let page = page?;
        self.stats.pages += 1;
        let walk = self
            .walk
            .as_mut()
            .ok_or_else(|| Error::BadResponse("pager state lost".into()))?;
        let reported = page.meta.total_count;
        match (walk.total, reported) {
            (None, Some(t)) => walk.total = Some(t),
            (Some(t), Some(r)) if r != t => walk.changed = Some(r),
            _ => {}
        }
        if page.objects.is_empty() {
            // Stop on an empty page, whatever total_count said.
            walk.exhausted = true;
        } else if walk.total.is_none()
            && (page.objects.len() < limit as usize || !page.meta.next.is_more())
        {
            walk.exhausted = true;
        }
        let mut fresh = 0u64;
        let mut page_end = offset.saturating_add(page.objects.len() as u64);
        for (i, call) in page.objects.into_iter().enumerate() {
            if walk.seen.contains(&call.call_uuid) {
                self.stats.duplicates_skipped += 1;
                continue;
            }
            if self.max_items.is_some_and(|m| self.accepted >= m) {
                // The rest of the page is left for a resume.
                page_end = offset.saturating_add(i as u64);
                break;
            }
            walk.seen.insert(call.call_uuid.clone());
            self.accepted += 1;
            fresh += 1;
            self.buffer
                .push_back((offset.saturating_add(i as u64 + 1), call));
        }
        // Handing out the page's last new call covers the duplicates after it too.
        match self.buffer.back_mut() {
            Some(last) => last.0 = page_end,
            None => walk.consumed = walk.consumed.max(page_end),
        }
        if walk.total.is_none() && !walk.exhausted {
            // Without a total_count nothing tells how many calls there are: a
            // full page of nothing new may be a shift (late arrivals) or a
            // server repeating itself. Go on a little, then say so rather
            // than end short.
            if fresh == 0 {
                walk.stale += 1;
                if walk.stale > MAX_STALE_PAGES {
                    return Err(Error::BadResponse(format!(
                        "window `{}`: {} full pages in a row held no new call and the service \
                         gave no total_count, so completeness cannot be told",
                        walk.query_string, walk.stale
                    )));
                }
            } else {
                walk.stale = 0;
            }
        }
        Ok(fresh > 0)
    }

    /// Ends a walk: checks completeness, walks again after a change, or moves on.
    fn finish_walk(&mut self) -> Result<bool> {
        let Some(walk) = self.walk.as_mut() else {
            return Ok(false);
        };
        let capped = self.max_items.is_some_and(|m| self.accepted >= m);
        if capped {
            // Stopped by max_items: the walk stays, so a checkpoint knows where.
            return Ok(false);
        }
        let seen = walk.seen.len() as u64;
        let target = walk.changed.or(walk.total);
        // A resumed walk starts at `base`: it owes the calls from there on.
        let short = target.is_some_and(|t| seen.saturating_add(walk.base) < t);
        if walk.changed.is_some() || short {
            if walk.rewalks >= MAX_REWALKS {
                return Err(Error::BadResponse(format!(
                    "window `{}` kept changing: {seen} distinct calls of a total_count of {} after {} walks",
                    walk.query_string,
                    target.unwrap_or(0),
                    walk.rewalks + 1
                )));
            }
            walk.rewalks += 1;
            self.stats.rewalks += 1;
            walk.total = None;
            walk.changed = None;
            walk.base = 0;
            walk.consumed = 0;
            walk.next_offset = 0;
            walk.exhausted = false;
            return Ok(false);
        }
        self.walk = None;
        Ok(false)
    }
}

impl Iterator for Pager {
    type Item = Result<Call>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffer.is_empty() {
            match self.fill() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        self.hand_out().map(Ok)
    }
}

impl std::iter::FusedIterator for Pager {}

/// Page-wise access to a [`Pager`]: each item is a page's new calls.
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
