//! Client configuration and the client: `calls_client_builder_*`,
//! `calls_client_*` and the one-shot requests (`list_page`, `fetch_all`).

use std::ffi::{c_char, c_void};
use std::time::Duration;

use calls_core::RetryPolicy;
use calls_core::{Client, ClientBuilder, WindowPolicy};

use crate::boundary::{Failure, ffi_call, ffi_void, mark_http_ok};
use crate::callback::{
    CALLS_LOG_DEBUG, CALLS_LOG_ERROR, UserData, calls_log_callback, calls_log_level, log_fn,
};
use crate::ptr::{OutHandle, OutString, free_box, try_mut, try_ref, try_str};
use crate::query::calls_query;
use crate::*;

/// The settings of a client being configured (opaque).
///
/// Made by `calls_client_builder_new` or `calls_client_builder_from_env`,
/// consumed by `calls_client_builder_build` (or released with
/// `calls_client_builder_free`). Use from one thread at a time.
pub struct calls_client_builder {
    /// calls-core's builder is by-value; `None` only if a setter panicked.
    builder: Option<ClientBuilder>,
    /// The retry settings given so far (`calls_client_builder_set_max_retries`
    /// and `calls_client_builder_set_retry_policy` each change a part).
    pub(crate) retry: RetryPolicy,
}

/// A client of the call-records API for one account (opaque).
///
/// Made by `calls_client_builder_build`, released with `calls_client_free`.
/// A `const calls_client *` may be used from many threads at once; its
/// connection pool and rate limiter are shared.
pub struct calls_client {
    pub(crate) client: Client,
}

impl calls_client_builder {
    pub(crate) fn update(
        &mut self,
        f: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> Result<(), Failure> {
        let b = self.builder.take().ok_or_else(|| {
            Failure::invalid("this builder is unusable after an earlier internal error")
        })?;
        self.builder = Some(f(b));
        Ok(())
    }
}

/// Starts configuring a client for one account.
///
/// `auth_id` and `auth_token` are copied; they are checked by
/// `calls_client_builder_build`. Defaults: base URL `https://api.plivo.com`,
/// timeout 30 s (connect 10 s), 4 retries (backoff 100 ms doubling up to 5 s,
/// `Retry-After` honoured up to 60 s), user agent `calls/<version>`, body cap
/// 8 MiB, TLS verified against the built-in (webpki) roots, concurrency 4, window policy 7/30/90 days, a
/// budget of 150 requests per 5 s (`calls_client_builder_set_rate_limit`).
///
/// On success `*out` is a new builder owned by the caller (pass it to
/// `calls_client_builder_build` or `calls_client_builder_free`); on failure it
/// is NULL. Errors: NULL_PARAMETER, INVALID_ARGUMENT (not UTF-8).
///
/// # Safety
/// The strings are NULL or NUL-terminated; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_new(
    auth_id: *const c_char,
    auth_token: *const c_char,
    out: *mut *mut calls_client_builder,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all blocks below): forwarded from this function's contract.
        let out = unsafe { OutHandle::new(out, "out") }?;
        let id = unsafe { try_str(auth_id, "auth_id") }?;
        let token = unsafe { try_str(auth_token, "auth_token") }?;
        out.set(calls_client_builder {
            builder: Some(Client::builder(id, token)),
            retry: RetryPolicy::default(),
        });
        Ok(CALLS_RESULT_OK)
    })
}

