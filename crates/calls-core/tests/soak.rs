//! Fault soak: full multi-window exports against calls-sim with mixed faults.
//! Every run must end with every call that existed at its start exactly once
//! (the late records that arrive during it at most once), or with an error;
//! never a short or duplicated result reported as success.
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
        let mut policy = quick_retries(if retries_on { 4 } else { 0 });
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
        match result {
            Ok(got) => {
                let set: HashSet<String> = got.iter().cloned().collect();
                assert_eq!(
                    set.len(),
                    got.len(),
                    "run {run}: a duplicated result reported as success"
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
            }
            Err(e) => {
                assert_no_token(&e);
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
    assert!(
        outcomes.get("complete").copied().unwrap_or(0) > 0,
        "no run completed"
    );
    assert!(
        faults_served.values().sum::<u64>() > 0,
        "no fault was served"
    );
}
