//! `list_page` against calls-sim over HTTP: filters, statuses, retries and faults.

mod common;

use std::time::{Duration, Instant};

use calls_core::{CallQuery, Error};
use calls_sim::{Fault, Faults};
use chrono::Utc;
use common::*;

/// A lower bound 20 days back: one request's range, inside retention.
fn base_query() -> (CallQuery, String) {
    let since = api_time(Utc::now() - chrono::Duration::days(20));
    let mut q = CallQuery::new();
    q.set("end_time__gte", &since).unwrap();
    (q, since)
}

/// Runs one page of `q` and checks it against the simulator's own answer for the same filters.
fn check_against_sim(
    sim: &calls_sim::Sim,
    client: &calls_core::Client,
    q: &CallQuery,
    label: &str,
) -> usize {
    let page = client
        .list_page(q, 20, 0)
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let pairs = q.to_pairs();
    let params: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let expected = sim
        .expected(&params)
        .unwrap_or_else(|e| panic!("{label}: sim: {e}"));
    assert_eq!(
        page.meta.total_count,
        Some(expected.len() as u64),
        "{label}: total_count"
    );
    let want: Vec<String> = uuids_of_json(&expected).into_iter().take(20).collect();
    assert_eq!(uuids(&page.objects), want, "{label}: first page");
    expected.len()
}

#[test]
fn every_filter_and_comparison_form_matches_the_simulator() {
    let sim = sim(3000, Faults::none());
    let client = client(&sim);
    let (_, since) = base_query();
    // Values taken from the data, so that each filter selects something.
    let recent: Vec<serde_json::Value> =
        sim.expected(&[("end_time__gte", since.as_str())]).unwrap();
    assert!(recent.len() > 100, "the dataset has recent calls");
    let c = &recent[recent.len() / 2];
    let s = |k: &str| c[k].as_str().unwrap().to_string();
    let n = |k: &str| c[k].as_u64().unwrap().to_string();
    let from_digits = s("from_number").trim_start_matches('+').to_string();
    let to_digits = s("to_number").trim_start_matches('+').to_string();
    let end = s("end_time");
    let mid = api_time(Utc::now() - chrono::Duration::days(10));
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![("from_number", from_digits.clone())],
        vec![("from_number", from_digits[..4].to_string())],
        vec![("from_number", format!("+{}", &from_digits[..3]))],
        vec![("to_number", to_digits.clone())],
        vec![("to_number", to_digits[..2].to_string())],
        vec![("call_direction", "inbound".into())],
        vec![("call_direction", "outbound".into())],
        vec![("bill_duration", n("bill_duration"))],
        vec![("bill_duration", "0".into())],
        vec![("bill_duration__gt", "60".into())],
        vec![("bill_duration__gte", "60".into())],
        vec![("bill_duration__lt", "30".into())],
        vec![("bill_duration__lte", "30".into())],
        vec![
            ("bill_duration__gte", "30".into()),
            ("bill_duration__lt", "120".into()),
        ],
        vec![("end_time", end.clone())],
        vec![("end_time__gt", mid.clone())],
        vec![("end_time__lt", mid.clone())],
        vec![("end_time__lte", end.clone())],
        vec![("hangup_cause_code", n("hangup_cause_code"))],
        vec![("hangup_source", "customer".into())],
        vec![("hangup_source", "carrier".into())],
        vec![("hangup_source", "zentrunk".into())],
        vec![("stir_verification", "Verified".into())],
        vec![("stir_verification", "Not Verified".into())],
        vec![("stir_verification", "Not Applicable".into())],
        vec![
            ("call_direction", "outbound".into()),
            ("hangup_source", "carrier".into()),
            ("bill_duration__gt", "0".into()),
        ],
    ];
    for case in cases {
        let (mut q, _) = base_query();
        if case
            .iter()
            .any(|(k, _)| *k == "end_time" || *k == "end_time__gt")
        {
            q.unset("end_time__gte").unwrap();
        }
        for (k, v) in &case {
            q.set(k, v).unwrap();
        }
        let label = q.to_query_string();
        let matched = check_against_sim(&sim, &client, &q, &label);
        assert!(
            matched > 0,
            "{label}: the case selects nothing, so it shows nothing"
        );
    }
}

