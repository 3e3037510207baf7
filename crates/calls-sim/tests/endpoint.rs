//! The endpoint's rules: auth, routing, filters, validation, window policy, paging.

mod common;

use calls_sim::{Sim, SimConfig};
use common::*;
use serde_json::Value;

/// Independent brute-force filter over `calls_json()`, newest first.
fn brute(sim: &Sim, lo: i64, hi: i64, pred: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut v: Vec<Value> = sim
        .calls_json()
        .into_iter()
        .filter(|c| {
            let e = end_of(c);
            e >= lo && e <= hi
        })
        .filter(|c| pred(c))
        .collect();
    v.sort_by(|a, b| {
        end_of(b)
            .cmp(&end_of(a))
            .then_with(|| b["call_uuid"].as_str().cmp(&a["call_uuid"].as_str()))
    });
    uuids(&v)
}

fn digits(c: &Value, field: &str) -> String {
    c[field]
        .as_str()
        .unwrap()
        .trim_start_matches('+')
        .to_string()
}

#[test]
fn auth_and_routing() {
    let sim = sim_with(200, 1);
    let base = sim.base_url();
    let path = list_path(&sim);

    let r = get(&base, &path, None).unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let v = r.json();
    assert!(v["api_id"].is_string() && v["error"].is_string());

    let r = get(&base, &path, Some((sim.auth_id(), "wrong"))).unwrap();
    assert_eq!(r.status, 401);
    let r = get(&base, &path, Some(("MAOTHER", sim.auth_token()))).unwrap();
    assert_eq!(r.status, 401);

    let r = get(&base, &path, Some((sim.auth_id(), sim.auth_token()))).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/json"));

    // Trailing slash optional.
    let r = get(
        &base,
        path.trim_end_matches('/'),
        Some((sim.auth_id(), sim.auth_token())),
    )
    .unwrap();
    assert_eq!(r.status, 200);

    // Another account's path with valid credentials.
    let r = get(
        &base,
        "/v1/Account/MAOTHERACCOUNT000000/Zentrunk/Call/",
        Some((sim.auth_id(), sim.auth_token())),
    )
    .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "not found");

    for p in ["/", "/v1/", "/v1/Account/x/Zentrunk/Calls/", "/nope?x=1"] {
        let r = get(&base, p, Some((sim.auth_id(), sim.auth_token()))).unwrap();
        assert_eq!(r.status, 404, "{p}");
        assert!(r.json()["error"].is_string());
    }
}

