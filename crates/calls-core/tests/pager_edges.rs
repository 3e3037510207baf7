//! The pager against a scripted server on 127.0.0.1 (port 0) that misbehaves
//! in ways calls-sim does not: empty pages before `total_count`, pages that
//! repeat, more pages than `total_count`; and what every request carried (the
//! pinned upper bound, arrival times for the client-side rate limit and the
//! pause after a 429).

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calls_core::{CallQuery, Client, Cmp, Error};
use chrono::Utc;
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

/// A page of `n` calls named `{tag}-{offset + i}`, with `total_count`.
fn page(tag: &str, offset: u64, n: u64, total: Option<u64>, next: &str) -> String {
    let objects: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "call_uuid": format!("{tag}-{}", offset + i),
                "end_time": "2026-11-20 10:00:00",
                "call_direction": "outbound",
            })
        })
        .collect();
    let mut meta = serde_json::json!({ "limit": 20, "offset": offset, "next": next });
    if let Some(t) = total {
        meta["total_count"] = t.into();
    }
    serde_json::json!({ "api_id": "scripted", "meta": meta, "objects": objects }).to_string()
}

/// A query of one window: both bounds, two days wide.
fn one_window() -> CallQuery {
    let now = Utc::now();
    CallQuery::new()
        .end_time(Cmp::Gte, now - chrono::Duration::days(3))
        .end_time(Cmp::Lt, now - chrono::Duration::days(1))
}

/// An empty page before `total_count` is reached ends the walk; the window is
/// then short, walked again a bounded number of times, and the pager ends with
/// an error naming the shortfall: never a loop, never a short success.
#[test]
fn an_empty_page_before_total_count_is_an_error_after_bounded_rewalks() {
    let server = Scripted::start(|_, r| {
        if r.offset() == 0 {
            ok(page("a", 0, 20, Some(50), "more"))
        } else {
            ok(page("a", r.offset(), 0, Some(50), ""))
        }
    });
    let client = server.client(1).build().unwrap();
    let mut pager = client.calls(&one_window());
    let mut items = 0;
    let mut error = None;
    for c in pager.by_ref() {
        match c {
            Ok(_) => items += 1,
            Err(e) => error = Some(e),
        }
    }
    assert_eq!(items, 20, "the 20 real calls, each once");
    let e = error.expect("a short window is an error");
    assert!(
        matches!(&e, Error::BadResponse(m) if m.contains("20 distinct calls of a total_count of 50")),
        "{e}"
    );
    let requests = server.seen().len();
    assert!(
        (2..=2 * (calls_core::pager::MAX_REWALKS as usize + 1)).contains(&requests),
        "bounded: {requests} requests"
    );
    assert_eq!(
        pager.stats().rewalks,
        u64::from(calls_core::pager::MAX_REWALKS)
    );
}

/// Without `total_count`, a server that answers the same page at every offset
/// (and always says there is more) is not followed forever, and the export is
/// not reported complete: after the first page, three more full pages of
/// nothing new (which could be a shift by late arrivals) are tolerated, the
/// fourth is an error.
#[test]
fn a_server_repeating_one_page_is_not_followed_forever() {
    let server = Scripted::start(|_, _| ok(page("same", 0, 20, None, "/more")));
    let client = server.client(1).build().unwrap();
    let mut items = 0;
    let mut error = None;
    for c in client.calls(&one_window()) {
        match c {
            Ok(_) => items += 1,
            Err(e) => error = Some(e),
        }
    }
    assert_eq!(items, 20);
    let e = error.expect("a walk that cannot be shown complete is an error");
    assert!(
        matches!(&e, Error::BadResponse(m) if m.contains("no total_count")),
        "{e}"
    );
    assert_eq!(server.seen().len(), 5, "one page, then four of nothing new");
}

