//! Stopping and bounding a call: a pager cancelled from another thread while
//! its request is held by the simulator returns at once (counted: the held
//! answer is still in flight when it returns); a deadline ends a call that
//! would wait longer, and a `Retry-After` beyond it fails at once.

mod common;

use std::time::{Duration, Instant};

use calls_core::{CallQuery, Cmp, Error};
use calls_sim::{Fault, Faults, Sim};
use chrono::Utc;
use common::*;

/// Waits (bounded) until the simulator holds `n` requests.
fn until_in_flight(sim: &Sim, n: u64) {
    let give_up = Instant::now() + Duration::from_secs(20);
    while sim.stats().in_flight < n {
        assert!(Instant::now() < give_up, "the request never arrived");
        std::thread::yield_now();
    }
}

fn query() -> CallQuery {
    let now = Utc::now();
    CallQuery::new()
        .end_time(Cmp::Gte, now - chrono::Duration::days(5))
        .end_time(Cmp::Lt, now)
}

#[test]
fn a_pager_cancelled_from_another_thread_returns_before_its_answer() {
    let sim = sim(2000, Faults::none().with_hold());
    let client = builder(&sim).concurrency(1).build().unwrap();
    let q = query();
    let mut pager = client.calls(&q);
    let canceller = pager.canceller();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = pager.next();
        let _ = tx.send((r, Instant::now(), pager));
    });
    until_in_flight(&sim, 1);
    let cancelled_at = Instant::now();
    canceller.cancel();
    // Bounded: a cancel that does not work fails here, not by hanging.
    let got = rx.recv_timeout(Duration::from_secs(10));
    if got.is_err() {
        sim.release();
        panic!("the cancelled call did not return while its answer was held");
    }
    let (r, returned_at, mut pager) = got.unwrap();
    // Counted, not timed: the answer it was waiting for is still held.
    assert_eq!(sim.stats().in_flight, 1, "returned before the answer");
    assert!(matches!(r, Some(Err(Error::Cancelled))), "{r:?}");
    eprintln!(
        "cancel: returned {:?} after calls_pager_cancel",
        returned_at.saturating_duration_since(cancelled_at)
    );
    // Sticky; the checkpoint still works and a resumed pager goes on.
    assert!(matches!(pager.next(), Some(Err(Error::Cancelled))));
    let cp = pager.checkpoint();
    sim.release();
    let rest: Vec<String> = client
        .resume(&q, &cp)
        .unwrap()
        .map(|c| c.unwrap().call_uuid)
        .collect();
    assert_eq!(unique(&rest), expected_for(&sim, &q));
}

#[test]
fn a_deadline_ends_a_call_that_would_wait_longer() {
    let sim = sim(500, Faults::none().with_hold());
    let client = builder(&sim)
        .deadline(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let e = client.list_page(&query(), 20, 0).unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    let mut pager = client.calls(&query());
    let e = pager.next().unwrap().unwrap_err();
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    sim.release();
    // Without a hold the same client works.
    assert!(client.list_page(&query(), 20, 0).is_ok());
}

#[test]
fn a_retry_after_beyond_the_deadline_fails_at_once() {
    let sim = sim(500, Faults::none().with_every(1, Fault::rate_limited("30")));
    let client = builder(&sim)
        .retry_policy(quick_retries(4))
        .deadline(Some(Duration::from_secs(2)))
        .build()
        .unwrap();
    let mut policy = quick_retries(4);
    policy.max_retry_after = Duration::from_secs(60);
    let client2 = builder(&sim)
        .retry_policy(policy)
        .deadline(Some(Duration::from_secs(2)))
        .build()
        .unwrap();
    for c in [client, client2] {
        sim.reset_stats();
        let e = c.list_page(&query(), 20, 0).unwrap_err();
        assert!(matches!(e, Error::RateLimited { .. }), "{e:?}");
        assert_eq!(sim.stats().requests, 1, "not retried into the deadline");
    }
}