#[test]
fn filters_match_brute_force() {
    let sim = sim_with(1500, 11);
    let start = sim.started_at().timestamp();
    let (lo, hi) = (start - 25 * DAY, start - DAY);
    let lo_s = fmt_ts(lo);
    let hi_s = fmt_ts(hi);
    let window = [
        ("end_time__gte", lo_s.as_str()),
        ("end_time__lte", hi_s.as_str()),
    ];
    let all = sim.calls_json();
    let some_from = digits(&all[0], "from_number");
    let some_to = digits(&all[3], "to_number");

    type Pred = Box<dyn Fn(&Value) -> bool>;
    let cases: Vec<(Vec<(&str, String)>, Pred)> = vec![
        (
            vec![("from_number", "1".into())],
            Box::new(|c| digits(c, "from_number").starts_with('1')),
        ),
        (
            vec![("from_number", "1415".into())],
            Box::new(|c| digits(c, "from_number").starts_with("1415")),
        ),
        (vec![("from_number", some_from.clone())], {
            let f = some_from.clone();
            Box::new(move |c| digits(c, "from_number").starts_with(&f))
        }),
        (
            vec![("to_number", "91".into())],
            Box::new(|c| digits(c, "to_number").starts_with("91")),
        ),
        (vec![("to_number", some_to.clone())], {
            let f = some_to.clone();
            Box::new(move |c| digits(c, "to_number").starts_with(&f))
        }),
        (
            vec![("call_direction", "inbound".into())],
            Box::new(|c| c["call_direction"] == "inbound"),
        ),
        (
            vec![("call_direction", "outbound".into())],
            Box::new(|c| c["call_direction"] == "outbound"),
        ),
        (
            vec![("hangup_source", "customer".into())],
            Box::new(|c| c["hangup_source"] == "customer"),
        ),
        (
            vec![("hangup_source", "carrier".into())],
            Box::new(|c| c["hangup_source"] == "carrier"),
        ),
        (
            vec![("hangup_source", "zentrunk".into())],
            Box::new(|c| c["hangup_source"] == "zentrunk"),
        ),
        (
            vec![("stir_verification", "Verified".into())],
            Box::new(|c| c["stir_verification"] == "Verified"),
        ),
        (
            vec![("stir_verification", "Not Verified".into())],
            Box::new(|c| c["stir_verification"] == "Not Verified"),
        ),
        (
            vec![("stir_verification", "Not Applicable".into())],
            Box::new(|c| c["stir_verification"] == "Not Applicable"),
        ),
        (
            vec![("hangup_cause_code", "3000".into())],
            Box::new(|c| c["hangup_cause_code"] == 3000),
        ),
        (
            vec![("hangup_cause_code", "4160".into())],
            Box::new(|c| c["hangup_cause_code"] == 4160),
        ),
        (
            vec![("bill_duration", "0".into())],
            Box::new(|c| c["bill_duration"] == 0),
        ),
        (
            vec![("bill_duration__gt", "60".into())],
            Box::new(|c| c["bill_duration"].as_u64().unwrap() > 60),
        ),
        (
            vec![("bill_duration__gte", "60".into())],
            Box::new(|c| c["bill_duration"].as_u64().unwrap() >= 60),
        ),
        (
            vec![("bill_duration__lt", "30".into())],
            Box::new(|c| c["bill_duration"].as_u64().unwrap() < 30),
        ),
        (
            vec![("bill_duration__lte", "30".into())],
            Box::new(|c| c["bill_duration"].as_u64().unwrap() <= 30),
        ),
        (
            vec![
                ("call_direction", "inbound".into()),
                ("from_number", "1".into()),
                ("bill_duration__gte", "1".into()),
                ("bill_duration__lte", "600".into()),
            ],
            Box::new(|c| {
                c["call_direction"] == "inbound"
                    && digits(c, "from_number").starts_with('1')
                    && (1..=600).contains(&c["bill_duration"].as_u64().unwrap())
            }),
        ),
    ];
    for (params, pred) in cases {
        let mut pairs: Vec<(&str, &str)> = window.to_vec();
        pairs.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        let want = brute(&sim, lo, hi, &pred);
        assert!(!want.is_empty(), "vacuous case {params:?}");
        let got = uuids(&fetch_all(&sim, &pairs));
        assert_eq!(got, want, "{params:?}");
        let first = api(&sim, &qs(&pairs)).json();
        assert_eq!(first["meta"]["total_count"], want.len(), "{params:?}");
    }
}

