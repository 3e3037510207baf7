//! Fault injection: script, every-N, rates, each fault kind, late arrivals.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use calls_sim::{Fault, Faults, Sim, SimConfig};
use common::*;

fn sim_faults(faults: Faults) -> Sim {
    Sim::start(SimConfig {
        calls: 500,
        seed: 21,
        faults,
        ..SimConfig::default()
    })
    .unwrap()
}

fn statuses(sim: &Sim, n: usize) -> Vec<u16> {
    (0..n).map(|_| api(sim, "limit=2").status).collect()
}

#[test]
fn script_then_ok() {
    let sim = sim_faults(Faults::default().with_script([
        Fault::status(503),
        Fault::Status {
            status: 503,
            retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
        },
    ]));
    let r1 = api(&sim, "");
    assert_eq!(r1.status, 503);
    assert!(r1.header("Retry-After").is_none());
    let v = r1.json();
    assert!(v["api_id"].is_string() && v["error"].is_string());
    let r2 = api(&sim, "");
    assert_eq!(r2.status, 503);
    assert_eq!(
        r2.header("Retry-After"),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
    assert_eq!(statuses(&sim, 3), vec![200, 200, 200]);
}

#[test]
fn every_nth_and_runtime_change() {
    let sim = sim_faults(Faults::rate_limit(3, "1"));
    let mut got = Vec::new();
    for _ in 0..7 {
        let r = api(&sim, "");
        if r.status == 429 {
            assert_eq!(r.header("Retry-After"), Some("1"));
        }
        got.push(r.status);
        // Control endpoints do not count.
        let s = get(&sim.base_url(), "/_sim/stats", None).unwrap();
        assert_eq!(s.status, 200);
    }
    assert_eq!(got, vec![200, 200, 429, 200, 200, 429, 200]);

    // Changing the plan restarts counting.
    sim.set_faults(Faults::default().with_every(2, Fault::status(500)));
    assert_eq!(statuses(&sim, 4), vec![200, 500, 200, 500]);
    sim.set_faults(Faults::default().with_script([Fault::status(502)]));
    assert_eq!(statuses(&sim, 2), vec![502, 200]);
    sim.set_faults(Faults::none());
    assert_eq!(statuses(&sim, 3), vec![200, 200, 200]);
}

#[test]
fn script_takes_precedence_and_first_every_rule_wins() {
    let sim = sim_faults(
        Faults::default()
            .with_script([Fault::status(500)])
            .with_every(2, Fault::status(429))
            .with_every(1, Fault::status(503)),
    );
    assert_eq!(statuses(&sim, 4), vec![500, 429, 503, 429]);
}

#[test]
fn rates_are_reproducible() {
    let plan = Faults::default().with_rate(0.4, Fault::status(503));
    let a = statuses(&sim_faults(plan.clone()), 60);
    let b = statuses(&sim_faults(plan), 60);
    assert_eq!(a, b);
    let errors = a.iter().filter(|s| **s == 503).count();
    assert!((8..=45).contains(&errors), "{errors} of 60");
    assert!(a.iter().all(|s| *s == 503 || *s == 200));

    let all = statuses(
        &sim_faults(Faults::default().with_rate(1.0, Fault::status(500))),
        5,
    );
    assert_eq!(all, vec![500; 5]);
    let none = statuses(
        &sim_faults(Faults::default().with_rate(0.0, Fault::status(500))),
        5,
    );
    assert_eq!(none, vec![200; 5]);
}

fn raw_request(sim: &Sim, keep_alive: bool) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n{}\r\n",
        list_path(sim),
        b64(format!("{}:{}", sim.auth_id(), sim.auth_token()).as_bytes()),
        if keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        }
    )
}