/// Without `total_count`, full pages of nothing new followed by new calls (a
/// shift by late arrivals) are walked through, and the export completes.
#[test]
fn without_total_count_a_shift_is_walked_through() {
    // Offsets 0..20 and 20..40 hold the same 20 calls (20 arrived late at the
    // top), then 40..55 holds 15 more; nothing after.
    let server = Scripted::start(|_, r| match r.offset() {
        0 | 20 => ok(page("s", 0, 20, None, "/more")),
        40 => ok(page("s", 20, 15, None, "")),
        _ => ok(page("s", 0, 0, None, "")),
    });
    let client = server.client(1).build().unwrap();
    let got: Vec<String> = client
        .calls(&one_window())
        .map(|c| c.unwrap().call_uuid)
        .collect();
    assert_eq!(got.len(), 35);
    assert_eq!(server.seen().len(), 3);
}

/// With `total_count` known, the pager asks for exactly the pages that cover
/// it, however many more the server would keep answering (this one answers
/// full pages at any offset, and says there is more).
#[test]
fn pages_beyond_total_count_are_never_requested() {
    let server = Scripted::start(|_, r| ok(page("b", r.offset(), r.limit(), Some(45), "more")));
    let client = server.client(4).build().unwrap();
    let mut pager = client.calls(&one_window());
    let got: Vec<String> = pager.by_ref().map(|c| c.unwrap().call_uuid).collect();
    let stats = pager.stats();
    assert_eq!(
        (stats.requests, stats.pages, stats.windows),
        (3, 3, 1),
        "{stats:?}"
    );
    let mut offsets: Vec<u64> = server.seen().iter().map(Seen::offset).collect();
    offsets.sort_unstable();
    assert_eq!(offsets, [0, 20, 40]);
    // What the three pages held, each call once (the last page held more
    // than total_count promised: nothing it sent is dropped).
    let unique: std::collections::HashSet<&String> = got.iter().collect();
    assert_eq!((got.len(), unique.len()), (60, 60));
}

/// The upper bound of an open-ended export is pinned when iteration starts:
/// every request of every window carries both bounds, the newest window's
/// upper bound is the same instant in every one of its requests, lies between
/// the moment before the first `next()` and the moment after it, and the
/// windows meet exactly at their seams.
#[test]
fn the_upper_bound_is_pinned_when_iteration_starts_and_every_request_has_both_bounds() {
    // 50 calls per window, in 3 pages.
    let server = Scripted::start(|_, r| {
        let tag = r.get("end_time__gte").unwrap_or("none").replace(' ', "_");
        ok(page(
            &tag,
            r.offset(),
            r.limit().min(50u64.saturating_sub(r.offset())),
            Some(50),
            "more",
        ))
    });
    let client = server.client(3).build().unwrap();
    let q = CallQuery::new().end_time(Cmp::Gte, Utc::now() - chrono::Duration::days(45));
    let mut pager = client.calls(&q);
    assert!(
        server.seen().is_empty(),
        "lazy: nothing sent before the first item"
    );
    // The pinned instant is kept to the microsecond (the API's precision).
    let before = Utc::now() - chrono::Duration::microseconds(1);
    let first = pager.next().unwrap().unwrap();
    let after = Utc::now();
    let rest: Vec<_> = pager.by_ref().map(|c| c.unwrap().call_uuid).collect();
    assert_eq!(rest.len() + 1, 100, "{first:?}");
    let seen = server.seen();
    assert_eq!(seen.len(), 6, "3 pages in each of 2 windows");
    let parse = |s: &str| calls_core::time::parse_timestamp(s).unwrap();
    // The newest window ends at the pinned instant, inclusive (`__lte`); the
    // older one is half-open (`__lt`) at the seam.
    fn upper(r: &Seen) -> Option<&str> {
        r.get("end_time__lt").or(r.get("end_time__lte"))
    }
    for r in &seen {
        assert!(
            r.get("end_time__gte").is_some() && upper(r).is_some(),
            "{r:?}"
        );
    }
    assert_eq!(
        seen.iter()
            .filter(|r| r.get("end_time__lte").is_some())
            .count(),
        3
    );
    let uppers: std::collections::BTreeSet<&str> = seen.iter().filter_map(upper).collect();
    let lowers: std::collections::BTreeSet<&str> =
        seen.iter().filter_map(|r| r.get("end_time__gte")).collect();
    assert_eq!(uppers.len(), 2, "{uppers:?}");
    let pinned = parse(uppers.iter().next_back().unwrap());
    assert!(
        before <= pinned && pinned <= after,
        "{before} <= {pinned} <= {after}"
    );
    // The seam: the older window's upper bound is the newer one's lower bound.
    let older_upper = *uppers.iter().next().unwrap();
    assert!(lowers.contains(older_upper), "{lowers:?} {uppers:?}");
}

