//! The per-account limit: a sliding window of accepted requests, 429 with
//! `Retry-After`, its counters, and how it sits with the fault plan.

mod common;

use std::time::Duration;

use calls_sim::{Fault, Faults, RateLimit, Sim, SimConfig};
use common::*;

fn sim_limited(limit: Option<RateLimit>, faults: Faults) -> Sim {
    Sim::start(SimConfig {
        calls: 100,
        seed: 13,
        faults,
        rate_limit: limit,
        ..SimConfig::default()
    })
    .unwrap()
}

/// A window long enough that nothing leaves it during the test.
fn long(max: u32) -> Option<RateLimit> {
    Some(RateLimit {
        max,
        per: Duration::from_secs(600),
    })
}

#[test]
fn at_most_max_accepted_then_429_with_retry_after() {
    let sim = sim_limited(long(3), Faults::none());
    let got: Vec<u16> = (0..6).map(|_| api(&sim, "limit=1").status).collect();
    assert_eq!(got, [200, 200, 200, 429, 429, 429]);
    let r = api(&sim, "limit=1");
    assert_eq!(r.status, 429);
    assert!(r.json()["error"].is_string());
    let secs: u64 = r.header("Retry-After").unwrap().parse().unwrap();
    assert!((590..=600).contains(&secs), "Retry-After {secs}");
    let s = sim.stats();
    assert_eq!(s.requests, 7);
    assert_eq!(s.rate_limited, 4);
    assert_eq!(s.max_in_window, 3);
    assert_eq!(s.faults, 0);
}

#[test]
fn off_by_default_and_switchable() {
    let sim = sim_limited(None, Faults::none());
    assert!((0..20).all(|_| api(&sim, "limit=1").status == 200));
    assert_eq!(sim.stats().rate_limited, 0);
    sim.set_rate_limit(long(1));
    assert_eq!(api(&sim, "limit=1").status, 200);
    assert_eq!(api(&sim, "limit=1").status, 429);
    // A new limit starts with an empty window.
    sim.set_rate_limit(long(1));
    assert_eq!(api(&sim, "limit=1").status, 200);
    sim.set_rate_limit(None);
    assert_eq!(api(&sim, "limit=1").status, 200);
    assert_eq!(sim.stats().rate_limited, 1);
}

#[test]
fn a_faulted_request_is_not_counted_in_the_window() {
    let sim = sim_limited(
        long(2),
        Faults::none().with_script([Fault::status(503), Fault::status(503)]),
    );
    let got: Vec<u16> = (0..5).map(|_| api(&sim, "limit=1").status).collect();
    assert_eq!(got, [503, 503, 200, 200, 429]);
}

#[test]
fn the_window_slides() {
    let per = Duration::from_millis(300);
    let sim = sim_limited(Some(RateLimit { max: 2, per }), Faults::none());
    assert_eq!(api(&sim, "limit=1").status, 200);
    assert_eq!(api(&sim, "limit=1").status, 200);
    assert_eq!(api(&sim, "limit=1").status, 429);
    // Ask until one is accepted again: it must be, once the first two left
    // (the 30 s is only a bound on a broken window, not a timing).
    let mut accepted = false;
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < give_up {
        if api(&sim, "limit=1").status == 200 {
            accepted = true;
            break;
        }
    }
    assert!(accepted, "the window never slid");
    let s = sim.stats();
    assert_eq!(s.max_in_window, 2);
    assert_eq!(s.requests, s.rate_limited + 3);
}

#[test]
fn concurrent_requests_never_exceed_the_limit() {
    let sim = sim_limited(long(25), Faults::none());
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10 {
                    api(&sim, "limit=1");
                }
            });
        }
    });
    let s = sim.stats();
    assert_eq!(s.requests, 80);
    assert_eq!(s.rate_limited, 55);
    assert_eq!(s.max_in_window, 25);
}

#[test]
fn parse_max_per_seconds() {
    assert_eq!(RateLimit::parse("300/5"), Ok(RateLimit::plivo()));
    assert_eq!(
        RateLimit::parse("100/0.5").unwrap().per,
        Duration::from_millis(500)
    );
    for bad in [
        "300", "300/0", "/5", "x/5", "300/-1", "300/inf", "300/NaN", "-1/5",
    ] {
        assert!(RateLimit::parse(bad).is_err(), "{bad}");
    }
}
