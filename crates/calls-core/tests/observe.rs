//! The request log: one line per attempt sent (counted against the
//! simulator), through the client's hook and the `log` facade alike, with the
//! level, status, attempt and why it is retried; no line, path or reason
//! holds a 6-character piece of the token or of the Basic credentials, even
//! when the server echoes them.
//!
//! One test only: the `log` logger is global to this test binary.

mod common;

use std::sync::{Arc, Mutex};

use calls_core::{CallQuery, Cmp, LogLevel};
use calls_sim::{Fault, Faults};
use chrono::Utc;
use common::*;

/// Every line logged under the crate's target.
static LINES: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.target() == calls_core::LOG_TARGET
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            LINES
                .lock()
                .unwrap()
                .push((r.level(), r.args().to_string()));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

#[derive(Debug, Clone)]
struct Line {
    level: LogLevel,
    path: String,
    status: Option<u16>,
    attempt: u32,
    retry: Option<String>,
    message: String,
}

/// Every 6-character piece of `s`.
fn pieces(s: &str) -> Vec<String> {
    let c: Vec<char> = s.chars().collect();
    c.windows(6).map(|w| w.iter().collect()).collect()
}

#[test]
fn one_line_per_attempt_in_the_hook_and_the_log_facade_with_no_credential() {
    log::set_logger(&CAPTURE).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    // Every 4th request fails with a 503 and is retried.
    let sim = sim(8000, Faults::none().with_every(4, Fault::status(503)));
    let lines: Arc<Mutex<Vec<Line>>> = Arc::default();
    let sink = Arc::clone(&lines);
    let client = builder(&sim)
        .concurrency(3)
        .on_request(move |r| {
            sink.lock().unwrap().push(Line {
                level: r.level,
                path: r.path.to_string(),
                status: r.status,
                attempt: r.attempt,
                retry: r.retry.map(str::to_string),
                message: r.message.to_string(),
            })
        })
        .build()
        .unwrap();
    let now = Utc::now();
    let q = CallQuery::new()
        .end_time(Cmp::Gte, now - chrono::Duration::days(5))
        .end_time(Cmp::Lt, now);
    let expected = expected_for(&sim, &q);
    sim.reset_stats();
    let got = client.fetch_all(&q, None).unwrap();
    assert_eq!(unique(&uuids(&got)), expected);
    let st = sim.stats();
    {
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len() as u64, st.requests, "one line per request sent");
        let warn: Vec<&Line> = lines.iter().filter(|l| l.level == LogLevel::Warn).collect();
        assert_eq!(warn.len() as u64, st.faults, "one warning per 503");
        for l in &warn {
            assert_eq!(l.status, Some(503));
            let why = l.retry.as_deref().expect("a retried attempt says why");
            assert!(why.starts_with("retrying in "), "{why}");
            assert!(l.message.contains(why), "{}", l.message);
        }
        let ok = lines.iter().filter(|l| l.level == LogLevel::Debug).count() as u64;
        assert_eq!(ok, st.requests - st.faults);
        assert!(lines.iter().all(|l| l.level != LogLevel::Error));
        // Each retry is a later attempt of a request that was warned about.
        let later = lines.iter().filter(|l| l.attempt > 1).count();
        assert_eq!(later, warn.len());
        for l in lines.iter() {
            assert!(
                l.path.starts_with("/v1/Account/{auth_id}/Zentrunk/Call/?"),
                "{}",
                l.path
            );
            assert!(l.path.contains("end_time__"), "{}", l.path);
            assert!(!l.message.contains(AUTH_ID), "{}", l.message);
            assert!(l.message.starts_with(&format!("GET {}", l.path)));
        }
    }

    // Servers echoing the credentials in the body of a 200 (a typed field),
    // of a 500 and of a 400.
    lines.lock().unwrap().clear();
    let basic = base64_basic();
    let echo = |field: &str, basic: bool| Fault::EchoCredentials {
        field: field.into(),
        prefix: "x ".into(),
        basic,
    };
    sim.set_faults(
        Faults::none().with_script([
            echo("end_time", false),
            echo("end_time", true),
            Fault::Raw {
                status: 500,
                body: format!("{{\"error\":\"bad {TOKEN} {basic}\"}}").into_bytes(),
            },
            Fault::Raw {
                status: 500,
                body: format!("{{\"api_id\":\"{TOKEN}\",\"error\":{{\"detail\":\"{basic}\"}}}}")
                    .into_bytes(),
            },
            Fault::Raw {
                status: 400,
                body: format!("{{\"api_id\":\"{basic}\",\"error\":\"{TOKEN}\"}}").into_bytes(),
            },
        ]),
    );
    for _ in 0..3 {
        let _ = client.list_page(&q, 20, 0);
    }
    let lines = lines.lock().unwrap();
    assert!(lines.len() >= 5, "{lines:#?}");
    assert!(lines.iter().any(|l| l.level == LogLevel::Error));
    let facade = LINES.lock().unwrap();
    let mut secrets = pieces(TOKEN);
    secrets.extend(pieces(&basic));
    for l in lines.iter() {
        let all = format!("{} {} {:?}", l.message, l.path, l.retry);
        for p in &secrets {
            assert!(!all.contains(p.as_str()), "`{p}` in {all}");
        }
    }
    for (_, m) in facade.iter() {
        for p in &secrets {
            assert!(!m.contains(p.as_str()), "`{p}` in {m}");
        }
    }
    // The facade got the hook's lines, with the same levels.
    let hook_msgs: Vec<(LogLevel, &str)> = lines
        .iter()
        .map(|l| (l.level, l.message.as_str()))
        .collect();
    let tail: Vec<(LogLevel, &str)> = facade[facade.len() - lines.len()..]
        .iter()
        .map(|(lv, m)| (*lv, m.as_str()))
        .collect();
    assert_eq!(tail, hook_msgs);
}

/// The base64 of `auth_id:token`, as the Authorization header carries it.
fn base64_basic() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{AUTH_ID}:{TOKEN}"))
}
