//! Dataset shape, determinism and arithmetic.

mod common;

use calls_sim::Sim;
use common::*;
use serde_json::Value;

/// Parse a 5-decimal string into units of 0.00001.
fn units(s: &str) -> u64 {
    let (i, f) = s.split_once('.').unwrap();
    assert_eq!(f.len(), 5, "{s}");
    i.parse::<u64>().unwrap() * 100_000 + f.parse::<u64>().unwrap()
}

/// A record with its timestamps made relative to the sim's start.
fn relative(sim: &Sim, c: &Value) -> Value {
    let start = sim.started_at().timestamp();
    let mut c = c.clone();
    for k in ["end_time", "initiation_time", "answer_time"] {
        if let Some(s) = c[k].as_str() {
            c[k] = Value::from(ts(s) - start);
        }
    }
    c
}

#[test]
fn same_seed_same_dataset() {
    let a = sim_with(2000, 42);
    let b = sim_with(2000, 42);
    let c = sim_with(2000, 43);
    let ra: Vec<Value> = a.calls_json().iter().map(|x| relative(&a, x)).collect();
    let rb: Vec<Value> = b.calls_json().iter().map(|x| relative(&b, x)).collect();
    let rc: Vec<Value> = c.calls_json().iter().map(|x| relative(&c, x)).collect();
    assert_eq!(ra.len(), 2000);
    assert_eq!(ra, rb);
    assert_ne!(ra, rc);
}

#[test]
fn record_shape() {
    let sim = sim_with(5000, 7);
    let start = sim.started_at().timestamp();
    let calls = sim.calls_json();
    // Keys of the real record (calls-core's copy of the shared fixture).
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../calls-core/tests/fixtures/plivo/zentrunk-call-record.json"
    );
    let text = std::fs::read_to_string(fixture).expect("the fixture is in the repository");
    let fixture_keys: Vec<String> = serde_json::from_str::<Value>(&text)
        .expect("the fixture is JSON")
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    assert_eq!(fixture_keys.len(), 27);
    let mut expired = 0;
    let mut unanswered = 0;
    let mut null_attestation = 0;
    let mut seen_uuids = std::collections::HashSet::new();
    for c in &calls {
        let o = c.as_object().unwrap();
        for k in &fixture_keys {
            assert!(o.contains_key(k), "missing {k}");
        }
        assert!(seen_uuids.insert(c["call_uuid"].as_str().unwrap().to_string()));
        assert_eq!(c["call_uuid"].as_str().unwrap().len(), 36);
        assert!(c["call_id"].as_str().unwrap().contains('@'));
        for k in ["from_number", "to_number"] {
            let n = c[k].as_str().unwrap();
            assert!(
                n.starts_with('+') && n[1..].bytes().all(|b| b.is_ascii_digit()),
                "{n}"
            );
            assert!((11..=14).contains(&n.len()), "{n}");
        }
        assert!(["inbound", "outbound"].contains(&c["call_direction"].as_str().unwrap()));
        assert!(
            ["customer", "carrier", "zentrunk"].contains(&c["hangup_source"].as_str().unwrap())
        );
        assert!(
            ["Verified", "Not Verified", "Not Applicable"]
                .contains(&c["stir_verification"].as_str().unwrap())
        );
        let att = c["attestation_indicator"].as_str().unwrap();
        assert!(["A", "B", "C", "null"].contains(&att));
        null_attestation += usize::from(att == "null");
        assert!(["udp", "tcp", "tls"].contains(&c["transport_protocol"].as_str().unwrap()));
        for k in ["srtp", "secure_trunking", "cnam_lookup"] {
            assert!(c[k].is_boolean(), "{k}");
        }
        assert!(c["hangup_cause_code"].is_u64());
        assert!(c["hangup_cause_name"].is_string());
        assert!(
            c["trunk_domain"]
                .as_str()
                .unwrap()
                .ends_with(".zt.plivo.com")
        );

        let dur = c["call_duration"].as_u64().unwrap();
        let bill = c["bill_duration"].as_u64().unwrap();
        let billed = c["billed_duration"].as_u64().unwrap();
        assert_eq!(billed, bill.div_ceil(60) * 60);
        let rate = units(c["total_rate"].as_str().unwrap());
        let amount = units(c["total_amount"].as_str().unwrap());
        assert_eq!(amount, rate * billed / 60);
        units(c["secure_trunking_rate"].as_str().unwrap());
        units(c["cnam_lookup_rate"].as_str().unwrap());

        let end = ts(c["end_time"].as_str().unwrap());
        let init = ts(c["initiation_time"].as_str().unwrap());
        assert!(end <= start && end > start - 100 * DAY - 1);
        assert!(init <= end);
        if c["answer_time"].is_null() {
            unanswered += 1;
            assert_eq!(dur, 0);
            assert_eq!(bill, 0);
            assert_eq!(c["total_amount"], "0.00000");
        } else {
            let ans = ts(c["answer_time"].as_str().unwrap());
            assert!(init <= ans && ans <= end);
            assert_eq!(end - ans, dur as i64);
        }
        if end < start - 90 * DAY {
            expired += 1;
        }
    }
    let n = calls.len();
    assert!(
        expired * 100 > n * 5 && expired * 100 < n * 15,
        "{expired} expired"
    );
    assert!(unanswered * 100 > n * 15, "{unanswered} unanswered");
    assert!(null_attestation > 0);
    // Newest first.
    assert!(calls.windows(2).all(|w| end_of(&w[0]) >= end_of(&w[1])));
    // A modest number pool: prefixes match many calls.
    let distinct: std::collections::HashSet<&str> = calls
        .iter()
        .map(|c| c["from_number"].as_str().unwrap())
        .collect();
    assert!(distinct.len() < 100);
}
