//! The walk: the pure bookkeeping of an export, with no HTTP and no threads.
//!
//! The service lists calls newest first by `end_time`. A time range is walked
//! as a **keyset (seek) walk** emulated through the `end_time` filter: after a
//! page whose oldest call ended in second `S`, the next request asks for
//! `end_time__lt = S + 1 s` with `offset = k`, where `k` counts the positions
//! of second `S` already covered. Records that arrive during the walk newer
//! than the cursor are outside the query and cannot shift it; records that
//! arrive below it only push the rest down, which a sequential walk inside
//! one query tolerates (see `shared/notes/keyset-walk.md` for the argument).
//! Calls of one second are kept apart by `offset` inside that second, and the
//! uuids delivered in it are kept to skip the ones an arrival pushed down.
//!
//! A range is cut into disjoint **slices**, each with its own cursor, walked
//! one request at a time; slices run at once. When a request slot is free,
//! [`Walk::next_request`] splits a running slice: the new slice takes the
//! older part (at most the older half, and only a few pages' worth below the
//! cursor once the density of calls is known). The slice split is the one
//! nearest the head with at least two such pieces left, so that the workers
//! walk whole pieces right behind what is handed out next; failing that, the
//! one with the largest remainder, even the head's own (no worker waits
//! while the head walks alone). A request already in flight for the split
//! slice still carries the old lower bound: calls below the split point in
//! its answer belong to the new slice and are dropped.
//!
//! Output is newest first: calls are handed out from the first slice, then the
//! next. Slices other than the first fetch, and splits are made, only while
//! everything buffered or asked for stays within a lookahead, so a slow
//! consumer holds the workers back and memory does not grow with the number
//! of calls.
//!
//! Every page is checked: at most `limit` calls, each with an `end_time`,
//! non-increasing, inside the requested bounds. A walk that makes no progress
//! (calls delivered coming again beyond what arrivals explain: a service
//! ignoring `offset` inside a tie, or repeating pages) ends in an error within
//! a page or two (see [`STALE_SLACK`]).

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Call, Page};
use crate::query::Bounds;
use crate::time::format_api;

/// One second in microseconds.
const SECOND: i64 = 1_000_000;

/// Calls delivered again in one query beyond what the walk can explain
/// (see `absorb`) that are tolerated before it fails: arrivals it could not
/// count (without `total_count`, or with retention taking calls away as
/// fast). A service that ignores `offset` exceeds it within a page or two.
pub(crate) const STALE_SLACK: u64 = 3;

/// The most calls of one second a walk goes through (the uuids of the second
/// are kept while it is walked): far above any trunk, far below memory trouble.
pub(crate) const MAX_TIE_CALLS: usize = 100_000;

/// The pages' worth of calls below a cursor that a split leaves to the slice
/// being split, once the density of calls is known. Each slice ends with a
/// partial page (half a request on average): pieces of 20 pages cost about
/// 2.5% more requests than pages of calls.
pub(crate) const PIECE_PAGES: i64 = 20;

/// The lookahead of a parallel walk, in pages per worker and one more: about
/// what each worker walks right behind the head (the pager's lookahead is
/// `limit × LOOKAHEAD_PAGES × (concurrency + 1)` calls).
pub(crate) const LOOKAHEAD_PAGES: u64 = 16;

/// One end of a time range: Unix microseconds and whether it is included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Edge {
    /// Unix microseconds.
    pub(crate) us: i64,
    /// Whether the bound includes `us` (`__gte`/`__lte`) or not (`__gt`/`__lt`).
    pub(crate) incl: bool,
}

impl Edge {
    fn at(t: DateTime<Utc>, incl: bool) -> Edge {
        Edge {
            us: t.timestamp_micros(),
            incl,
        }
    }

    fn time(self) -> Result<DateTime<Utc>> {
        DateTime::from_timestamp_micros(self.us)
            .ok_or_else(|| Error::BadResponse("walk bound out of range".into()))
    }

