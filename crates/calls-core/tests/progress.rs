//! The progress callback: called once after every page (counted against the
//! simulator's requests), with counters that only grow and an estimated
//! total that, on a still service, is the simulator's own count; a `Break`
//! cancels the pager at once, with no request after it.

mod common;

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use calls_core::{CallQuery, Cmp, Error, PagerStats};
use calls_sim::Faults;
use chrono::Utc;
use common::*;

fn query() -> CallQuery {
    let now = Utc::now();
    CallQuery::new()
        .end_time(Cmp::Gte, now - chrono::Duration::days(5))
        .end_time(Cmp::Lt, now)
}

fn export_with_progress(concurrency: usize) {
    let sim = sim(8000, Faults::none());
    let client = builder(&sim).concurrency(concurrency).build().unwrap();
    let q = query();
    let expected = expected_for(&sim, &q);
    sim.reset_stats();
    let seen: Arc<Mutex<Vec<PagerStats>>> = Arc::default();
    let log = Arc::clone(&seen);
    let mut pager = client.calls(&q).on_progress(move |s| {
        log.lock().unwrap().push(*s);
        ControlFlow::Continue(())
    });
    let got: Vec<String> = pager.by_ref().map(|c| c.unwrap().call_uuid).collect();
    assert_eq!(unique(&got), expected);
    let seen = seen.lock().unwrap();
    let requests = sim.stats().requests;
    assert!(requests > 10, "a walk of several pages");
    // One report per page, in order, with counters that only grow.
    assert_eq!(seen.len() as u64, requests, "one report per page");
    for (k, s) in seen.iter().enumerate() {
        assert_eq!(s.pages, k as u64 + 1);
        assert!(s.requests >= s.pages);
        assert!(k == 0 || s.items >= seen[k - 1].items);
        assert!(
            s.total_estimate.is_some(),
            "an estimate from the first page"
        );
    }
    let last = seen.last().unwrap();
    assert_eq!(last.total_estimate, Some(expected.len() as u64));
    if concurrency == 1 {
        // One slice on a still service: total_count is exact at every page.
        assert!(
            seen.iter()
                .all(|s| s.total_estimate == Some(expected.len() as u64)),
            "{:?}",
            seen.iter().map(|s| s.total_estimate).collect::<Vec<_>>()
        );
    }
    assert_eq!(pager.stats().total_estimate, Some(got.len() as u64));
}

#[test]
fn progress_after_every_page_one_worker() {
    export_with_progress(1);
}

#[test]
fn progress_after_every_page_four_workers() {
    export_with_progress(4);
}

#[test]
fn a_break_from_the_callback_cancels_with_no_request_after_it() {
    let sim = sim(3000, Faults::none());
    let client = builder(&sim).concurrency(1).build().unwrap();
    let q = query();
    sim.reset_stats();
    let mut pager = client.calls(&q).on_progress(|s| {
        if s.pages == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    let mut delivered = 0;
    let end = loop {
        match pager.next() {
            Some(Ok(_)) => delivered += 1,
            other => break other,
        }
    };
    assert!(matches!(end, Some(Err(Error::Cancelled))), "{end:?}");
    // Two pages handed out (the third was taken in when it stopped).
    assert_eq!(delivered, 40);
    assert_eq!(sim.stats().requests, 3);
    assert!(matches!(pager.next(), Some(Err(Error::Cancelled))));
    assert_eq!(sim.stats().requests, 3, "nothing sent after the cancel");
}

#[test]
fn a_cancel_from_inside_the_callback_stops_that_call_with_nothing_sent_after() {
    let sim = sim(8000, Faults::none());
    // One worker: the next request would be sent right after the page.
    let client = builder(&sim).concurrency(1).build().unwrap();
    let q = query();
    sim.reset_stats();
    let pager = client.calls(&q);
    let canceller = pager.canceller();
    let mut pager = pager.on_progress(move |s| {
        if s.pages == 2 {
            canceller.cancel();
        }
        ControlFlow::Continue(())
    });
    let end = loop {
        match pager.next() {
            Some(Ok(_)) => {}
            other => break other,
        }
    };
    assert!(matches!(end, Some(Err(Error::Cancelled))), "{end:?}");
    assert_eq!(sim.stats().requests, 2, "nothing sent after the cancel");
    assert!(matches!(pager.next(), Some(Err(Error::Cancelled))));
    assert_eq!(sim.stats().requests, 2);
}
