//! From an HTTP response to bytes or an [`Error`]: status mapping, the API's
//! error bodies, and the body size cap.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use serde_json::Value;

use crate::error::{ApiError, Error};
use crate::retry::parse_retry_after;

/// The most of an error body that is read: enough for any `{"api_id","error"}`.
const ERROR_BODY_CAP: u64 = 64 * 1024;

/// Reads a response: the status and body of a 2xx (at most `max_body` bytes,
/// counted after gzip is undone), or the error the status means, with the
/// API's `error` text and `api_id`.
///
/// `secrets` are removed from every text taken from the response (the error
/// message, `api_id`, a redirect's location) before anything is shortened, so
/// that no piece of one survives a cut.
pub(crate) fn read(
    resp: ureq::http::Response<ureq::Body>,
    max_body: u64,
    secrets: &[&str],
) -> Result<(u16, Vec<u8>), Error> {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(|s| redact_text(s.to_string(), secrets, 200));
    let mut body = resp.into_body();
    if (200..300).contains(&status) {
        if let Some(len) = body.content_length()
            && len > max_body
        {
            return Err(Error::BadAnswer {
                status,
                message: format!(
                    "response body of {len} bytes is over the {max_body}-byte cap; not read"
                ),
            });
        }
        return match read_capped(&mut body, max_body) {
            Ok(bytes) => Ok((status, bytes)),
            Err(Error::BadResponse(message)) => Err(Error::BadAnswer { status, message }),
            Err(e) => Err(e),
        };
    }
    // A failed read of an error body still leaves the status to report.
    let bytes = read_capped(&mut body, ERROR_BODY_CAP).unwrap_or_default();
    let mut api = parse_api_error_scrubbed(status, &bytes, secrets);
    if (300..400).contains(&status) {
        api.message = format!(
            "redirect{} not followed (credentials are never sent to another location)",
            location.map(|l| format!(" to {l}")).unwrap_or_default()
        );
    }
    Err(status_error(api, retry_after))
}

/// Reads a body of at most `cap` bytes; ureq enforces the cap on the bytes
/// after decompression, so a gzip bomb stops at the cap too.
fn read_capped(body: &mut ureq::Body, cap: u64) -> Result<Vec<u8>, Error> {
    match body.with_config().limit(cap).read_to_vec() {
        Ok(out) => Ok(out),
        Err(ureq::Error::BodyExceedsLimit(_)) => Err(Error::BadResponse(format!(
            "response body is over the {cap}-byte cap; reading stopped there"
        ))),
        Err(ureq::Error::Io(e)) => Err(io_error(&e, "reading the response body")),
        Err(e) => Err(transport_error(e).0),
    }
}

/// The error a non-success status means.
pub(crate) fn status_error(api: ApiError, retry_after: Option<Duration>) -> Error {
    match api.status {
        401 | 403 => Error::Unauthorized(api),
        404 => Error::NotFound(api),
        429 => Error::RateLimited {
            error: api,
            retry_after,
        },
        500..=599 => Error::Server(api),
        _ => Error::Http(api),
    }
}

