//! The pager against a scripted server on 127.0.0.1 (port 0) that misbehaves
//! in ways calls-sim does not: empty pages before `total_count`, pages that
//! repeat whatever the offset, short pages without `total_count`, pages past
//! `total_count`; and what every request carried (the pinned upper bound and
//! the cursor, arrival times for the client-side rate limit and the pause
//! after a 429).

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calls_core::{CallQuery, Client, Cmp, Error};
use calls_core::{format_record, parse_timestamp};
use chrono::{DateTime, Utc};
use common::{AUTH_ID, TOKEN, quick_retries, read_head};

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    params: Vec<(String, String)>,
}

impl Seen {
    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn offset(&self) -> u64 {
        self.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0)
    }
    fn limit(&self) -> u64 {
        self.get("limit").and_then(|v| v.parse().ok()).unwrap_or(20)
    }
    fn time(&self, name: &str) -> Option<DateTime<Utc>> {
        self.get(name).and_then(|v| parse_timestamp(v).ok())
    }
    /// Whether `t` is inside the request's `end_time` bounds.
    fn admits(&self, t: DateTime<Utc>) -> bool {
        self.time("end_time__gte").is_none_or(|b| t >= b)
            && self.time("end_time__gt").is_none_or(|b| t > b)
            && self.time("end_time__lte").is_none_or(|b| t <= b)
            && self.time("end_time__lt").is_none_or(|b| t < b)
    }
}

/// What the script answers: a status, extra headers and a body.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

fn ok(body: String) -> Answer {
    Answer {
        status: 200,
        headers: String::new(),
        body,
    }
}

type Script = dyn Fn(u64, &Seen) -> Answer + Send + Sync;

/// A server answering every request with `script(request_number, request)`
/// (numbers from 1), one thread per connection, `Connection: close`.
struct Scripted {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Scripted {
    fn start(script: impl Fn(u64, &Seen) -> Answer + Send + Sync + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let count = Arc::new(AtomicU64::new(0));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (script, seen, count) = (script.clone(), seen2.clone(), count.clone());
                std::thread::spawn(move || serve(stream, &*script, &seen, &count));
            }
        });
        Scripted { port, seen, stop }
    }

    fn client(&self, concurrency: usize) -> calls_core::ClientBuilder {
        Client::builder(AUTH_ID, TOKEN)
            .base_url(format!("http://127.0.0.1:{}", self.port))
            .retry_policy(quick_retries(4))
            .concurrency(concurrency)
            .rate_limit(0, Duration::from_secs(5))
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut stream: TcpStream, script: &Script, seen: &Mutex<Vec<Seen>>, count: &AtomicU64) {
    let head = read_head(&mut stream);
    let Some(line) = head.lines().next().filter(|l| !l.is_empty()) else {
        return;
    };
    let at = Instant::now();
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let params = calls_sim::parse_query(query);
    let req = Seen { at, params };
    let n = count.fetch_add(1, Ordering::SeqCst) + 1;
    seen.lock().unwrap().push(req.clone());
    let a = script(n, &req);
    let reason = if a.status == 200 { "OK" } else { "Error" };
    let _ = write!(
        stream,
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}",
        a.status,
        a.body.len(),
        a.headers,
        a.body
    );
}

/// A call as the service lists it.
fn call(uuid: &str, t: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "call_uuid": uuid,
        "end_time": format_record(t),
        "call_direction": "outbound",
    })
}

fn body(objects: Vec<serde_json::Value>, offset: u64, total: Option<u64>, next: &str) -> String {
    let mut meta = serde_json::json!({ "limit": 20, "offset": offset, "next": next });
    if let Some(t) = total {
        meta["total_count"] = t.into();
    }
    serde_json::json!({ "api_id": "scripted", "meta": meta, "objects": objects }).to_string()
}

/// A service's records: `n` calls named `{tag}-{i}`, one every `every`
/// seconds back from `top` (whole seconds), newest first.
#[derive(Clone)]
struct Data {
    calls: Vec<(String, DateTime<Utc>)>,
}

