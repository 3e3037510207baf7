//! Security review, one test per point: the token never leaks, `http://` only
//! to loopback, no redirect is followed, response bodies are capped, no header
//! or parameter injection, TLS verification is on.
//!
//! Everything runs against calls-sim or a tiny in-test server on 127.0.0.1
//! port 0; nothing reaches the internet.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use calls_core::FILTER_NAMES;
use calls_core::TlsRoots;
use calls_core::{CallQuery, Client, Error};
use calls_sim::{Fault, Faults, Sim};
use chrono::Utc;
use common::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// RFC 4648 base64, written here so the test does not trust the crate's own.
fn b64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The Basic credentials the client sends for `AUTH_ID:TOKEN`.
fn basic() -> String {
    b64(format!("{AUTH_ID}:{TOKEN}").as_bytes())
}

/// Asserts that neither the token nor its Basic form appears in `text`.
fn assert_secret_free(what: &str, text: &str) {
    assert!(!text.contains(TOKEN), "{what}: token leaked: {text}");
    assert!(
        !text.contains(&basic()),
        "{what}: base64 credentials leaked: {text}"
    );
}

/// Every rendering of an error: Display, Debug, pretty Debug and its sources.
fn assert_error_secret_free(what: &str, e: &Error) {
    assert_no_token(e);
    let mut shown = format!("{e}\n{e:?}\n{e:#?}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        shown.push_str(&format!("\n{s}\n{s:?}"));
        source = s.source();
    }
    assert_secret_free(what, &shown);
}

/// A query inside the simulator's retention and range rules.
fn recent_query() -> CallQuery {
    let mut q = CallQuery::new();
    q.set(
        "end_time__gte",
        &api_time(Utc::now() - chrono::Duration::days(3)),
    )
    .unwrap();
    q
}

/// A one-shot server answering 400 with `{"error": error(request head)}`,
/// and a client of it without retries.
fn answers_400(
    error: impl FnOnce(&str) -> String + Send + 'static,
) -> (Client, JoinHandle<()>, TcpListener) {
    let (port, server, listener) = one_shot(move |mut s, head| {
        let body = serde_json::json!({ "error": error(&head) }).to_string();
        write!(
            s,
            "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    let c = Client::builder(AUTH_ID, TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .max_retries(0)
        .build()
        .unwrap();
    (c, server, listener)
}

/// A server that accepts exactly one connection, hands it to `answer` with the
/// request head it read, and returns what `answer` returns.
fn one_shot<T: Send + 'static>(
    answer: impl FnOnce(TcpStream, String) -> T + Send + 'static,
) -> (u16, JoinHandle<T>, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let l2 = listener.try_clone().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = l2.accept().unwrap();
        let head = read_head(&mut stream);
        answer(stream, head)
    });
    (port, handle, listener)
}

/// A port on which nothing listens (bound, then closed).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------
// The token never leaks
// ---------------------------------------------------------------------------

/// Whether an error is of the expected kind.
type KindCheck = fn(&Error) -> bool;

