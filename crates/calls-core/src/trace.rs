//! One line for each request sent: to the [`log`] facade (target `calls`)
//! and to the client's request hook ([`ClientBuilder::on_request`]).
//!
//! Levels: a request answered as it should be is `Debug`; an attempt that is
//! retried is `Warn` (with why and how long the wait is); a request that
//! failed for good is `Error`. The account id in the path is shown as
//! `{auth_id}`, and the whole line goes through the client's secret scrub:
//! no credential, whole or in part, reaches a log.
//!
//! [`ClientBuilder::on_request`]: crate::ClientBuilder::on_request

use std::sync::Arc;
use std::time::Duration;

use log::Level;

/// What a request hook is told about one attempt of a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestLog<'a> {
    /// `Debug` (answered), `Warn` (retried), `Error` (failed for good).
    pub level: Level,
    /// The HTTP method (`GET`).
    pub method: &'a str,
    /// The path and query sent, the account id shown as `{auth_id}`.
    pub path: &'a str,
    /// The HTTP status of the answer; `None` when there was none (a
    /// connection error, a timeout).
    pub status: Option<u16>,
    /// How long the attempt took.
    pub duration: Duration,
    /// 1 for the first attempt of a request, 2 for its first retry, …
    pub attempt: u32,
    /// Why this attempt is retried (and after how long), when it is.
    pub retry: Option<&'a str>,
    /// The whole line, as the `log` facade gets it.
    pub message: &'a str,
}

/// A request hook: [`ClientBuilder::on_request`](crate::ClientBuilder::on_request).
pub type RequestHook = Arc<dyn Fn(&RequestLog<'_>) + Send + Sync>;

/// The target of the crate's `log` lines.
pub const LOG_TARGET: &str = "calls";

/// The path and query of `url` with the account id replaced: what a log
/// line shows of a request.
pub(crate) fn shown_path(url: &str, auth_id: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    if auth_id.is_empty() {
        return path.to_string();
    }
    path.replace(&format!("/Account/{auth_id}/"), "/Account/{auth_id}/")
}

/// The line of one attempt.
pub(crate) fn line(
    method: &str,
    path: &str,
    status: Option<u16>,
    duration: Duration,
    attempt: u32,
    outcome: &str,
) -> String {
    let status = status.map_or_else(|| "no answer".to_string(), |s| s.to_string());
    let ms = duration.as_secs_f64() * 1e3;
    format!("{method} {path} -> {status} in {ms:.1} ms (attempt {attempt}){outcome}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_id_is_not_shown() {
        let p = shown_path(
            "http://127.0.0.1:9/v1/Account/MAXXXX/Zentrunk/Call/?limit=20&offset=0",
            "MAXXXX",
        );
        assert_eq!(p, "/v1/Account/{auth_id}/Zentrunk/Call/?limit=20&offset=0");
        assert_eq!(shown_path("https://h", "MA"), "/");
    }

    #[test]
    fn a_line_says_what_happened() {
        let l = line(
            "GET",
            "/p",
            Some(503),
            Duration::from_micros(1500),
            2,
            "; retried",
        );
        assert_eq!(l, "GET /p -> 503 in 1.5 ms (attempt 2); retried");
        let l = line("GET", "/p", None, Duration::ZERO, 1, "");
        assert_eq!(l, "GET /p -> no answer in 0.0 ms (attempt 1)");
    }
}
