//! From an HTTP response to bytes or an [`Error`]: status mapping, the API's
//! error bodies, and the body size cap.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use crate::error::{ApiError, Error};
use crate::retry::parse_retry_after;

/// The most of an error body that is read: enough for any `{"api_id","error"}`.
const ERROR_BODY_CAP: u64 = 64 * 1024;

/// Reads a response: the body of a 2xx (at most `max_body` bytes), or the error
/// the status means, with the API's `error` text and `api_id`.
///
/// `secrets` are removed from every text taken from the response (the error
/// message, `api_id`, a redirect's location) before anything is shortened, so
/// that no piece of one survives a cut.
pub(crate) fn read(
    resp: ureq::http::Response<ureq::Body>,
    max_body: u64,
    secrets: &[&str],
) -> Result<Vec<u8>, Error> {
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
        .map(|s| {
            scrub(s.to_string(), secrets)
                .chars()
                .take(200)
                .collect::<String>()
        });
    let mut body = resp.into_body();
    if (200..300).contains(&status) {
        if let Some(len) = body.content_length()
            && len > max_body
        {
            return Err(Error::BadResponse(format!(
                "response body of {len} bytes is over the {max_body}-byte cap; not read"
            )));
        }
        return read_capped(&mut body, max_body);
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

fn read_capped(body: &mut ureq::Body, cap: u64) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let mut reader = body.as_reader().take(cap.saturating_add(1));
    match reader.read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > cap => Err(Error::BadResponse(format!(
            "response body is over the {cap}-byte cap; reading stopped there"
        ))),
        Ok(_) => Ok(out),
        Err(e) => Err(io_error(&e, "reading the response body")),
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
/// missing and `error` may be a string, a nested object or a list.
///
/// ```
/// use calls_core::response::parse_api_error;
/// let e = parse_api_error(400, br#"{"api_id":"a1","error":{"error":"end_time is invalid"}}"#);
/// assert_eq!(e.message, "end_time is invalid");
/// assert_eq!(e.api_id.as_deref(), Some("a1"));
/// let e = parse_api_error(502, b"<html>Bad Gateway</html>");
/// assert_eq!(e.message, "Bad Gateway");
/// ```
pub fn parse_api_error(status: u16, body: &[u8]) -> ApiError {
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
        message: shorten(&scrub(message, secrets), 500),
        api_id: api_id.map(|a| scrub(a, secrets)),
    }
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
