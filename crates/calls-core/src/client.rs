//! The client: configuration, the HTTP request with its retries, and one page.
//!
//! ```no_run
//! use std::time::Duration;
//! use calls_core::{CallQuery, Client, WindowPolicy};
//!
//! let client = Client::builder("MAXXXXXXXXXXXXXXXXXX", "token")
//!     .timeout(Duration::from_secs(20))
//!     .max_retries(3)
//!     .window_policy(WindowPolicy::new(30, 90, 90).expect("valid policy"))
//!     .build()?;
//! let page = client.list_page(&CallQuery::new().call_direction("inbound"), 20, 0)?;
//! println!("{} calls in the last 30 days", page.meta.total_count.unwrap_or(0));
//! # Ok::<(), calls_core::Error>(())
//! ```
//!
//! # Transport
//! TLS is rustls with the webpki roots (Mozilla's, compiled in); with the
//! `platform-verifier` feature, [`ClientBuilder::tls_roots`] can switch to the
//! operating system's verifier ([`TlsRoots::Platform`]), and
//! [`ClientBuilder::ca_file`] replaces the roots with the CA certificates of
//! a PEM file (a private CA, a TLS-inspecting proxy's). A server certificate
//! that is not trusted fails the request at once ([`Error::Transport`], not
//! retried), saying how to trust one. Proxies are taken from the standard
//! environment variables (`ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`,
//! and their lower-case forms). Redirects are never followed: the credentials
//! are sent to the configured host only, and a 3xx is reported as an error.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{ApiError, Error, Result};
use crate::model::{self, Call, Page};
use crate::policy::WindowPolicy;
use crate::query::CallQuery;
use crate::ratelimit::{GiveUp, RateLimiter, RateStats};
use crate::response;
use crate::retry::RetryPolicy;
use crate::trace::{self, LOG_TARGET, RequestHook, RequestLog};
use log::Level;

/// Plivo's API host.
pub const DEFAULT_BASE_URL: &str = "https://api.plivo.com";
/// The largest page size the API accepts.
pub const MAX_LIMIT: u32 = 20;

/// Which certificates `https://` connections are verified against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsRoots {
    /// Mozilla's root certificates, compiled in (webpki-roots). The default:
    /// the same on every machine, and not affected by roots added locally.
    #[default]
    WebPki,
    /// The operating system's verifier and trust store (rustls-platform-verifier),
    /// for networks whose TLS-inspecting proxy has its root installed there.
    /// Needs the crate feature `platform-verifier`; without it
    /// [`ClientBuilder::build`] refuses this choice.
    Platform,
}

/// Configuration for a [`Client`]; start with [`Client::builder`].
///
/// Its `Debug` output never shows the auth token.
#[derive(Clone)]
pub struct ClientBuilder {
    auth_id: String,
    auth_token: String,
    base_url: String,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    user_agent: String,
    policy: WindowPolicy,
    concurrency: usize,
    rate_max: u32,
    rate_per: Duration,
    max_body_bytes: u64,
    tls_roots: TlsRoots,
    ca_file: Option<PathBuf>,
    deadline: Option<Duration>,
    hook: Option<RequestHook>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("auth_id", &self.auth_id)
            .field("auth_token", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("policy", &self.policy)
            .field("concurrency", &self.concurrency)
            .field("rate_limit", &(self.rate_max, self.rate_per))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("tls_roots", &self.tls_roots)
            .field("ca_file", &self.ca_file)
            .field("deadline", &self.deadline)
            .field("on_request", &self.hook.is_some())
            .finish()
    }
}

