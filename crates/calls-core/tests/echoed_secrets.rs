//! Servers that echo the secrets back in every place a server can put text:
//! `api_id`, `error` (flat, nested, field messages), `message`/`detail`,
//! JSON strings and lists, HTML and plain bodies of every status, a
//! redirect's `Location`, broken status lines and header lines (quoted by
//! the HTTP layer), and typed fields of a 200 page. Each echo carries the
//! whole token, the whole Basic credentials, the request's own
//! `Authorization` line and pieces of both.
//!
//! Every error is checked, field by field and in every rendering (Display,
//! `Debug`, `{:#?}`), for any piece of 6 characters of either secret: while
//! its client lives (the choke point in `Error`'s `Display`/`Debug` is
//! active) and again after the client is dropped (then only the layers that
//! built the message stand between the secret and the text).

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use calls_core::{CallQuery, Client, Error};
use chrono::Utc;
use common::*;

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

fn basic() -> String {
    b64(format!("{AUTH_ID}:{TOKEN}").as_bytes())
}

/// The first piece of 6 characters of the token or of the Basic
/// credentials that `text` shows, if any.
fn piece_of_a_secret(text: &str) -> Option<String> {
    let basic = basic();
    [TOKEN, basic.as_str()].into_iter().find_map(|secret| {
        (0..=secret.len() - 6)
            .map(|i| &secret[i..i + 6])
            .find(|piece| text.contains(piece))
            .map(str::to_string)
    })
}

/// Every text an error holds, field by field, and every rendering of it.
fn texts_of(e: &Error) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("Display", e.to_string()),
        ("Debug", format!("{e:?}")),
        ("pretty Debug", format!("{e:#?}")),
    ];
    if let Some(id) = e.api_id() {
        out.push(("api_id()", id.to_string()));
    }
    if let Some(m) = e.bad_response_message() {
        out.push(("bad_response_message()", m.to_string()));
    }
    match e {
        Error::Unauthorized(a)
        | Error::NotFound(a)
        | Error::Server(a)
        | Error::Http(a)
        | Error::RateLimited { error: a, .. } => {
            out.push(("ApiError.message", a.message.clone()));
            out.push(("ApiError Display", a.to_string()));
            out.push(("ApiError Debug", format!("{a:?}")));
            if let Some(id) = &a.api_id {
                out.push(("ApiError.api_id", id.clone()));
            }
        }
        Error::Transport(m) | Error::Timeout(m) | Error::InvalidArgument(m) => {
            out.push(("message field", m.clone()));
        }
        Error::Validation { field, message } => {
            out.push(("Validation.field", field.clone()));
            out.push(("Validation.message", message.clone()));
        }
        _ => {}
    }
    out
}

fn assert_no_piece(label: &str, when: &str, e: &Error) {
    for (what, text) in texts_of(e) {
        if let Some(piece) = piece_of_a_secret(&text) {
            panic!("{label} ({when}): {what} shows `{piece}` of a secret: {text}");
        }
    }
}

/// A server answering every connection with `answer(request head)`, raw,
/// until the returned guard is dropped.
fn server(answer: impl Fn(&str) -> Vec<u8> + Send + 'static) -> (u16, Stop) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stopped.load(Ordering::SeqCst) {
                return;
            }
            let Ok(mut stream): Result<TcpStream, _> = stream else {
                return;
            };
            let head = read_head(&mut stream);
            let _ = stream.write_all(&answer(&head));
            let _ = stream.flush();
        }
    });
    (port, Stop(port, stop, Some(handle)))
}

/// Stops a [`server`]: sets its flag and wakes its `accept`.
struct Stop(u16, Arc<AtomicBool>, Option<std::thread::JoinHandle<()>>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.1.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.0));
        if let Some(h) = self.2.take() {
            let _ = h.join();
        }
    }
}