/// The client-side limiter holds a pager's workers to `max` requests per
/// `per`, measured at the server: no `per`-long stretch of arrivals holds
/// more than `max` (less a small margin for arrival jitter), and so the
/// export cannot take less than (requests / max - 1) periods.
#[test]
fn the_rate_limit_holds_across_workers() {
    let server = Scripted::start(|_, r| ok(page("r", r.offset(), r.limit(), Some(240), "more")));
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
    assert_eq!(at.len(), 12);
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
    assert!(
        elapsed >= per * 2,
        "12 requests at 4 per {per:?} took {elapsed:?}"
    );
}

/// A 429 with `Retry-After` pauses every worker, not just the one that got it.
///
/// The server answers pages after 150 ms, except the page at offset 80 (the
/// fourth in flight), which gets an immediate 429 with `Retry-After: 1`. The
/// three pages before it come back 150 ms later and the pager hands their
/// workers the next pages: those requests must wait out the pause, so no
/// request arrives between 100 ms and 900 ms after the 429 was answered
/// (without a shared pause they would arrive at about 150 ms).
#[test]
fn a_429_pauses_every_worker() {
    let answered_429: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let mark = answered_429.clone();
    let server = Scripted::start(move |_, r| {
        let mut first = mark.lock().unwrap();
        if r.offset() == 80 && first.is_none() {
            *first = Some(Instant::now());
            return Answer {
                status: 429,
                headers: "Retry-After: 1\r\n".into(),
                body: r#"{"api_id":"x","error":"too many requests"}"#.into(),
            };
        }
        drop(first);
        if r.offset() > 0 {
            std::thread::sleep(Duration::from_millis(150));
        }
        ok(page("p", r.offset(), r.limit(), Some(200), "more"))
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
    let inside: Vec<(u64, Duration)> = seen
        .iter()
        .filter(|r| r.at > t429)
        .map(|r| (r.offset(), r.at - t429))
        .filter(|(_, d)| *d > Duration::from_millis(100) && *d < Duration::from_millis(900))
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
        "the retried page and the next ones went after the pause: {after}"
    );
}

/// Bounds at the ends of chrono's range are validation errors, never an
/// overflow panic in the window arithmetic; a hand-made policy with a huge
/// retention neither.
#[test]
fn extreme_bounds_are_validation_errors_not_panics() {
    let server = Scripted::start(|_, r| ok(page("x", r.offset(), 0, Some(0), "")));
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
    // Planning with it returns (a panic would fail this test).
    let _ = calls_core::pager::plan_windows(&CallQuery::new(), &policy, Utc::now());
}

/// A request that failed after its retries still counts in the stats; and
/// `items` counts the calls handed out, not those fetched ahead.
#[test]
fn stats_count_failed_requests_and_items_handed_out() {
    let server = Scripted::start(|_, r| {
        if r.offset() >= 20 {
            Answer {
                status: 503,
                headers: String::new(),
                body: r#"{"error":"down"}"#.into(),
            }
        } else {
            ok(page("f", r.offset(), 20, Some(60), "more"))
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
    // The first page, then the page at 20 tried 3 times.
    assert_eq!(server.seen().len(), 4);
    assert_eq!((s.requests, s.retries), (4, 2), "{s:?}");
}