impl ClientBuilder {
    /// The API's base URL (default `https://api.plivo.com`). `http://` is
    /// accepted only for loopback hosts (a local simulator).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// How long connecting (DNS, TCP, TLS) may take (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// How long one HTTP exchange, body included, may take (default 30 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Retries after the first attempt of a request (default 4).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// Every retry setting at once (backoff base and ceiling, `Retry-After` cap).
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.retry = p;
        self
    }

    /// The `User-Agent` header (default `calls/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// The service's window policy (default 7/30/90 days).
    pub fn window_policy(mut self, p: WindowPolicy) -> Self {
        self.policy = p;
        self
    }

    /// How many requests a pager may have in flight at once (default 4, 1..=64).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// The client-side request budget: at most `max` requests per `per`
    /// across every thread of the client (default 150 per 5 s). `max == 0`
    /// turns it off; `per` must then be longer than zero.
    ///
    /// The default is half of Plivo's account limit (300 per 5 s) so that
    /// other programs on the same account keep room. To use the whole
    /// account, `rate_limit(300, Duration::from_secs(5))`: the budget counts
    /// a request until `per` after its answer, as the service's window can,
    /// so it stays under the limit by itself. The budget is a ceiling: a 429
    /// lowers it, and it climbs back while requests succeed (see
    /// [`Client::rate_stats`]).
    pub fn rate_limit(mut self, max: u32, per: Duration) -> Self {
        self.rate_max = max;
        self.rate_per = per;
        self
    }

    /// The largest response body read (default 8 MiB; a page is tens of KiB).
    pub fn max_body_bytes(mut self, n: u64) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// No single library call (`list_page`, `get_call`, `fetch_all`, each
    /// `next` of a pager) blocks longer than `d`, retries and waits included:
    /// past it, [`Error::Timeout`]; a `Retry-After` reaching beyond it fails
    /// at once with [`Error::RateLimited`]. `None` (or zero): no deadline.
    /// Defaults to no deadline.
    pub fn deadline(mut self, d: Option<Duration>) -> Self {
        self.deadline = d.filter(|d| !d.is_zero());
        self
    }

    /// Which certificates `https://` connections are verified against
    /// (default [`TlsRoots::WebPki`]).
    pub fn tls_roots(mut self, roots: TlsRoots) -> Self {
        self.tls_roots = roots;
        self
    }

    /// Verifies `https://` servers against the CA certificates of this PEM
    /// file (every `CERTIFICATE` block in it) **instead of** the built-in
    /// roots, as libcurl's `CURLOPT_CAINFO`: for a private endpoint, or a
    /// network whose TLS-inspecting proxy has its own CA. To keep trusting
    /// the public CAs too, give a file that also holds them (the system
    /// bundle with the CA appended). The file is read by
    /// [`ClientBuilder::build`], which refuses one that cannot be read or
    /// holds no usable certificate, and the choice of
    /// [`TlsRoots::Platform`] with it. Defaults to none (the roots of
    /// [`ClientBuilder::tls_roots`]).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Calls `f` once for each attempt of each request sent: method, path
    /// and query (the account id shown as `{auth_id}`), status, duration,
    /// attempt number, and why it is retried; see [`RequestLog`] for the
    /// levels.
    /// It runs on the thread that sent the request: a pager's request
    /// threads included, so possibly on several at once; keep it short. The
    /// same lines go to the `log` facade (target `calls`) whether or not a
    /// hook is set. No credential appears in them. Defaults to none.
    pub fn on_request(mut self, f: impl Fn(&RequestLog<'_>) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(f));
        self
    }

    /// Checks every setting and builds the client.
    ///
    /// No error shows the token, even where a setting (such as a base URL
    /// with the token pasted into it) carries it.
    pub fn build(self) -> Result<Client> {
        let token = self.auth_token.clone();
        self.build_inner().map_err(|e| match e {
            Error::InvalidArgument(m) => {
                Error::InvalidArgument(crate::response::scrub(m, &[token.as_str()]))
            }
            other => other,
        })
    }

    fn build_inner(self) -> Result<Client> {
        check_auth_id(&self.auth_id)?;
        check_header_value("auth token", &self.auth_token)?;
        if self.auth_token.is_empty() {
            return Err(Error::InvalidArgument(
                "auth token must not be empty".into(),
            ));
        }
        check_header_value("user agent", &self.user_agent)?;
        let base = check_base_url(&self.base_url)?;
        if !(1..=64).contains(&self.concurrency) {
            return Err(Error::InvalidArgument(format!(
                "concurrency must be 1..=64, not {}",
                self.concurrency
            )));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::InvalidArgument(
                "timeouts must be longer than zero".into(),
            ));
        }
        // Bounded so that no `Instant + Duration` can overflow (and a day is
        // longer than any sensible wait for one page).
        for (name, d) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
            ("rate_limit period", self.rate_per),
            ("retry base", self.retry.base),
            ("retry max_backoff", self.retry.max_backoff),
            ("retry max_retry_after", self.retry.max_retry_after),
            ("deadline", self.deadline.unwrap_or_default()),
        ] {
            if d > MAX_SETTING_DURATION {
                return Err(Error::InvalidArgument(format!(
                    "{name} must be at most 24 hours, not {d:?}"
                )));
            }
        }
        if self.rate_max > 0 && self.rate_per.is_zero() {
            return Err(Error::InvalidArgument(
                "rate_limit period must be longer than zero (max 0 turns the limit off)".into(),
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(Error::InvalidArgument(
                "max_body_bytes must be at least 1024".into(),
            ));
        }
        WindowPolicy::new(
            self.policy.default_window_days,
            self.policy.max_range_days,
            self.policy.retention_days,
        )
        .map_err(Error::InvalidArgument)?;
        let root_certs = match (&self.ca_file, self.tls_roots) {
            (Some(path), TlsRoots::WebPki) => {
                ureq::tls::RootCerts::new_with_certs(&crate::tls::read_ca_file(path)?)
            }
            (Some(_), TlsRoots::Platform) => {
                return Err(Error::InvalidArgument(
                    "a CA file replaces the roots: it cannot be combined with TlsRoots::Platform"
                        .into(),
                ));
            }
            (None, TlsRoots::WebPki) => ureq::tls::RootCerts::WebPki,
            // Without the feature ureq would panic on the first https request.
            #[cfg(feature = "platform-verifier")]
            (None, TlsRoots::Platform) => ureq::tls::RootCerts::PlatformVerifier,
            #[cfg(not(feature = "platform-verifier"))]
            (None, TlsRoots::Platform) => {
                return Err(Error::InvalidArgument(
                    "TlsRoots::Platform: built without the platform-verifier feature".into(),
                ));
            }
        };
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(root_certs)
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_connect(Some(self.connect_timeout))
            .timeout_global(Some(self.timeout))
            .user_agent(self.user_agent.as_str())
            .max_idle_connections_per_host(self.concurrency.max(4) * 2)
            .tls_config(tls)
            .build();
        let auth_header = format!(
            "Basic {}",
            base64(format!("{}:{}", self.auth_id, self.auth_token).as_bytes())
        );
        let endpoint = format!("{base}/v1/Account/{}/Zentrunk/Call/", self.auth_id);
        let live_secrets = crate::error::LiveSecrets::register(&[
            auth_header.strip_prefix("Basic ").unwrap_or_default(),
            &self.auth_token,
        ]);
        Ok(Client {
            inner: Arc::new(Inner {
                live_secrets,
                agent: ureq::Agent::new_with_config(config),
                auth_header,
                token: self.auth_token,
                auth_id: self.auth_id,
                endpoint,
                policy: self.policy,
                retry: self.retry,
                limiter: RateLimiter::new(self.rate_max, self.rate_per),
                concurrency: self.concurrency,
                max_body: self.max_body_bytes,
                deadline: self.deadline,
                timeout: self.timeout,
                hook: self.hook,
                reply_bound: reply_bound(
                    self.connect_timeout + self.timeout,
                    &self.retry,
                    self.rate_per,
                ),
            }),
        })
    }
}