impl Data {
    fn new(tag: &str, n: usize, top: DateTime<Utc>, every: i64) -> Data {
        let top = DateTime::from_timestamp(top.timestamp(), 0).unwrap_or(top);
        Data {
            calls: (0..n)
                .map(|i| {
                    let t = top - chrono::Duration::seconds(every * i as i64);
                    (format!("{tag}-{i}"), t)
                })
                .collect(),
        }
    }

    fn uuids(&self) -> std::collections::HashSet<String> {
        self.calls.iter().map(|c| c.0.clone()).collect()
    }

    /// The records inside the request's bounds, newest first.
    fn matching(&self, r: &Seen) -> Vec<&(String, DateTime<Utc>)> {
        self.calls.iter().filter(|c| r.admits(c.1)).collect()
    }

    /// The answer of an honest service, at most `max_rows` rows (a service
    /// may send fewer than `limit`), with or without `total_count`.
    fn answer(&self, r: &Seen, max_rows: u64, with_total: bool) -> String {
        let m = self.matching(r);
        let from = (r.offset() as usize).min(m.len());
        let take = (m.len() - from).min(r.limit().min(max_rows) as usize);
        let objects = m[from..from + take]
            .iter()
            .map(|c| call(&c.0, c.1))
            .collect();
        let more = from + take < m.len();
        body(
            objects,
            r.offset(),
            with_total.then_some(m.len() as u64),
            if more { "/more" } else { "" },
        )
    }
}

/// Midway through `one_window`.
fn mid_window() -> DateTime<Utc> {
    Utc::now() - chrono::Duration::days(2)
}

/// A query of one window: both bounds, two days wide.
fn one_window() -> CallQuery {
    let now = Utc::now();
    CallQuery::new()
        .end_time(Cmp::Gte, now - chrono::Duration::days(3))
        .end_time(Cmp::Lt, now - chrono::Duration::days(1))
}

fn drain(pager: &mut calls_core::Pager) -> (Vec<String>, Option<Error>) {
    let mut items = Vec::new();
    let mut error = None;
    for c in pager.by_ref() {
        match c {
            Ok(c) => items.push(c.call_uuid),
            Err(e) => error = Some(e),
        }
    }
    (items, error)
}

/// An empty page ends the walk of its slice, whatever `total_count` said:
/// no loop, no error, one request after the first page.
#[test]
fn an_empty_page_ends_the_walk_whatever_total_count_says() {
    let data = Data::new("a", 20, mid_window(), 60);
    let server = Scripted::start(move |n, r| {
        if n == 1 {
            ok(body(
                data.matching(r).iter().map(|c| call(&c.0, c.1)).collect(),
                0,
                Some(50),
                "/more",
            ))
        } else {
            ok(body(Vec::new(), r.offset(), Some(50), ""))
        }
    });
    let client = server.client(1).build().unwrap();
    let mut pager = client.calls(&one_window());
    let (items, error) = drain(&mut pager);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 20);
    assert_eq!(server.seen().len(), 2);
}

/// A server that ignores `offset` (the same page of one second at every
/// offset) is an error after a few requests, with a `total_count` of
/// 20,000, of 10^18, or none: the walk asks further into the second and
/// gets nothing new.
#[test]
fn a_server_ignoring_offset_is_an_error_within_a_few_requests() {
    for total in [Some(20_000u64), Some(1_000_000_000_000_000_000), None] {
        let t = mid_window();
        let server = Scripted::start(move |_, r| {
            let objects = (0..20).map(|i| call(&format!("same-{i}"), t)).collect();
            ok(body(objects, r.offset(), total, "/more"))
        });
        let client = server.client(1).build().unwrap();
        let mut pager = client.calls(&one_window());
        let (items, error) = drain(&mut pager);
        assert_eq!(items.len(), 20, "{total:?}");
        let e = error.expect("no progress is an error");
        assert!(
            matches!(&e, Error::BadResponse(m) if m.contains("no progress")),
            "{e}"
        );
        assert_eq!(server.seen().len(), 3, "one page, then two of nothing new");
    }
}

