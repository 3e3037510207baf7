//! The cursor walk against calls-sim while records keep arriving: at the
//! top, deep inside the range, at several rates; a tie burst wider than many
//! pages; multi-window ranges; concurrency 1 and 8. Every call that existed
//! when the export started is delivered exactly once, and nothing from
//! outside the range; the expected sets come from the simulator. A service
//! that ignores `offset` or breaks the newest-first order ends the export
//! with an error after a bounded number of requests.

mod common;

use std::collections::HashSet;

use calls_core::{CallQuery, Cmp, Error};
use calls_sim::{Faults, Sim, SimConfig};
use chrono::{DateTime, Utc};
use common::*;

fn sim_with(calls: usize, tie_burst: usize, faults: Faults) -> Sim {
    Sim::start(SimConfig {
        auth_id: AUTH_ID.into(),
        auth_token: TOKEN.into(),
        calls,
        seed: 77,
        tie_burst,
        faults,
        ..SimConfig::default()
    })
    .expect("calls-sim starts")
}

struct Export {
    got: Vec<String>,
    at_start: HashSet<String>,
    at_end: HashSet<String>,
    stats: calls_core::PagerStats,
}

/// Exports `[now - days, now)` and asks the simulator what existed before
/// and after.
fn export(sim: &Sim, days: i64, concurrency: usize) -> (Export, Option<Error>) {
    let now = Utc::now();
    let lower = now - chrono::Duration::days(days);
    export_range(sim, lower, now, concurrency)
}

fn export_range(
    sim: &Sim,
    lower: DateTime<Utc>,
    upper: DateTime<Utc>,
    concurrency: usize,
) -> (Export, Option<Error>) {
    let client = builder(sim).concurrency(concurrency).build().unwrap();
    let q = CallQuery::new()
        .end_time(Cmp::Gte, lower)
        .end_time(Cmp::Lt, upper);
    let at_start = expected_between(sim, lower, upper, &[]);
    let mut pager = client.calls(&q);
    let mut got = Vec::new();
    let mut error = None;
    for c in pager.by_ref() {
        match c {
            Ok(c) => got.push(c.call_uuid),
            Err(e) => error = Some(e),
        }
    }
    let at_end = expected_between(sim, lower, upper, &[]);
    let e = Export {
        got,
        at_start,
        at_end,
        stats: pager.stats(),
    };
    (e, error)
}

/// Exactly once for what existed at the start, nothing from nowhere.
fn assert_exact(e: &Export, what: &str) {
    let got = unique(&e.got);
    let missed: Vec<&String> = e.at_start.difference(&got).take(5).collect();
    assert!(
        missed.is_empty(),
        "{what}: {} calls that existed at the start are missing, e.g. {missed:?} ({:?})",
        e.at_start.difference(&got).count(),
        e.stats
    );
    let foreign = got.difference(&e.at_end).count();
    assert_eq!(foreign, 0, "{what}: calls from outside the range");
}

/// One late record every 30 requests, or every 2 or 3, landing at the top
/// (within the minute before the data ends) or anywhere in the last 20 days:
/// a 20-day export stays exact at concurrency 1 and 8, with no re-walk.
#[test]
fn steady_arrivals_at_the_top_and_deep_inside_miss_nothing() {
    for (every, depth_days) in [(30, 0), (3, 0), (2, 20), (3, 20)] {
        for concurrency in [1, 8] {
            let sim = sim_with(
                6000,
                0,
                Faults::none().with_arrivals(every, depth_days * 86_400, 10_000),
            );
            let (e, error) = export(&sim, 20, concurrency);
            let what = format!("every {every}, depth {depth_days} d, concurrency {concurrency}");
            assert!(error.is_none(), "{what}: {error:?}");
            assert!(e.at_start.len() > 1000, "{what}: a meaningful export");
            assert!(sim.arrived() > 0, "{what}: records arrived during the walk");
            assert!(e.at_end.len() > e.at_start.len(), "{what}");
            assert_exact(&e, &what);
        }
    }
}