/// Starts configuring a client from the environment: `PLIVO_AUTH_ID`,
/// `PLIVO_AUTH_TOKEN` and, if set and not empty, `PLIVO_API_URL` (the base URL).
///
/// On success `*out` is a new builder owned by the caller; on failure it is
/// NULL. Errors: NULL_PARAMETER, INVALID_ARGUMENT (a variable is unset, empty
/// or not UTF-8). Reads the environment: do not call it while another thread
/// modifies the environment.
///
/// # Safety
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_from_env(
    out: *mut *mut calls_client_builder,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { OutHandle::new(out, "out") }?;
        let b = Client::builder_from_env()?;
        out.set(calls_client_builder {
            builder: Some(b),
            retry: RetryPolicy::default(),
        });
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets the API's base URL (default `https://api.plivo.com`; `http://` is
/// accepted only for loopback hosts such as a local simulator).
///
/// The URL is copied and checked by `calls_client_builder_build` (which then
/// fails with INVALID_ARGUMENT). Errors here: NULL_PARAMETER,
/// INVALID_ARGUMENT (not UTF-8).
///
/// # Safety
/// `b` is NULL or a live builder; `url` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_base_url(
    b: *mut calls_client_builder,
    url: *const c_char,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let b = unsafe { try_mut(b, "b") }?;
        let url = unsafe { try_str(url, "url") }?.to_owned();
        b.update(|x| x.base_url(url))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets how long one HTTP exchange, body included, may take, in milliseconds
/// (default 30000). 0 is refused by `calls_client_builder_build`.
/// Errors here: NULL_PARAMETER.
///
/// # Safety
/// `b` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_timeout_ms(
    b: *mut calls_client_builder,
    ms: u32,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(b, "b") }?;
        b.update(|x| x.timeout(Duration::from_millis(u64::from(ms))))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets a deadline in milliseconds for every single library call made with
/// the client (`calls_client_list_page`, `calls_client_fetch_all` and each
/// `calls_pager_next*`): none blocks longer, retries and waits included; past
/// it, CALLS_RESULT_TIMEOUT; a `Retry-After` reaching beyond it fails at once
/// with CALLS_RESULT_RATE_LIMITED. Each HTTP attempt's timeout is cut to what
/// is left. 0 means no deadline. Defaults to 0 (no deadline); at most
/// 86400000 (24 h), checked by `calls_client_builder_build`.
/// Errors here: NULL_PARAMETER.
///
/// # Safety
/// `builder` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_deadline_ms(
    builder: *mut calls_client_builder,
    ms: u32,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(builder, "builder") }?;
        b.update(|x| x.deadline(Some(Duration::from_millis(u64::from(ms)))))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets the log callback of the clients this builder makes:
/// `callback(record, user_data)` is called once for each attempt of each
/// request sent whose level is at most `max_level` (`CALLS_LOG_ERROR` 1: a
/// request that failed for good; `CALLS_LOG_WARN` 2: an attempt retried,
/// with why; `CALLS_LOG_DEBUG` 4: a request answered), with the method, path
/// and query, status, duration and attempt number (see `calls_log_record`
/// and `calls_log_callback`: it may run on several threads at once). No
/// credential appears in a record, whole or in part. Defaults to none.
/// Errors: NULL_PARAMETER (`builder` or `callback`), INVALID_ARGUMENT
/// (`max_level` outside 1..=4).
///
/// # Safety
/// `builder` is NULL or a live builder; `callback`, when not NULL, is a
/// thread-safe function of the type's signature that does not unwind (no
/// C++ exception, no `longjmp`) and stays callable, with `user_data` valid,
/// while any client built here or pager made from one is alive, and after
/// their free for as long as a request they started is still running (see
/// `calls_log_callback`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_log(
    builder: *mut calls_client_builder,
    callback: calls_log_callback,
    user_data: *mut c_void,
    max_level: calls_log_level,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(builder, "builder") }?;
        let cb = callback.ok_or_else(|| Failure::null("callback"))?;
        if !(CALLS_LOG_ERROR..=CALLS_LOG_DEBUG).contains(&max_level) {
            return Err(Failure::invalid(format!(
                "max_level must be CALLS_LOG_ERROR (1) .. CALLS_LOG_DEBUG (4), not {max_level}"
            )));
        }
        b.update(|x| x.on_request(log_fn(cb, UserData(user_data), max_level)))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets how many times a failed request is sent again (429, 5xx, dropped
/// connections, timeouts, undecodable bodies); default 4, 0 = never.
/// Errors: NULL_PARAMETER.
///
/// # Safety
/// `b` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_max_retries(
    b: *mut calls_client_builder,
    n: u32,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(b, "b") }?;
        b.retry.max_retries = n;
        b.update(|x| x.max_retries(n))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets how many page requests a pager may have in flight at once (default 4;
/// `calls_client_builder_build` refuses values outside 1..=64).
/// Errors here: NULL_PARAMETER.
///
/// # Safety
/// `b` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_concurrency(
    b: *mut calls_client_builder,
    n: u32,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(b, "b") }?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        b.update(|x| x.concurrency(n))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets the client-side request budget: at most `max_requests` requests in
