//! `make bench`: the pager's speed, the decoder's cost and the export's memory,
//! all against calls-sim over real HTTP on loopback. Prints a markdown table.
//!
//! Sections:
//! 1. Wall time of one window of ~10,000 calls behind 20 ms of simulator
//!    latency at concurrency 1, 4 and 8, against the lower bound
//!    `pages × latency / concurrency`.
//! 2. The cursor walk: requests ÷ ⌈N/20⌉ for a 90-day export without
//!    arrivals and with one arrival every 2 requests (anywhere in the 90
//!    days), and wall time ÷ `⌈N/20⌉ × latency / concurrency` for a 30-day
//!    export with arrivals at concurrency 1 and 8.
//! 3. CPU per call of `decode_page` against a bare `serde_json::Value` parse
//!    of the same page bytes (the fastest of alternating batches of each).
//! 4. Peak memory (VmHWM) of a full export at 1,000 and at 100,000 calls, each
//!    in a child process of its own against a `calls-sim` process of its own;
//!    and how long that `calls-sim` binary takes to start (to its URL line).
//!
//! The client-side rate limiter is off here: it exists to protect a real
//! account, and would make the benchmark measure the limiter.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use calls_core::decode_page;
use calls_core::{CallQuery, Client, Cmp};
use calls_sim::{Faults, Sim, SimConfig};
use chrono::Utc;

const LATENCY_MS: u64 = 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("mem-child") {
        mem_child(&args[2]);
        return;
    }
    // `bench decode` / `bench walk` / `bench memory`: that section alone
    // (header included).
    let only = args.get(1).map(String::as_str);
    println!("| measurement | value | reference | ratio | target |");
    println!("|---|---|---|---|---|");
    if only == Some("decode") {
        decode_section();
        return;
    }
    if only == Some("walk") {
        walk_section();
        return;
    }
    if only == Some("memory") {
        memory_section();
        return;
    }
    concurrency_section();
    walk_section();
    decode_section();
    memory_section();
}

fn client(url: &str, auth_id: &str, token: &str, concurrency: usize) -> Client {
    Client::builder(auth_id, token)
        .base_url(url)
        .concurrency(concurrency)
        .rate_limit(0, Duration::from_secs(5))
        .build()
        .expect("client")
}

fn concurrency_section() {
    // ~10,000 calls in the last 30 days: 100 days of 34,000 calls.
    let sim = Sim::start(SimConfig {
        calls: 34_000,
        seed: 3,
        faults: Faults::none().with_latency(Duration::from_millis(LATENCY_MS)),
        ..SimConfig::default()
    })
    .expect("sim");
    let q = CallQuery::new().end_time(Cmp::Gte, Utc::now() - chrono::Duration::days(30));
    for concurrency in [1usize, 4, 8] {
        let c = client(
            &sim.base_url(),
            sim.auth_id(),
            sim.auth_token(),
            concurrency,
        );
        let start = Instant::now();
        let mut pager = c.calls(&q);
        let n = pager
            .by_ref()
            .try_fold(0usize, |n, r| r.map(|_| n + 1))
            .expect("export");
        let wall = start.elapsed();
        let s = pager.stats();
        let bound = Duration::from_millis(s.pages * LATENCY_MS) / concurrency as u32;
        let target = if concurrency == 1 {
            "≤ 1.2×"
        } else if concurrency == 8 {
            "≤ 1.5×"
        } else {
            ""
        };
        println!(
            "| {n} calls, 1 window, {} pages, {LATENCY_MS} ms latency, concurrency {concurrency} | {:.2} s | {:.2} s (pages × latency / concurrency) | {:.3}× | {target} |",
            s.pages,
            wall.as_secs_f64(),
            bound.as_secs_f64(),
            wall.as_secs_f64() / bound.as_secs_f64()
        );
    }
}

/// One export of `[now - days, now)` at `concurrency`: calls, wall time, stats.
fn timed_export(
    sim: &Sim,
    days: i64,
    concurrency: usize,
) -> (u64, Duration, calls_core::PagerStats) {
    let c = client(
        &sim.base_url(),
        sim.auth_id(),
        sim.auth_token(),
        concurrency,
    );
    let now = Utc::now();
    let q = CallQuery::new()
        .end_time(Cmp::Gte, now - chrono::Duration::days(days))
        .end_time(Cmp::Lt, now);
    let start = Instant::now();
    let mut pager = c.calls(&q);
    let n = pager
        .by_ref()
        .try_fold(0u64, |n, r| r.map(|_| n + 1))
        .expect("export");
    (n, start.elapsed(), pager.stats())
}