/// A blocking client of the Zentrunk CDR endpoint.
///
/// Cheap to clone (the clones share one connection pool and one rate
/// limiter) and safe to use from many threads at once. Its `Debug` output
/// never shows the auth token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// This client's secrets, masked in every error message while it lives.
    #[allow(dead_code)]
    live_secrets: crate::error::LiveSecrets,
    agent: ureq::Agent,
    auth_header: String,
    token: String,
    auth_id: String,
    endpoint: String,
    policy: WindowPolicy,
    retry: RetryPolicy,
    limiter: RateLimiter,
    concurrency: usize,
    max_body: u64,
    /// No single library call blocks longer (see [`ClientBuilder::deadline`]).
    deadline: Option<Duration>,
    /// The timeout of one attempt.
    timeout: Duration,
    hook: Option<RequestHook>,
    /// The longest one logical request can take (see [`reply_bound`]).
    reply_bound: Duration,
}

/// The longest one logical request can take: every attempt timing out, the
/// longest wait before each retry, and a generous allowance for the rate
/// budget (other threads ahead of it). A pager waiting longer for an answer
/// reports a timeout rather than wait forever.
fn reply_bound(attempt: Duration, retry: &RetryPolicy, rate_per: Duration) -> Duration {
    let tries = retry.max_retries.saturating_add(1);
    let wait = retry.max_backoff.max(retry.max_retry_after);
    attempt
        .saturating_add(wait)
        .saturating_mul(tries)
        .saturating_add(rate_per.saturating_mul(64))
        .saturating_add(Duration::from_secs(60))
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("auth_id", &self.inner.auth_id)
            .field("endpoint", &self.inner.endpoint)
            .field("policy", &self.inner.policy)
            .field("retry", &self.inner.retry)
            .field("concurrency", &self.inner.concurrency)
            .finish_non_exhaustive()
    }
}