#[test]
fn end_time_comparisons() {
    let sim = sim_with(1000, 5);
    let start = sim.started_at().timestamp();
    let all = sim.calls_json();
    // A record well inside retention and a default window's worth in the past.
    let x = all
        .iter()
        .find(|c| end_of(c) < start - 10 * DAY)
        .unwrap()
        .clone();
    let xu = x["call_uuid"].as_str().unwrap().to_string();
    let xe = end_of(&x);
    let xs = fmt_ts(xe);
    let lo = fmt_ts(xe - 5 * DAY);
    let hi = fmt_ts(xe + 5 * DAY);
    let contains = |pairs: &[(&str, &str)]| uuids(&fetch_all(&sim, pairs)).contains(&xu);

    assert!(contains(&[("end_time__gte", &xs), ("end_time__lte", &hi)]));
    assert!(!contains(&[("end_time__gt", &xs), ("end_time__lte", &hi)]));
    assert!(contains(&[("end_time__gte", &lo), ("end_time__lte", &xs)]));
    assert!(!contains(&[("end_time__gte", &lo), ("end_time__lt", &xs)]));
    assert!(contains(&[("end_time", &xs)]));

    // Exact end_time only returns records ending in that second.
    let exact = fetch_all(&sim, &[("end_time", &xs)]);
    assert!(exact.iter().all(|c| end_of(c) == xe));
    let want = brute(&sim, xe, xe, |_| true);
    assert_eq!(uuids(&exact), want);

    // Every bound form against brute force.
    for (name, lo_b, hi_b) in [
        ("gt/lt", xe + 1, xe - 1 + 3 * DAY),
        ("gte/lte", xe, xe + 3 * DAY),
    ] {
        let (l, h) = if name == "gt/lt" {
            (
                ("end_time__gt", fmt_ts(xe)),
                ("end_time__lt", fmt_ts(xe + 3 * DAY)),
            )
        } else {
            (
                ("end_time__gte", fmt_ts(xe)),
                ("end_time__lte", fmt_ts(xe + 3 * DAY)),
            )
        };
        let got = uuids(&fetch_all(&sim, &[(l.0, &l.1), (h.0, &h.1)]));
        assert_eq!(got, brute(&sim, lo_b, hi_b, |_| true), "{name}");
    }

    // Minute precision and fractional seconds are accepted.
    let minute = &xs[..16];
    let r = api(&sim, &qs(&[("end_time__gte", minute)]));
    assert_eq!(r.status, 200);
    let frac = format!("{xs}.5");
    let got = uuids(&fetch_all(
        &sim,
        &[("end_time__gte", &frac), ("end_time__lte", &hi)],
    ));
    assert!(!got.contains(&xu), "x ended before {frac}");
    let frac = format!("{xs}.000000");
    let got = uuids(&fetch_all(
        &sim,
        &[("end_time__gte", &frac), ("end_time__lte", &hi)],
    ));
    assert!(got.contains(&xu));
}

#[test]
fn number_filters_digits_only() {
    let sim = sim_with(800, 2);
    let start = sim.started_at().timestamp();
    let lo = fmt_ts(start - 20 * DAY);
    let base = [("end_time__gte", lo.as_str())];
    let total = |extra: &str| {
        let q = format!("{}&{extra}", qs(&base));
        let r = api(&sim, &q);
        assert_eq!(r.status, 200, "{extra}");
        r.json()["meta"]["total_count"].as_u64().unwrap()
    };
    assert!(total("from_number=1") > 0);
    // `+` in a query string decodes to a space; %2B is a literal plus: neither matches.
    assert_eq!(total("from_number=+1"), 0);
    assert_eq!(total("from_number=%2B1"), 0);
    assert_eq!(total("to_number=%2B1"), 0);
    assert_eq!(total("from_number=1a"), 0);
    assert_eq!(total("from_number=%201"), 0);
    // Prefix: a shorter prefix matches at least as many.
    assert!(total("from_number=1") >= total("from_number=14"));
}

#[test]
fn enums_are_case_sensitive_and_unknown_is_empty() {
    let sim = sim_with(800, 2);
    let start = sim.started_at().timestamp();
    let lo = fmt_ts(start - 20 * DAY);
    for (k, v) in [
        ("call_direction", "Inbound"),
        ("call_direction", "sideways"),
        ("hangup_source", "Customer"),
        ("hangup_source", "CARRIER"),
        ("stir_verification", "verified"),
        ("stir_verification", "not verified"),
        ("stir_verification", "Unknown"),
        ("hangup_cause_code", "1234"),
    ] {
        let r = api(&sim, &qs(&[("end_time__gte", &lo), (k, v)]));
        assert_eq!(r.status, 200, "{k}={v}");
        let j = r.json();
        assert_eq!(j["meta"]["total_count"], 0, "{k}={v}");
        assert_eq!(j["objects"].as_array().unwrap().len(), 0);
        assert!(j["meta"]["next"].is_null() && j["meta"]["previous"].is_null());
    }
    // "Not Verified" with `+` for the space works.
    let r = api(
        &sim,
        &format!("end_time__gte={}&stir_verification=Not+Verified", enc(&lo)),
    );
    assert!(r.json()["meta"]["total_count"].as_u64().unwrap() > 0);
}

