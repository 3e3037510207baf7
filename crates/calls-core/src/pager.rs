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

use crate::client::{Attempts, Client, MAX_LIMIT};
use crate::error::{Error, Result};
use crate::model::{Call, Page};
use crate::policy::WindowPolicy;
use crate::query::{Bounds, CallQuery};
use crate::time::format_api;

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
    let (lower, lower_incl) = b.lower().unwrap_or((upper - policy.default_window(), true));
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
        let lo_candidate = hi.0 - span;
        let last = lo_candidate <= lower;
        let lo = if last {
            (lower, lower_incl)
        } else {
            (lo_candidate, true)
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
    started: bool,
    finished: bool,
    windows: VecDeque<Window>,
    walk: Option<Walk>,
    buffer: VecDeque<Call>,
    stats: PagerStats,
    /// Calls that requests in flight may bring (the sum of their limits).
    scheduled: u64,
}

/// A page request running on its own thread.
type PageFetch = JoinHandle<Result<(Page, Attempts)>>;

/// The walk of one window.
struct Walk {
    query_string: String,
    /// Distinct uuids seen in this window (windows never share a call).
    seen: HashSet<String>,
    /// `total_count` at the start of this walk.
    total: Option<u64>,
    /// Whether any page of this walk reported another `total_count`.
    changed: Option<u64>,
    /// The next offset to request.
    next_offset: u64,
    /// Requests in flight, oldest first: (offset, limit, handle).
    in_flight: VecDeque<(u64, u32, PageFetch)>,
    /// No more offsets to request in this walk.
    exhausted: bool,
    rewalks: u32,
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
            started: false,
            finished: false,
            windows: VecDeque::new(),
            walk: None,
            buffer: VecDeque::new(),
            stats: PagerStats::default(),
            scheduled: 0,
        }
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

    /// Page-wise access: each item is the new (not yet seen) calls of one page.
    pub fn pages(self) -> Pages {
        Pages { pager: self }
    }

    /// The next batch of new calls, or `None` when done.
    pub fn next_page(&mut self) -> Option<Result<Vec<Call>>> {
        if !self.buffer.is_empty() {
            return Some(Ok(self.buffer.drain(..).collect()));
        }
        match self.fill() {
            Ok(true) => Some(Ok(self.buffer.drain(..).collect())),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }

    fn remaining(&self) -> Option<u64> {
        self.max_items.map(|m| m.saturating_sub(self.stats.items))
    }

    /// Fetches until the buffer has calls (true) or everything is done (false).
    fn fill(&mut self) -> Result<bool> {
        if self.finished {
            return Ok(false);
        }
        let r = self.fill_inner();
        if !matches!(r, Ok(true)) {
            self.finished = true;
            self.walk = None;
        }
        r
    }

    fn fill_inner(&mut self) -> Result<bool> {
        if !self.started {
            self.started = true;
            let policy = self.client.policy();
            self.windows = plan_windows(&self.query, &policy, Utc::now())?.into();
        }
        loop {
            if self.remaining() == Some(0) {
                return Ok(false);
            }
            if self.walk.is_none() {
                let Some(w) = self.windows.pop_front() else {
                    return Ok(false);
                };
                self.stats.windows += 1;
                self.walk = Some(Walk {
                    query_string: w.query.to_query_string(),
                    seen: HashSet::new(),
                    total: None,
                    changed: None,
                    next_offset: 0,
                    in_flight: VecDeque::new(),
                    exhausted: false,
                    rewalks: 0,
                });
            }
            if self.step()? {
                return Ok(true);
            }
        }
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
            let promised = self.stats.items + self.scheduled;
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
            let handle = std::thread::spawn(move || client.fetch_page(&qs, limit, offset));
            walk.in_flight.push_back((offset, limit, handle));
            walk.next_offset += u64::from(limit);
            self.scheduled += u64::from(limit);
            if walk.total.is_none() {
                break;
            }
        }
        let Some((_offset, limit, handle)) = walk.in_flight.pop_front() else {
            // Nothing in flight and nothing more to send: the walk is over.
            return self.finish_walk();
        };
        self.scheduled = self.scheduled.saturating_sub(u64::from(limit));
        let (page, attempts) = handle
            .join()
            .map_err(|_| Error::BadResponse("a page request thread panicked".into()))??;
        self.stats.requests += u64::from(attempts.sent);
        self.stats.retries += u64::from(attempts.sent.saturating_sub(1));
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
        for call in page.objects {
            if walk.seen.contains(&call.call_uuid) {
                self.stats.duplicates_skipped += 1;
                continue;
            }
            if self.max_items.is_some_and(|m| self.stats.items >= m) {
                break;
            }
            walk.seen.insert(call.call_uuid.clone());
            self.stats.items += 1;
            fresh += 1;
            self.buffer.push_back(call);
        }
        if walk.total.is_none() && fresh == 0 && !walk.exhausted {
            // Without a total_count, a page of nothing new means the server is repeating itself.
            walk.exhausted = true;
        }
        Ok(fresh > 0)
    }

    /// Ends a walk: checks completeness, walks again after a change, or moves on.
    fn finish_walk(&mut self) -> Result<bool> {
        let Some(walk) = self.walk.as_mut() else {
            return Ok(false);
        };
        let capped = self.max_items.is_some_and(|m| self.stats.items >= m);
        let seen = walk.seen.len() as u64;
        let target = walk.changed.or(walk.total);
        let short = target.is_some_and(|t| seen < t);
        if !capped && (walk.changed.is_some() || short) {
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
        if let Some(c) = self.buffer.pop_front() {
            return Some(Ok(c));
        }
        match self.fill() {
            Ok(true) => self.buffer.pop_front().map(Ok),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
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