/// A server that repeats one page of calls spread over time at every request
/// is caught by the bounds check: the second request asks below the first
/// page's oldest call, and the same page answers above it.
#[test]
fn a_server_repeating_one_page_is_an_error_at_the_second_request() {
    let data = Data::new("same", 20, mid_window(), 60);
    let server = Scripted::start(move |_, _| {
        ok(body(
            data.calls.iter().map(|c| call(&c.0, c.1)).collect(),
            0,
            None,
            "/more",
        ))
    });
    let client = server.client(1).build().unwrap();
    let mut pager = client.calls(&one_window());
    let (items, error) = drain(&mut pager);
    assert_eq!(items.len(), 20);
    let e = error.expect("an answer outside the bounds asked for is an error");
    assert!(
        matches!(&e, Error::BadResponse(m) if m.contains("outside the bounds")),
        "{e}"
    );
    assert_eq!(server.seen().len(), 2);
}

/// A service may answer fewer rows than `limit` before the end: with or
/// without `total_count` (and with no `meta.next`), the walk goes on from its
/// cursor until the data is exhausted, exactly once.
#[test]
fn short_pages_are_walked_through_with_or_without_total_count() {
    for with_total in [true, false] {
        for concurrency in [1, 4] {
            let data = Data::new("s", 55, mid_window(), 90);
            let expected = data.uuids();
            let server = Scripted::start(move |_, r| ok(data.answer(r, 10, with_total)));
            let client = server.client(concurrency).build().unwrap();
            let mut pager = client.calls(&one_window());
            let (items, error) = drain(&mut pager);
            assert!(error.is_none(), "{error:?}");
            let got: std::collections::HashSet<String> = items.iter().cloned().collect();
            assert_eq!(got.len(), items.len(), "no call twice");
            assert_eq!(
                got, expected,
                "total_count {with_total}, concurrency {concurrency}"
            );
        }
    }
}

/// With `total_count`, a short page it agrees with ends the walk: 45 calls
/// take exactly 3 requests, however many more the server would answer.
#[test]
fn pages_beyond_total_count_are_never_requested() {
    let data = Data::new("b", 45, mid_window(), 60);
    let expected = data.uuids();
    let server = Scripted::start(move |_, r| ok(data.answer(r, 20, true)));
    let client = server.client(1).build().unwrap();
    let mut pager = client.calls(&one_window());
    let (items, error) = drain(&mut pager);
    assert!(error.is_none(), "{error:?}");
    let stats = pager.stats();
    assert_eq!(
        (stats.requests, stats.pages, stats.windows),
        (3, 3, 1),
        "{stats:?}"
    );
    let got: std::collections::HashSet<String> = items.iter().cloned().collect();
    assert_eq!((got.len(), items.len()), (45, 45));
    assert_eq!(got, expected);
}