#[test]
fn a_leading_plus_is_stripped_so_numbers_match() {
    let sim = sim(2000, Faults::none());
    let client = client(&sim);
    let (q, since) = base_query();
    let recent = sim.expected(&[("end_time__gte", since.as_str())]).unwrap();
    let number = recent[0]["from_number"].as_str().unwrap().to_string();
    assert!(number.starts_with('+'));
    let mut with_plus = q.clone();
    with_plus.set("from_number", &number).unwrap();
    assert!(
        with_plus
            .to_query_string()
            .contains(&format!("from_number={}", &number[1..]))
    );
    let page = client.list_page(&with_plus, 20, 0).unwrap();
    assert!(!page.objects.is_empty());
    assert!(
        page.objects
            .iter()
            .all(|c| c.from_number.as_deref() == Some(number.as_str()))
    );
    // The service itself matches nothing for a '+' (which is why the client strips it).
    assert_eq!(
        sim.expected(&[
            ("end_time__gte", since.as_str()),
            ("from_number", number.as_str())
        ])
        .unwrap()
        .len(),
        0
    );
}

#[test]
fn paging_walks_offsets_and_meta_links() {
    let sim = sim(2000, Faults::none());
    let client = client(&sim);
    let (q, since) = base_query();
    let expected = uuids_of_json(&sim.expected(&[("end_time__gte", since.as_str())]).unwrap());
    let p0 = client.list_page(&q, 7, 0).unwrap();
    let p1 = client.list_page(&q, 7, 7).unwrap();
    assert_eq!(uuids(&p0.objects), expected[..7]);
    assert_eq!(uuids(&p1.objects), expected[7..14]);
    assert!(p0.meta.next.is_more());
    assert!(!p0.meta.previous.is_more());
    assert!(p1.meta.previous.is_more());
    let last = client.list_page(&q, 20, expected.len() as u64 - 3).unwrap();
    assert_eq!(last.objects.len(), 3);
    assert!(!last.meta.next.is_more());
}

#[test]
fn invalid_queries_and_limits_send_nothing() {
    let sim = sim(100, Faults::none());
    let client = client(&sim);
    let mut upper_only = CallQuery::new();
    upper_only
        .set("end_time__lt", &api_time(Utc::now()))
        .unwrap();
    let too_wide = CallQuery::new().end_time(
        calls_core::Cmp::Gte,
        Utc::now() - chrono::Duration::days(45),
    );
    let too_old = CallQuery::new()
        .end_time(
            calls_core::Cmp::Gte,
            Utc::now() - chrono::Duration::days(95),
        )
        .end_time(calls_core::Cmp::Lt, Utc::now() - chrono::Duration::days(80));
    let bad_enum = CallQuery::new().call_direction("Outbound");
    let empty_range = CallQuery::new()
        .bill_duration(calls_core::Cmp::Gt, 60)
        .bill_duration(calls_core::Cmp::Lt, 30);
    for (q, field) in [
        (&upper_only, "end_time__lt"),
        (&too_wide, "end_time__gte"),
        (&too_old, "end_time__gte"),
        (&bad_enum, "call_direction"),
        (&empty_range, "bill_duration"),
    ] {
        match client.list_page(q, 20, 0) {
            Err(Error::Validation { field: f, message }) => {
                assert!(f.starts_with(field), "{q}: field {f}: {message}")
            }
            other => panic!("{q}: expected a validation error, got {other:?}"),
        }
    }
    for limit in [0, 21, 1000] {
        match client.list_page(&CallQuery::new(), limit, 0) {
            Err(Error::InvalidArgument(m)) => {
                assert_eq!(m, format!("limit must be 1..=20, not {limit}"))
            }
            other => panic!("limit {limit}: expected an invalid argument, got {other:?}"),
        }
    }
    assert_eq!(sim.stats().requests, 0, "nothing was sent");
}