    /// Whether a call shown with end time `us` (whole seconds, as answers
    /// carry) can lie at or above this lower bound. Lenient by up to a
    /// second: the service may keep sub-second times it does not show.
    fn admits_from_below(self, us: i64) -> bool {
        us.saturating_add(SECOND) > self.us
    }

    /// Whether a call shown with end time `us` lies below this upper bound
    /// (a shown time is never later than the stored one: exact).
    fn admits_from_above(self, us: i64) -> bool {
        if self.incl {
            us <= self.us
        } else {
            us < self.us
        }
    }

    /// The tighter of two upper bounds.
    fn min_upper(self, other: Edge) -> Edge {
        match self.us.cmp(&other.us) {
            std::cmp::Ordering::Less => self,
            std::cmp::Ordering::Greater => other,
            std::cmp::Ordering::Equal => Edge {
                us: self.us,
                incl: self.incl && other.incl,
            },
        }
    }

    fn shown(self, lower: bool) -> String {
        let op = match (lower, self.incl) {
            (true, true) => ">=",
            (true, false) => ">",
            (false, true) => "<=",
            (false, false) => "<",
        };
        match DateTime::from_timestamp_micros(self.us) {
            Some(t) => format!("{op} {}", format_api(t)),
            None => format!("{op} {}us", self.us),
        }
    }
}

/// The start of the second holding `us`.
fn second_of(us: i64) -> i64 {
    us.div_euclid(SECOND).saturating_mul(SECOND)
}

/// Where a slice stands: its bounds and, inside the cursor's second, the
/// calls already handed out. This is what a checkpoint keeps of a slice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// The slice's lower bound.
    pub(crate) lower: Edge,
    /// The cursor: nothing at or above it is left.
    pub(crate) upper: Edge,
    /// The second the cursor is inside of (its start, Unix microseconds) and
    /// the uuids of that second already delivered; their number is the offset.
    pub(crate) tie: Option<(i64, Vec<String>)>,
}

impl Cursor {
    /// A cursor at the top of `[lower, upper]`.
    pub(crate) fn new(lower: Edge, upper: Edge) -> Cursor {
        Cursor {
            lower,
            upper,
            tie: None,
        }
    }

    /// A cursor over the `end_time` bounds of a planned window.
    pub(crate) fn of_bounds(b: &Bounds<DateTime<Utc>>) -> Option<Cursor> {
        let (lo, lo_incl) = b.lower()?;
        let (hi, hi_incl) = b.upper()?;
        Some(Cursor::new(Edge::at(lo, lo_incl), Edge::at(hi, hi_incl)))
    }

    /// Checks a cursor read back from a checkpoint for what this module writes.
    pub(crate) fn check(&self) -> std::result::Result<(), &'static str> {
        let min = DateTime::<Utc>::MIN_UTC.timestamp_micros();
        let max = DateTime::<Utc>::MAX_UTC.timestamp_micros();
        let in_range = |us: i64| (min..=max).contains(&us);
        if !in_range(self.lower.us) || !in_range(self.upper.us) || self.lower.us > self.upper.us {
            return Err("a slice's bounds are out of range");
        }
        if let Some((sec, uuids)) = &self.tie {
            if *sec != second_of(*sec) || !in_range(*sec) || *sec > self.upper.us {
                return Err("a slice's second is out of range");
            }
            if uuids.len() > MAX_TIE_CALLS || uuids.iter().any(|u| u.is_empty() || u.len() > 64) {
                return Err("a slice's uuids are malformed");
            }
        }
        Ok(())
    }
}

/// What a slice is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for its next request to be sent.
    Ready,
    /// A request is in flight.
    InFlight,
    /// Walked to its end (it may still hold calls to hand out).
    Done,
}