/// One failing request per error kind the client can produce, each checked
/// for the token and its base64 form in Display, Debug and `{:#?}`.
#[test]
fn token_never_reaches_any_error() {
    let q = recent_query();
    let mut seen = Vec::new();
    let mut check = |label: &str, e: Error, kind_ok: KindCheck| {
        assert!(kind_ok(&e), "{label}: unexpected kind {e:?}");
        assert_error_secret_free(label, &e);
        seen.push(label.to_string());
    };

    // 401 from the service: the right account, a wrong (but distinctive) token.
    {
        let sim = sim(50, Faults::none());
        let wrong = format!("{TOKEN}-wrong");
        let c = Client::builder(AUTH_ID, wrong.as_str())
            .base_url(sim.base_url())
            .retry_policy(quick_retries(2))
            .build()
            .unwrap();
        let e = c.list_page(&q, 20, 0).unwrap_err();
        assert!(!format!("{e} {e:?}").contains(&wrong));
        check(
            "401 wrong token",
            e,
            |e| matches!(e, Error::Unauthorized(a) if a.status == 401),
        );
        assert_eq!(sim.stats().requests, 1, "401 is not retried");
    }

    // Scripted statuses. Retried ones get max_retries + 1 copies.
    let statuses: [(&str, u16, usize, KindCheck); 7] = [
        ("403", 403, 1, |e| matches!(e, Error::Unauthorized(_))),
        ("404", 404, 1, |e| matches!(e, Error::NotFound(_))),
        ("400", 400, 1, |e| matches!(e, Error::Http(_))),
        (
            "302 without Location",
            302,
            1,
            |e| matches!(e, Error::Http(a) if a.status == 302),
        ),
        ("500 after retries", 500, 3, |e| {
            matches!(e, Error::Server(_))
        }),
        ("503 after retries", 503, 3, |e| {
            matches!(e, Error::Server(_))
        }),
        ("501", 501, 1, |e| matches!(e, Error::Server(_))),
    ];
    for (label, status, n, kind_ok) in statuses {
        let sim = sim(
            50,
            Faults::none().with_script(vec![Fault::status(status); n]),
        );
        let c = builder(&sim)
            .retry_policy(quick_retries(2))
            .build()
            .unwrap();
        let e = c.list_page(&q, 20, 0).unwrap_err();
        assert_eq!(sim.stats().requests, n as u64, "{label}: attempts");
        check(label, e, kind_ok);
    }

    // 429 after retries.
    {
        let sim = sim(
            50,
            Faults::none().with_script(vec![Fault::rate_limited("0"); 3]),
        );
        let c = builder(&sim)
            .retry_policy(quick_retries(2))
            .build()
            .unwrap();
        let e = c.list_page(&q, 20, 0).unwrap_err();
        assert_eq!(sim.stats().requests, 3);
        check("429 after retries", e, |e| {
            matches!(e, Error::RateLimited { .. })
        });
    }

    // Transport faults and bad bodies, after retries.
    let faults: [(&str, Fault, KindCheck); 4] = [
        ("dropped connection", Fault::Drop, |e| {
            matches!(e, Error::Transport(_) | Error::Timeout(_))
        }),
        ("malformed body", Fault::Malformed, |e| {
            matches!(e, Error::BadAnswer { status: 200, .. })
        }),
        ("truncated body", Fault::Truncated, |e| {
            matches!(e, Error::BadAnswer { status: 200, .. })
        }),
        ("oversized body", Fault::Oversize { bytes: 1 << 30 }, |e| {
            matches!(e, Error::BadAnswer { status: 200, .. })
        }),
    ];
    for (label, fault, kind_ok) in faults {
        let sim = sim(50, Faults::none().with_script(vec![fault; 3]));
        let c = builder(&sim)
            .retry_policy(quick_retries(2))
            .build()
            .unwrap();
        let e = c.list_page(&q, 20, 0).unwrap_err();
        check(label, e, kind_ok);
    }

    // Timeout: the simulator answers later than the client waits.
    {
        let sim = sim(
            50,
            Faults::none().with_script([Fault::Delay(Duration::from_millis(800))]),
        );
        let c = builder(&sim)
            .timeout(Duration::from_millis(150))
            .max_retries(0)
            .build()
            .unwrap();
        let e = c.list_page(&q, 20, 0).unwrap_err();
        check("timeout", e, |e| matches!(e, Error::Timeout(_)));
    }

    // Transport: nothing listens on the port.
    {
        let c = Client::builder(AUTH_ID, TOKEN)
            .base_url(format!("http://127.0.0.1:{}", closed_port()))
            .retry_policy(quick_retries(1))
            .build()
            .unwrap();
        let e = c.list_page(&q, 20, 0).unwrap_err();
        check("connection refused", e, |e| {
            matches!(e, Error::Transport(_))
        });
        let e = c.get_call("abc-123").unwrap_err();
        check("connection refused (get_call)", e, |e| {
            matches!(e, Error::Transport(_))
        });
    }

    // Validation and bad arguments, caught before sending.
    {
        let sim = sim(50, Faults::none());
        let c = client(&sim);
        let e = c.list_page(&q, 0, 0).unwrap_err();
        check("limit 0", e, |e| matches!(e, Error::InvalidArgument(_)));
        let e = c
            .list_page(&CallQuery::new().call_direction("sideways"), 20, 0)
            .unwrap_err();
        check("bad filter", e, |e| matches!(e, Error::Validation { .. }));
        let e = c.get_call("../etc").unwrap_err();
        check("bad call_uuid", e, |e| {
            matches!(e, Error::Validation { .. })
        });
        assert_eq!(sim.stats().requests, 0, "nothing was sent");
        let e = Client::builder(AUTH_ID, format!("{TOKEN}\r\n"))
            .build()
            .unwrap_err();
        check("token with CR LF", e, |e| {
            matches!(e, Error::InvalidArgument(_))
        });
        let e = Client::builder(AUTH_ID, TOKEN)
            .base_url(format!("http://user:{TOKEN}@api.plivo.com"))
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    }
    assert!(seen.len() >= 17, "{seen:?}");
}