#[test]
fn validation_errors() {
    let sim = sim_with(100, 2);
    let bad400 = |q: &str, mention: &str| {
        let r = api(&sim, q);
        assert_eq!(r.status, 400, "{q}");
        let v = r.json();
        assert!(v["api_id"].is_string(), "{q}");
        let e = v["error"].as_str().unwrap();
        assert!(e.contains(mention), "{q}: {e}");
    };
    for name in [
        "from_number",
        "to_number",
        "call_direction",
        "hangup_source",
        "stir_verification",
        "hangup_cause_code",
        "bill_duration",
        "bill_duration__gt",
        "bill_duration__gte",
        "bill_duration__lt",
        "bill_duration__lte",
        "end_time",
        "end_time__gt",
        "end_time__gte",
        "end_time__lt",
        "end_time__lte",
        "limit",
        "offset",
    ] {
        bad400(&format!("{name}="), name);
        bad400(name, name);
    }
    for q in ["limit=0", "limit=21", "limit=abc", "limit=-1", "limit=1.5"] {
        bad400(q, "limit");
    }
    for q in ["offset=-1", "offset=abc", "offset=1.0"] {
        bad400(q, "offset");
    }
    bad400("hangup_cause_code=abc", "hangup_cause_code");
    bad400("hangup_cause_code=3.0", "hangup_cause_code");
    for q in [
        "bill_duration=-1",
        "bill_duration__gt=x",
        "bill_duration__lte=1.5",
    ] {
        bad400(q, "bill_duration");
    }
    for v in [
        "yesterday",
        "2026-01-01",
        "2026-01-01T10:00:00",
        "2026-02-30 10:00",
        "2026-01-01 10:00:00Z",
    ] {
        bad400(&format!("end_time__gte={}", enc(v)), "end_time__gte");
    }
    // Unknown parameters are ignored, even empty.
    assert_eq!(api(&sim, "foo=bar&baz=").status, 200);
    // Boundaries that are fine.
    assert_eq!(api(&sim, "limit=1&offset=0").status, 200);
    assert_eq!(api(&sim, "limit=20&offset=1000000").status, 200);
}