/// The upper bound of an open-ended export is pinned when iteration starts:
/// every request of every window carries both bounds; the newest window's
/// first request ends at the pinned instant (inclusive), which lies between
/// the moment before the first `next()` and the moment after it; the later
/// requests of a window move the cursor down (`end_time__lt`) and keep the
/// window's lower bound; the windows meet exactly at their seams.
#[test]
fn the_upper_bound_is_pinned_when_iteration_starts_and_every_request_has_both_bounds() {
    let now = Utc::now();
    // 50 calls in each of the two windows.
    let mut data = Data::new("new", 50, now - chrono::Duration::days(1), 600);
    data.calls
        .extend(Data::new("old", 50, now - chrono::Duration::days(40), 600).calls);
    let expected = data.uuids();
    let server = Scripted::start(move |_, r| ok(data.answer(r, 20, true)));
    let client = server.client(1).build().unwrap();
    let q = CallQuery::new().end_time(Cmp::Gte, now - chrono::Duration::days(45));
    let mut pager = client.calls(&q);
    assert!(
        server.seen().is_empty(),
        "lazy: nothing sent before the first item"
    );
    // The pinned instant is kept to the microsecond (the API's precision).
    let before = Utc::now() - chrono::Duration::microseconds(1);
    let first = pager.next().unwrap().unwrap();
    let after = Utc::now();
    let mut got: Vec<String> = vec![first.call_uuid];
    got.extend(pager.by_ref().map(|c| c.unwrap().call_uuid));
    let unique: std::collections::HashSet<String> = got.iter().cloned().collect();
    assert_eq!((unique.len(), got.len()), (100, 100));
    assert_eq!(unique, expected);
    let seen = server.seen();
    assert_eq!(seen.len(), 6, "3 pages in each of 2 windows");
    fn upper(r: &Seen) -> Option<&str> {
        r.get("end_time__lt").or(r.get("end_time__lte"))
    }
    for r in &seen {
        assert!(
            r.get("end_time__gte").is_some() && upper(r).is_some(),
            "{r:?}"
        );
    }
    let pinned_requests: Vec<&Seen> = seen
        .iter()
        .filter(|r| r.get("end_time__lte").is_some())
        .collect();
    assert_eq!(
        pinned_requests.len(),
        1,
        "only the first request ends at the pin"
    );
    let pinned = pinned_requests[0].time("end_time__lte").unwrap();
    assert!(
        before <= pinned && pinned <= after,
        "{before} <= {pinned} <= {after}"
    );
    let lowers: std::collections::BTreeSet<&str> =
        seen.iter().filter_map(|r| r.get("end_time__gte")).collect();
    assert_eq!(lowers.len(), 2, "one lower bound per window: {lowers:?}");
    // The seam: the older window's first request ends (exclusive) at the
    // newer window's lower bound.
    let older_first = seen
        .iter()
        .find(|r| r.get("end_time__gte") == lowers.iter().next().copied())
        .unwrap();
    assert!(
        lowers.contains(older_first.get("end_time__lt").unwrap()),
        "{older_first:?} {lowers:?}"
    );
    // Inside a window the cursor only moves down.
    for w in seen.windows(2) {
        if w[0].get("end_time__gte") == w[1].get("end_time__gte") {
            let (a, b) = (upper(&w[0]).unwrap(), upper(&w[1]).unwrap());
            assert!(parse_timestamp(b).unwrap() < parse_timestamp(a).unwrap());
        }
    }
}

/// The client-side limiter holds a pager's workers to `max` requests per
/// `per`, measured at the server: no `per`-long stretch of arrivals holds
/// more than `max` (less a small margin for arrival jitter), and so the
/// export cannot take less than (requests / max - 1) periods.
#[test]
fn the_rate_limit_holds_across_workers() {
    let data = Data::new("r", 240, mid_window(), 300);
    let server = Scripted::start(move |_, r| ok(data.answer(r, 20, true)));
    let per = Duration::from_millis(300);
    let client = server.client(4).rate_limit(4, per).build().unwrap();
    let start = Instant::now();
    let n = client
        .calls(&one_window())
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
        .len();
    let elapsed = start.elapsed();
    assert_eq!(n, 240);
    let mut at: Vec<Instant> = server.seen().iter().map(|r| r.at).collect();
    at.sort();
    assert!(at.len() >= 12, "{}", at.len());
    let margin = Duration::from_millis(40);
    for (i, t) in at.iter().enumerate() {
        let in_window = at[i..]
            .iter()
            .take_while(|u| **u - *t < per - margin)
            .count();
        assert!(
            in_window <= 4,
            "{in_window} requests within {per:?} from #{i}"
        );
    }
    let periods = (at.len() as u32).div_ceil(4) - 1;
    assert!(
        elapsed >= per * periods,
        "{} requests at 4 per {per:?} took {elapsed:?}",
        at.len()
    );
}

