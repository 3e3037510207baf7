//! Checkpoints and resume against calls-sim: an interrupted export continues
//! where it stood, with nothing missed.

mod common;

use std::collections::HashSet;

use calls_core::{CallQuery, Client, Cmp, Error, WindowPolicy};
use calls_sim::{Fault, Faults};
use chrono::Utc;
use common::*;

fn query_60_days() -> CallQuery {
    let now = Utc::now();
    CallQuery::new()
        .call_direction("outbound")
        .end_time(Cmp::Gte, now - chrono::Duration::days(60))
        .end_time(Cmp::Lt, now)
}

/// What the simulator holds for the query, asked without the pager.
fn everything(sim: &calls_sim::Sim, q: &CallQuery) -> HashSet<String> {
    expected_for(sim, q)
}

/// Takes `k` calls, checkpoints, drops the pager, resumes and takes the rest.
fn interrupted(client: &Client, q: &CallQuery, k: usize) -> (Vec<String>, Vec<String>) {
    let mut pager = client.calls(q);
    let first: Vec<String> = pager
        .by_ref()
        .take(k)
        .map(|c| c.unwrap().call_uuid)
        .collect();
    let cp = pager.checkpoint();
    drop(pager);
    let rest: Vec<String> = client
        .resume(q, &cp)
        .unwrap()
        .map(|c| c.unwrap().call_uuid)
        .collect();
    (first, rest)
}

#[test]
fn resuming_anywhere_gives_the_rest_exactly() {
    let sim = sim(4000, Faults::none());
    let client = builder(&sim).concurrency(4).build().unwrap();
    let q = query_60_days();
    let all = everything(&sim, &q);
    assert!(all.len() > 500);
    // Inside the first page, at page seams, mid-window, and near the end.
    for k in [
        0,
        1,
        19,
        20,
        21,
        57,
        all.len() / 2,
        all.len() - 1,
        all.len(),
    ] {
        let (first, rest) = interrupted(&client, &q, k);
        assert_eq!(first.len(), k);
        let mut both = first.clone();
        both.extend(rest);
        assert_eq!(unique(&both), all, "interrupted after {k}");
    }
}

#[test]
fn page_wise_checkpoints_resume_too() {
    let sim = sim(3000, Faults::none());
    let client = builder(&sim).concurrency(3).build().unwrap();
    let q = query_60_days();
    let all = everything(&sim, &q);
    let mut pager = client.calls(&q);
    let mut got = Vec::new();
    for _ in 0..5 {
        got.extend(uuids(&pager.next_page().unwrap().unwrap()));
    }
    let cp = pager.checkpoint();
    let mut resumed = client.resume(&q, &cp).unwrap();
    while let Some(page) = resumed.next_page() {
        got.extend(uuids(&page.unwrap()));
    }
    assert_eq!(unique(&got), all);
}

#[test]
fn a_max_items_stop_resumes_where_it_stopped() {
    let sim = sim(3000, Faults::none());
    let client = client(&sim);
    let q = query_60_days();
    let all = everything(&sim, &q);
    let mut pager = client.calls(&q).max_items(45);
    let mut got: Vec<String> = pager.by_ref().map(|c| c.unwrap().call_uuid).collect();
    assert_eq!(got.len(), 45);
    let cp = pager.checkpoint();
    got.extend(
        client
            .resume(&q, &cp)
            .unwrap()
            .map(|c| c.unwrap().call_uuid),
    );
    assert_eq!(unique(&got), all);
}

#[test]
fn an_export_that_failed_resumes_from_its_failure() {
    let sim = sim(3000, Faults::none());
    let client = builder(&sim)
        .retry_policy(quick_retries(0))
        .build()
        .unwrap();
    let q = query_60_days();
    let all = everything(&sim, &q);
    let mut pager = client.calls(&q);
    let mut got: Vec<String> = pager
        .by_ref()
        .take(70)
        .map(|c| c.unwrap().call_uuid)
        .collect();
    sim.set_faults(Faults::none().with_every(1, Fault::status(503)));
    let mut failed = false;
    for c in pager.by_ref() {
        match c {
            Ok(c) => got.push(c.call_uuid),
            Err(e) => {
                assert!(matches!(e, Error::Server(_)), "{e:?}");
                failed = true;
            }
        }
    }
    assert!(failed);
    let cp = pager.checkpoint();
    sim.set_faults(Faults::none());
    got.extend(
        client
            .resume(&q, &cp)
            .unwrap()
            .map(|c| c.unwrap().call_uuid),
    );
    assert_eq!(unique(&got), all);
}

#[test]
fn a_finished_export_resumes_to_nothing() {
    let sim = sim(500, Faults::none());
    let client = client(&sim);
    let q = query_60_days();
    let mut pager = client.calls(&q);
    assert!(pager.by_ref().count() > 0);
    let cp = pager.checkpoint();
    let before = sim.stats().requests;
    assert_eq!(client.resume(&q, &cp).unwrap().count(), 0);
    assert_eq!(sim.stats().requests, before, "nothing left to ask");
}