/// Whether a status is one that is retried.
pub(crate) fn status_is_retried(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// Reads the API's error body: `{"api_id","error"}`, where `api_id` may be
/// missing and `error` may be a string, a nested object or a list (the
/// unit tests' entry; requests use [`parse_api_error_scrubbed`]).
#[cfg(test)]
fn parse_api_error(status: u16, body: &[u8]) -> ApiError {
    parse_api_error_scrubbed(status, body, &[])
}

/// Replaces every occurrence of each non-empty secret by `<redacted>`.
pub(crate) fn scrub(mut s: String, secrets: &[&str]) -> String {
    for secret in secrets {
        if !secret.is_empty() && s.contains(secret) {
            s = s.replace(secret, "<redacted>");
        }
    }
    s
}

/// [`parse_api_error`], with `secrets` removed from the whole texts before
/// they are shortened.
fn parse_api_error_scrubbed(status: u16, body: &[u8], secrets: &[&str]) -> ApiError {
    let reason = reason(status);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let (message, api_id) = match &parsed {
        Some(Value::Object(map)) => {
            let api_id = map
                .get("api_id")
                .and_then(Value::as_str)
                .or_else(|| {
                    map.get("error")
                        .and_then(|e| e.get("api_id"))
                        .and_then(Value::as_str)
                })
                .map(clean);
            let msg = map
                .get("error")
                .or_else(|| map.get("message"))
                .or_else(|| map.get("detail"))
                .map(flatten)
                .filter(|m| !m.is_empty());
            (msg, api_id)
        }
        Some(other @ (Value::String(_) | Value::Array(_))) => (Some(flatten(other)), None),
        _ => {
            let text = String::from_utf8_lossy(body);
            let stripped = strip_tags(&text);
            let t = clean(stripped.trim());
            ((!t.is_empty()).then_some(t), None)
        }
    };
    let message = message
        .or_else(|| (!reason.is_empty()).then(|| reason.to_string()))
        .unwrap_or_else(|| format!("HTTP status {status}"));
    ApiError {
        status,
        message: redact_text(message, secrets, 500),
        api_id: api_id.map(|a| redact_text(a, secrets, 100)),
    }
}

/// The most characters of a text that [`redact_text`] looks at for pieces of
/// a secret; anything longer is cut there first (after whole secrets are gone).
const REDACT_WINDOW: usize = 4096;

/// The shortest piece of a secret that [`redact_text`] hides.
pub(crate) const MIN_FRAGMENT: usize = 6;

/// A text fit for an error message: every whole secret replaced by
/// `<redacted>` first, then cut to [`REDACT_WINDOW`] characters, then every
/// run of [`MIN_FRAGMENT`] or more characters that is a piece of a secret
/// (as a server might echo part of one) replaced too, and only then
/// shortened to `max` characters. No piece of a secret of
/// [`MIN_FRAGMENT`] characters survives, whatever the cuts.
pub(crate) fn redact_text(s: String, secrets: &[&str], max: usize) -> String {
    let whole = scrub(s, secrets);
    let window = shorten(&whole, REDACT_WINDOW);
    shorten(&mask_fragments(window, secrets), max)
}

/// Every whole secret, then every piece of [`MIN_FRAGMENT`] or more
/// characters of one, replaced by `<redacted>`; nothing cut.
pub(crate) fn redact_whole_and_pieces(s: String, secrets: &[&str]) -> String {
    mask_fragments(scrub(s, secrets), secrets)
}

/// Replaces every maximal run of characters in which each
/// [`MIN_FRAGMENT`]-character window is a substring of a secret.
fn mask_fragments(s: String, secrets: &[&str]) -> String {
    let secrets: Vec<&str> = secrets
        .iter()
        .copied()
        .filter(|x| x.len() >= MIN_FRAGMENT)
        .collect();
    if secrets.is_empty() {
        return s;
    }
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    if chars.len() < MIN_FRAGMENT {
        return s;
    }
    // covered[i]: the character at i is part of a matching window.
    let mut covered = vec![false; chars.len()];
    let mut any = false;
    for i in 0..=chars.len() - MIN_FRAGMENT {
        let start = chars[i].0;
        let end = chars.get(i + MIN_FRAGMENT).map_or(s.len(), |c| c.0);
        let piece = &s[start..end];
        if secrets.iter().any(|x| x.contains(piece)) {
            covered[i..i + MIN_FRAGMENT]
                .iter_mut()
                .for_each(|c| *c = true);
            any = true;
        }
    }
    if !any {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut in_run = false;
    for (&(_, c), &hide) in chars.iter().zip(&covered) {
        if hide {
            if !in_run {
                out.push_str("<redacted>");
            }
            in_run = true;
        } else {
            in_run = false;
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The decode context: what quoting and the decode budget need, per thread
// ---------------------------------------------------------------------------

/// Where a decode stands: the secrets a quoted value must not show, and the
/// budget of structure it may still build for fields it does not model.
struct DecodeContext {
    secrets: Vec<String>,
    /// Estimated bytes of `serde_json::Value` structure still allowed.
    budget: Cell<usize>,
    /// Nesting depth inside unknown fields now.
    depth: Cell<usize>,
    /// Why the decode must stop and not be retried, once known.
    fatal: RefCell<Option<String>>,
}

thread_local! {
    static DECODE: RefCell<Option<DecodeContext>> = const { RefCell::new(None) };
}

/// The deepest nesting kept in a field that is not modelled.
pub(crate) const MAX_EXTRA_DEPTH: usize = 64;

/// Runs `f` (a decode) with `secrets` to hide from quoted values and
/// `budget` estimated bytes of structure for unknown fields; returns its
/// result and, if the decode was stopped for a reason retrying cannot
/// change, that reason.
pub(crate) fn with_decode_context<T>(
    secrets: &[&str],
    budget: usize,
    f: impl FnOnce() -> T,
) -> (T, Option<String>) {
    struct Reset(Option<DecodeContext>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let prev = self.0.take();
            let _ = DECODE.try_with(|d| *d.borrow_mut() = prev);
        }
    }
    let ctx = DecodeContext {
        secrets: secrets.iter().map(|s| (*s).to_string()).collect(),
        budget: Cell::new(budget),
        depth: Cell::new(0),
        fatal: RefCell::new(None),
    };
    let prev = DECODE
        .try_with(|d| d.borrow_mut().replace(ctx))
        .ok()
        .flatten();
    let reset = Reset(prev);
    let out = f();
    let fatal = DECODE
        .try_with(|d| {
            d.borrow()
                .as_ref()
                .and_then(|c| c.fatal.borrow_mut().take())
        })
        .ok()
        .flatten();
    drop(reset);
    (out, fatal)
}

/// Whether a decode context is set on this thread.
pub(crate) fn in_decode_context() -> bool {
    DECODE.try_with(|d| d.borrow().is_some()).unwrap_or(false)
}

/// A value quoted in an error message: the secrets of the decode under way
/// removed from the whole text first, control characters dropped, and then
/// cut to `max` characters (with `…`).
pub(crate) fn quote(s: &str, max: usize) -> String {
    let scrubbed = DECODE
        .try_with(|d| match d.borrow().as_ref() {
            Some(c) => {
                let secrets: Vec<&str> = c.secrets.iter().map(String::as_str).collect();
                scrub(s.to_string(), &secrets)
            }
            None => s.to_string(),
        })
        .unwrap_or_else(|_| s.to_string());
    let clean: String = scrubbed.chars().filter(|c| !c.is_control()).collect();
    shorten(&clean, max)
}

/// Takes `bytes` from the decode budget; false (and the decode marked as
/// stopped for good) when the budget is spent.
pub(crate) fn charge(bytes: usize) -> bool {
    DECODE
        .try_with(|d| match d.borrow().as_ref() {
            Some(c) => match c.budget.get().checked_sub(bytes) {
                Some(left) => {
                    c.budget.set(left);
                    true
                }
                None => {
                    c.budget.set(0);
                    c.fatal.borrow_mut().get_or_insert_with(|| {
                        "the fields this client does not model hold more structure than the decode budget allows; not decoded further".to_string()
                    });
                    false
                }
            },
            None => true,
        })
        .unwrap_or(true)
}

/// Enters one level of nesting inside an unknown field; false when that
/// goes beyond [`MAX_EXTRA_DEPTH`].
pub(crate) fn enter() -> bool {
    DECODE
        .try_with(|d| match d.borrow().as_ref() {
            Some(c) => {
                let depth = c.depth.get() + 1;
                c.depth.set(depth);
                if depth > MAX_EXTRA_DEPTH {
                    c.fatal.borrow_mut().get_or_insert_with(|| {
                        format!("a field this client does not model is nested deeper than {MAX_EXTRA_DEPTH} levels; not decoded further")
                    });
                    return false;
                }
                true
            }
            None => true,
        })
        .unwrap_or(true)
}

/// Leaves one level entered with [`enter`].
pub(crate) fn leave() {
    let _ = DECODE.try_with(|d| {
        if let Some(c) = d.borrow().as_ref() {
            c.depth.set(c.depth.get().saturating_sub(1));
        }
    });
}

/// Marks the decode under way as stopped for a reason retrying cannot change.
pub(crate) fn stop(reason: String) {
    let _ = DECODE.try_with(|d| {
        if let Some(c) = d.borrow().as_ref() {
            c.fatal.borrow_mut().get_or_insert(reason);
        }
    });
}

/// Flattens a JSON error value into one line of text.
fn flatten(v: &Value) -> String {
    match v {
        Value::String(s) => clean(s),
        Value::Object(map) => {
            if let Some(inner) = map.get("error").or_else(|| map.get("message")) {
                return flatten(inner);
            }
            map.iter()
                .map(|(k, v)| format!("{}: {}", clean(k), flatten(v)))
                .collect::<Vec<_>>()
                .join("; ")
        }
        Value::Array(items) => items.iter().map(flatten).collect::<Vec<_>>().join("; "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Drops control characters (no CR/LF reaches a log line from a body).
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn reason(status: u16) -> &'static str {
    match status {
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// An I/O failure as a transport error or a timeout.
pub(crate) fn io_error(e: &std::io::Error, during: &str) -> Error {
    use std::io::ErrorKind::*;
    // ureq wraps its own errors (a timeout, the body limit) in io::Error.
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
        return match inner {
            ureq::Error::Timeout(t) => Error::Timeout(format!("{during}: {t:?} timeout")),
            ureq::Error::BodyExceedsLimit(n) => {
                Error::BadResponse(format!("response body is over the {n}-byte cap"))
            }
            other => Error::Transport(format!("{during}: {other}")),
        };
    }
    match e.kind() {
        TimedOut | WouldBlock => Error::Timeout(format!("{during}: {e}")),
        _ => Error::Transport(format!("{during}: {e}")),
    }
}

/// A ureq failure (no response yet) as an error, with whether sending again may help.
pub(crate) fn transport_error(e: ureq::Error) -> (Error, bool) {
    match e {
        ureq::Error::Timeout(t) => (Error::Timeout(format!("{t:?} timeout")), true),
        ureq::Error::Io(io) => (io_error(&io, "connection"), true),
        ureq::Error::ConnectionFailed => (Error::Transport("connection failed".into()), true),
        ureq::Error::Protocol(p) => (Error::Transport(format!("HTTP protocol error: {p}")), true),
        ureq::Error::HostNotFound => (Error::Transport("host not found".into()), false),
        ureq::Error::BodyExceedsLimit(n) => (
            Error::BadResponse(format!("response body is over the {n}-byte cap")),
            false,
        ),
        other => (Error::Transport(other.to_string()), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_nested_or_not_json() {
        let e = parse_api_error(
            400,
            br#"{"api_id":"a1","error":{"error":"end_time is invalid"}}"#,
        );
        assert_eq!(e.message, "end_time is invalid");
        assert_eq!(e.api_id.as_deref(), Some("a1"));
        let e = parse_api_error(502, b"<html>Bad Gateway</html>");
        assert_eq!(e.message, "Bad Gateway");
    }

    #[test]
    fn error_body_forms() {
        let e = parse_api_error(401, br#"{"api_id":"x-1","error":"not authorized"}"#);
        assert_eq!(
            (e.message.as_str(), e.api_id.as_deref()),
            ("not authorized", Some("x-1"))
        );
        let e = parse_api_error(400, br#"{"error":"bad filter"}"#);
        assert_eq!((e.message.as_str(), e.api_id), ("bad filter", None));
        let e = parse_api_error(
            400,
            br#"{"api_id":"y","error":{"end_time__gte":["is invalid"]}}"#,
        );
        assert_eq!(e.message, "end_time__gte: is invalid");
        let e = parse_api_error(400, br#"{"error":{"api_id":"z","error":"nested"}}"#);
        assert_eq!(
            (e.message.as_str(), e.api_id.as_deref()),
            ("nested", Some("z"))
        );
        let e = parse_api_error(503, b"");
        assert_eq!(e.message, "Service Unavailable");
        let e = parse_api_error(599, b"");
        assert_eq!(e.message, "HTTP status 599");
        let e = parse_api_error(400, b"{\"error\":\"line\\r\\nInjected: 1\"}");
        assert!(!e.message.contains('\n') && !e.message.contains('\r'));
        let e = parse_api_error(500, "x".repeat(10_000).as_bytes());
        assert!(e.message.chars().count() <= 501);
    }

    #[test]
    fn secrets_and_their_pieces_are_redacted_before_the_cut() {
        let token = "adv-secret-tok16";
        // Whole, then cut: nothing of it left.
        let s = format!("{} {token} tail", "p".repeat(30));
        let out = redact_text(s, &[token], 40);
        assert!(!out.contains("adv-se"), "{out}");
        // A piece of 6 or more characters sent on its own is masked too.
        let out = redact_text("x secret-to y".into(), &[token], 100);
        assert_eq!(out, "x <redacted> y");
        // Fewer than 6 characters of it are ordinary text.
        let out = redact_text("the token".into(), &[token], 100);
        assert_eq!(out, "the token");
        // Quoting inside a decode context scrubs before it shortens.
        let (q, _) = with_decode_context(&[token], 1 << 20, || {
            quote(&format!("2026-11-30 08:52:26 pad pad pad {token}"), 40)
        });
        assert!(q.contains("<redacte") && !q.contains("adv-se"), "{q}");
    }

    /// The secrets of the layer tests below, and whether `text` shows any
    /// piece of [`MIN_FRAGMENT`] characters of either.
    const TOKEN: &str = "tok-7f3a9c-SECRET-d41d8cd98f";
    const BASIC: &str = "TUFTSU1URVNUMDAwMDAwMDAwMDE6dG9rLTdmM2E5Yy1TRUNSRVQtZDQxZDhjZDk4Zg==";
    fn piece_of_a_secret(text: &str) -> Option<&'static str> {
        [TOKEN, BASIC].into_iter().find_map(|secret| {
            (0..=secret.len() - MIN_FRAGMENT)
                .map(|i| &secret[i..i + MIN_FRAGMENT])
                .find(|piece| text.contains(piece))
        })
    }

    /// This layer alone (no client, no choke point behind it) removes the
    /// secrets from every text of an error body: `api_id` flat and nested,
    /// `error` flat, nested and as field messages, bodies that are not JSON.
    #[test]
    fn the_error_body_layer_scrubs_every_text_it_keeps() {
        let secrets = [BASIC, TOKEN];
        let piece = &TOKEN[4..12];
        let bodies = [
            format!(r#"{{"api_id":"id-{TOKEN}","error":"echo {BASIC}"}}"#),
            format!(r#"{{"api_id":"{BASIC}","error":"x"}}"#),
            format!(r#"{{"api_id":"{piece}","error":"piece {piece}"}}"#),
            format!(r#"{{"error":{{"api_id":"n-{TOKEN}","error":"nested {TOKEN}"}}}}"#),
            format!(r#"{{"error":{{"f {TOKEN}":["bad {BASIC}"]}}}}"#),
            format!(r#"{{"message":"m {TOKEN}"}}"#),
            format!(r#"{{"detail":"d {BASIC}"}}"#),
            format!(r#"["{TOKEN}","{BASIC}"]"#),
            format!(r#""{TOKEN}""#),
            format!("<html><title>{TOKEN}</title>{BASIC}</html>"),
            format!("Authorization: Basic {BASIC}\r\n{}{TOKEN}", "p".repeat(490)),
        ];
        for status in [301, 302, 400, 401, 403, 404, 429, 500, 502, 503] {
            for body in &bodies {
                let e = parse_api_error_scrubbed(status, body.as_bytes(), &secrets);
                for text in [Some(&e.message), e.api_id.as_ref()].into_iter().flatten() {
                    assert_eq!(piece_of_a_secret(text), None, "{status} {body}: {text}");
                }
            }
        }
    }

    /// `read` removes the secrets from a redirect's `Location` (quoted in the
    /// message) and from the body of every status, by itself.
    #[test]
    fn reading_an_answer_scrubs_the_location_and_the_body() {
        let secrets = [BASIC, TOKEN];
        for status in [301, 302, 303, 307, 308, 400, 401, 404, 429, 500, 503] {
            let resp = ureq::http::Response::builder()
                .status(status)
                .header("location", format!("http://evil/?t={TOKEN}&b={BASIC}"))
                .body(
                    ureq::Body::builder()
                        .data(format!(r#"{{"api_id":"{TOKEN}","error":"{BASIC}"}}"#)),
                )
                .unwrap();
            let e = read(resp, 1 << 20, &secrets).unwrap_err();
            let (Error::Unauthorized(a)
            | Error::NotFound(a)
            | Error::Server(a)
            | Error::Http(a)
            | Error::RateLimited { error: a, .. }) = &e
            else {
                panic!("{status}: {e:?}")
            };
            for text in [Some(&a.message), a.api_id.as_ref()].into_iter().flatten() {
                assert_eq!(piece_of_a_secret(text), None, "{status}: {text}");
            }
            if (300..400).contains(&status) {
                assert!(
                    a.message.contains("http://evil/?t=<redacted>"),
                    "{}",
                    a.message
                );
            }
        }
    }

    #[test]
    fn decode_budget_and_depth() {
        let deep = format!(
            r#"{{"call_uuid":"u","x":{}1{}}}"#,
            "[".repeat(MAX_EXTRA_DEPTH + 1),
            "]".repeat(MAX_EXTRA_DEPTH + 1)
        );
        let e = crate::model::decode_call(deep.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("nested deeper than 64 levels"), "{e}");
        let ok = format!(
            r#"{{"call_uuid":"u","x":{}1{}}}"#,
            "[".repeat(MAX_EXTRA_DEPTH),
            "]".repeat(MAX_EXTRA_DEPTH)
        );
        assert!(crate::model::decode_call(ok.as_bytes()).is_ok());
        let many = format!(r#"{{"call_uuid":"u","x":[{}1]}}"#, "1,".repeat(1000));
        let (r, fatal) =
            with_decode_context(&[], 4096, || crate::model::decode_call(many.as_bytes()));
        assert!(r.unwrap_err().to_string().contains("decode budget"));
        assert!(fatal.is_some(), "not retried");
        let (r, fatal) =
            with_decode_context(&[], 1 << 20, || crate::model::decode_call(many.as_bytes()));
        assert!(r.is_ok() && fatal.is_none());
    }

    #[test]
    fn statuses_map_to_kinds() {
        let api = |s| parse_api_error(s, b"");
        assert!(matches!(
            status_error(api(401), None),
            Error::Unauthorized(_)
        ));
        assert!(matches!(
            status_error(api(403), None),
            Error::Unauthorized(_)
        ));
        assert!(matches!(status_error(api(404), None), Error::NotFound(_)));
        assert!(matches!(
            status_error(api(429), None),
            Error::RateLimited { .. }
        ));
        assert!(matches!(status_error(api(502), None), Error::Server(_)));
        assert!(matches!(status_error(api(400), None), Error::Http(_)));
        assert!(matches!(status_error(api(302), None), Error::Http(_)));
        for s in [429, 500, 502, 503, 504] {
            assert!(status_is_retried(s));
        }
        for s in [400, 401, 403, 404, 501, 302] {
            assert!(!status_is_retried(s));
        }
    }
}