/// The longest text an error message takes from a response or a transport.
const MAX_MESSAGE_CHARS: usize = 1000;

/// The most characters of a log line.
const MAX_LOG_CHARS: usize = 3000;

/// One attempt, as a log line tells it.
#[derive(Clone, Copy)]
struct Trace<'a> {
    path: &'a str,
    status: Option<u16>,
    took: Duration,
    attempt: u32,
}

impl<'a> Trace<'a> {
    fn new(path: &'a str, status: Option<u16>, took: Duration, attempt: u32) -> Self {
        Trace {
            path,
            status,
            took,
            attempt,
        }
    }
}

/// The longest any duration setting may be.
const MAX_SETTING_DURATION: Duration = Duration::from_secs(24 * 3600);

/// What one logical request took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// HTTP exchanges sent (1 + retries).
    pub sent: u32,
    /// Time spent waiting for the rate limiter and between retries.
    pub waited: Duration,
}

impl Client {
    /// Starts configuring a client for one account.
    pub fn builder(auth_id: impl Into<String>, auth_token: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            auth_id: auth_id.into(),
            auth_token: auth_token.into(),
            base_url: DEFAULT_BASE_URL.to_string(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            user_agent: format!("calls/{}", env!("CARGO_PKG_VERSION")),
            policy: WindowPolicy::default(),
            concurrency: 4,
            rate_max: 150,
            rate_per: Duration::from_secs(5),
            max_body_bytes: 8 * 1024 * 1024,
            tls_roots: TlsRoots::WebPki,
            ca_file: None,
            deadline: None,
            hook: None,
        }
    }