/// A server that echoes the request back in its error body (some proxies and
/// WAFs do): the raw token is scrubbed from the message.
#[test]
fn token_echoed_by_the_server_is_scrubbed() {
    let (port, server, _l) = one_shot(|mut s, head| {
        let body = serde_json::json!({
            "api_id": "echo-1",
            "error": format!("refused request with token {TOKEN} and head {head}"),
        })
        .to_string();
        write!(
            s,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        head
    });
    let c = Client::builder(AUTH_ID, TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.list_page(&recent_query(), 20, 0).unwrap_err();
    let head = server.join().unwrap();
    assert!(head.contains(&basic()), "the credentials were sent: {head}");
    assert!(matches!(&e, Error::Http(a) if a.status == 400), "{e:?}");
    let shown = format!("{e} {e:?} {e:#?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
}

/// A server that echoes the `Authorization` header puts
/// `base64(auth_id:token)` into the error message: that is scrubbed too.
#[test]
fn basic_credentials_echoed_by_the_server_are_scrubbed() {
    let (c, server, _l) = answers_400(|head| {
        let auth = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
            .unwrap_or("");
        format!("bad header {auth}")
    });
    let e = c.list_page(&recent_query(), 20, 0).unwrap_err();
    server.join().unwrap();
    assert_error_secret_free("echoed Authorization header", &e);
}

#[test]
fn token_never_in_debug_of_builder_client_or_query() {
    let sim = sim(10, Faults::none());
    let b = builder(&sim).user_agent("calls-test/1");
    let q = recent_query()
        .call_direction("outbound")
        .stir_verification("Not Verified");
    for shown in [format!("{b:?}"), format!("{b:#?}")] {
        assert_secret_free("builder Debug", &shown);
        assert!(shown.contains(AUTH_ID) && shown.contains("<redacted>"));
        assert!(shown.contains("tls_roots: WebPki"), "{shown}");
    }
    let c = b.build().unwrap();
    for shown in [format!("{c:?}"), format!("{c:#?}")] {
        assert_secret_free("client Debug", &shown);
        assert!(shown.contains(AUTH_ID));
    }
    for shown in [q.to_query_string(), q.to_string(), format!("{q:?}")] {
        assert_secret_free("query", &shown);
    }
    // And the request works with that token, so it really is the one in use.
    assert!(c.list_page(&q, 20, 0).is_ok());
}

/// A failing request does not panic (so no panic message can carry the token).
#[test]
fn failing_requests_do_not_panic() {
    let sim = sim(
        20,
        Faults::none().with_script([
            Fault::status(401),
            Fault::Malformed,
            Fault::Oversize { bytes: 1 << 30 },
        ]),
    );
    let c = builder(&sim).max_retries(0).build().unwrap();
    let refused = Client::builder(AUTH_ID, TOKEN)
        .base_url(format!("http://127.0.0.1:{}", closed_port()))
        .max_retries(0)
        .build()
        .unwrap();
    let q = recent_query();
    // The client holds a rustls config with interior mutability, so it is
    // not UnwindSafe; nothing is observed after a panic but the payload.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        [
            c.list_page(&q, 20, 0).err(),
            c.list_page(&q, 20, 0).err(),
            c.list_page(&q, 20, 0).err(),
            c.get_call("x y").err(),
            refused.list_page(&q, 20, 0).err(),
            c.list_page(&q, 21, 0).err(),
        ]
    }));
    let errors = match outcome {
        Ok(errors) => errors,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            assert_secret_free("panic message", &msg);
            panic!("a failing request panicked: {msg}");
        }
    };
    for e in errors {
        let e = e.expect("every call failed");
        assert_error_secret_free("after catch_unwind", &e);
    }
}

