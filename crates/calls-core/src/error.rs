//! The one error type of the crate.
//!
//! Every failure is an [`Error`]: a query the API would reject (caught before
//! anything is sent), an HTTP answer that is not a success, a transport failure,
//! or a response that could not be understood. No variant ever holds the auth
//! token: messages are built from the API's own `error` text, statuses and
//! transport descriptions, never from request headers.

use std::time::Duration;

/// What the API said when it answered with a non-success status.
///
/// Plivo's error bodies are `{"api_id": "...", "error": "..."}`, but `api_id`
/// may be missing and `error` may be nested (`{"error": {"error": "..."}}` or
/// an object of field messages); [`ApiError::message`] is the flattened text.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status code.
    pub status: u16,
    /// The API's `error` text, flattened; the status reason when the body had none.
    pub message: String,
    /// The API's `api_id`, when the body carried one.
    pub api_id: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = format!("HTTP {}: {}", self.status, self.message);
        if let Some(id) = &self.api_id {
            raw.push_str(&format!(" (api_id {id})"));
        }
        f.write_str(&redact_live(raw))
    }
}

impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Raw<'a>(&'a ApiError);
        impl std::fmt::Debug for Raw<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct("ApiError")
                    .field("status", &self.0.status)
                    .field("message", &self.0.message)
                    .field("api_id", &self.0.api_id)
                    .finish()
            }
        }
        debug_through_choke_point(f, &Raw(self))
    }
}

/// Every way a call into this crate can fail.
///
/// Its `Display` and `Debug` are the choke point every message passes
/// through: whatever the text holds, every live client's auth token and
/// Basic credentials, and any piece of 6 or more characters of them, are
/// replaced by `<redacted>` there, so that one layer
/// that forgot to scrub cannot leak a secret into a message.
#[non_exhaustive]
pub enum Error {
    /// A filter the API would reject; nothing was sent.
    Validation {
        /// The API parameter name (`end_time__gte`, `call_direction`, ...) or `query`.
        field: String,
        /// The rule that was broken.
        message: String,
    },
    /// A bad setting or argument: client configuration (a window policy
    /// among them), a filter name the API does not have, `limit`/`offset`
    /// given as a filter, a page size outside 1..=[`MAX_LIMIT`](crate::MAX_LIMIT).
    InvalidArgument(String),
    /// 401 or 403: the credentials were refused.
    Unauthorized(ApiError),
    /// 404: no such account path or record.
    NotFound(ApiError),
    /// 429, still refused after the retries allowed.
    RateLimited {
        /// What the API said.
        error: ApiError,
        /// The last `Retry-After` the service sent, if any.
        retry_after: Option<Duration>,
    },
    /// 5xx, still failing after the retries allowed.
    Server(ApiError),
    /// Any other non-success status, such as the API's 400.
    Http(ApiError),
    /// The connection could not be made or broke (refused, reset, DNS, TLS).
    Transport(String),
    /// The service did not answer in time.
    Timeout(String),
    /// A response that could not be understood: bad JSON, wrong shape, too large.
    ///
    /// What the client reports about one HTTP answer it could not use is
    /// [`Error::BadAnswer`], which also carries the answer's status; this
    /// variant is for the decode functions called directly and for
    /// failures not tied to one answer (a pager's walk).
    BadResponse(String),
    /// An HTTP answer (usually a `200`) whose body could not be used: bad
    /// JSON, wrong shape, more objects than the `limit` asked for, over the
    /// body cap or the decode budget. Never retried when the fault is the
    /// server's by construction (over the limit, the cap or the budget).
    BadAnswer {
        /// The status of the answer.
        status: u16,
        /// What was wrong with it.
        message: String,
    },
    /// Stopped by [`Canceller::cancel`](crate::Canceller::cancel).
    Cancelled,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_live(self.raw_message()))
    }
}

impl std::error::Error for Error {}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Raw<'a>(&'a Error);
        impl std::fmt::Debug for Raw<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.0 {
                    Error::Validation { field, message } => f
                        .debug_struct("Validation")
                        .field("field", field)
                        .field("message", message)
                        .finish(),
                    Error::InvalidArgument(m) => f.debug_tuple("InvalidArgument").field(m).finish(),
                    Error::Unauthorized(a) => f.debug_tuple("Unauthorized").field(a).finish(),
                    Error::NotFound(a) => f.debug_tuple("NotFound").field(a).finish(),
                    Error::RateLimited { error, retry_after } => f
                        .debug_struct("RateLimited")
                        .field("error", error)
                        .field("retry_after", retry_after)
                        .finish(),
                    Error::Server(a) => f.debug_tuple("Server").field(a).finish(),
                    Error::Http(a) => f.debug_tuple("Http").field(a).finish(),
                    Error::Transport(m) => f.debug_tuple("Transport").field(m).finish(),
                    Error::Timeout(m) => f.debug_tuple("Timeout").field(m).finish(),
                    Error::BadResponse(m) => f.debug_tuple("BadResponse").field(m).finish(),
                    Error::BadAnswer { status, message } => f
                        .debug_struct("BadAnswer")
                        .field("status", status)
                        .field("message", message)
                        .finish(),
                    Error::Cancelled => f.write_str("Cancelled"),
                }
            }
        }
        debug_through_choke_point(f, &Raw(self))
    }
}