/// any `per_ms` milliseconds, across every thread and pager of the client.
/// `max_requests == 0` means no client-side limit (`per_ms` is then ignored).
///
/// The default is 150 requests per 5000 ms, half of Plivo's account limit
/// (300 requests per 5 seconds), so that other programs using the same
/// account keep room. To use the whole account,
/// `calls_client_builder_set_rate_limit(builder, 300, 5000)`: a request is
/// counted until `per_ms` after its answer arrived, the latest the service
/// can have counted it, so a budget equal to the limit stays under it. The
/// budget is a ceiling: a 429 pauses every thread for its `Retry-After` and
/// lowers the budget, which then climbs back while requests succeed; clients
/// sharing one account each settle to a share.
///
/// A 429 storm ends: with retries on, a request answered only 429 ends in
/// CALLS_RESULT_RATE_LIMITED after max_retries + 1 attempts, each wait for a
/// Retry-After pause (its own or one set by another thread) at most 60 s
/// (longer Retry-Afters are cut to 60 s): with the default 4 retries, within
/// 4 minutes of pauses plus 5 × the request timeout (30 s) plus the budget's
/// own spacing.
///
/// Errors: NULL_PARAMETER, INVALID_ARGUMENT (`per_ms == 0` with a limit, or
/// more than 24 hours).
///
/// # Safety
/// `builder` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_rate_limit(
    builder: *mut calls_client_builder,
    max_requests: u32,
    per_ms: u32,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(builder, "builder") }?;
        if max_requests > 0 && per_ms == 0 {
            return Err(Failure::invalid(
                "per_ms must be longer than 0 when max_requests is not 0 (0 requests = no limit)",
            ));
        }
        if u64::from(per_ms) > 24 * 3600 * 1000 {
            return Err(Failure::invalid(format!(
                "per_ms must be at most 24 hours, not {per_ms}"
            )));
        }
        let per = Duration::from_millis(u64::from(per_ms));
        b.update(|x| x.rate_limit(max_requests, per))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// The client's request counters as a JSON object, covering every request of
/// the client (all its pagers and threads) so far: `requests`,
/// `answered_429`, `waited_budget_ms` and `waited_retry_after_ms` (summed
/// over threads), `active_ms` (first request to last answer),
/// `requests_per_second` (over `active_ms`), `budget` (the effective budget
/// now) and `ceiling` (the configured one), both per `per_ms`, 0 = no limit.
///
/// Ownership of `*json_out` and `*len_out` as for `calls_client_list_page`.
/// Errors: NULL_PARAMETER. `c` may be shared by many threads at once.
///
/// # Safety
/// `c` is NULL or a live client; `json_out` and `len_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_stats(
    c: *const calls_client,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let out = unsafe { OutString::new(json_out, len_out, "json_out") }?;
        let c = unsafe { try_ref(c, "c") }?;
        out.set_json(&rate_stats_json(&c.client.rate_stats()))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// The JSON of a client's request counters (`calls_client_stats`, and
/// `"client"` in `calls_pager_stats`).
pub(crate) fn rate_stats_json(s: &calls_core::RateStats) -> serde_json::Value {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    serde_json::json!({
        "requests": s.requests,
        "answered_429": s.answered_429,
        "waited_budget_ms": ms(s.waited_budget),
        "waited_retry_after_ms": ms(s.waited_retry_after),
        "active_ms": ms(s.active),
        "requests_per_second": (s.requests_per_second() * 100.0).round() / 100.0,
        "budget": s.budget,
        "ceiling": s.ceiling,
    })
}

/// Sets the service's time-window policy, in days: the window searched when
/// a query has no `end_time` filter (default 7), the widest `end_time` range
/// one request may ask for (default 30), and how far back records exist
/// (default 90). `calls_client_builder_build` refuses 0s and windows longer
/// than the retention. Errors here: NULL_PARAMETER.
///
/// # Safety
/// `b` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_window_policy(
    b: *mut calls_client_builder,
    default_window_days: u32,
    max_range_days: u32,
    retention_days: u32,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(b, "b") }?;
        let policy = WindowPolicy {
            default_window_days,
            max_range_days,
            retention_days,
        };
        b.update(|x| x.window_policy(policy))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Checks every setting and builds the client.
