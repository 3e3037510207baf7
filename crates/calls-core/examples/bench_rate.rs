//! `make bench` (rate rows): throughput at the account's limit.
//!
//! calls-sim enforces Plivo's per-account limit (a sliding window of 300
//! requests per 5 s, 429 with `Retry-After`) behind 20 ms of latency; clients
//! at concurrency 8 export about 178,000 calls (the size of the 178,009-call
//! export issue 13 measured first; about 9,100 requests per client).
//! A row's figure is accepted requests ÷ (60 × seconds + 300): the most a
//! 300-per-5-s sliding window can accept in that time. That reference is a
//! sawtooth for a given number of requests: k × 300 of them need at least
//! 5 × (k − 1) s, so N requests reach at most N ÷ (300 × ⌈N/300⌉) of it
//! (93.9% for the 3,381 of an export of 66,000 calls, 98.1% for 9,120); each
//! row says that ceiling too. The export is that long so that no row's
//! ceiling is under its target: for any N of 6,000 or more it is over 95%.
//! The 429 share is the simulator's count of requests it refused over every
//! request it received.
//!
//! Rows: budget = the limit; budget = 2 × the limit; two clients on one
//! account at once, each with budget = the limit. Each row has a simulator
//! of its own (an empty window) and checks that the export is complete.
//! A first row, `walk`, is the same export with no limit on either side:
//! the walk's own request rate, which the limited rows need well above 60
//! per second (a sliding window frees its slots in bursts).
//!
//! `cargo run --release -p calls-core --example bench_rate [-- ROW]`, ROW one
//! of `walk`, `limit`, `double`, `shared` (all four without one).

use std::time::{Duration, Instant};

use calls_core::{CallQuery, Client, Cmp};
use calls_sim::{Faults, RateLimit, Sim, SimConfig};
use chrono::{DateTime, Utc};

const LATENCY_MS: u64 = 20;
const CONCURRENCY: usize = 8;

fn main() {
    let only = std::env::args().nth(1);
    let want = |name: &str| only.as_deref().is_none_or(|o| o == name);
    println!("| measurement | value | reference | ratio | target |");
    println!("|---|---|---|---|---|");
    if want("walk") {
        walk_row();
    }
    if want("limit") {
        row(
            "budget = the limit (300 per 5 s)",
            300,
            1,
            "≥ 95%, ≤ 1% 429",
        );
    }
    if want("double") {
        row(
            "budget = 2 × the limit (600 per 5 s)",
            600,
            1,
            "≥ 90%, ≤ 5% 429",
        );
    }
    if want("shared") {
        row(
            "two clients on one account, each 300 per 5 s",
            300,
            2,
            "≥ 90%, ≤ 5% 429",
        );
    }
}

/// The export of the rows below with no limit anywhere: requests per second.
fn walk_row() {
    let (sim, q, _) = export(None);
    let client = Client::builder(sim.auth_id(), sim.auth_token())
        .base_url(sim.base_url())
        .concurrency(CONCURRENCY)
        .rate_limit(0, Duration::from_secs(5))
        .build()
        .expect("client");
    let start = Instant::now();
    let mut pager = client.calls(&q);
    let n = pager
        .by_ref()
        .try_fold(0u64, |n, r| r.map(|_| n + 1))
        .expect("export");
    let secs = start.elapsed().as_secs_f64();
    let s = pager.stats();
    let most = CONCURRENCY as f64 * 1000.0 / LATENCY_MS as f64;
    println!(
        "| no limit: the walk's requests per second, {n} calls, {} requests ({:.3}× ⌈N/20⌉, {} slices) in {secs:.1} s | {:.1}/s | {most:.0}/s (concurrency ÷ latency) | {:.1}% | |",
        s.requests,
        s.requests as f64 / n.div_ceil(20) as f64,
        s.slices,
        s.requests as f64 / secs,
        100.0 * s.requests as f64 / secs / most
    );
}

/// The simulator every row exports from (with `rate_limit` enforced, if
/// any) and the query of the last 89 days, with the `now` it ends at.
fn export(rate_limit: Option<RateLimit>) -> (Sim, CallQuery, DateTime<Utc>) {
    // 200,000 calls over 100 days: about 178,000 in the last 89 days.
    let sim = Sim::start(SimConfig {
        calls: 200_000,
        seed: 11,
        faults: Faults::none().with_latency(Duration::from_millis(LATENCY_MS)),
        rate_limit,
        ..SimConfig::default()
    })
    .expect("sim");
    let now = Utc::now();
    let q = CallQuery::new()
        .end_time(Cmp::Gte, now - chrono::Duration::days(89))
        .end_time(Cmp::Lt, now);
    (sim, q, now)
}

fn row(name: &str, budget: u32, clients: usize, target: &str) {
    let (sim, q, now) = export(Some(RateLimit::plivo()));
    let expected: usize = sim
        .calls_json()
        .iter()
        .filter(|c| {
            c["end_time"]
                .as_str()
                .and_then(|t| calls_core::parse_timestamp(t).ok())
                .is_some_and(|t| t >= now - chrono::Duration::days(89) && t < now)
        })
        .count();
    let start = Instant::now();
    let results: Vec<(usize, calls_core::RateStats)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                let q = &q;
                let sim = &sim;
                s.spawn(move || {
                    let client = Client::builder(sim.auth_id(), sim.auth_token())
                        .base_url(sim.base_url())
                        .concurrency(CONCURRENCY)
                        .rate_limit(budget, Duration::from_secs(5))
                        .max_retries(10)
                        .build()
                        .expect("client");
                    let t = Instant::now();
                    let mut n = 0usize;
                    for c in client.calls(q) {
                        c.expect("export");
                        n += 1;
                    }
                    eprintln!(
                        "client done in {:.1} s: {:?}",
                        t.elapsed().as_secs_f64(),
                        client.rate_stats()
                    );
                    (n, client.rate_stats())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("export thread"))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    for (n, _) in &results {
        assert_eq!(*n, expected, "{name}: incomplete export");
    }
    let st = sim.stats();
    let accepted = st.requests - st.rate_limited;
    let most = 60.0 * secs + 300.0;
    let ratio = accepted as f64 / most;
    let share_429 = st.rate_limited as f64 / st.requests as f64;
    let client_429: u64 = results.iter().map(|(_, r)| r.answered_429).sum();
    let waited: f64 = results
        .iter()
        .map(|(_, r)| r.waited_retry_after.as_secs_f64())
        .sum();
    // No schedule gets more than 300 requests through in any 5 s: k × 300
    // accepted take at least 5 × (k - 1) s, so this many requests can reach
    // at most accepted ÷ (300 × ⌈accepted / 300⌉) of the reference.
    let ceiling = accepted as f64 / (300.0 * accepted.div_ceil(300) as f64);
    println!(
        "| {name}: accepted requests in {secs:.1} s, {} calls × {clients} (complete; at most {:.1}% for {accepted} requests) | {accepted} | {most:.0} | {:.1}% | {target} |",
        expected,
        ceiling * 100.0,
        ratio * 100.0
    );
    println!(
        "| {name}: answered 429 (sim {}, clients {client_429}; {waited:.1} s of thread time paused), most in a window {} | {} / {} | | {:.2}% | |",
        st.rate_limited,
        st.max_in_window,
        st.rate_limited,
        st.requests,
        share_429 * 100.0
    );
}