#[test]
fn late_arrivals_between_stop_and_resume_miss_nothing() {
    let sim = sim(3000, Faults::none());
    let client = client(&sim);
    let now = Utc::now();
    let q = CallQuery::new()
        .end_time(Cmp::Gte, now - chrono::Duration::days(5))
        .end_time(Cmp::Lt, now);
    let before = everything(&sim, &q);
    let mut pager = client.calls(&q);
    let mut got: Vec<String> = pager
        .by_ref()
        .take(50)
        .map(|c| c.unwrap().call_uuid)
        .collect();
    let cp = pager.checkpoint();
    // Records that ended before the export started arrive now, anywhere in
    // the last 5 days, and keep arriving while the resumed pager walks.
    sim.set_faults(
        Faults::none()
            .with_late(5, 0)
            .with_arrivals(1, 5 * 86_400, 200),
    );
    let mut resumed = client.resume(&q, &cp).unwrap();
    got.extend(resumed.by_ref().map(|c| c.unwrap().call_uuid));
    // No call twice across the stop, none that existed at the start missed.
    let distinct = unique(&got);
    assert!(
        before.is_subset(&distinct),
        "a call that existed at the start is missing"
    );
    assert!(
        sim.arrived() >= 3,
        "arrivals during the walk: {}",
        sim.arrived()
    );
    assert!(
        distinct.is_subset(&everything(&sim, &q)),
        "no call from nowhere"
    );
}

#[test]
fn a_checkpoint_from_elsewhere_is_refused() {
    let sim = sim(300, Faults::none());
    let client = client(&sim);
    let q = query_60_days();
    let mut pager = client.calls(&q);
    pager.by_ref().take(25).for_each(drop);
    let cp = pager.checkpoint();
    let check = |r: Result<calls_core::Pager, Error>, what: &str| match r {
        Err(Error::Validation { field, message }) => {
            assert_eq!(field, "checkpoint", "{what}: {message}")
        }
        other => panic!("{what}: {other:?}"),
    };
    check(
        client.resume(&q.clone().hangup_source("carrier"), &cp),
        "another query",
    );
    let other_policy = builder(&sim)
        .window_policy(WindowPolicy::new(30, 90, 90).unwrap())
        .build()
        .unwrap();
    check(other_policy.resume(&q, &cp), "another policy");
    let other_account = Client::builder("MAOTHER0000000000001", TOKEN)
        .base_url(sim.base_url())
        .build()
        .unwrap();
    check(other_account.resume(&q, &cp), "another account");
    let mut tampered = cp.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'a' { b'b' } else { b'a' };
    check(
        client.resume(&q, &String::from_utf8(tampered).unwrap()),
        "tampered",
    );
    check(client.resume(&q, "calls-ckpt2.garbage"), "garbage");
    check(
        client.resume(&q, "calls-ckpt1.7b7d.0000000000000000"),
        "version 1",
    );
    check(client.resume(&q, ""), "empty");
    assert!(client.resume(&q, &cp).is_ok());
}

#[test]
fn checkpoints_hold_no_credentials() {
    let sim = sim(100, Faults::none());
    let client = client(&sim);
    let mut pager = client.calls(&query_60_days());
    pager.next();
    let cp = pager.checkpoint();
    assert!(!cp.contains(TOKEN));
    let hex_token: String = TOKEN.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(!cp.contains(&hex_token));
}

/// Resumes inside ties that grow while the export runs: 1,200 calls ended
/// in the last 30 seconds (40 a second, two pages per second), and more
/// keep arriving in those seconds (one with every request, 600 in all), so
/// the pages shift under the walk (it meets calls twice: with dedupe off,
/// 7 of these 11 splits repeat a call) and every checkpoint falls inside a
/// tie. The two halves together are the simulator's set (each call there
/// before the first half began, nothing that was not there after the second
/// ended), and no call comes twice: duplicates counted at every split, not
/// folded into a set.
#[test]
fn resuming_inside_growing_ties_gives_each_call_once() {
    let mut report = Vec::new();
    for k in [5, 19, 20, 21, 39, 40, 41, 60, 101, 250, 450] {
        let sim = calls_sim::Sim::start(calls_sim::SimConfig {
            auth_id: AUTH_ID.into(),
            auth_token: TOKEN.into(),
            calls: 10,
            seed: 9 + k as u64,
            faults: Faults::none().with_arrivals(1, 30, 600),
            ..calls_sim::SimConfig::default()
        })
        .unwrap();
        sim.arrive_now(1200, 30);
        let client = builder(&sim).concurrency(1).build().unwrap();
        let now = Utc::now();
        let q = CallQuery::new()
            .end_time(Cmp::Gte, now - chrono::Duration::days(3))
            .end_time(Cmp::Lt, now + chrono::Duration::seconds(1));
        let before = expected_for(&sim, &q);
        let (first, rest) = interrupted(&client, &q, k);
        let after = expected_for(&sim, &q);
        assert!(sim.arrived() > 0);
        let mut both = first.clone();
        both.extend(rest);
        let distinct: HashSet<&String> = both.iter().collect();
        let duplicates = both.len() - distinct.len();
        let missed = before.iter().filter(|u| !distinct.contains(u)).count();
        let foreign = distinct.iter().filter(|u| !after.contains(**u)).count();
        if (duplicates, missed, foreign) != (0, 0, 0) {
            report.push(format!(
                "after {k}: {duplicates} twice, {missed} missed, {foreign} not in the simulator"
            ));
        }
    }
    assert!(report.is_empty(), "interrupted {}", report.join("; "));
}
