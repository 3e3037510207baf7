//! The client's request budget against calls-sim enforcing a per-account
//! limit (a sliding window, 429 with `Retry-After`). Every figure asserted is
//! counted by the simulator or the client, never timed.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use calls_core::{CallQuery, Client, ClientBuilder, Cmp, Error};
use calls_sim::{Faults, RateLimit, Sim, SimConfig};
use chrono::{DateTime, Utc};
use common::*;

fn limited_sim(calls: usize, limit: RateLimit) -> Sim {
    Sim::start(SimConfig {
        auth_id: AUTH_ID.into(),
        auth_token: TOKEN.into(),
        calls,
        seed: 77,
        rate_limit: Some(limit),
        ..SimConfig::default()
    })
    .expect("calls-sim starts")
}

/// A client at concurrency 8 with the given budget; retries as by default
/// but with room for a few 429s.
fn budgeted(sim: &Sim, max: u32, per: Duration) -> ClientBuilder {
    Client::builder(AUTH_ID, TOKEN)
        .base_url(sim.base_url())
        .timeout(Duration::from_secs(30))
        .concurrency(8)
        .max_retries(10)
        .rate_limit(max, per)
}

/// The last 89 days, pinned.
fn query() -> (CallQuery, DateTime<Utc>, DateTime<Utc>) {
    let upper = Utc::now();
    let lower = upper - chrono::Duration::days(89);
    let q = CallQuery::new()
        .end_time(Cmp::Gte, lower)
        .end_time(Cmp::Lt, upper);
    (q, lower, upper)
}

/// What the simulator holds in [lower, upper), asked in 25-day chunks.
fn expected(sim: &Sim, lower: DateTime<Utc>, upper: DateTime<Utc>) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut lo = lower;
    while lo < upper {
        let hi = (lo + chrono::Duration::days(25)).min(upper);
        let (a, b) = (api_time(lo), api_time(hi));
        let params = [("end_time__gte", a.as_str()), ("end_time__lt", b.as_str())];
        out.extend(uuids_of_json(&sim.expected(&params).expect("sim answers")));
        lo = hi;
    }
    out
}

/// Exports the query; asserts it is complete and exact (each call once).
fn export_exactly(client: &Client, sim: &Sim) -> usize {
    let (q, lower, upper) = query();
    let got: Vec<String> = client
        .calls(&q)
        .map(|c| c.expect("the export succeeds").call_uuid)
        .collect();
    let set = unique(&got);
    assert_eq!(set.len(), got.len(), "a call came twice");
    assert_eq!(set, expected(sim, lower, upper), "the export is not exact");
    got.len()
}

/// With the budget equal to the service's limit, a 1,000-request export
/// gets no more than 1% of its requests answered 429.
#[test]
fn a_budget_equal_to_the_limit_stays_under_it() {
    let limit = RateLimit {
        max: 50,
        per: Duration::from_millis(500),
    };
    // ~20,500 calls in the last 89 days: over 1,000 pages of 20.
    let sim = limited_sim(23_000, limit);
    let client = budgeted(&sim, limit.max, limit.per).build().unwrap();
    let n = export_exactly(&client, &sim);
    let s = sim.stats();
    assert!(s.requests >= 1000, "{} calls, {} requests", n, s.requests);
    assert!(
        s.rate_limited * 100 <= s.requests,
        "{} of {} requests answered 429",
        s.rate_limited,
        s.requests
    );
    assert!(s.max_in_window <= u64::from(limit.max));
    let c = client.rate_stats();
    assert_eq!(c.answered_429, s.rate_limited, "the client counts each 429");
    assert_eq!(c.requests, s.requests, "the client counts each request");
}

/// With the budget at twice the limit the export is complete and exact, and
/// the adaptive budget keeps the 429s to a few percent (without it, every
/// window would end in a burst of 429s).
#[test]
fn a_budget_twice_the_limit_completes_exactly() {
    let limit = RateLimit {
        max: 20,
        per: Duration::from_millis(250),
    };
    // ~8,000 calls: about 400 pages.
    let sim = limited_sim(9_000, limit);
    let client = budgeted(&sim, 2 * limit.max, limit.per).build().unwrap();
    export_exactly(&client, &sim);
    let s = sim.stats();
    assert!(s.rate_limited > 0, "the limit was never reached: {s:?}");
    assert!(
        s.rate_limited * 20 <= s.requests,
        "{} of {} requests answered 429",
        s.rate_limited,
        s.requests
    );
    assert!(s.max_in_window <= u64::from(limit.max));
    let c = client.rate_stats();
    assert_eq!(c.answered_429, s.rate_limited);
    assert!(c.budget < c.ceiling, "a 429 lowered the budget: {c:?}");
    assert!(c.waited_retry_after > Duration::ZERO, "{c:?}");
}

/// Two clients of one account at once, each with the budget at the limit:
/// both exports complete and exact.
#[test]
fn two_clients_share_one_account() {
    let limit = RateLimit {
        max: 20,
        per: Duration::from_millis(250),
    };
    let sim = limited_sim(9_000, limit);
    let stats: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let client = budgeted(&sim, limit.max, limit.per).build().unwrap();
                    export_exactly(&client, &sim);
                    client.rate_stats()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let s = sim.stats();
    assert!(s.max_in_window <= u64::from(limit.max));
    assert_eq!(
        stats.iter().map(|c| c.requests).sum::<u64>(),
        s.requests,
        "{stats:?}"
    );
    assert_eq!(
        stats.iter().map(|c| c.answered_429).sum::<u64>(),
        s.rate_limited
    );
}

/// A service answering nothing but 429 ends in a rate-limit error after
/// `max_retries + 1` attempts, however long its `Retry-After` (capped).
#[test]
fn a_429_storm_ends_in_a_rate_limit_error() {
    let sim = sim(100, Faults::rate_limit(1, "3600"));
    let mut policy = quick_retries(3);
    policy.max_retry_after = Duration::from_millis(20);
    let client = builder(&sim)
        .retry_policy(policy)
        .rate_limit(300, Duration::from_secs(5))
        .concurrency(4)
        .build()
        .unwrap();
    let err = client.list_page(&CallQuery::new(), 20, 0).unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(sim.stats().requests, 4);

    // A pager's workers, each pausing the others, end too.
    let (q, _, _) = query();
    let err = client
        .calls(&q)
        .find_map(|c| c.err())
        .expect("the export fails");
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    // (The pager's other workers may still be finishing their last attempt.)
    let c = client.rate_stats();
    assert!(
        c.answered_429 >= 5 && c.answered_429 <= sim.stats().requests,
        "{c:?}"
    );
}

#[test]
fn the_default_budget_is_half_the_account() {
    let c = Client::builder(AUTH_ID, TOKEN)
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    let s = c.rate_stats();
    assert_eq!((s.ceiling, s.budget, s.requests), (150, 150, 0));
}