#[test]
fn window_policy() {
    let sim = sim_with(2000, 9);
    let calls = sim.calls_json();

    // No end_time filter: only the last 7 days.
    let before = now_secs();
    let got = uuids(&fetch_all(&sim, &[]));
    let after = now_secs() + 1;
    let strict = brute(&sim, after - 7 * DAY, after, |_| true);
    let loose = brute(&sim, before - 7 * DAY - 1, after, |_| true);
    assert!(!strict.is_empty());
    assert!(strict.iter().all(|u| got.contains(u)));
    assert!(got.iter().all(|u| loose.contains(u)));

    // Upper bound without lower bound.
    let hi = fmt_ts(now_secs() - DAY);
    for k in ["end_time__lte", "end_time__lt"] {
        let r = api(&sim, &qs(&[(k, &hi)]));
        assert_eq!(r.status, 400);
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .contains("end_time__gte")
        );
    }

    // Range over 30 days.
    let lo = fmt_ts(now_secs() - 40 * DAY);
    let hi = fmt_ts(now_secs() - 5 * DAY);
    assert_eq!(
        api(&sim, &qs(&[("end_time__gte", &lo), ("end_time__lte", &hi)])).status,
        400
    );
    assert_eq!(
        api(&sim, &qs(&[("end_time__gt", &lo), ("end_time__lt", &hi)])).status,
        400
    );
    // Lower bound only: the upper bound is now, so 31 days ago is too far.
    assert_eq!(
        api(
            &sim,
            &qs(&[("end_time__gte", &fmt_ts(now_secs() - 31 * DAY))])
        )
        .status,
        400
    );
    // Exactly 30 days is fine.
    let a = now_secs() - 50 * DAY;
    let r = api(
        &sim,
        &qs(&[
            ("end_time__gte", &fmt_ts(a)),
            ("end_time__lte", &fmt_ts(a + 30 * DAY)),
        ]),
    );
    assert_eq!(r.status, 200);

    // Lower bound only within range: everything from there up to now.
    let lo_t = now_secs() - 12 * DAY;
    let got = uuids(&fetch_all(&sim, &[("end_time__gte", &fmt_ts(lo_t))]));
    assert_eq!(got, brute(&sim, lo_t, i64::MAX, |_| true));

    // Retention: nothing older than 90 days, though such records exist.
    let now = now_secs();
    let old: Vec<&Value> = calls
        .iter()
        .filter(|c| end_of(c) < now - 91 * DAY)
        .collect();
    assert!(!old.is_empty(), "dataset spans 100 days");
    let got = fetch_all(
        &sim,
        &[
            ("end_time__gte", &fmt_ts(now - 99 * DAY)),
            ("end_time__lte", &fmt_ts(now - 75 * DAY)),
        ],
    );
    assert!(!got.is_empty());
    assert!(got.iter().all(|c| end_of(c) > now - 90 * DAY - 5));
    let want = brute(&sim, now - 90 * DAY + 5, now - 75 * DAY, |_| true);
    let got_u = uuids(&got);
    assert!(want.iter().all(|u| got_u.contains(u)));
    // ... and the single-record endpoint does not know them either.
    let u = old[0]["call_uuid"].as_str().unwrap();
    let r = get(
        &sim.base_url(),
        &format!("{}{u}/", list_path(&sim)),
        Some((sim.auth_id(), sim.auth_token())),
    )
    .unwrap();
    assert_eq!(r.status, 404);
}

#[test]
fn custom_policy() {
    let sim = Sim::start(SimConfig {
        calls: 1000,
        seed: 4,
        default_window_days: 2,
        max_range_days: 5,
        retention_days: 20,
        ..SimConfig::default()
    })
    .unwrap();
    let now = now_secs();
    let got = fetch_all(&sim, &[]);
    assert!(got.iter().all(|c| end_of(c) >= now - 2 * DAY - 2));
    let r = api(&sim, &qs(&[("end_time__gte", &fmt_ts(now - 6 * DAY))]));
    assert_eq!(r.status, 400);
    let got = fetch_all(
        &sim,
        &[
            ("end_time__gte", &fmt_ts(now - 24 * DAY)),
            ("end_time__lte", &fmt_ts(now - 19 * DAY)),
        ],
    );
    assert!(got.iter().all(|c| end_of(c) > now - 20 * DAY - 2));
}

#[test]
fn newest_first_ordering() {
    let sim = sim_with(20_000, 3);
    let now = now_secs();
    let got = fetch_all(
        &sim,
        &[("end_time__gte", &fmt_ts(now - 3 * DAY)), ("limit", "20")],
    );
    assert!(got.len() > 100);
    for w in got.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let ka = (end_of(a), a["call_uuid"].as_str().unwrap().to_string());
        let kb = (end_of(b), b["call_uuid"].as_str().unwrap().to_string());
        assert!(ka > kb, "{ka:?} before {kb:?}");
    }
}