fn walk_section() {
    let latency = Duration::from_millis(LATENCY_MS);
    // ~36,000 calls in 89.9 days: 40,000 over the sim's 100 days.
    for (label, every) in [("no arrivals", 0u64), ("one arrival every 2 requests", 2)] {
        let mut faults = Faults::none().with_latency(latency);
        if every > 0 {
            faults = faults.with_arrivals(every, 90 * 86_400, 1_000_000);
        }
        let sim = Sim::start(SimConfig {
            calls: 40_000,
            seed: 5,
            faults,
            ..SimConfig::default()
        })
        .expect("sim");
        let (n, _, s) = timed_export(&sim, 89, 8);
        let pages = n.div_ceil(20);
        let per_slice = 1.05 + s.slices as f64 / pages as f64;
        println!(
            "| 89-day export, {label}, concurrency 8: requests ÷ ⌈N/20⌉ | {} requests ({} slices, {} splits) | ⌈{n}/20⌉ = {pages} | {:.3}× | ≤ 1.05 + slices/⌈N/20⌉ = {per_slice:.3} |",
            s.requests,
            s.slices,
            s.splits,
            s.requests as f64 / pages as f64
        );
    }
    // ~10,000 calls in 30 days, an arrival every 2 requests anywhere in them.
    for (concurrency, target) in [(1usize, "≤ 1.1×"), (8, "≤ 1.2×")] {
        let sim = Sim::start(SimConfig {
            calls: 34_000,
            seed: 3,
            faults: Faults::none()
                .with_latency(latency)
                .with_arrivals(2, 30 * 86_400, 1_000_000),
            ..SimConfig::default()
        })
        .expect("sim");
        let (n, wall, s) = timed_export(&sim, 30, concurrency);
        let bound = latency * n.div_ceil(20) as u32 / concurrency as u32;
        println!(
            "| 30-day export of {n} calls, arrivals every 2 requests, {LATENCY_MS} ms latency, concurrency {concurrency} ({} requests) | {:.2} s | {:.2} s (⌈N/20⌉ × latency / concurrency) | {:.3}× | {target} |",
            s.requests,
            wall.as_secs_f64(),
            bound.as_secs_f64(),
            wall.as_secs_f64() / bound.as_secs_f64()
        );
    }
}

fn decode_section() {
    let sim = Sim::start(SimConfig {
        calls: 2000,
        ..SimConfig::default()
    })
    .expect("sim");
    let objects: Vec<serde_json::Value> = sim.calls_json().into_iter().take(20).collect();
    let page = serde_json::json!({
        "api_id": "c6d5f1b6-0000-4000-8000-000000000000",
        "meta": {"limit": 20, "offset": 0, "total_count": 2000, "next": "/v1/Account/MA/Zentrunk/Call/?limit=20&offset=20", "previous": null},
        "objects": objects,
    });
    let bytes = serde_json::to_vec(&page).expect("json");
    // Five alternating batches of each, the fastest of each kept: a busy
    // machine slows a batch down, never speeds one up.
    let (batches, rounds) = (5, 600u32);
    let time = |f: &dyn Fn()| {
        let t = Instant::now();
        for _ in 0..rounds {
            f();
        }
        t.elapsed()
    };
    let typed_once = || {
        std::hint::black_box(decode_page(std::hint::black_box(&bytes)).expect("decodes"));
    };
    let bare_once = || {
        std::hint::black_box(
            serde_json::from_slice::<serde_json::Value>(std::hint::black_box(&bytes))
                .expect("parses"),
        );
    };
    time(&typed_once);
    time(&bare_once);
    let (mut typed, mut bare) = (Duration::MAX, Duration::MAX);
    for _ in 0..batches {
        typed = typed.min(time(&typed_once));
        bare = bare.min(time(&bare_once));
    }
    let per_call = |d: Duration| d.as_nanos() as f64 / f64::from(rounds) / 20.0;
    println!(
        "| decode_page, CPU per call ({} B page of 20; fastest of {batches} batches) | {:.0} ns | {:.0} ns (bare serde_json::Value parse) | {:.2}× | ≤ 1× |",
        bytes.len(),
        per_call(typed),
        per_call(bare),
        typed.as_secs_f64() / bare.as_secs_f64()
    );
}

fn memory_section() {
    let sim_bin = std::env::var("CALLS_SIM").unwrap_or_else(|_| {
        let exe = std::env::current_exe().expect("exe");
        // target/release/examples/bench -> target/release/calls-sim
        exe.parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("calls-sim"))
            .expect("dir")
            .display()
            .to_string()
    });
    let mut peaks = Vec::new();
    for calls in [1_000usize, 100_000] {
        let started = Instant::now();
        let mut sim = Command::new(&sim_bin)
            .args(["--port", "0", "--calls", &calls.to_string(), "--seed", "5"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{sim_bin}: {e} (build it: cargo build --release -p calls-sim)")
            });
        let mut line = String::new();
        BufReader::new(sim.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("url");
        let startup = started.elapsed();
        println!(
            "| calls-sim binary start with {calls} calls (spawn to base URL printed) | {:.0} ms | 1000 ms | {:.2}× | well under 1× |",
            startup.as_secs_f64() * 1000.0,
            startup.as_secs_f64()
        );
        let out = Command::new(std::env::current_exe().expect("exe"))
            .args(["mem-child", line.trim()])
            .output()
            .expect("child");
        let _ = sim.kill();
        let _ = sim.wait();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace();
        let n: u64 = parts.next().and_then(|s| s.parse().ok()).expect("count");
        let kib: u64 = parts.next().and_then(|s| s.parse().ok()).expect("peak");
        peaks.push(kib);
        println!(
            "| full export (90 days) of a {calls}-call dataset: {n} calls, peak RSS | {:.1} MiB | | | |",
            kib as f64 / 1024.0
        );
    }
    let diff = (peaks[1] as f64 - peaks[0] as f64) / 1024.0;
    println!(
        "| peak RSS at 100,000 calls minus at 1,000 | {diff:.1} MiB | 16 MiB | {:.2}× | ≤ 1× |",
        diff / 16.0
    );
}

/// A full export in this process; prints the call count and VmHWM in KiB.
fn mem_child(url: &str) {
    let c = client(url, "MASIMULATOR000000001", "simulator-token", 4);
    let q = CallQuery::new().end_time(
        Cmp::Gte,
        Utc::now() - chrono::Duration::days(90) + chrono::Duration::minutes(10),
    );
    let n = c
        .calls(&q)
        .try_fold(0usize, |n, r| r.map(|_| n + 1))
        .expect("export");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("{n} {hwm}");
}