///
/// Always consumes `b`, success or not: do not use or free it afterwards.
/// On success `*out` is a new client owned by the caller (release it with
/// `calls_client_free`); on failure it is NULL. Nothing is sent.
/// Errors: NULL_PARAMETER, INVALID_ARGUMENT (a bad auth id or token, a base
/// URL that is not https:// or loopback http://, timeout 0, concurrency
/// outside 1..=64, a bad window policy).
///
/// # Safety
/// `b` is NULL or a live builder not used again; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_build(
    b: *mut calls_client_builder,
    out: *mut *mut calls_client,
) -> calls_result {
    ffi_call(|| {
        // Take b first: it is consumed whatever happens next.
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { free_box(b) };
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { OutHandle::new(out, "out") }?;
        let b = b.ok_or_else(|| Failure::null("b"))?;
        let builder = b.builder.ok_or_else(|| {
            Failure::invalid("this builder is unusable after an earlier internal error")
        })?;
        let client = builder.build()?;
        out.set(calls_client { client });
        Ok(CALLS_RESULT_OK)
    })
}

/// Releases a builder that was not passed to `calls_client_builder_build`.
/// NULL does nothing.
///
/// # Safety
/// `b` is NULL or a live builder not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_free(b: *mut calls_client_builder) {
    // SAFETY: forwarded from this function's contract.
    ffi_void(|| drop(unsafe { free_box(b) }));
}

/// Releases a client. Pagers made from it keep working (they share its
/// connection pool). NULL does nothing. No other thread may be using it.
///
/// # Safety
/// `c` is NULL or a live client not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_free(c: *mut calls_client) {
    // SAFETY: forwarded from this function's contract.
    ffi_void(|| drop(unsafe { free_box(c) }));
}

/// Fetches one page: `limit` (1..=20) calls from `offset`, newest first, as
/// the API's JSON object with every field kept: `{"api_id": ..., "meta":
/// {...}, "objects": [...]}`.
///
/// The query is validated first (its own rules and the time-window policy);
/// nothing is sent for an invalid one (CALLS_RESULT_VALIDATION; for example
/// `end_time__lt` without a lower bound). 429, 5xx, dropped connections and
/// timeouts are retried as configured.
///
/// On success `*json_out` is a NUL-terminated UTF-8 string owned by the caller
/// (free it with `calls_string_free`) and `*len_out`, if `len_out` is not
/// NULL, its length without the NUL; on failure `*json_out` is NULL.
/// Errors: NULL_PARAMETER, INVALID_ARGUMENT (limit outside 1..=20),
/// VALIDATION, TRANSPORT, TIMEOUT, UNAUTHORIZED, NOT_FOUND, RATE_LIMITED,
/// SERVER, HTTP, BAD_RESPONSE. `c` may be shared by many threads at once.
///
/// # Safety
/// `c` and `q` are NULL or live handles; `json_out` is NULL or writable;
/// `len_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_list_page(
    c: *const calls_client,
    q: *const calls_query,
    limit: u32,
    offset: u64,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let out = unsafe { OutString::new(json_out, len_out, "json_out") }?;
        let c = unsafe { try_ref(c, "c") }?;
        let q = unsafe { try_ref(q, "q") }?;
        // calls-core checks the limit (INVALID_ARGUMENT) before sending.
        let page = c.client.list_page(&q.query, limit, offset)?;
        mark_http_ok();
        out.set_json(&page)?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Fetches every call matching the query (across pages and time windows,
/// each call once), at most `max_items` of them (0 = no cap), as one JSON
/// array of call objects, newest first.
///
/// Ownership of `*json_out` and `*len_out` as for `calls_client_list_page`.
/// Errors: as `calls_client_list_page`. Blocking; may take many requests.
/// `c` may be shared by many threads at once.
///
/// # Safety
/// As `calls_client_list_page`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_fetch_all(
    c: *const calls_client,
    q: *const calls_query,
    max_items: u64,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let out = unsafe { OutString::new(json_out, len_out, "json_out") }?;
        let c = unsafe { try_ref(c, "c") }?;
        let q = unsafe { try_ref(q, "q") }?;
        let cap = (max_items > 0).then_some(max_items);
        let calls = c.client.fetch_all(&q.query, cap)?;
        mark_http_ok();
        out.set_json(&calls)?;
        Ok(CALLS_RESULT_OK)
    })
}
