//! Incremental sync against calls-sim: a series of runs with calls arriving
//! between and during them delivers, over all runs, every call that ended in
//! the covered span exactly once (the expected set comes from the
//! simulator); states from elsewhere are refused.

mod common;

use std::time::Duration;

use calls_core::{CallQuery, Client, Cmp, Error};
use calls_sim::Faults;
use chrono::Utc;
use common::*;

/// One run: its calls, the counters, and the state for the next.
fn run(
    client: &Client,
    q: &CallQuery,
    state: Option<&str>,
    lookback: Duration,
    during: impl Fn(usize),
) -> (Vec<String>, calls_core::PagerStats, String) {
    let mut pager = client.sync(q, state, lookback).expect("a sync pager");
    let mut got = Vec::new();
    for c in pager.by_ref() {
        got.push(c.expect("no error").call_uuid);
        during(got.len());
    }
    let next = pager.sync_state().expect("a state once done");
    (got, pager.stats(), next)
}

#[test]
fn a_series_of_runs_delivers_every_call_exactly_once() {
    let sim = sim(3000, Faults::none());
    let client = builder(&sim).concurrency(4).build().unwrap();
    let first_lower = Utc::now() - chrono::Duration::days(3);
    let q = CallQuery::new().end_time(Cmp::Gte, first_lower);
    let lookback = Duration::from_secs(3600);
    let mut state: Option<String> = None;
    let mut all: Vec<String> = Vec::new();
    let runs = 6;
    for k in 0..runs {
        // Between runs: new calls, some that ended up to 30 minutes ago.
        if k > 0 {
            sim.arrive_now(25, 1800);
        }
        let last = k == runs - 1;
        // During a run (not the last): more, after its 5th and 40th call.
        let (got, stats, next) = run(&client, &q, state.as_deref(), lookback, |n| {
            if !last && (n == 5 || n == 40) {
                sim.arrive_now(10, 1800);
            }
        });
        eprintln!(
            "run {k}: delivered {}, skipped as already delivered {}, requests {}",
            got.len(),
            stats.already_delivered,
            stats.requests
        );
        if k > 0 {
            assert!(stats.already_delivered > 0, "run {k} re-read its overlap");
        }
        all.extend(got);
        state = Some(next);
    }
    let union = unique(&all);
    let expected = expected_between(
        &sim,
        first_lower,
        Utc::now() + chrono::Duration::seconds(1),
        &[],
    );
    let missed = expected.difference(&union).count();
    let foreign = union.difference(&expected).count();
    assert_eq!(
        (missed, foreign),
        (0, 0),
        "the union over runs is the simulator's set"
    );
    assert!(union.len() > 150, "{}", union.len());
}

#[test]
fn states_from_elsewhere_and_bad_queries_are_refused() {
    let sim = sim(500, Faults::none());
    let client = client(&sim);
    let q = CallQuery::new()
        .call_direction("inbound")
        .end_time(Cmp::Gte, Utc::now() - chrono::Duration::days(1));
    let mut pager = client.sync(&q, None, Duration::ZERO).unwrap();
    assert!(pager.sync_state().is_none(), "no state before the end");
    pager.by_ref().for_each(|c| drop(c.unwrap()));
    let state = pager.sync_state().unwrap();
    assert!(state.starts_with("calls-sync1."));
    assert!(!state.contains(TOKEN));
    let refused = |r: Result<calls_core::Pager, Error>, field: &str, what: &str| match r {
        Err(Error::Validation { field: f, message }) => {
            assert_eq!(f, field, "{what}: {message}");
            message
        }
        other => panic!("{what}: {other:?}"),
    };
    // Other filters (end_time aside), another account, an edited state.
    let m = refused(
        client.sync(
            &q.clone().call_direction("outbound"),
            Some(&state),
            Duration::ZERO,
        ),
        "state",
        "other filters",
    );
    assert!(m.contains("other filters"), "{m}");
    let other = Client::builder("MAOTHER0000000000001", TOKEN)
        .base_url(sim.base_url())
        .build()
        .unwrap();
    refused(
        other.sync(&q, Some(&state), Duration::ZERO),
        "state",
        "account",
    );
    let mut edited = state.clone().into_bytes();
    let i = edited.len() / 2;
    edited[i] = if edited[i] == b'a' { b'b' } else { b'a' };
    refused(
        client.sync(
            &q,
            Some(&String::from_utf8(edited).unwrap()),
            Duration::ZERO,
        ),
        "state",
        "edited",
    );
    refused(
        client.sync(&q, Some("calls-ckpt2.00.00"), Duration::ZERO),
        "state",
        "a checkpoint",
    );
    // The same filters with another lower bound are the same sync.
    let later = CallQuery::new()
        .call_direction("inbound")
        .end_time(Cmp::Gte, Utc::now() - chrono::Duration::hours(2));
    assert!(client.sync(&later, Some(&state), Duration::ZERO).is_ok());
    // An upper bound: a sync always runs to now.
    let bounded = q.clone().end_time(Cmp::Lt, Utc::now());
    refused(
        client.sync(&bounded, None, Duration::ZERO),
        "end_time__lt",
        "upper bound",
    );
    // A lookback longer than retention.
    refused(
        client.sync(&q, None, Duration::from_secs(91 * 86_400)),
        "lookback",
        "lookback",
    );
    // An ordinary pager has no state.
    let mut plain = client.calls(&q);
    plain.by_ref().for_each(drop);
    assert!(plain.sync_state().is_none());
}

/// A sync run interrupted and resumed from its checkpoint gives the same
/// next state: the series stays exact.
#[test]
fn a_sync_run_resumes_from_its_checkpoint() {
    let sim = sim(2000, Faults::none());
    let client = client(&sim);
    let first_lower = Utc::now() - chrono::Duration::days(2);
    let q = CallQuery::new().end_time(Cmp::Gte, first_lower);
    let lookback = Duration::from_secs(3600);
    let (mut all, _, state) = run(&client, &q, None, lookback, |_| {});
    sim.arrive_now(30, 1800);
    let mut pager = client.sync(&q, Some(&state), lookback).unwrap();
    all.extend(pager.by_ref().take(10).map(|c| c.unwrap().call_uuid));
    let cp = pager.checkpoint();
    drop(pager);
    let mut resumed = client.resume(&q, &cp).unwrap();
    all.extend(resumed.by_ref().map(|c| c.unwrap().call_uuid));
    let state = resumed.sync_state().expect("the resumed run's state");
    sim.arrive_now(30, 1800);
    let (got, _, _) = run(&client, &q, Some(&state), lookback, |_| {});
    all.extend(got);
    let union = unique(&all);
    let expected = expected_between(
        &sim,
        first_lower,
        Utc::now() + chrono::Duration::seconds(1),
        &[],
    );
    assert_eq!(union, expected);
}