/// `Debug` output of `raw`, in the form asked for (`{:?}` or `{:#?}`),
/// through [`redact_live`].
fn debug_through_choke_point(
    f: &mut std::fmt::Formatter<'_>,
    raw: &dyn std::fmt::Debug,
) -> std::fmt::Result {
    let text = if f.alternate() {
        format!("{raw:#?}")
    } else {
        format!("{raw:?}")
    };
    f.write_str(&redact_live(text))
}

// ---------------------------------------------------------------------------
// The choke point: the secrets of every live client, removed from every message
// ---------------------------------------------------------------------------

/// The secrets of the clients alive now (token and base64 Basic
/// credentials), each with the number of clients holding it.
static LIVE_SECRETS: std::sync::Mutex<Vec<(String, usize)>> = std::sync::Mutex::new(Vec::new());

/// A client's hold on its secrets in [`LIVE_SECRETS`]: registered when the
/// client is built, released when its last clone is dropped. Secrets
/// shorter than [`MIN_FRAGMENT`](crate::response::MIN_FRAGMENT) characters
/// are not registered (they would mask ordinary words in every message);
/// the client's own scrubbing still removes them.
pub(crate) struct LiveSecrets(Vec<String>);

impl LiveSecrets {
    pub(crate) fn register(secrets: &[&str]) -> Self {
        let held: Vec<String> = secrets
            .iter()
            .filter(|s| s.chars().count() >= crate::response::MIN_FRAGMENT)
            .map(|s| (*s).to_string())
            .collect();
        let mut live = LIVE_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
        for s in &held {
            match live.iter_mut().find(|(x, _)| x == s) {
                Some((_, n)) => *n += 1,
                None => live.push((s.clone(), 1)),
            }
        }
        LiveSecrets(held)
    }
}

impl Drop for LiveSecrets {
    fn drop(&mut self) {
        let mut live = LIVE_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
        for s in &self.0 {
            if let Some(i) = live.iter().position(|(x, _)| x == s) {
                live[i].1 -= 1;
                if live[i].1 == 0 {
                    live.swap_remove(i);
                }
            }
        }
    }
}

/// Every message of an [`Error`] or [`ApiError`] passes here on its way
/// out (`Display`, `Debug`): each secret of a live client is replaced by
/// `<redacted>`, and so is every run of 6 or more characters that is a
/// piece of one. The layers that build a message scrub it too, with the
/// secrets of the client at hand; this is the net under them.
pub fn redact_live(text: String) -> String {
    let live = LIVE_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if live.is_empty() {
        return text;
    }
    let secrets: Vec<&str> = live.iter().map(|(s, _)| s.as_str()).collect();
    crate::response::redact_whole_and_pieces(text, &secrets)
}

impl Error {
    /// The message as the layers built it, before the choke point.
    fn raw_message(&self) -> String {
        match self {
            Error::Validation { field, message } => format!("invalid query: {field}: {message}"),
            Error::InvalidArgument(m) => format!("invalid argument: {m}"),
            Error::Unauthorized(a) => format!("unauthorized: {a}"),
            Error::NotFound(a) => format!("not found: {a}"),
            Error::RateLimited { error, retry_after } => format!(
                "rate limited: {error}{}",
                retry_after
                    .map(|d| format!(" (retry after {}s)", d.as_secs()))
                    .unwrap_or_default()
            ),
            Error::Server(a) => format!("server error: {a}"),
            Error::Http(a) => format!("request failed: {a}"),
            Error::Transport(m) => format!("transport error: {m}"),
            Error::Timeout(m) => format!("timed out: {m}"),
            Error::BadResponse(m) => format!("bad response: {m}"),
            Error::BadAnswer { status, message } => {
                format!("bad response: {message} (HTTP {status} answer)")
            }
            Error::Cancelled => "cancelled".to_string(),
        }
    }

    /// A validation error naming the field and the rule.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status behind this error, if the service answered: the
    /// error status, or the status of an answer whose body could not be
    /// used ([`Error::BadAnswer`]).
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::BadAnswer { status, .. } => Some(*status),
            Error::Unauthorized(e)
            | Error::NotFound(e)
            | Error::Server(e)
            | Error::Http(e)
            | Error::RateLimited { error: e, .. } => Some(e.status),
            _ => None,
        }
    }

    /// The API's `api_id` for this failure, if the service sent one.
    pub fn api_id(&self) -> Option<&str> {
        match self {
            Error::Unauthorized(e)
            | Error::NotFound(e)
            | Error::Server(e)
            | Error::Http(e)
            | Error::RateLimited { error: e, .. } => e.api_id.as_deref(),
            _ => None,
        }
    }

    /// Whether this is a response that could not be understood
    /// ([`Error::BadResponse`] or [`Error::BadAnswer`]).
    pub fn is_bad_response(&self) -> bool {
        matches!(self, Error::BadResponse(_) | Error::BadAnswer { .. })
    }

    /// The error's text without the kind prefix: for a bad response, what
    /// was wrong with it.
    pub fn bad_response_message(&self) -> Option<&str> {
        match self {
            Error::BadResponse(m) | Error::BadAnswer { message: m, .. } => Some(m),
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed (429, 5xx, transport, timeout).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. } | Error::Server(_) | Error::Transport(_) | Error::Timeout(_)
        )
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