#[test]
fn drop_closes_without_a_byte() {
    let sim = sim_faults(Faults::default().with_script([Fault::Drop, Fault::Drop]));
    // Keep-alive client: the connection must still be closed (no hang).
    for keep_alive in [true, false] {
        let mut s = TcpStream::connect(authority(&sim.base_url())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(raw_request(&sim, keep_alive).as_bytes())
            .unwrap();
        let mut buf = Vec::new();
        match s.read_to_end(&mut buf) {
            Ok(_) => assert!(buf.is_empty(), "got {} bytes", buf.len()),
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ),
                "{e}"
            ),
        }
    }
    // The helper client sees an I/O error.
    sim.set_faults(Faults::default().with_script([Fault::Drop]));
    assert!(
        get(
            &sim.base_url(),
            &list_path(&sim),
            Some((sim.auth_id(), sim.auth_token()))
        )
        .is_err()
    );
    assert_eq!(api(&sim, "").status, 200);
}

#[test]
fn keep_alive_serves_several_requests() {
    let sim = sim_faults(Faults::none());
    let mut s = TcpStream::connect(authority(&sim.base_url())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let req = raw_request(&sim, true);
    s.write_all(format!("{req}{req}").as_bytes()).unwrap();
    s.write_all(raw_request(&sim, false).as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3);
}

#[test]
fn malformed_body() {
    let sim = sim_faults(Faults::default().with_every(1, Fault::Malformed));
    let r = api(&sim, "");
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    assert!(!r.body.is_empty());
}

#[test]
fn truncated_body() {
    let sim = sim_faults(Faults::default().with_script([Fault::Truncated]));
    let r = api(&sim, "limit=10");
    assert_eq!(r.status, 200);
    let cl: usize = r.header("Content-Length").unwrap().parse().unwrap();
    assert_eq!(cl, r.body.len());
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    assert!(r.body.starts_with(b"{\"api_id\""));
    let full = api(&sim, "limit=10");
    assert_eq!(r.body.len(), full.body.len() / 2);
}

#[test]
fn slow_body() {
    let total = Duration::from_millis(400);
    let sim = sim_faults(Faults::default().with_script([Fault::SlowBody { total }]));
    let mut s = TcpStream::connect(authority(&sim.base_url())).unwrap();
    s.write_all(raw_request(&sim, false).as_bytes()).unwrap();
    let t0 = Instant::now();
    let mut buf = Vec::new();
    let mut reads = 0;
    let mut chunk = [0u8; 65536];
    loop {
        let n = s.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        reads += 1;
        buf.extend_from_slice(&chunk[..n]);
    }
    assert!(
        t0.elapsed() >= total - Duration::from_millis(50),
        "{:?}",
        t0.elapsed()
    );
    assert!(reads > 3, "{reads} reads");
    let r = parse_response(&buf).unwrap();
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["objects"].as_array().unwrap().len(), 20);
    assert_eq!(v["objects"], api(&sim, "").json()["objects"]);
}

#[test]
fn oversize_is_streamed() {
    let gib: u64 = 1 << 30;
    let sim = sim_faults(Faults::default().with_script([
        Fault::Oversize { bytes: gib },
        Fault::Oversize { bytes: 100_000 },
    ]));
    let mut s = TcpStream::connect(authority(&sim.base_url())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(raw_request(&sim, false).as_bytes()).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    s.read_exact(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..4096]);
    assert!(text.starts_with("HTTP/1.1 200 OK"));
    assert!(text.contains(&format!("Content-Length: {gib}")));
    let body_at = text.find("\r\n\r\n").unwrap() + 4;
    assert!(text[body_at..].starts_with("{\"api_id\""));
    drop(s); // the server notices the closed peer and stops streaming

    let r = api(&sim, "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 100_000);
    assert!(r.body.starts_with(b"{\"api_id\""));
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    assert_eq!(api(&sim, "").status, 200);
}

#[test]
fn delay_and_latency() {
    let sim = sim_faults(Faults::default().with_script([Fault::Delay(Duration::from_millis(300))]));
    let t0 = Instant::now();
    let r = api(&sim, "");
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status, 200);
    assert!(r.json()["objects"].is_array());

    sim.set_faults(Faults::default().with_latency(Duration::from_millis(200)));
    let t0 = Instant::now();
    assert_eq!(api(&sim, "").status, 200);
    assert_eq!(api(&sim, "limit=0").status, 400);
    assert!(t0.elapsed() >= Duration::from_millis(400));
    // Control endpoints are not delayed by latency (nothing to assert but that they work).
    assert_eq!(
        get(&sim.base_url(), "/_sim/stats", None).unwrap().status,
        200
    );
}