#[test]
fn meta_links() {
    let sim = sim_with(1000, 8);
    let lo = fmt_ts(sim.started_at().timestamp() - 20 * DAY);
    let filters = [
        ("end_time__gte", lo.as_str()),
        ("stir_verification", "Not Verified"),
        ("from_number", "1"),
    ];
    let enc_filters = "end_time__gte=".to_string()
        + &lo.replace(' ', "%20")
        + "&stir_verification=Not%20Verified&from_number=1";
    let id = sim.auth_id().to_string();

    let mut pairs = filters.to_vec();
    pairs.push(("limit", "5"));
    let p0 = api(&sim, &qs(&pairs)).json();
    let total = p0["meta"]["total_count"].as_u64().unwrap();
    assert!(total > 10);
    assert_eq!(p0["meta"]["limit"], 5);
    assert_eq!(p0["meta"]["offset"], 0);
    assert!(p0["meta"]["previous"].is_null());
    let next = p0["meta"]["next"].as_str().unwrap();
    assert_eq!(
        next,
        format!("/v1/Account/{id}/Zentrunk/Call/?limit=5&offset=5&{enc_filters}")
    );
    // Following `next` gives the same as asking for offset 5.
    let via_link = get(
        &sim.base_url(),
        next,
        Some((sim.auth_id(), sim.auth_token())),
    )
    .unwrap()
    .json();
    let mut pairs5 = pairs.clone();
    pairs5.push(("offset", "5"));
    let p5 = api(&sim, &qs(&pairs5)).json();
    assert_eq!(via_link["objects"], p5["objects"]);
    assert_eq!(
        p5["meta"]["previous"],
        format!("/v1/Account/{id}/Zentrunk/Call/?limit=5&offset=0&{enc_filters}")
    );
    // Offset not aligned to limit: previous clamps at 0.
    let mut pairs3 = pairs.clone();
    pairs3.push(("offset", "3"));
    let p3 = api(&sim, &qs(&pairs3)).json();
    assert_eq!(
        p3["meta"]["previous"],
        format!("/v1/Account/{id}/Zentrunk/Call/?limit=5&offset=0&{enc_filters}")
    );
    // Last page: no next.
    let last_off = ((total - 1) / 5 * 5).to_string();
    let mut pl = pairs.clone();
    pl.push(("offset", &last_off));
    let last = api(&sim, &qs(&pl)).json();
    assert!(last["meta"]["next"].is_null());
    assert!(!last["objects"].as_array().unwrap().is_empty());
    // Beyond the end: empty page.
    let mut pb = pairs.clone();
    let beyond = (total + 100).to_string();
    pb.push(("offset", &beyond));
    let b = api(&sim, &qs(&pb)).json();
    assert!(b["objects"].as_array().unwrap().is_empty());
    assert!(b["meta"]["next"].is_null());
    assert_eq!(b["meta"]["total_count"], total);
    // Default limit is 20.
    let d = api(&sim, &qs(&filters)).json();
    assert_eq!(d["meta"]["limit"], 20);
    assert_eq!(
        d["objects"].as_array().unwrap().len(),
        20.min(total as usize)
    );
    // Fresh api_id per response.
    assert_ne!(p0["api_id"], p5["api_id"]);
}

#[test]
fn single_record() {
    let sim = sim_with(300, 6);
    let now = now_secs();
    let rec = sim
        .calls_json()
        .into_iter()
        .find(|c| end_of(c) > now - 80 * DAY)
        .unwrap();
    let u = rec["call_uuid"].as_str().unwrap();
    let auth = Some((sim.auth_id(), sim.auth_token()));
    for path in [
        format!("{}{u}/", list_path(&sim)),
        format!("{}{u}", list_path(&sim)),
    ] {
        let r = get(&sim.base_url(), &path, auth).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), rec);
    }
    for bad in ["00000000-0000-4000-8000-000000000000", "nope"] {
        let r = get(&sim.base_url(), &format!("{}{bad}/", list_path(&sim)), auth).unwrap();
        assert_eq!(r.status, 404);
        assert!(r.json()["error"].is_string());
    }
    let r = get(&sim.base_url(), &format!("{}{u}/", list_path(&sim)), None).unwrap();
    assert_eq!(r.status, 401);
    let r = get(
        &sim.base_url(),
        &format!("/v1/Account/MAOTHER/Zentrunk/Call/{u}/"),
        auth,
    )
    .unwrap();
    assert_eq!(r.status, 404);
}