/// One request of the walk: a slice's bounds and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The slice it belongs to.
    pub(crate) slice: u64,
    /// `end_time` lower bound.
    pub(crate) lower: Edge,
    /// `end_time` upper bound (the cursor).
    pub(crate) upper: Edge,
    /// Positions of the query already covered.
    pub(crate) offset: u64,
    /// Page size.
    pub(crate) limit: u32,
}

impl Request {
    /// The request's `end_time` bounds, for the query string.
    pub(crate) fn bounds(&self) -> Result<Bounds<DateTime<Utc>>> {
        let mut b = Bounds::default();
        let lo = self.lower.time()?;
        let hi = self.upper.time()?;
        if self.lower.incl {
            b.gte = Some(lo);
        } else {
            b.gt = Some(lo);
        }
        if self.upper.incl {
            b.lte = Some(hi);
        } else {
            b.lt = Some(hi);
        }
        Ok(b)
    }
}

/// A time slice with its own cursor.
#[derive(Debug)]
struct Slice {
    id: u64,
    lower: Edge,
    upper: Edge,
    /// Positions of the current query (`[lower, upper]`) covered.
    offset: u64,
    /// The second `offset` counts in.
    tie: Option<i64>,
    /// The uuids delivered in `tie`.
    seen: HashSet<String>,
    /// Calls of the cursor's second delivered before the current query began.
    debt: u64,
    /// Calls delivered again in the current query.
    query_dups: u64,
    /// Growth of `total_count` seen in the current query.
    explained: u64,
    /// The bounds of the current query.
    last_query: Option<(Edge, Edge)>,
    /// The `total_count` of the current query's last answer.
    last_total: Option<u64>,
    /// Calls the last answer's `total_count` says are left below its page
    /// (for progress estimates only; unknown after a split).
    left: Option<u64>,
    phase: Phase,
    /// Where the slice started (its checkpoint while nothing was handed out).
    start: Cursor,
    /// The second of the last call handed out and the uuids handed out in it.
    handed: Option<(i64, Vec<String>)>,
    /// Calls delivered, not yet handed out, newest first.
    buffer: VecDeque<Call>,
    /// Microseconds spanned by this slice's last full page.
    span: Option<i64>,
}

impl Slice {
    fn new(id: u64, cursor: Cursor) -> Slice {
        let (tie, seen) = match &cursor.tie {
            Some((sec, uuids)) => (Some(*sec), uuids.iter().cloned().collect()),
            None => (None, HashSet::new()),
        };
        let seen: HashSet<String> = seen;
        let debt = seen.len() as u64;
        Slice {
            id,
            lower: cursor.lower,
            upper: cursor.upper,
            offset: seen.len() as u64,
            tie,
            seen,
            debt,
            query_dups: 0,
            explained: 0,
            last_query: None,
            last_total: None,
            left: None,
            phase: if cursor.lower.us > cursor.upper.us
                || (cursor.lower.us == cursor.upper.us && !(cursor.lower.incl && cursor.upper.incl))
            {
                Phase::Done
            } else {
                Phase::Ready
            },
            start: cursor,
            handed: None,
            buffer: VecDeque::new(),
            span: None,
        }
    }

    fn finished(&self) -> bool {
        self.phase == Phase::Done && self.buffer.is_empty()
    }

    /// Where this slice stands for a checkpoint: right after the last call
    /// handed out (every call of the slice above it was handed out before it).
    fn cursor(&self) -> Cursor {
        match &self.handed {
            None => Cursor {
                lower: self.lower,
                ..self.start.clone()
            },
            Some((sec, uuids)) => {
                let mut tie = uuids.clone();
                if let Some((s0, before)) = &self.start.tie
                    && s0 == sec
                {
                    tie.extend(before.iter().cloned());
                }
                Cursor {
                    lower: self.lower,
                    upper: self.start.upper.min_upper(Edge {
                        us: sec.saturating_add(SECOND),
                        incl: false,
                    }),
                    tie: Some((*sec, tie)),
                }
            }
        }
    }

    /// The time width left to walk.
    fn remainder(&self) -> i64 {
        self.upper.us.saturating_sub(self.lower.us)
    }