#[test]
fn late_arrivals_appear_and_shift_offsets() {
    let sim = sim_faults(Faults::default().with_late(5, 3));
    let start = sim.started_at().timestamp();
    let visible_before = sim.calls_json().len();
    let before = fetch_all(&sim, &[("limit", "20")]); // request(s) 1..=k
    let pages_before = before.len().div_ceil(20);
    assert!(
        pages_before <= 3,
        "needs the default window to fit in 3 pages"
    );
    let expected_before = sim.expected(&[]).unwrap();
    // Until 3 requests have been received, the late records are invisible.
    let mut served = pages_before as u64;
    while served < 3 {
        let r = api(&sim, "limit=20");
        assert_eq!(r.json()["meta"]["total_count"], before.len());
        served += 1;
    }
    let after_expected = sim.expected(&[]).unwrap();
    assert_eq!(after_expected.len(), expected_before.len() + 5);
    assert_eq!(sim.calls_json().len(), visible_before + 5);

    let after = fetch_all(&sim, &[("limit", "20")]);
    assert_eq!(after.len(), before.len() + 5);
    let before_u = uuids(&before);
    let after_u = uuids(&after);
    let late: Vec<&String> = after_u.iter().filter(|u| !before_u.contains(u)).collect();
    assert_eq!(late.len(), 5);
    // Late records ended shortly before the sim started.
    for c in &after {
        if late.contains(&&c["call_uuid"].as_str().unwrap().to_string()) {
            let e = end_of(c);
            assert!(e <= start && e >= start - 4 * 3600);
        }
    }
    // Without them the order is unchanged; earlier records shifted down.
    let rest: Vec<&String> = after_u.iter().filter(|u| !late.contains(u)).collect();
    assert_eq!(rest, before_u.iter().collect::<Vec<_>>());
    let first_old = &before_u[0];
    let new_pos = after_u.iter().position(|u| u == first_old).unwrap();
    assert!(new_pos > 0, "late records are among the newest");

    // The single-record endpoint now knows them.
    let r = get(
        &sim.base_url(),
        &format!("{}{}/", list_path(&sim), late[0]),
        Some((sim.auth_id(), sim.auth_token())),
    )
    .unwrap();
    assert_eq!(r.status, 200);
}

#[test]
fn late_records_hidden_from_single_endpoint_until_due() {
    let sim = sim_faults(Faults::default().with_late(2, 1000));
    let with_late = {
        let other = sim_faults(Faults::default().with_late(2, 0));
        let all = uuids(&other.calls_json());
        let mine = uuids(&sim.calls_json());
        all.into_iter()
            .filter(|u| !mine.contains(u))
            .collect::<Vec<_>>()
    };
    assert_eq!(with_late.len(), 2);
    let r = get(
        &sim.base_url(),
        &format!("{}{}/", list_path(&sim), with_late[0]),
        Some((sim.auth_id(), sim.auth_token())),
    )
    .unwrap();
    assert_eq!(r.status, 404);
}

