//! Stats, in-flight measurement, expected() and the /_sim/ endpoints.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use calls_sim::{Fault, Faults, Sim, SimConfig, Stats};
use common::*;

#[test]
fn counters_and_reset() {
    let sim = Sim::start(SimConfig {
        calls: 100,
        faults: Faults::default().with_script([
            Fault::status(503),
            Fault::Drop,
            Fault::status(503),
        ]),
        ..SimConfig::default()
    })
    .unwrap();
    assert_eq!(api(&sim, "").status, 503);
    assert!(
        get(
            &sim.base_url(),
            &list_path(&sim),
            Some((sim.auth_id(), sim.auth_token()))
        )
        .is_err()
    );
    assert_eq!(api(&sim, "").status, 503);
    assert_eq!(api(&sim, "").status, 200);
    assert_eq!(
        get(&sim.base_url(), "/v1/nothing", None).unwrap().status,
        404
    );
    let s = sim.stats();
    assert_eq!(s.requests, 5);
    assert_eq!(s.faults, 3);
    assert_eq!(s.faults_by_kind.get("status_503"), Some(&2));
    assert_eq!(s.faults_by_kind.get("drop"), Some(&1));
    assert_eq!(s.in_flight, 0);
    assert_eq!(s.max_in_flight, 1);

    // Over HTTP, no auth; control requests do not count.
    let r = get(&sim.base_url(), "/_sim/stats", None).unwrap();
    assert_eq!(r.status, 200);
    let over_http: Stats = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(over_http, s);
    assert_eq!(sim.stats(), s);

    sim.reset_stats();
    let z = sim.stats();
    assert_eq!(z, Stats::default());
    assert_eq!(api(&sim, "").status, 200);
    assert_eq!(sim.stats().requests, 1);
}

#[test]
fn max_in_flight_with_concurrent_clients() {
    const N: usize = 8;
    let sim = Arc::new(
        Sim::start(SimConfig {
            calls: 100,
            faults: Faults::default().with_latency(Duration::from_millis(800)),
            ..SimConfig::default()
        })
        .unwrap(),
    );
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let sim = Arc::clone(&sim);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                api(&sim, "").status
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    let s = sim.stats();
    assert_eq!(s.requests, N as u64);
    assert_eq!(s.max_in_flight, N as u64);
    assert_eq!(s.in_flight, 0);
    sim.reset_stats();
    assert_eq!(sim.stats().max_in_flight, 0);
}

#[test]
fn workers_bound_concurrent_handling() {
    // With one worker, requests are handled one at a time but all are answered.
    let sim = Arc::new(
        Sim::start(SimConfig {
            calls: 100,
            workers: 1,
            faults: Faults::default().with_latency(Duration::from_millis(100)),
            ..SimConfig::default()
        })
        .unwrap(),
    );
    let barrier = Arc::new(Barrier::new(4));
    let t0 = std::time::Instant::now();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let sim = Arc::clone(&sim);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                api(&sim, "").status
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    assert!(t0.elapsed() >= Duration::from_millis(400));
}

#[test]
fn expected_matches_endpoint() {
    let sim = sim_with(3000, 13);
    let lo = fmt_ts(sim.started_at().timestamp() - 20 * DAY);
    for pairs in [
        vec![],
        vec![("call_direction", "outbound")],
        vec![("end_time__gte", lo.as_str()), ("to_number", "44")],
        vec![
            ("end_time__gte", lo.as_str()),
            ("hangup_source", "zentrunk"),
            ("bill_duration__gt", "0"),
        ],
    ] {
        let exp = sim.expected(&pairs).unwrap();
        let got = fetch_all(&sim, &pairs);
        assert_eq!(exp, got, "{pairs:?}");

        let r = get(
            &sim.base_url(),
            &format!("/_sim/expected?{}", qs(&pairs)),
            None,
        )
        .unwrap();
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["total_count"], exp.len());
        let listed: Vec<String> = v["call_uuids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_string())
            .collect();
        assert_eq!(listed, uuids(&exp));
    }
    assert!(sim.expected(&[("end_time__lte", &lo)]).is_err());
    assert!(
        sim.expected(&[("from_number", "")])
            .unwrap_err()
            .contains("from_number")
    );
    let r = get(&sim.base_url(), "/_sim/expected?bill_duration=x", None).unwrap();
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("bill_duration")
    );
    // Neither /_sim/expected nor expected() counts as an API request.
    let before = sim.stats().requests;
    let _ = get(&sim.base_url(), "/_sim/expected", None).unwrap();
    let _ = sim.expected(&[]);
    assert_eq!(sim.stats().requests, before);
}

#[test]
fn drop_stops_and_closes_port() {
    let sim = sim_with(10, 1);
    let base = sim.base_url();
    // An idle keep-alive connection must not keep the server alive.
    let idle = std::net::TcpStream::connect(authority(&base)).unwrap();
    assert_eq!(get(&base, "/_sim/stats", None).unwrap().status, 200);
    drop(sim);
    assert!(std::net::TcpStream::connect(authority(&base)).is_err());
    drop(idle);
}