    /// A builder from `PLIVO_AUTH_ID`, `PLIVO_AUTH_TOKEN` and, if set, `PLIVO_API_URL`.
    pub fn builder_from_env() -> Result<ClientBuilder> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Error::InvalidArgument(format!("{name} is not set")))
        };
        let mut b = Client::builder(var("PLIVO_AUTH_ID")?, var("PLIVO_AUTH_TOKEN")?);
        if let Ok(url) = var("PLIVO_API_URL") {
            b = b.base_url(url);
        }
        Ok(b)
    }

    /// The account id this client reads.
    pub fn auth_id(&self) -> &str {
        &self.inner.auth_id
    }

    /// The window policy this client applies.
    pub fn policy(&self) -> WindowPolicy {
        self.inner.policy
    }

    /// When a library call starting now must be over ([`ClientBuilder::deadline`]).
    pub(crate) fn until(&self) -> Option<Instant> {
        let now = Instant::now();
        self.inner.deadline.and_then(|d| now.checked_add(d))
    }

    /// The longest a pager waits for one request's answer.
    pub(crate) fn reply_bound(&self) -> Duration {
        self.inner.reply_bound
    }

    /// How many requests a pager of this client may have in flight.
    pub fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// Fetches one page: `limit` (1..=20) calls from `offset`, newest first.
    ///
    /// The query is validated first (its own rules and the window policy, as
    /// the service would apply them); nothing is sent for an invalid one.
    /// This is one logical request: 429, 500/502/503/504, dropped
    /// connections, timeouts and undecodable bodies are retried up to
    /// `max_retries` times.
    pub fn list_page(&self, query: &CallQuery, limit: u32, offset: u64) -> Result<Page> {
        check_limit(limit)?;
        query.validate()?;
        query.validate_window(&self.inner.policy, chrono::Utc::now())?;
        self.fetch_page(&query.to_query_string(), limit, offset, self.until())
            .0
    }

    /// Fetches one call by its `call_uuid`.
    pub fn get_call(&self, call_uuid: &str) -> Result<Call> {
        if call_uuid.is_empty()
            || call_uuid.len() > 64
            || !call_uuid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Error::validation(
                "call_uuid",
                "must be 1..=64 letters, digits or '-'",
            ));
        }
        let url = format!("{}{}/", self.inner.endpoint, call_uuid);
        self.send(&url, model::decode_call, self.until()).0
    }

    /// One page by an already validated, encoded query string.
    pub(crate) fn fetch_page(
        &self,
        query_string: &str,
        limit: u32,
        offset: u64,
        until: Option<Instant>,
    ) -> (Result<Page>, Attempts) {
        let sep = if query_string.is_empty() { "" } else { "&" };
        let url = format!(
            "{}?{query_string}{sep}limit={limit}&offset={offset}",
            self.inner.endpoint
        );
        self.send(&url, |b| model::decode_page_with_limit(b, limit), until)
    }

    /// Sends a GET with retries and decodes the body. The attempts are
    /// returned whatever the outcome, so that a failed request still counts.
    ///
    /// A request answered 429 on every attempt ends after `max_retries + 1`
    /// attempts with the last 429 as its error; each of its waits for a
    /// pause (its own or one another thread's 429 set) is at most
    /// `max_retry_after`, else it ends there: at most
    /// `max_retries × max_retry_after` of pauses in all.
    ///
    /// The decode runs with the client's secrets (removed from any value it
    /// quotes before that is shortened) and a budget of the body cap for the
    /// structure of fields it does not model. A body refused for what it is
    /// (more objects than asked for, over the budget) is not sent for again.
    fn send<T>(
        &self,
        url: &str,
        decode: impl Fn(&[u8]) -> Result<T>,
        until: Option<Instant>,
    ) -> (Result<T>, Attempts) {
        let inner = &*self.inner;
        let late = |attempts: &Attempts, what: &str| {
            Error::Timeout(format!(
                "the deadline ({:?}) was reached {what} after {} attempt(s)",
                inner.deadline.unwrap_or_default(),
                attempts.sent
            ))
        };
        let mut attempts = Attempts::default();
        let path = response::redact_text(
            trace::shown_path(url, &inner.auth_id),
            &self.secrets(),
            MAX_LOG_CHARS,
        );
        // The last 429, while retrying one.
        let mut storm: Option<Error> = None;
        loop {
            // After a 429, no wait for a pause (this thread's or another's)
            // may be longer than the longest Retry-After honoured.
            let max_pause = storm.as_ref().map(|_| inner.retry.max_retry_after);
            let permit = match inner.limiter.acquire_by(max_pause, until) {
                Ok((permit, waited)) => {
                    attempts.waited += waited;
                    permit
                }
                Err(GiveUp::Paused(end)) => {
                    let err = match storm {
                        Some(e) => e,
                        // Another request's 429 paused the account past the deadline.
                        None => Error::RateLimited {
                            error: ApiError {
                                status: 429,
                                message: format!(
                                    "the account is paused for {:?} more by an earlier 429, \
                                     beyond the deadline ({:?})",
                                    end.saturating_duration_since(Instant::now()),
                                    inner.deadline.unwrap_or_default()
                                ),
                                api_id: None,
                            },
                            retry_after: Some(end.saturating_duration_since(Instant::now())),
                        },
                    };
                    return (Err(self.redact(err)), attempts);
                }
                Err(GiveUp::Deadline) => {
                    let err = match storm {
                        Some(e) => e,
                        None => late(&attempts, "waiting for the request budget"),
                    };
                    return (Err(self.redact(err)), attempts);
                }
            };
            // What is left of the deadline bounds this attempt too.
            let attempt_timeout = match until {
                Some(u) => {
                    let left = u.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        permit.answered();
                        return (Err(late(&attempts, "before an attempt")), attempts);
                    }
                    left.min(inner.timeout)
                }
                None => inner.timeout,
            };
            attempts.sent += 1;
            let request = inner
                .agent
                .get(url)
                .header("Authorization", inner.auth_header.as_str())
                .header("Accept", "application/json")
                .config()
                .timeout_global(Some(attempt_timeout))
                .build();
            let started = Instant::now();
            // Each failure comes with whether sending again may help.
            let outcome = match request.call() {
                // A certificate not trusted: final, whatever else the error is.
                Err(e) => Err(crate::tls::certificate_error(&e)
                    .map_or_else(|| response::transport_error(e), |c| (c, false))),
                Ok(resp) => match response::read(resp, inner.max_body, &self.secrets()) {
                    Err(e) => {
                        let retried = match &e {
                            Error::Transport(_) | Error::Timeout(_) => true,
                            other => other.status().is_some_and(response::status_is_retried),
                        };
                        Err((e, retried))
                    }
                    Ok((status, body)) => {
                        let budget = usize::try_from(inner.max_body).unwrap_or(usize::MAX);
                        let (decoded, fatal) =
                            response::with_decode_context(&self.secrets(), budget, || {
                                decode(&body)
                            });
                        drop(body);
                        // A body that arrived whole but does not decode is a
                        // corrupted transfer, unless what it holds is the refusal.
                        decoded.map(|v| (v, status)).map_err(|e| {
                            let e = match e {
                                Error::BadResponse(message) => Error::BadAnswer { status, message },
                                other => other,
                            };
                            (e, fatal.is_none())
                        })
                    }
                },
            };
            let took = started.elapsed();
            let retry = attempts.sent - 1;
            let (err, retried) = match outcome {
                Ok((v, status)) => {
                    permit.accepted();
                    let t = Trace::new(&path, Some(status), took, attempts.sent);
                    self.trace(Level::Debug, t, "", None);
                    return (Ok(v), attempts);
                }
                Err((e, retried)) => (self.redact(e), retried),
            };
            let t = Trace::new(&path, err.status(), took, attempts.sent);
            let why_final = |retried: bool| {
                if retried {
                    format!("; giving up after {} attempt(s): {err}", attempts.sent)
                } else {
                    format!("; not retried: {err}")
                }
            };
            if let Error::RateLimited { retry_after, .. } = &err {
                // Every thread of the client waits out the pause (this one in
                // `acquire`), and the budget drops.
                let wait = inner.retry.wait_for_429(retry, *retry_after);
                let now = Instant::now();
                permit.rate_limited(now.checked_add(wait).unwrap_or(now));
                // A pause reaching beyond the deadline: fail now, not then.
                let beyond = until.is_some_and(|u| now.checked_add(wait).is_none_or(|t| t > u));
                if beyond && retried && retry < inner.retry.max_retries {
                    let why = format!("; the pause of {wait:?} reaches beyond the deadline: {err}");
                    self.trace(Level::Error, t, &why, None);
                    return (Err(err), attempts);
                }
                if !retried || retry >= inner.retry.max_retries {
                    self.trace(Level::Error, t, &why_final(retried), None);
                    return (Err(err), attempts);
                }
                let why = format!("retrying after a pause of {wait:?}: {err}");
                self.trace(Level::Warn, t, &format!("; {why}"), Some(&why));
                storm = Some(err);
                continue;
            }
            permit.answered();
            if !retried || retry >= inner.retry.max_retries {
                self.trace(Level::Error, t, &why_final(retried), None);
                return (Err(err), attempts);
            }
            let wait = inner.retry.backoff(retry);
            if until.is_some_and(|u| Instant::now().checked_add(wait).is_none_or(|t| t > u)) {
                let why = format!("; no time left before the deadline for a retry: {err}");
                self.trace(Level::Error, t, &why, None);
                let e = late(&attempts, &format!("before a retry (last error: {err})"));
                return (Err(self.redact(e)), attempts);
            }
            let why = format!("retrying in {wait:?}: {err}");
            self.trace(Level::Warn, t, &format!("; {why}"), Some(&why));
            attempts.waited += wait;
            std::thread::sleep(wait);
        }
    }

    /// Sends one attempt's line to the `log` facade and the request hook,
    /// scrubbed of the client's secrets.
    fn trace(&self, level: Level, t: Trace<'_>, outcome: &str, retry: Option<&str>) {
        let hook = self.inner.hook.as_ref();
        if hook.is_none() && !log::log_enabled!(target: LOG_TARGET, level) {
            return;
        }
        let secrets = self.secrets();
        let message = trace::line("GET", t.path, t.status, t.took, t.attempt, outcome);
        let message = response::redact_text(message, &secrets, MAX_LOG_CHARS);
        log::log!(target: LOG_TARGET, level, "{message}");
        if let Some(hook) = hook {
            let retry =
                retry.map(|r| response::redact_text(r.to_string(), &secrets, MAX_LOG_CHARS));
            hook(&RequestLog {
                level,
                method: "GET",
                path: t.path,
                status: t.status,
                duration: t.took,
                attempt: t.attempt,
                retry: retry.as_deref(),
                message: &message,
            });
        }
    }

    /// The client's request counters: every request of this client and its
    /// clones, across pagers and threads (429s, time waiting on the budget
    /// and on `Retry-After`, the effective budget and request rate).
    pub fn rate_stats(&self) -> RateStats {
        self.inner.limiter.stats()
    }

    /// The texts no message may show: the base64 `auth_id:token` of the
    /// Basic credentials and the token itself.
    fn secrets(&self) -> [&str; 2] {
        let basic = self
            .inner
            .auth_header
            .strip_prefix("Basic ")
            .unwrap_or_default();
        [basic, self.inner.token.as_str()]
    }

    /// Removes the token, and the base64 `auth_id:token` of the Basic
    /// credentials (a server may echo the header), from any text of an
    /// error, whatever produced it.
    pub(crate) fn redact(&self, e: Error) -> Error {
        let secrets = self.secrets();
        // Whole secrets first, then any piece of one, then the length.
        let scrub = |s: String| response::redact_text(s, &secrets, MAX_MESSAGE_CHARS);
        match e {
            Error::Unauthorized(mut a) => {
                a.message = scrub(a.message);
                a.api_id = a.api_id.map(scrub);
                Error::Unauthorized(a)
            }
            Error::NotFound(mut a) => {
                a.message = scrub(a.message);
                a.api_id = a.api_id.map(scrub);
                Error::NotFound(a)
            }
            Error::Server(mut a) => {
                a.message = scrub(a.message);
                a.api_id = a.api_id.map(scrub);
                Error::Server(a)
            }
            Error::Http(mut a) => {
                a.message = scrub(a.message);
                a.api_id = a.api_id.map(scrub);
                Error::Http(a)
            }
            Error::RateLimited {
                mut error,
                retry_after,
            } => {
                error.message = scrub(error.message);
                error.api_id = error.api_id.map(scrub);
                Error::RateLimited { error, retry_after }
            }
            Error::Transport(m) => Error::Transport(scrub(m)),
            Error::Timeout(m) => Error::Timeout(scrub(m)),
            Error::BadResponse(m) => Error::BadResponse(scrub(m)),
            Error::BadAnswer { status, message } => Error::BadAnswer {
                status,
                message: scrub(message),
            },
            other => other,
        }
    }
}