/// Deep arrivals over a 45-day export (two windows) at concurrency 4: the
/// case where re-walking lost a third of the calls.
#[test]
fn deep_arrivals_across_windows_miss_nothing() {
    let sim = sim_with(
        4000,
        0,
        Faults::none().with_arrivals(2, 45 * 86_400, 10_000),
    );
    let (e, error) = export(&sim, 45, 4);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(e.stats.windows, 2);
    assert!(sim.arrived() > 20, "{}", sim.arrived());
    assert_exact(&e, "45 days, deep arrivals, concurrency 4");
}

/// 450 calls in one second: the walk goes through the tie by offset (22
/// pages inside one second), exactly once, at concurrency 1 and 8.
#[test]
fn a_tie_wider_than_many_pages_is_walked_through() {
    for concurrency in [1, 8] {
        let sim = sim_with(3000, 450, Faults::none());
        let tie = sim.tie_second();
        let (e, error) = export_range(
            &sim,
            tie - chrono::Duration::days(2),
            tie + chrono::Duration::days(1),
            concurrency,
        );
        assert!(error.is_none(), "concurrency {concurrency}: {error:?}");
        assert_exact(&e, &format!("tie, concurrency {concurrency}"));
        assert_eq!(unique(&e.got), e.at_start, "nothing arrived: the whole set");
        let in_tie = expected_between(&sim, tie, tie + chrono::Duration::seconds(1), &[]);
        assert!(in_tie.len() >= 450);
        assert!(in_tie.is_subset(&unique(&e.got)));
    }
}

/// A 60-day export without arrivals at concurrency 8 takes no more requests
/// than ⌈N/20⌉ × 1.05 plus one partial page per slice.
#[test]
fn requests_stay_close_to_one_per_page() {
    let sim = sim_with(9000, 0, Faults::none());
    let (e, error) = export(&sim, 60, 8);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(unique(&e.got), e.at_start);
    let pages = (e.at_start.len() as u64).div_ceil(20);
    let bound = pages + pages / 20 + e.stats.slices;
    assert!(
        e.stats.requests <= bound,
        "{} requests for {pages} pages and {} slices: {:?}",
        e.stats.requests,
        e.stats.slices,
        e.stats
    );
    assert!(
        e.stats.splits > 0,
        "the workers split the windows: {:?}",
        e.stats
    );
}

/// A service that ignores `offset`, over a range with a tie wider than a
/// page: an error naming the lack of progress within a few requests, after
/// every call before the tie was delivered once.
#[test]
fn a_service_ignoring_offset_is_an_error_within_a_few_requests() {
    let sim = sim_with(300, 100, Faults::none().with_offset_ignored());
    let tie = sim.tie_second();
    let (e, error) = export_range(
        &sim,
        tie - chrono::Duration::hours(1),
        tie + chrono::Duration::hours(1),
        1,
    );
    let error = error.expect("no progress is an error");
    assert!(
        matches!(&error, Error::BadResponse(m) if m.contains("no progress")),
        "{error}"
    );
    unique(&e.got);
    assert!(
        sim.stats().requests <= 6,
        "bounded: {} requests",
        sim.stats().requests
    );
}

/// A service that answers pages oldest first: the first such page is a
/// BAD_RESPONSE saying so, not retried, and nothing of it is delivered.
#[test]
fn a_service_breaking_the_order_is_a_bad_response() {
    let sim = sim_with(3000, 0, Faults::none().with_broken_order());
    let (e, error) = export(&sim, 20, 4);
    let error = error.expect("an unordered page is an error");
    assert!(
        matches!(&error, Error::BadResponse(m) if m.contains("not newest first")),
        "{error}"
    );
    assert!(e.got.is_empty(), "{} delivered", e.got.len());
    assert!(sim.stats().requests <= 4, "{}", sim.stats().requests);
}
