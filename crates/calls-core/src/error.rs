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
#[derive(Debug, Clone, PartialEq, Eq)]
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
        write!(f, "HTTP {}: {}", self.status, self.message)?;
        if let Some(id) = &self.api_id {
            write!(f, " (api_id {id})")?;
        }
        Ok(())
    }
}

/// Every way a call into this crate can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A filter the API would reject; nothing was sent.
    #[error("invalid query: {field}: {message}")]
    Validation {
        /// The API parameter name (`end_time__gte`, `call_direction`, ...) or `query`.
        field: String,
        /// The rule that was broken.
        message: String,
    },
    /// A bad setting or argument (client configuration, checkpoint, paging argument).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// 401 or 403: the credentials were refused.
    #[error("unauthorized: {0}")]
    Unauthorized(ApiError),
    /// 404: no such account path or record.
    #[error("not found: {0}")]
    NotFound(ApiError),
    /// 429, still refused after the retries allowed.
    #[error("rate limited: {error}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// What the API said.
        error: ApiError,
        /// The last `Retry-After` the service sent, if any.
        retry_after: Option<Duration>,
    },
    /// 5xx, still failing after the retries allowed.
    #[error("server error: {0}")]
    Server(ApiError),
    /// Any other non-success status, such as the API's 400.
    #[error("request failed: {0}")]
    Http(ApiError),
    /// The connection could not be made or broke (refused, reset, DNS, TLS).
    #[error("transport error: {0}")]
    Transport(String),
    /// The service did not answer in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A response that could not be understood: bad JSON, wrong shape, too large.
    ///
    /// What the client reports about one HTTP answer it could not use is
    /// [`Error::BadAnswer`], which also carries the answer's status; this
    /// variant is for the decode functions called directly and for
    /// failures not tied to one answer (a pager's walk).
    #[error("bad response: {0}")]
    BadResponse(String),
    /// An HTTP answer (usually a `200`) whose body could not be used: bad
    /// JSON, wrong shape, more objects than the `limit` asked for, over the
    /// body cap or the decode budget. Never retried when the fault is the
    /// server's by construction (over the limit, the cap or the budget).
    #[error("bad response: {message} (HTTP {status} answer)")]
    BadAnswer {
        /// The status of the answer.
        status: u16,
        /// What was wrong with it.
        message: String,
    },
    /// Stopped by [`Canceller::cancel`](crate::Canceller::cancel).
    #[error("cancelled")]
    Cancelled,
}

impl Error {
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