fn client_of(port: u16) -> Client {
    watchdog();
    Client::builder(AUTH_ID, TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .max_retries(0)
        .timeout(Duration::from_secs(5))
        .rate_limit(0, Duration::from_secs(5))
        .build()
        .unwrap()
}

fn recent_query() -> CallQuery {
    let mut q = CallQuery::new();
    q.set(
        "end_time__gte",
        &api_time(Utc::now() - chrono::Duration::days(3)),
    )
    .unwrap();
    q
}

/// The `Authorization` line of a request head.
fn auth_line(head: &str) -> String {
    head.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
        .unwrap_or("")
        .to_string()
}

/// Echoes of the secrets, each a text a server might send back.
fn echoes(head: &str) -> Vec<String> {
    let b = basic();
    vec![
        format!("token {TOKEN}"),
        format!("basic {b}"),
        auth_line(head),
        format!("piece {} and {}", &TOKEN[3..11], &b[10..20]),
        format!("{}{TOKEN}{b}", "p".repeat(480)),
        head.replace("\r\n", " | "),
    ]
}

/// Error bodies echoing `e` in every form the client reads.
fn bodies(e: &str) -> Vec<String> {
    let j = |v: serde_json::Value| v.to_string();
    vec![
        j(serde_json::json!({"api_id": format!("id {e}"), "error": format!("flat {e}")})),
        j(serde_json::json!({"error": {"api_id": e, "error": format!("nested {e}")}})),
        j(
            serde_json::json!({"api_id": e, "error": {"end_time__gte": [format!("bad {e}")], e: "key"}}),
        ),
        j(serde_json::json!({"message": e})),
        j(serde_json::json!({"detail": [e, e]})),
        j(serde_json::json!(e)),
        j(serde_json::json!([e, {"error": e}])),
        format!("<html><head><title>{e}</title></head><body><h1>{e}</h1></body></html>"),
        format!("plain text {e}"),
    ]
}

fn response(status: u16, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} Whatever\r\n{extra_headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Runs one request (and one pager, which wraps the same errors) against a
/// server answering `answer`, and checks every error while the client
/// lives and after it is gone.
fn check(label: &str, answer: impl Fn(&str) -> Vec<u8> + Send + 'static) -> usize {
    let (port, _stop) = server(answer);
    let client = client_of(port);
    let mut errors = Vec::new();
    if let Err(e) = client.list_page(&recent_query(), 20, 0) {
        errors.push(e);
    }
    if let Some(Err(e)) = client.calls(&recent_query()).find(|r| r.is_err()) {
        errors.push(e);
    }
    for e in &errors {
        assert_no_piece(label, "client alive", e);
    }
    drop(client);
    for e in &errors {
        assert_no_piece(label, "client dropped", e);
    }
    errors.len()
}

/// Every status (redirects, client and server errors) with every body form
/// and every echo; redirects with the echo in `Location` as well.
#[test]
fn every_status_and_body_echoing_the_secrets() {
    let statuses = [
        301, 302, 303, 307, 308, 400, 401, 403, 404, 405, 409, 418, 422, 429, 500, 501, 502, 503,
        504, 599,
    ];
    let mut errors = 0;
    for status in statuses {
        for (i, _) in echoes("").iter().enumerate() {
            for (k, _) in bodies("").iter().enumerate() {
                let label = format!("status {status}, echo {i}, body form {k}");
                errors += check(&label, move |head| {
                    let e = &echoes(head)[i];
                    let body = &bodies(e)[k];
                    let location = format!(
                        "Location: http://evil.example/?t={}\r\n",
                        e.replace(' ', "+")
                    );
                    let retry = format!("Retry-After: {e}\r\nX-Echo: {e}\r\n");
                    response(status, &format!("{location}{retry}"), body)
                });
            }
        }
    }
    // Every one of them is an error, through `list_page` and the pager.
    assert_eq!(
        errors,
        2 * statuses.len() * echoes("").len() * bodies("").len()
    );
}

/// A redirect whose only text is its `Location`: the message quotes it, so
/// this is the layer that must scrub.
#[test]
fn a_redirect_quoting_the_secrets_in_its_location() {
    for status in [301, 302, 303, 307, 308] {
        let label = format!("redirect {status}");
        let n = check(&label, move |head| {
            let b = basic();
            let loc = format!(
                "Location: https://evil.example/{TOKEN}/?b={b}&auth={}&p={}\r\n",
                auth_line(head).replace(' ', "%20"),
                &TOKEN[5..13]
            );
            response(status, &loc, "")
        });
        assert_eq!(n, 2, "{label}: both calls fail");
    }
}

/// Texts the HTTP layer quotes when the answer is broken: a status line or
/// a header line holding the secrets.
#[test]
fn broken_status_and_header_lines_echoing_the_secrets() {
    let b = basic();
    let raws = [
        format!("HTTP/1.1 4{TOKEN} Bad\r\n\r\n"),
        format!("HTTP/1.1 400 {TOKEN} {b}\r\nContent-Length: 0\r\n\r\n"),
        format!("HTTP/1.1 200 OK\r\nX-Echo {TOKEN} {b}\r\n\r\n"),
        format!("HTTP/1.1 200 OK\r\nContent-Length: {TOKEN}\r\n\r\n"),
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {b}\r\nContent-Encoding: {TOKEN}\r\nContent-Length: 3\r\n\r\n{{}}}}"
        ),
        format!("{TOKEN} {b}\r\n\r\n"),
    ];
    for (i, raw) in raws.into_iter().enumerate() {
        check(&format!("raw answer {i}"), move |_| {
            raw.clone().into_bytes()
        });
    }
}