    /// What the slice holds against the lookahead: the calls it buffered
    /// and a page for its request in flight.
    fn held(&self, page: u64) -> u64 {
        let flying = if self.phase == Phase::InFlight {
            page
        } else {
            0
        };
        (self.buffer.len() as u64).saturating_add(flying)
    }
}

/// Counters of the walk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WalkStats {
    /// Slices walked (the plan's and those split off).
    pub(crate) slices: u64,
    /// Splits made.
    pub(crate) splits: u64,
    /// Calls skipped because they were already delivered.
    pub(crate) duplicates: u64,
}

/// The state of a whole export: its slices, newest first.
#[derive(Debug)]
pub(crate) struct Walk {
    slices: Vec<Slice>,
    next_id: u64,
    /// The most calls buffered or asked for ahead of a slice that fetches.
    lookahead: u64,
    /// The most slices alive at once (splits stop there).
    max_slices: usize,
    /// Microseconds spanned by the last full page of any slice.
    span: Option<i64>,
    pub(crate) stats: WalkStats,
}

impl Walk {
    /// A walk over `cursors` (disjoint, newest first).
    pub(crate) fn new(cursors: Vec<Cursor>, lookahead: u64, max_slices: usize) -> Walk {
        let mut w = Walk {
            slices: Vec::with_capacity(cursors.len()),
            next_id: 0,
            lookahead,
            max_slices: max_slices.max(cursors.len()),
            span: None,
            stats: WalkStats::default(),
        };
        for c in cursors {
            let s = Slice::new(w.next_id, c);
            w.next_id += 1;
            w.stats.slices += 1;
            w.slices.push(s);
        }
        w.slices.retain(|s| !s.finished());
        w
    }

    /// Whether every slice was walked and handed out.
    pub(crate) fn finished(&self) -> bool {
        self.slices.is_empty()
    }

    /// Whether a call is ready to hand out.
    pub(crate) fn has_ready(&self) -> bool {
        self.slices.first().is_some_and(|s| !s.buffer.is_empty())
    }

    /// The next call in output order, if one is ready.
    pub(crate) fn pop(&mut self) -> Option<Call> {
        loop {
            let s = self.slices.first_mut()?;
            if let Some(call) = s.buffer.pop_front() {
                let sec = call.end_time.map_or(0, |t| second_of(t.timestamp_micros()));
                match &mut s.handed {
                    Some((h, uuids)) if *h == sec => uuids.push(call.call_uuid.clone()),
                    other => *other = Some((sec, vec![call.call_uuid.clone()])),
                }
                if s.finished() {
                    self.slices.remove(0);
                }
                return Some(call);
            }
            if s.phase != Phase::Done {
                return None;
            }
            self.slices.remove(0);
        }
    }

    /// The cursors of every slice not yet handed out whole, newest first.
    pub(crate) fn cursors(&self) -> Vec<Cursor> {
        self.slices
            .iter()
            .filter(|s| !s.finished())
            .map(Slice::cursor)
            .collect()
    }

    /// An estimate of the calls still to hand out, for progress reports:
    /// those buffered, what each slice's last `total_count` says is left
    /// below its last page, and, for slices not answered yet, their time
    /// span at the density of the answered ones. `None` while no slice that
    /// is still walked has a count (and the buffers are empty).
    pub(crate) fn remaining_estimate(&self) -> Option<u64> {
        if self.slices.is_empty() {
            return Some(0);
        }
        let mut buffered = 0u64;
        let (mut known, mut known_span, mut unknown_span) = (0u64, 0u128, 0u128);
        let mut counted = false;
        for s in &self.slices {
            buffered = buffered.saturating_add(s.buffer.len() as u64);
            if s.phase == Phase::Done {
                counted = true;
                continue;
            }
            let span = u128::try_from(s.upper.us.saturating_sub(s.lower.us)).unwrap_or(0);
            match s.left {
                Some(left) => {
                    counted = true;
                    known = known.saturating_add(left);
                    known_span += span;
                }
                None => unknown_span += span,
            }
        }
        if !counted {
            return None;
        }
        let guessed = if unknown_span == 0 || known_span == 0 {
            0
        } else {
            u64::try_from(u128::from(known) * unknown_span / known_span).unwrap_or(u64::MAX)
        };
        Some(buffered.saturating_add(known).saturating_add(guessed))
    }