/// A 429 with `Retry-After` pauses every worker, not just the one that got it.
///
/// The server answers pages after 150 ms, except the fourth request (the
/// fourth in flight), which gets an immediate 429 with `Retry-After: 1`. The
/// three requests before it come back 150 ms later and the pager hands their
/// workers the next requests: those must wait out the pause, so no request
/// arrives between 100 ms and 900 ms after the 429 was answered (without a
/// shared pause they would arrive at about 150 ms).
#[test]
fn a_429_pauses_every_worker() {
    let answered_429: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let mark = answered_429.clone();
    let data = Data::new("p", 200, mid_window(), 300);
    let server = Scripted::start(move |n, r| {
        let mut first = mark.lock().unwrap();
        if n == 4 && first.is_none() {
            *first = Some(Instant::now());
            return Answer {
                status: 429,
                headers: "Retry-After: 1\r\n".into(),
                body: r#"{"api_id":"x","error":"too many requests"}"#.into(),
            };
        }
        drop(first);
        if n > 1 {
            std::thread::sleep(Duration::from_millis(150));
        }
        ok(data.answer(r, 20, true))
    });
    let client = server.client(4).build().unwrap();
    let n = client
        .calls(&one_window())
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
        .len();
    assert_eq!(n, 200);
    let t429 = answered_429.lock().unwrap().expect("the 429 was served");
    let seen = server.seen();
    let inside: Vec<Duration> = seen
        .iter()
        .filter(|r| r.at > t429)
        .map(|r| r.at - t429)
        .filter(|d| *d > Duration::from_millis(100) && *d < Duration::from_millis(900))
        .collect();
    assert!(
        inside.is_empty(),
        "requests inside the 1 s pause: {inside:?}"
    );
    let after = seen
        .iter()
        .filter(|r| r.at >= t429 + Duration::from_millis(900))
        .count();
    assert!(
        after >= 4,
        "the retried request and the next ones went after the pause: {after}"
    );
}

/// Bounds at the ends of chrono's range are validation errors, never an
/// overflow panic in the window arithmetic; a hand-made policy with a huge
/// retention neither.
#[test]
fn extreme_bounds_are_validation_errors_not_panics() {
    let server = Scripted::start(|_, r| ok(body(Vec::new(), r.offset(), Some(0), "")));
    let client = server.client(1).build().unwrap();
    let min = chrono::DateTime::<Utc>::MIN_UTC;
    let max = chrono::DateTime::<Utc>::MAX_UTC;
    let queries = [
        CallQuery::new().end_time(Cmp::Lte, min),
        CallQuery::new().end_time(Cmp::Gte, min),
        CallQuery::new().end_time(Cmp::Gte, max),
        CallQuery::new()
            .end_time(Cmp::Gte, min)
            .end_time(Cmp::Lt, max),
    ];
    for q in queries {
        let e = client.fetch_all(&q, None).unwrap_err();
        assert!(matches!(e, Error::Validation { .. }), "{q}: {e:?}");
        assert!(client.list_page(&q, 20, 0).is_err());
    }
    assert!(server.seen().is_empty(), "nothing was sent");
    let policy = calls_core::WindowPolicy {
        default_window_days: u32::MAX,
        max_range_days: u32::MAX,
        retention_days: u32::MAX,
    };
    assert_eq!(policy.earliest(Utc::now()), min);
    // A client refuses it (planning with it is a unit test of pager.rs).
    assert!(
        server
            .client(1)
            .window_policy(policy)
            .build()
            .is_err_and(|e| matches!(e, Error::InvalidArgument(_)))
    );
}

/// A request that failed after its retries still counts in the stats; and
/// `items` counts the calls handed out, not those fetched ahead.
#[test]
fn stats_count_failed_requests_and_items_handed_out() {
    let data = Data::new("f", 60, mid_window(), 60);
    let server = Scripted::start(move |n, r| {
        if n >= 2 {
            Answer {
                status: 503,
                headers: String::new(),
                body: r#"{"error":"down"}"#.into(),
            }
        } else {
            ok(data.answer(r, 20, true))
        }
    });
    let client = server
        .client(1)
        .retry_policy(quick_retries(2))
        .build()
        .unwrap();
    let mut pager = client.calls(&one_window());
    pager.next().unwrap().unwrap();
    let s = pager.stats();
    assert_eq!((s.items, s.pages, s.requests), (1, 1, 1), "{s:?}");
    let rest: Vec<_> = pager.by_ref().collect();
    assert!(rest.last().is_some_and(Result::is_err));
    let s = pager.stats();
    assert_eq!(s.items, 20, "{s:?}");
    // The first page, then the second request tried 3 times.
    assert_eq!(server.seen().len(), 4);
    assert_eq!((s.requests, s.retries), (4, 2), "{s:?}");
}