/// A page size the API accepts. Outside it is the caller's mistake, not a
/// filter the API would refuse: [`Error::InvalidArgument`].
pub(crate) fn check_limit(limit: u32) -> Result<()> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "limit must be 1..={MAX_LIMIT}, not {limit}"
        )))
    }
}

fn check_auth_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::InvalidArgument(
            "auth id must be 1..=64 letters, digits, '_' or '-'".into(),
        ));
    }
    Ok(())
}

/// Refuses control characters (CR/LF header injection) and non-ASCII in a header value.
fn check_header_value(what: &str, v: &str) -> Result<()> {
    if v.len() > 1024 {
        return Err(Error::InvalidArgument(format!(
            "{what} is longer than 1024 bytes"
        )));
    }
    if v.bytes().any(|b| b.is_ascii_control() || !b.is_ascii()) {
        return Err(Error::InvalidArgument(format!(
            "{what} must be printable ASCII (no control characters such as CR or LF)"
        )));
    }
    Ok(())
}

/// Checks a base URL and returns it without a trailing slash.
fn check_base_url(url: &str) -> Result<String> {
    // Shown without any userinfo (`user:password@`), which could be a secret.
    let shown = match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => format!("{scheme}://<redacted>@{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    };
    let bad = |why: &str| {
        Err(Error::InvalidArgument(format!(
            "base URL `{}`: {why}",
            shown.chars().take(100).collect::<String>()
        )))
    };
    if url.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return bad("must not contain spaces or control characters");
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => return bad("must start with https://"),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if rest[authority.len()..].contains(['?', '#']) {
        return bad("must not have a query or fragment");
    }
    if authority.contains('@') {
        return bad("must not carry credentials; pass them to Client::builder");
    }
    if authority.is_empty() {
        return bad("has no host");
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    match scheme.as_str() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return bad(
                "http:// is allowed only for loopback hosts (127.0.0.1, ::1, localhost); use https://",
            );
        }
        _ => return bad("must start with https://"),
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Standard base64 with padding (RFC 4648), for the Basic credentials.
fn base64(input: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            check_base_url("https://api.plivo.com/").unwrap(),
            "https://api.plivo.com"
        );
        assert!(check_base_url("http://127.0.0.1:8080").is_ok());
        assert!(check_base_url("http://127.8.9.1:8080").is_ok());
        assert!(check_base_url("http://localhost:1").is_ok());
        assert!(check_base_url("http://[::1]:8080/").is_ok());
        assert!(check_base_url("HTTPS://api.plivo.com").is_ok());
        for bad in [
            "http://api.plivo.com",
            "http://10.0.0.1",
            "ftp://x",
            "api.plivo.com",
            "https://",
            "https://u:p@api.plivo.com",
            "https://a.com/\r\nX: y",
            "https://a.com/?x=1",
            "http://127.0.0.1.evil.com",
        ] {
            let e = check_base_url(bad).unwrap_err().to_string();
            assert!(e.contains("base URL"), "{bad}: {e}");
        }
    }

    #[test]
    fn builder_refuses_bad_settings() {
        let ok = || Client::builder("MA123", "tok").base_url("http://127.0.0.1:1");
        assert!(ok().build().is_ok());
        assert!(Client::builder("", "t").build().is_err());
        assert!(Client::builder("MA1/../x", "t").build().is_err());
        assert!(Client::builder("MA1", "").build().is_err());
        assert!(Client::builder("MA1", "tok\r\nX-Evil: 1").build().is_err());
        assert!(ok().user_agent("ua\nX: 1").build().is_err());
        assert!(ok().concurrency(0).build().is_err());
        assert!(ok().concurrency(65).build().is_err());
        assert!(ok().timeout(Duration::ZERO).build().is_err());
        assert!(ok().max_body_bytes(10).build().is_err());
        assert!(ok().rate_limit(1, Duration::ZERO).build().is_err());
        assert!(ok().rate_limit(0, Duration::ZERO).build().is_ok());
        let bad_policy = WindowPolicy {
            default_window_days: 0,
            max_range_days: 30,
            retention_days: 90,
        };
        assert!(ok().window_policy(bad_policy).build().is_err());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let secret = "s3cr3t-TOKEN-value";
        let b = Client::builder("MA123", secret).base_url("http://127.0.0.1:1");
        assert!(!format!("{b:?}").contains(secret));
        let c = b.build().unwrap();
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("MA123"));
        // Nor its base64 form.
        assert!(!shown.contains(&base64(format!("MA123:{secret}").as_bytes())));
    }

    #[test]
    fn limit_is_checked() {
        assert!(matches!(check_limit(0), Err(Error::InvalidArgument(_))));
        assert!(matches!(check_limit(21), Err(Error::InvalidArgument(_))));
        assert!(check_limit(1).is_ok() && check_limit(20).is_ok());
    }
}
