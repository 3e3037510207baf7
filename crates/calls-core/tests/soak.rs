//! Fault soak: full multi-window exports against calls-sim with mixed faults.
//! Every fault injected is retryable, so every run with retries on must
//! complete, with every call that existed at its start exactly once (the
//! late records that arrive during it at most once, nothing else): compared
//! with the simulator's own set, duplicates counted. A run with retries off
//! may end in an error, of a kind the client retries; never a short or
//! duplicated result reported as success.
//!
//! Runs are bounded (SOAK_RUNS, default 12); `make fuzz` runs more. The figures
//! are printed (`cargo test --test soak -- --nocapture`).

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use calls_core::{CallQuery, Cmp};
use calls_sim::{Fault, Faults, Sim, SimConfig};
use chrono::Utc;
use common::*;

fn mixed_faults(late_after: u64) -> Faults {
    Faults::none()
        .with_rate(0.02, Fault::status(500))
        .with_rate(0.02, Fault::status(503))
        .with_rate(0.01, Fault::status(502))
        .with_rate(0.02, Fault::rate_limited("1"))
        .with_rate(0.01, Fault::Drop)
        .with_rate(0.01, Fault::Malformed)
        .with_late(6, late_after)
}

#[test]
fn mixed_fault_soak() {
    let runs: u64 = std::env::var("SOAK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut faults_served: BTreeMap<String, u64> = BTreeMap::new();
    let (mut requests, mut calls) = (0u64, 0u64);
    for run in 0..runs {
        let sim = Sim::start(SimConfig {
            auth_id: AUTH_ID.into(),
            auth_token: TOKEN.into(),
            calls: 2500,
            seed: 1000 + run,
            faults: mixed_faults(1 + run % 17),
            ..SimConfig::default()
        })
        .unwrap();
        // Every third run allows no retries, so that the error outcome is exercised too.
        let retries_on = run % 3 != 2;
        // 8 retries: at the ~9% fault rate, nine faults in a row on one
        // request (the only way a run with retries on may fail) has a
        // chance of about 4e-10.
        let mut policy = quick_retries(if retries_on { 8 } else { 0 });
        policy.max_retry_after = Duration::from_millis(20);
        let client = builder(&sim)
            .retry_policy(policy)
            .concurrency(4)
            .build()
            .unwrap();
        let now = Utc::now();
        let lower = now - chrono::Duration::days(65);
        let q = CallQuery::new()
            .end_time(Cmp::Gte, lower)
            .end_time(Cmp::Lt, now);
        let result: Result<Vec<String>, _> =
            client.calls(&q).map(|c| c.map(|c| c.call_uuid)).collect();
        // The simulator's own answer, asked in chunks after the run, without
        // and with the late records.
        let stats = sim.stats();
        sim.set_faults(Faults::none());
        let at_start = expected_between(&sim, lower, now, &[]);
        sim.set_faults(Faults::none().with_late(6, 0));
        let at_end = expected_between(&sim, lower, now, &[]);
        assert!(at_end.len() > at_start.len(), "late records exist");
        requests += stats.requests;
        for (k, v) in stats.faults_by_kind {
            *faults_served.entry(k).or_default() += v;
        }
        if retries_on && let Err(e) = &result {
            panic!(
                "run {run}: with retries on, every fault injected is retryable, yet the export failed: {e}"
            );
        }
        match result {
            Ok(got) => {
                let set: HashSet<String> = got.iter().cloned().collect();
                let duplicates = got.len() - set.len();
                assert_eq!(
                    duplicates, 0,
                    "run {run}: {duplicates} duplicates in a result reported as success"
                );
                assert!(
                    got.len() >= at_start.len() && got.len() <= at_end.len(),
                    "run {run}: {} calls, expected {}..={}",
                    got.len(),
                    at_start.len(),
                    at_end.len()
                );
                let missed = at_start.difference(&set).count();
                let foreign = set.difference(&at_end).count();
                assert!(
                    missed == 0 && foreign == 0,
                    "run {run}: a short or wrong result reported as success: {missed} missed, \
                     {foreign} from nowhere"
                );
                calls += got.len() as u64;
                *outcomes.entry("complete".to_string()).or_default() += 1;
                if !retries_on {
                    *outcomes
                        .entry("complete, retries off".to_string())
                        .or_default() += 1;
                }
            }
            Err(e) => {
                assert_no_token(&e);
                // Only runs with retries off get here: the error is of a
                // kind the client retries (a malformed 200 is retried too).
                assert!(!retries_on);
                assert!(e.is_retryable() || e.is_bad_response(), "run {run}: {e}");
                let kind = match (&e, retries_on) {
                    (_, false) => "error, retries off".to_string(),
                    (e, true) if e.is_bad_response() => format!(
                        "error, retries on: bad response: {}",
                        e.bad_response_message().unwrap_or_default()
                    ),
                    (e, true) => format!(
                        "error, retries on: {}",
                        e.status()
                            .map_or_else(|| "no status".to_string(), |s| format!("status {s}"),)
                    ),
                };
                *outcomes.entry(kind).or_default() += 1;
            }
        }
    }
    eprintln!(
        "soak: {runs} runs, outcomes {outcomes:?}, {calls} calls exported, {requests} requests, faults served {faults_served:?}"
    );
    let with_retries = (0..runs).filter(|r| r % 3 != 2).count() as u64;
    assert_eq!(
        outcomes.get("complete").copied().unwrap_or(0),
        with_retries + outcomes.get("complete, retries off").copied().unwrap_or(0),
        "every run with retries on completes: {outcomes:?}"
    );
    assert!(
        faults_served.values().sum::<u64>() > 0,
        "no fault was served"
    );
}