#[test]
fn wrong_credentials_are_unauthorized_and_not_retried() {
    let sim = sim(100, Faults::none());
    let client = calls_core::Client::builder(AUTH_ID, "not-the-token")
        .base_url(sim.base_url())
        .retry_policy(quick_retries(4))
        .build()
        .unwrap();
    let err = client.list_page(&CallQuery::new(), 20, 0).unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized(ref a) if a.status == 401 && a.api_id.is_some()),
        "{err:?}"
    );
    assert!(!err.to_string().contains("not-the-token"));
    assert_eq!(sim.stats().requests, 1);
}

#[test]
fn retried_statuses_then_success() {
    for status in [429u16, 500, 502, 503, 504] {
        let fault = if status == 429 {
            Fault::rate_limited("0")
        } else {
            Fault::status(status)
        };
        let sim = sim(200, Faults::none().with_script([fault.clone(), fault]));
        let page = client(&sim).list_page(&CallQuery::new(), 20, 0);
        assert!(page.is_ok(), "{status}: {page:?}");
        assert_eq!(
            sim.stats().requests,
            3,
            "{status}: two failures, then the page"
        );
    }
}

#[test]
fn non_retried_statuses_fail_at_once() {
    for (status, check) in [
        (
            400u16,
            (|e: &Error| matches!(e, Error::Http(a) if a.status == 400)) as fn(&Error) -> bool,
        ),
        (
            401,
            |e| matches!(e, Error::Unauthorized(a) if a.status == 401),
        ),
        (
            403,
            |e| matches!(e, Error::Unauthorized(a) if a.status == 403),
        ),
        (404, |e| matches!(e, Error::NotFound(_))),
        (
            302,
            |e| matches!(e, Error::Http(a) if a.message.contains("redirect")),
        ),
        (501, |e| matches!(e, Error::Server(_))),
    ] {
        let sim = sim(50, Faults::none().with_script([Fault::status(status)]));
        let err = client(&sim)
            .list_page(&CallQuery::new(), 20, 0)
            .unwrap_err();
        assert!(check(&err), "{status}: {err:?}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(sim.stats().requests, 1, "{status} is not retried");
        assert_no_token(&err);
    }
}

#[test]
fn retries_are_bounded() {
    let sim = sim(50, Faults::none().with_every(1, Fault::status(503)));
    let c = builder(&sim)
        .retry_policy(quick_retries(2))
        .build()
        .unwrap();
    let err = c.list_page(&CallQuery::new(), 20, 0).unwrap_err();
    assert!(
        matches!(err, Error::Server(ref a) if a.status == 503),
        "{err:?}"
    );
    assert_eq!(sim.stats().requests, 3, "1 attempt + 2 retries");

    let sim = common::sim(50, Faults::rate_limit(1, "0"));
    let c = builder(&sim)
        .retry_policy(quick_retries(1))
        .build()
        .unwrap();
    let err = c.list_page(&CallQuery::new(), 20, 0).unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d.is_zero()),
        "{err:?}"
    );
    assert_eq!(sim.stats().requests, 2);
}

#[test]
fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let sim = sim(50, Faults::none().with_script([Fault::rate_limited("1")]));
    let t = Instant::now();
    client(&sim).list_page(&CallQuery::new(), 20, 0).unwrap();
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        t.elapsed()
    );
    assert_eq!(sim.stats().requests, 2);

    let when = (Utc::now() + chrono::Duration::seconds(2))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let sim = common::sim(50, Faults::none().with_script([Fault::rate_limited(&when)]));
    let t = Instant::now();
    client(&sim).list_page(&CallQuery::new(), 20, 0).unwrap();
    // The date has one-second resolution: at least one second of waiting.
    assert!(
        t.elapsed() >= Duration::from_millis(1000),
        "waited {:?}",
        t.elapsed()
    );

    // A Retry-After over the cap is cut to the cap.
    let sim = common::sim(
        50,
        Faults::none().with_script([Fault::rate_limited("3600")]),
    );
    let mut policy = quick_retries(2);
    policy.max_retry_after = Duration::from_millis(50);
    let c = builder(&sim).retry_policy(policy).build().unwrap();
    let t = Instant::now();
    c.list_page(&CallQuery::new(), 20, 0).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert!(t.elapsed() < Duration::from_secs(60));
}