    /// The oldest lower bound still to walk.
    pub(crate) fn oldest(&self) -> Option<Edge> {
        self.slices.last().map(|s| s.lower)
    }

    /// The next request to send, if any may be sent now.
    ///
    /// A slice holds the calls it buffered and a page for its request in
    /// flight. The first slice not walked to its end may always send once
    /// what the slices up to it hold was handed out (the consumer waits on
    /// it), or while that stays within the lookahead. With `parallel`, any
    /// other slice may send, and a running slice may be split for a free
    /// worker, only while everything held and a page more stay within the
    /// lookahead: a slow consumer holds the workers back, and memory is
    /// bounded (at most about twice the lookahead: the head's slice counts
    /// only what lies up to it) whatever the splits.
    pub(crate) fn next_request(&mut self, parallel: bool, limit: u32) -> Option<Request> {
        let limit = limit.max(1);
        let page = u64::from(limit);
        let first = self.slices.iter().position(|s| s.phase != Phase::Done)?;
        let ahead = self.slices[..=first]
            .iter()
            .map(|s| s.held(page))
            .fold(0, u64::saturating_add);
        if self.slices[first].phase == Phase::Ready
            && (ahead == 0 || ahead.saturating_add(page) <= self.lookahead)
        {
            return Some(self.send(first, limit));
        }
        if !parallel {
            return None;
        }
        let total = self.slices[first + 1..]
            .iter()
            .map(|s| s.held(page))
            .fold(ahead, u64::saturating_add);
        if total.saturating_add(page) > self.lookahead {
            return None;
        }
        // Nearest the head first: a slice ready to go on, or a running one
        // with at least two pieces' worth left, which keeps a piece and
        // hands the older rest to a new slice (workers gather right behind
        // the head, each on a whole piece); failing both, the running slice
        // with the largest remainder is split (at the end of the export the
        // head's own piece is halved, so no worker waits while it walks
        // alone).
        let wide = |s: &Slice| {
            s.span.or(self.span).is_some_and(|span| {
                s.remainder() / span.max(SECOND) >= PIECE_PAGES.saturating_mul(2)
            })
        };
        // With no room for another slice, look on for one that is ready.
        let can_split = self.slices.len() < self.max_slices;
        let mut largest: Option<(usize, i64)> = None;
        let mut chosen = None;
        for (i, s) in self.slices.iter().enumerate().skip(first) {
            match s.phase {
                Phase::Ready => return Some(self.send(i, limit)),
                Phase::InFlight if can_split && wide(s) => {
                    chosen = Some(i);
                    break;
                }
                Phase::InFlight if largest.is_none_or(|(_, w)| s.remainder() > w) => {
                    largest = Some((i, s.remainder()));
                }
                _ => {}
            }
        }
        let i = chosen.or(largest.map(|(i, _)| i))?;
        if !can_split {
            return None;
        }
        let new = self.split(i)?;
        Some(self.send(new, limit))
    }

    fn send(&mut self, i: usize, limit: u32) -> Request {
        let s = &mut self.slices[i];
        s.phase = Phase::InFlight;
        Request {
            slice: s.id,
            lower: s.lower,
            upper: s.upper,
            offset: s.offset,
            limit,
        }
    }

