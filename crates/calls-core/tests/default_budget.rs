//! A client built with the defaults keeps to its default budget, 150
//! requests per 5 seconds, counted by the simulator: calls-sim measures the
//! most requests it accepted within any 5-second sliding window. Its own
//! limit is set far above (1,000 per 5 s) so that it refuses nothing and
//! only counts. Nothing here is timed by the test.

mod common;

use std::time::Duration;

use calls_core::{CallQuery, Client, Cmp};
use calls_sim::{RateLimit, Sim, SimConfig};
use chrono::Utc;
use common::*;

#[test]
fn a_default_client_keeps_to_150_requests_per_5_seconds() {
    watchdog();
    let sim = Sim::start(SimConfig {
        auth_id: AUTH_ID.into(),
        auth_token: TOKEN.into(),
        calls: 500,
        seed: 12,
        rate_limit: Some(RateLimit {
            max: 1000,
            per: Duration::from_secs(5),
        }),
        ..SimConfig::default()
    })
    .expect("calls-sim starts");
    // Nothing but the address: every other setting is the default.
    let client = Client::builder(AUTH_ID, TOKEN)
        .base_url(sim.base_url())
        .build()
        .unwrap();
    let q = CallQuery::new().end_time(Cmp::Gte, Utc::now() - chrono::Duration::days(20));
    // 200 requests from 4 threads: more than one window's budget, so an
    // unlimited (or larger) budget sends more than 150 within 5 seconds.
    const THREADS: u64 = 4;
    const EACH: u64 = 50;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (client, q) = (&client, &q);
            s.spawn(move || {
                for i in 0..EACH {
                    client
                        .list_page(q, 20, (t * EACH + i) % 10 * 20)
                        .expect("the page is answered");
                }
            });
        }
    });
    let s = sim.stats();
    assert_eq!(s.requests, THREADS * EACH, "{s:?}");
    assert_eq!(s.rate_limited, 0, "{s:?}");
    assert!(
        s.max_in_window <= 150,
        "the simulator accepted {} requests within one 5-second window from a client with the default budget (150 per 5 s): {s:?}",
        s.max_in_window
    );
    assert_eq!(client.rate_stats().requests, THREADS * EACH);
}