#[test]
fn dropped_connections_are_retried() {
    let sim = sim(50, Faults::none().with_script([Fault::Drop, Fault::Drop]));
    client(&sim).list_page(&CallQuery::new(), 20, 0).unwrap();
    assert_eq!(sim.stats().requests, 3);
    let sim = common::sim(50, Faults::none().with_every(1, Fault::Drop));
    let err = builder(&sim)
        .retry_policy(quick_retries(1))
        .build()
        .unwrap()
        .list_page(&CallQuery::new(), 20, 0)
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}

#[test]
fn connection_refused_is_a_transport_error_after_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = calls_core::Client::builder(AUTH_ID, TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(quick_retries(2))
        .build()
        .unwrap();
    let err = c.list_page(&CallQuery::new(), 20, 0).unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_no_token(&err);
}

#[test]
fn a_slow_answer_times_out_and_is_retried() {
    let sim = sim(
        50,
        Faults::none().with_script([Fault::Delay(Duration::from_secs(3))]),
    );
    let c = builder(&sim)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    c.list_page(&CallQuery::new(), 20, 0).unwrap();
    assert_eq!(sim.stats().requests, 2);

    let sim = common::sim(
        50,
        Faults::none().with_every(
            1,
            Fault::SlowBody {
                total: Duration::from_secs(3),
            },
        ),
    );
    let c = builder(&sim)
        .timeout(Duration::from_millis(300))
        .retry_policy(quick_retries(0))
        .build()
        .unwrap();
    let err = c.list_page(&CallQuery::new(), 20, 0).unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
}

#[test]
fn an_oversized_body_is_refused_without_reading_it() {
    let sim = sim(
        50,
        Faults::none().with_every(1, Fault::Oversize { bytes: 1 << 30 }),
    );
    let c = builder(&sim).max_body_bytes(1 << 20).build().unwrap();
    let err = c.list_page(&CallQuery::new(), 20, 0).unwrap_err();
    assert!(
        matches!(err, Error::BadAnswer { status: 200, ref message } if message.contains("cap")),
        "{err:?}"
    );
    assert_eq!(
        sim.stats().requests,
        1,
        "not retried: it would be as large again"
    );
}

#[test]
fn malformed_and_truncated_bodies() {
    for fault in [Fault::Malformed, Fault::Truncated] {
        // Once: retried, then the real page.
        let sim = sim(50, Faults::none().with_script([fault.clone()]));
        client(&sim).list_page(&CallQuery::new(), 20, 0).unwrap();
        assert_eq!(sim.stats().requests, 2);
        // Always: a bad response naming what was wrong.
        let sim = common::sim(50, Faults::none().with_every(1, fault.clone()));
        let err = builder(&sim)
            .retry_policy(quick_retries(1))
            .build()
            .unwrap()
            .list_page(&CallQuery::new(), 20, 0)
            .unwrap_err();
        assert!(
            matches!(err, Error::BadAnswer { status: 200, ref message } if !message.is_empty()),
            "{fault:?}: {err:?}"
        );
        assert_eq!(sim.stats().requests, 2);
    }
}

#[test]
fn one_call_by_uuid() {
    let sim = sim(200, Faults::none());
    let c = client(&sim);
    let first = &sim.calls_json()[0];
    let uuid = first["call_uuid"].as_str().unwrap();
    let call = c.get_call(uuid).unwrap();
    assert_eq!(call.call_uuid, uuid);
    assert_eq!(
        call.total_amount.as_ref().map(|m| m.as_str()),
        first["total_amount"].as_str()
    );
    let err = c
        .get_call("00000000-0000-4000-8000-000000000000")
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(matches!(c.get_call("../x"), Err(Error::Validation { .. })));
}

#[test]
fn the_token_never_appears_in_any_error() {
    let sim = sim(50, Faults::none().with_every(1, Fault::status(500)));
    let c = builder(&sim)
        .retry_policy(quick_retries(0))
        .build()
        .unwrap();
    let err = c.list_page(&CallQuery::new(), 20, 0).unwrap_err();
    assert_no_token(&err);
    assert!(!format!("{c:?}").contains(TOKEN));
    let mut q = CallQuery::new();
    let err = q.set("from_number", TOKEN).unwrap_err();
    // A value is echoed only when it was given as a filter, never the credentials.
    assert!(matches!(err, Error::Validation { .. }));
}