    /// Splits slice `i` at a whole second: it keeps the newer part, a new
    /// slice right after it takes the older one. Returns the new slice's index.
    fn split(&mut self, i: usize) -> Option<usize> {
        let span = self.span;
        let s = self.slices.get_mut(i)?;
        let m = split_point(s.lower, s.upper, s.span.or(span))?;
        let cursor = Cursor::new(s.lower, Edge { us: m, incl: false });
        s.lower = Edge { us: m, incl: true };
        // Part of what was left is now the new slice's.
        s.left = None;
        let new = Slice::new(self.next_id, cursor);
        self.next_id += 1;
        self.stats.slices += 1;
        self.stats.splits += 1;
        self.slices.insert(i + 1, new);
        Some(i + 1)
    }

    /// Takes the answer to `req` in: checks it, buffers its new calls and
    /// moves the slice's cursor. Returns how many new calls it brought.
    pub(crate) fn absorb(&mut self, req: &Request, page: Page) -> Result<u64> {
        let Some(i) = self.slices.iter().position(|s| s.id == req.slice) else {
            return Err(Error::BadResponse(
                "an answer for a slice the walk no longer has".into(),
            ));
        };
        let shown_bounds = || {
            format!(
                "end_time {} and {}",
                req.lower.shown(true),
                req.upper.shown(false)
            )
        };
        let n = page.objects.len();
        if n > req.limit as usize {
            return Err(Error::BadResponse(format!(
                "a page of {n} calls where limit={} was asked",
                req.limit
            )));
        }
        // The order and the bounds the whole walk relies on.
        let mut prev: Option<i64> = None;
        for c in &page.objects {
            let Some(t) = c.end_time else {
                return Err(Error::BadResponse(format!(
                    "call {} has no end_time: the walk needs it to move its cursor",
                    shown_uuid(&c.call_uuid)
                )));
            };
            let us = t.timestamp_micros();
            if prev.is_some_and(|p| us > p) {
                return Err(Error::BadResponse(format!(
                    "the service's answer is not newest first: call {} (end_time {}) follows \
                     an older one; the walk cannot rely on its cursor",
                    shown_uuid(&c.call_uuid),
                    format_api(t)
                )));
            }
            if !req.lower.admits_from_below(us) || !req.upper.admits_from_above(us) {
                return Err(Error::BadResponse(format!(
                    "call {} (end_time {}) is outside the bounds asked for ({})",
                    shown_uuid(&c.call_uuid),
                    format_api(t),
                    shown_bounds()
                )));
            }
            prev = Some(us);
        }
        if let (Some(first), Some(last), true) = (
            page.objects.first().and_then(|c| c.end_time),
            page.objects.last().and_then(|c| c.end_time),
            n == req.limit as usize,
        ) {
            let span = first
                .timestamp_micros()
                .saturating_sub(last.timestamp_micros());
            self.span = Some(span);
            self.slices[i].span = Some(span);
        }
        let total = page.meta.total_count;
        let s = &mut self.slices[i];
        let old_tie = s.tie;
        let mut reached_lower = false;
        let mut fresh = 0u64;
        let mut dups = 0u64;
        // The oldest second of the page, its calls' uuids, and their number.
        let mut page_tie: Option<i64> = None;
        let mut page_tie_uuids: HashSet<String> = HashSet::new();
        for c in page.objects {
            let us = c.end_time.map_or(0, |t| t.timestamp_micros());
            if !s.lower.admits_from_below(us) {
                // Below a split made while the request was in flight: the
                // rest of the page belongs to the newer slice's neighbour.
                reached_lower = true;
                break;
            }
            let sec = second_of(us);
            if page_tie != Some(sec) {
                page_tie = Some(sec);
                page_tie_uuids.clear();
            }
            let dup = (old_tie == Some(sec) && s.seen.contains(&c.call_uuid))
                || page_tie_uuids.contains(&c.call_uuid);
            page_tie_uuids.insert(c.call_uuid.clone());
            if dup {
                dups += 1;
            } else {
                fresh += 1;
                s.buffer.push_back(c);
            }
        }
        self.stats.duplicates += dups;
        let covered = req.offset.saturating_add(n as u64);
        let done = n == 0 || reached_lower || total.is_some_and(|t| t <= covered);
        s.left = total.map(|t| t.saturating_sub(covered));
        if done {
            s.phase = Phase::Done;
            s.seen = HashSet::new();
            if s.buffer.is_empty() {
                self.slices.remove(i);
            }
            return Ok(fresh);
        }
        s.phase = Phase::Ready;
        // No progress. A sequential walk sees a delivered call again only
        // when a call was inserted above its position since: one duplicate
        // per insertion. Inside one query, `total_count` growth counts those;
        // the calls delivered in the second before the query began (the
        // debt) may each come once more, from insertions before it. Anything
        // beyond that is a service that ignores `offset` or repeats pages.
        let same_query = s
            .last_query
            .is_some_and(|(lo, hi)| lo == req.lower && hi == req.upper);
        if !same_query {
            // A new query (the cursor moved, or a split raised the lower
            // bound): counts start again; each call delivered in the second
            // so far may come once more.
            s.last_query = Some((req.lower, req.upper));
            s.debt = s.seen.len() as u64;
            s.query_dups = 0;
            s.explained = 0;
            s.last_total = None;
        }
        let grown = match (s.last_total, total) {
            (Some(before), Some(now)) => now.saturating_sub(before),
            _ => 0,
        };
        s.last_total = total;
        s.explained = s.explained.saturating_add(grown);
        s.query_dups = s.query_dups.saturating_add(dups);
        let unexplained = s.query_dups.saturating_sub(s.explained);
        if unexplained > s.debt.saturating_add(STALE_SLACK) {
            return Err(Error::BadResponse(format!(
                "no progress: {unexplained} calls already delivered came again ({}, offset {}{}), \
                 more than new calls in the query can explain; the service may ignore `offset` \
                 or repeat pages",
                shown_bounds(),
                req.offset,
                total.map_or(String::new(), |t| format!(", total_count {t}"))
            )));
        }
        let Some(oldest) = page_tie else {
            return Err(Error::BadResponse("pager state lost".into()));
        };
        if old_tie == Some(oldest) {
            // The whole page is one second (a tie wider than a page): walk on
            // through it by offset.
            s.offset = covered;
            s.seen.extend(page_tie_uuids);
        } else {
            s.upper = s.upper.min_upper(Edge {
                us: oldest.saturating_add(SECOND),
                incl: false,
            });
            s.offset = page_tie_uuids.len() as u64;
            s.seen = page_tie_uuids;
            s.tie = Some(oldest);
        }
        if s.seen.len() > MAX_TIE_CALLS {
            return Err(Error::BadResponse(format!(
                "more than {MAX_TIE_CALLS} calls in one second ({})",
                shown_bounds()
            )));
        }
        Ok(fresh)
    }
}

/// A whole second strictly inside `(lower, upper)` to split at, once the
/// density of calls is known (`span`: microseconds of one full page): the
/// slice keeps [`PIECE_PAGES`] pages' worth above it (at most the newer
/// half), and a slice of fewer than 4 pages' worth is not split (each part
/// ends with a partial page: splitting small slices costs requests). No
/// split before any full page was seen: there is no up-front probing, and a
/// small export takes the requests it needs.
fn split_point(lower: Edge, upper: Edge, span: Option<i64>) -> Option<i64> {
    let span = span?.max(SECOND);
    let width = upper.us.checked_sub(lower.us)?;
    if width < span.saturating_mul(4) {
        return None;
    }
    let mid = second_of(lower.us.saturating_add(width / 2));
    let m = mid.max(second_of(
        upper.us.saturating_sub(span.saturating_mul(PIECE_PAGES)),
    ));
    (m > lower.us && m < upper.us).then_some(m)
}

/// A uuid as quoted in an error: at most 64 characters.
fn shown_uuid(u: &str) -> String {
    let s: String = u.chars().take(64).collect();
    format!("`{s}`")
}

#[cfg(test)]
mod tests;