/// Steady arrivals: one more record becomes visible with every k-th request,
/// each inside the depth asked for, until the count is reached.
#[test]
fn steady_arrivals_come_one_every_k_requests_within_their_depth() {
    let sim = sim_faults(Faults::none().with_arrivals(3, 2 * 86_400, 5));
    let start = sim.started_at().timestamp();
    let total = |sim: &Sim| api(sim, "limit=1").json()["meta"]["total_count"].as_u64();
    // The default window (7 days) holds every arrival (at most 2 days deep).
    let base = total(&sim).unwrap(); // request 1
    let mut seen = vec![base];
    for _ in 0..20 {
        seen.push(total(&sim).unwrap());
    }
    // Request n sees the arrivals of requests 1..n-1: one per 3.
    for (i, t) in seen.iter().enumerate() {
        let n = i as u64 + 1;
        assert_eq!(*t, base + ((n - 1) / 3).min(5), "request {n}: {seen:?}");
    }
    assert_eq!(sim.arrived(), 5);
    let all: Vec<serde_json::Value> = sim.calls_json();
    let newest = all.iter().map(end_of).max().unwrap();
    assert!(newest < start);
    let expected = sim.expected(&[]).unwrap();
    assert_eq!(expected.len() as u64, base + 5);
    let deep = expected
        .iter()
        .filter(|c| end_of(c) >= start - 2 * 86_400)
        .count();
    assert!(deep >= 5, "each arrival within 2 days of the start");
}

/// A tie burst: that many more calls, all in one second.
#[test]
fn a_tie_burst_puts_many_calls_in_one_second() {
    let sim = Sim::start(SimConfig {
        calls: 200,
        seed: 3,
        tie_burst: 450,
        ..SimConfig::default()
    })
    .unwrap();
    let sec = sim.tie_second().timestamp();
    let t = fmt_ts(sec);
    let u = fmt_ts(sec + 1);
    let tie = fetch_all(&sim, &[("end_time__gte", &t), ("end_time__lt", &u)]);
    assert!(tie.len() >= 450, "{}", tie.len());
    assert!(tie.iter().all(|c| end_of(c) == sec));
}

/// Broken modes: pages oldest first; every offset answered as offset 0.
#[test]
fn broken_order_and_ignored_offset() {
    let sim = sim_faults(Faults::none().with_broken_order());
    let page = api(&sim, "limit=20").json();
    let ends: Vec<i64> = page["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(end_of)
        .collect();
    assert!(ends.len() == 20 && ends.windows(2).all(|w| w[0] <= w[1]) && ends[0] < ends[19]);
    sim.set_faults(Faults::none().with_offset_ignored());
    let a = uuids(
        api(&sim, "limit=20&offset=0").json()["objects"]
            .as_array()
            .unwrap(),
    );
    let b = api(&sim, "limit=20&offset=40").json();
    assert_eq!(b["meta"]["offset"], 40);
    assert_eq!(uuids(b["objects"].as_array().unwrap()), a);
    sim.set_faults(Faults::none());
    let c = uuids(
        api(&sim, "limit=20&offset=40").json()["objects"]
            .as_array()
            .unwrap(),
    );
    assert_ne!(c, a);
}

#[test]
fn odd_fields_in_pages_and_single_records() {
    let sim = sim_faults(Faults::none().with_odd_fields());
    let page = api(&sim, "limit=3").json();
    let odd: serde_json::Value = serde_json::from_str(calls_sim::ODD_FIELDS).unwrap();
    let objects = page["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 3);
    for o in objects {
        assert_eq!(o["stir_verification"], calls_sim::ODD_STIR);
        for (k, v) in odd.as_object().unwrap() {
            assert_eq!(&o[k], v, "{k}");
        }
    }
    assert_eq!(objects[0]["x_note"], "a, \"quoted\"\r\nline\ttab é \0nul");
    let long = odd
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.len() > 127)
        .unwrap();
    assert_eq!(long.len(), 199);
    let uuid = objects[0]["call_uuid"].as_str().unwrap();
    let one = get(
        &sim.base_url(),
        &format!("{}{uuid}/", list_path(&sim)),
        Some((sim.auth_id(), sim.auth_token())),
    )
    .unwrap();
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), objects[0]);
    // Without the flag: none of it.
    let plain = sim_faults(Faults::none());
    let o = &api(&plain, "limit=1").json()["objects"][0];
    assert!(o.get("x_note").is_none());
    assert_ne!(o["stir_verification"], calls_sim::ODD_STIR);
}