/// A 200 whose page holds the secrets in typed fields (quoted when they do
/// not parse) and in malformed JSON.
#[test]
fn a_page_echoing_the_secrets_in_typed_fields() {
    let b = basic();
    // Inside the bounds the queries ask for (the last 3 days), so each page
    // reaches the decoder and the walk's checks of a good page.
    let inside = (Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d %H:%M:%S+00:00")
        .to_string();
    let call_ending = |end: &str, field: &str, value: serde_json::Value| {
        let mut c = serde_json::json!({
            "call_uuid": "u-1", "end_time": end,
            "call_direction": "outbound", "total_amount": "0.01",
        });
        c[field] = value;
        c
    };
    let call = |field: &str, value: serde_json::Value| call_ending(&inside, field, value);
    let page = |meta: serde_json::Value, objects: serde_json::Value| {
        serde_json::json!({"api_id": TOKEN, "meta": meta, "objects": objects}).to_string()
    };
    let meta = serde_json::json!({"limit": 20, "offset": 0, "total_count": 1, "next": null, "previous": null});
    let mut pages = vec![
        page(serde_json::json!({"limit": TOKEN}), serde_json::json!([])),
        page(
            serde_json::json!({"limit": 20, "total_count": b}),
            serde_json::json!([]),
        ),
        page(
            serde_json::json!({"limit": 20, "next": {"x": TOKEN}}),
            serde_json::json!([]),
        ),
        page(meta.clone(), serde_json::json!(TOKEN)),
        page(meta.clone(), serde_json::json!([TOKEN])),
        format!(r#"{{"meta": {{"limit": 20}}, "objects": [{{"call_uuid": "{TOKEN}" "#),
        format!("not json {TOKEN} {b}"),
    ];
    // A call outside the bounds asked for: the walk's own error names the
    // call by its uuid, which echoes the secrets here.
    for uuid in [format!("x {TOKEN}"), b.clone()] {
        let outside = call_ending("2026-01-01 00:00:00+00:00", "call_uuid", uuid.into());
        pages.push(page(meta.clone(), serde_json::json!([outside])));
    }
    for field in [
        "end_time",
        "start_time",
        "answer_time",
        "call_uuid",
        "call_direction",
        "total_amount",
        "bill_duration",
        "call_duration",
        "total_rate",
        "trunk_domain",
        "from_number",
    ] {
        for value in [
            serde_json::json!(format!("x {TOKEN}")),
            serde_json::json!(b),
            serde_json::json!({"v": TOKEN}),
            serde_json::json!([&TOKEN[2..12]]),
        ] {
            pages.push(page(meta.clone(), serde_json::json!([call(field, value)])));
        }
    }
    for (i, body) in pages.into_iter().enumerate() {
        check(&format!("page {i}"), move |_| {
            response(200, "Content-Type: application/json\r\n", &body)
        });
    }
}

/// The choke point by itself: an error built by hand, which no layer
/// scrubbed, shows no piece of a live client's secrets in any rendering,
/// whatever its kind.
#[test]
fn the_choke_point_masks_what_no_layer_scrubbed() {
    let client = client_of(closed_port());
    let b = basic();
    let raw = format!("a {TOKEN} b {b} c {} d {}", &TOKEN[7..15], &b[30..38]);
    let api = calls_core::ApiError {
        status: 400,
        message: raw.clone(),
        api_id: Some(raw.clone()),
    };
    let errors = [
        Error::Transport(raw.clone()),
        Error::Timeout(raw.clone()),
        Error::BadResponse(raw.clone()),
        Error::BadAnswer {
            status: 200,
            message: raw.clone(),
        },
        Error::InvalidArgument(raw.clone()),
        Error::validation(raw.clone(), raw.clone()),
        Error::Http(api.clone()),
        Error::Server(api.clone()),
        Error::Unauthorized(api.clone()),
        Error::NotFound(api.clone()),
        Error::RateLimited {
            error: api.clone(),
            retry_after: None,
        },
    ];
    for e in &errors {
        for shown in [e.to_string(), format!("{e:?}"), format!("{e:#?}")] {
            assert_eq!(piece_of_a_secret(&shown), None, "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }
    for shown in [api.to_string(), format!("{api:?}")] {
        assert_eq!(piece_of_a_secret(&shown), None, "{shown}");
    }
    drop(client);
}

/// A port on which nothing listens (bound, then closed).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