// ---------------------------------------------------------------------------
// http:// only to loopback
// ---------------------------------------------------------------------------

#[test]
fn plain_http_only_to_loopback() {
    let build = |url: &str| Client::builder(AUTH_ID, TOKEN).base_url(url).build();
    for bad in [
        "http://api.plivo.com",
        "http://10.0.0.1",
        "http://127.0.0.1.evil.com",
        "http://127.0.0.1.evil.com:8080",
        "http://localhost.evil.com",
        "http://192.168.1.1:80",
        "http://[::ffff:10.0.0.1]:80",
        "HTTP://api.plivo.com",
        "ws://127.0.0.1:1",
        "file:///etc/passwd",
        "http://evil.com#@127.0.0.1:1",
        "http://127.0.0.1:1@evil.com",
    ] {
        match build(bad) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains("base URL"), "{bad}: {m}"),
            other => panic!("{bad}: expected InvalidArgument, got {other:?}"),
        }
    }
    let port = closed_port();
    for good in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
        format!("http://127.0.0.1:{port}/"),
        "https://api.plivo.com".to_string(),
    ] {
        assert!(build(&good).is_ok(), "{good}");
    }
    // Accepted loopback URLs really are used: the simulator answers.
    let sim = sim(20, Faults::none());
    let port = sim.addr().port();
    for url in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ] {
        let c = Client::builder(AUTH_ID, TOKEN)
            .base_url(url.as_str())
            .build()
            .unwrap();
        c.list_page(&recent_query(), 5, 0)
            .unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

// ---------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------

#[test]
fn redirects_are_not_followed() {
    let thief = TcpListener::bind("127.0.0.1:0").unwrap();
    let thief_port = thief.local_addr().unwrap().port();
    let (port, server, first) = one_shot(move |mut s, head| {
        write!(
            s,
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{thief_port}/steal\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        head
    });
    let c = Client::builder(AUTH_ID, TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();
    let e = c.list_page(&recent_query(), 20, 0).unwrap_err();
    let head = server.join().unwrap();
    match &e {
        Error::Http(a) => {
            assert_eq!(a.status, 302);
            assert!(a.message.contains("not followed"), "{}", a.message);
            assert!(a.message.contains("/steal"), "{}", a.message);
        }
        other => panic!("expected Http 302, got {other:?}"),
    }
    assert_error_secret_free("redirect", &e);
    assert_no_connection(&thief, "redirect target");
    assert_no_connection(&first, "the redirecting server (a 302 is not retried)");
    // Header names are case-insensitive (ureq writes them in lower case).
    let auth_lines = head
        .lines()
        .map(str::to_ascii_lowercase)
        .filter(|l| l.starts_with("authorization:"))
        .collect::<Vec<_>>();
    assert_eq!(
        auth_lines,
        [format!("authorization: basic {}", basic()).to_ascii_lowercase()],
        "{head}"
    );
}

// ---------------------------------------------------------------------------
// Body size cap
// ---------------------------------------------------------------------------

#[test]
fn oversized_body_with_content_length_is_not_read() {
    let sim = sim(
        20,
        Faults::none().with_script([Fault::Oversize { bytes: 1 << 30 }]),
    );
    let c = builder(&sim).build().unwrap();
    let e = c.list_page(&recent_query(), 20, 0).unwrap_err();
    match &e {
        Error::BadAnswer {
            status: 200,
            message: m,
        } => {
            assert!(m.contains("1073741824 bytes"), "{m}");
            assert!(m.contains("8388608-byte cap"), "{m}");
            assert!(m.contains("not read"), "{m}");
        }
        other => panic!("expected BadResponse, got {other:?}"),
    }
    assert_eq!(sim.stats().requests, 1, "an oversized body is not retried");
}

#[test]
fn oversized_body_without_content_length_stops_at_the_cap() {
    const CAP: u64 = 256 * 1024;
    // What the server may push before the test calls the client unbounded:
    // the cap, plus slack for the kernel's socket buffers on both ends. What
    // the server manages to write is not what the client read: Linux loopback
    // takes about 4 MiB more into its buffers (tcp_wmem/tcp_rmem maxima are 4
    // and 32 MiB by default), so "cap + 1 MiB" cannot be seen from this side.
    const LIMIT: u64 = CAP + 40 * 1024 * 1024;
    let (port, server, _l) = one_shot(|mut s, _head| {
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        s.write_all(b"{\"api_id\":\"big\",\"meta\":{},\"objects\":[")
            .unwrap();
        let chunk = [b' '; 16 * 1024];
        let mut written = 0u64;
        while written < LIMIT {
            match s.write(&chunk) {
                Ok(n) => written += n as u64,
                Err(_) => break,
            }
        }
        written
    });
    let c = Client::builder(AUTH_ID, TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .max_body_bytes(CAP)
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();
    let e = c.list_page(&recent_query(), 20, 0).unwrap_err();
    drop(c);
    let written = server.join().unwrap();
    match &e {
        Error::BadAnswer {
            status: 200,
            message: m,
        } => {
            assert!(m.contains(&format!("{CAP}-byte cap")), "{m}")
        }
        other => panic!("expected BadAnswer from a 200, got {other:?}"),
    }
    assert!(
        written < LIMIT,
        "the server could write {written} bytes: the client kept reading"
    );
}

// ---------------------------------------------------------------------------
// Header and parameter injection
// ---------------------------------------------------------------------------

#[test]
fn control_characters_are_refused_in_header_values() {
    let bad_chars = [
        "\r", "\n", "\r\n", "\0", "\t", "\x7f", "\x1b", "é", "\u{2028}",
    ];
    for c in bad_chars {
        let with = |s: &str| format!("{s}{c}X-Injected: 1");
        let attempts = [
            ("auth id", Client::builder(with("MA123"), TOKEN).build()),
            ("token", Client::builder("MA123", with(TOKEN)).build()),
            (
                "user agent",
                Client::builder("MA123", TOKEN)
                    .base_url("http://127.0.0.1:1")
                    .user_agent(with("calls/1"))
                    .build(),
            ),
        ];
        for (what, r) in attempts {
            match r {
                Err(Error::InvalidArgument(m)) => assert_secret_free(what, &m),
                other => panic!("{what} with {c:?}: expected InvalidArgument, got {other:?}"),
            }
        }
    }
    // The auth id goes into the URL path: no traversal, query or fragment.
    for id in ["MA/../x", "MA?x=1", "MA#x", "MA%2F", "MA 1", "MA.1", ""] {
        assert!(
            matches!(
                Client::builder(id, TOKEN).build(),
                Err(Error::InvalidArgument(_))
            ),
            "{id:?}"
        );
    }
    // Control characters and spaces in the base URL, too.
    for url in [
        "https://a.com/\r\nX: 1",
        "https://a.com/ x",
        "https://a.com\0",
    ] {
        assert!(matches!(
            Client::builder("MA1", TOKEN).base_url(url).build(),
            Err(Error::InvalidArgument(_))
        ));
    }
}

#[test]
fn control_characters_are_refused_in_filter_values() {
    for name in FILTER_NAMES {
        for bad in [
            "a\r\nb",
            "\n",
            "1\r",
            "x\0",
            "Verified\n",
            "2026-11-01\r\n00:00",
        ] {
            let mut q = CallQuery::new();
            match q.set(name, bad) {
                Err(Error::Validation { field, .. }) => assert_eq!(field, *name),
                other => panic!("{name}={bad:?}: expected Validation, got {other:?}"),
            }
            assert!(q.is_empty(), "{name}: the query is unchanged");
        }
    }
}

#[test]
fn reserved_characters_cannot_inject_parameters() {
    // Numbers are digits only: anything that could carry `&` or `=` is refused.
    for bad in ["1&limit=1000", "1=2", "1#x", "1 2", "1%26x", "１２"] {
        for name in ["from_number", "to_number"] {
            assert!(
                matches!(
                    CallQuery::new().set(name, bad),
                    Err(Error::Validation { .. })
                ),
                "{name}={bad}"
            );
        }
    }
    // Allowed values with a space are percent-encoded.
    let mut q = CallQuery::new();
    q.set("stir_verification", "Not Verified").unwrap();
    assert_eq!(q.to_query_string(), "stir_verification=Not%20Verified");
    // Values given to the typed builder are checked by validate() and, even
    // unchecked, cannot escape their parameter in the encoding.
    let q = CallQuery::new()
        .call_direction("inbound&limit=1000")
        .hangup_source("a b#c=d?e/f+g%h");
    assert_eq!(
        q.to_query_string(),
        "call_direction=inbound%26limit%3D1000&hangup_source=a%20b%23c%3Dd%3Fe%2Ff%2Bg%25h"
    );
    assert!(matches!(q.validate(), Err(Error::Validation { .. })));
    let encoded = q.to_query_string();
    assert_eq!(encoded.split('&').count(), 2, "exactly two parameters");
    // Nothing is sent for such a query, nor for a call uuid that would
    // change the path.
    let sim = sim(10, Faults::none());
    let c = client(&sim);
    assert!(matches!(
        c.list_page(&q, 20, 0),
        Err(Error::Validation { .. })
    ));
    for uuid in ["../x", "a?b=c", "a/b", "a#b", "a b", "a%2F", ""] {
        assert!(
            matches!(c.get_call(uuid), Err(Error::Validation { .. })),
            "{uuid:?}"
        );
    }
    assert_eq!(sim.stats().requests, 0);
}

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

/// A plain-TCP server that answers a TLS ClientHello with HTTP text.
fn garbage_tls_server() -> (u16, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        buf.truncate(n);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        buf
    });
    (port, handle)
}

fn tls_attempt(roots: TlsRoots) -> (Error, Vec<u8>) {
    let (port, server) = garbage_tls_server();
    let c = Client::builder(AUTH_ID, TOKEN)
        .base_url(format!("https://127.0.0.1:{port}"))
        .tls_roots(roots)
        .max_retries(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let e = c.list_page(&recent_query(), 20, 0).unwrap_err();
    (e, server.join().unwrap())
}

fn assert_tls_refused(e: &Error, hello: &[u8]) {
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert_error_secret_free("TLS failure", e);
    // What reached the server is a TLS handshake record, not HTTP with the credentials.
    assert_eq!(hello.first(), Some(&0x16), "a TLS handshake record");
    let text = String::from_utf8_lossy(hello);
    assert_secret_free("bytes before the handshake", &text);
    assert!(!text.contains("Authorization"));
}

#[test]
fn tls_handshake_failure_is_a_transport_error() {
    assert_eq!(TlsRoots::default(), TlsRoots::WebPki);
    let (e, hello) = tls_attempt(TlsRoots::WebPki);
    assert_tls_refused(&e, &hello);
}

#[cfg(not(feature = "platform-verifier"))]
#[test]
fn platform_roots_need_the_feature() {
    let r = Client::builder(AUTH_ID, TOKEN)
        .tls_roots(TlsRoots::Platform)
        .build();
    match r {
        Err(Error::InvalidArgument(m)) => {
            assert!(
                m.contains("built without the platform-verifier feature"),
                "{m}"
            )
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[cfg(feature = "platform-verifier")]
#[test]
fn platform_roots_verify_too() {
    let b = Client::builder(AUTH_ID, TOKEN).tls_roots(TlsRoots::Platform);
    assert!(format!("{b:?}").contains("tls_roots: Platform"));
    let (e, hello) = tls_attempt(TlsRoots::Platform);
    assert_tls_refused(&e, &hello);
}

/// The simulator speaks plain HTTP: asking it over https fails the handshake
/// rather than falling back to plain text.
#[test]
fn no_fallback_from_https_to_http() {
    let sim: Sim = sim(10, Faults::none());
    let c = Client::builder(AUTH_ID, TOKEN)
        .base_url(format!("https://127.0.0.1:{}", sim.addr().port()))
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.list_page(&recent_query(), 20, 0).unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    assert_error_secret_free("https to a plain server", &e);
}

/// No piece of a secret survives the shortening of a long error message:
/// the secrets are removed before the message is cut to 500 characters, so
/// a cut cannot leave a prefix of the token or of the Basic credentials.
#[test]
fn a_long_error_echoing_credentials_leaks_no_piece_of_them() {
    for pad in [430usize, 440, 470, 490, 495] {
        let (c, server, _l) = answers_400(move |_| {
            format!(
                "{} you sent Basic {} and token {}",
                "x".repeat(pad),
                basic(),
                TOKEN
            )
        });
        let e = c.list_page(&recent_query(), 20, 0).unwrap_err();
        server.join().unwrap();
        let shown = format!("{e} {e:?}");
        for secret in [basic(), TOKEN.to_string()] {
            for n in 8..=secret.len() {
                assert!(
                    !shown.contains(&secret[..n]),
                    "pad {pad}: {n} leading characters of a secret leaked: {shown}"
                );
            }
        }
    }
}

/// A base URL with the credentials pasted into it is refused, and the
/// message shows neither the userinfo nor the token.
#[test]
fn a_base_url_carrying_the_token_is_refused_without_showing_it() {
    for url in [
        format!("https://{AUTH_ID}:{TOKEN}@api.plivo.com"),
        format!("https://api.plivo.com/{TOKEN}?x=1"),
        format!("ftp://{TOKEN}.example"),
    ] {
        let e = Client::builder(AUTH_ID, TOKEN)
            .base_url(url.as_str())
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{url}: {e:?}");
        assert_error_secret_free(&url, &e);
    }
}

/// Duration settings are bounded (24 hours): `Duration::MAX` is a clear
/// error at build time, not an overflow panic at the first request.
#[test]
fn duration_settings_are_bounded() {
    use calls_core::RetryPolicy;
    let b = || Client::builder(AUTH_ID, TOKEN).base_url("http://127.0.0.1:9");
    let huge = Duration::MAX;
    let builders = [
        ("timeout", b().timeout(huge)),
        ("connect_timeout", b().connect_timeout(huge)),
        ("rate_limit", b().rate_limit(1, huge)),
        (
            "retry base",
            b().retry_policy(RetryPolicy {
                base: huge,
                max_backoff: huge,
                ..RetryPolicy::default()
            }),
        ),
        (
            "retry max_retry_after",
            b().retry_policy(RetryPolicy {
                max_retry_after: huge,
                ..RetryPolicy::default()
            }),
        ),
    ];
    for (what, builder) in builders {
        let e = builder.build().unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("at most 24 hours")),
            "{what}: {e:?}"
        );
    }
    // A hand-made policy with huge values never panics when used directly.
    let p = RetryPolicy {
        base: huge,
        max_backoff: huge,
        max_retry_after: huge,
        max_retries: 1,
    };
    let _ = p.backoff(0);
    let _ = p.backoff(u32::MAX);
    assert_eq!(
        p.wait_for_429(0, Some(Duration::from_secs(3))),
        Duration::from_secs(3)
    );
}
