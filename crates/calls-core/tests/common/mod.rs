//! Shared set-up of the integration tests: a calls-sim on 127.0.0.1 port 0 and
//! a client pointed at it with quick retries.
#![allow(dead_code)]

use std::collections::HashSet;
use std::time::Duration;

use calls_core::RetryPolicy;
use calls_core::{Call, Client, ClientBuilder};
use calls_sim::{Faults, Sim, SimConfig};
use chrono::{DateTime, Utc};

/// A token that must never appear in any error text.
pub const TOKEN: &str = "tok-7f3a9c-SECRET-d41d8cd98f";
pub const AUTH_ID: &str = "MASIMTEST00000000001";

/// Starts, once per test binary, a watchdog that fails the binary when it
/// runs longer than `CALLS_TEST_TIME_LIMIT_S` seconds (default 300; every
/// binary takes well under a minute), so that a test that hangs (a walk
/// that never ends, a wait that is never woken) fails instead of blocking
/// `make test`. Called by the helpers below; a test not using them calls
/// it first.
pub fn watchdog() {
    static START: std::sync::Once = std::sync::Once::new();
    START.call_once(|| {
        let secs: u64 = std::env::var("CALLS_TEST_TIME_LIMIT_S")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                let deadline = std::time::Instant::now() + Duration::from_secs(secs);
                loop {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        break;
                    }
                    std::thread::park_timeout(deadline - now);
                }
                // Straight to stderr: `eprintln!` in a test is captured, and
                // the capture is lost on exit.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "watchdog: this test binary ran longer than {secs} s \
                     (CALLS_TEST_TIME_LIMIT_S): a test hangs; failing it"
                );
                std::process::exit(124);
            })
            .expect("the watchdog starts");
    });
}

pub fn sim(calls: usize, faults: Faults) -> Sim {
    watchdog();
    Sim::start(SimConfig {
        auth_id: AUTH_ID.into(),
        auth_token: TOKEN.into(),
        calls,
        seed: 42,
        faults,
        ..SimConfig::default()
    })
    .expect("calls-sim starts")
}

/// Retries that wait at most a few milliseconds, so fault tests stay fast.
pub fn quick_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
    }
}

pub fn builder(sim: &Sim) -> ClientBuilder {
    watchdog();
    Client::builder(AUTH_ID, TOKEN)
        .base_url(sim.base_url())
        .retry_policy(quick_retries(4))
        .timeout(Duration::from_secs(10))
        .rate_limit(0, Duration::from_secs(5))
}

pub fn client(sim: &Sim) -> Client {
    builder(sim).build().expect("client builds")
}

pub fn uuids_of_json(v: &[serde_json::Value]) -> Vec<String> {
    v.iter()
        .map(|c| c["call_uuid"].as_str().expect("call_uuid").to_string())
        .collect()
}

pub fn uuids(calls: &[Call]) -> Vec<String> {
    calls.iter().map(|c| c.call_uuid.clone()).collect()
}

/// Asserts no uuid twice and returns the set.
pub fn unique(uuids: &[String]) -> HashSet<String> {
    let set: HashSet<String> = uuids.iter().cloned().collect();
    assert_eq!(set.len(), uuids.len(), "a call_uuid came twice");
    set
}

pub fn api_time(t: DateTime<Utc>) -> String {
    calls_core::format_api(t)
}

/// Asserts an error's every rendering is free of the token.
pub fn assert_no_token(e: &calls_core::Error) {
    let shown = format!("{e} {e:?} {e:#?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
}

/// Reads one request head (up to the blank line), with a safety timeout.
pub fn read_head(stream: &mut std::net::TcpStream) -> String {
    watchdog();
    use std::io::Read;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Asserts that nobody connected to `listener` (again): accept would block.
pub fn assert_no_connection(listener: &std::net::TcpListener, what: &str) {
    listener.set_nonblocking(true).unwrap();
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, from)) => panic!("{what}: unexpected connection from {from}"),
        Err(e) => panic!("{what}: accept failed: {e}"),
    }
}

/// Every call the simulator has with end_time in [lower, upper) and the given
/// filters, asked in 25-day chunks (seams other than the pager's own).
pub fn expected_between(
    sim: &Sim,
    lower: DateTime<Utc>,
    upper: DateTime<Utc>,
    filters: &[(&str, &str)],
) -> HashSet<String> {
    watchdog();
    let mut out = HashSet::new();
    let mut lo = lower;
    while lo < upper {
        let hi = (lo + chrono::Duration::days(25)).min(upper);
        let (a, b) = (api_time(lo), api_time(hi));
        let mut params = vec![("end_time__gte", a.as_str()), ("end_time__lt", b.as_str())];
        params.extend_from_slice(filters);
        for u in uuids_of_json(&sim.expected(&params).expect("sim answers")) {
            assert!(out.insert(u), "the simulator's chunks overlap");
        }
        lo = hi;
    }
    out
}

/// What the simulator holds for `q` (its `end_time` lower and upper bound,
/// `__gte`/`__lt`, and its other filters), asked independently of the pager.
pub fn expected_for(sim: &Sim, q: &calls_core::CallQuery) -> HashSet<String> {
    let b = q.end_time_bounds();
    let lower = b.gte.expect("the query has end_time__gte");
    let upper = b.lt.expect("the query has end_time__lt");
    let filters: Vec<(&str, String)> = q
        .to_pairs()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("end_time"))
        .collect();
    let filters: Vec<(&str, &str)> = filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
    expected_between(sim, lower, upper, &filters)
}
