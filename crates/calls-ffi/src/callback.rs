//! Callbacks into C: a pager's progress (`calls_pager_set_progress`) and a
//! client's request log (`calls_client_builder_set_log`), as libcurl's
//! `CURLOPT_XFERINFOFUNCTION` and `CURLOPT_DEBUGFUNCTION` do: a plain
//! function pointer and a `void *user_data` passed back unchanged.

use std::ffi::{CString, c_char, c_int, c_void};
use std::ops::ControlFlow;

use calls_core::{LogLevel, PagerStats, RequestLog};

/// A pager's counters, as the progress callback sees them. Fields may be
/// added at the end in later versions (the library allocates the struct).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct calls_progress {
    /// Calls returned to the caller so far.
    pub calls: u64,
    /// Pages received.
    pub pages: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// An estimate of the calls the pager returns in all, from the
    /// `total_count` of each time slice's last page (slices not asked yet
    /// counted at the density of those asked); exact on a service where
    /// nothing arrives once every slice was asked. -1 while unknown.
    pub total_estimate: i64,
    /// For a sync pager: calls skipped because an earlier run returned them.
    pub already_delivered: u64,
}

impl From<&PagerStats> for calls_progress {
    fn from(s: &PagerStats) -> Self {
        calls_progress {
            calls: s.items,
            pages: s.pages,
            requests: s.requests,
            retries: s.retries,
            total_estimate: s
                .total_estimate
                .map_or(-1, |t| i64::try_from(t).unwrap_or(i64::MAX)),
            already_delivered: s.already_delivered,
        }
    }
}

/// A progress callback: called after every page a pager receives, on the
/// thread inside `calls_pager_next*`, with the counters then (valid during
/// the call only) and the `user_data` given to `calls_pager_set_progress`.
/// Return 0 to go on; any other value cancels the pager (that call returns
/// CALLS_RESULT_CANCELLED, as does every later one); `calls_pager_cancel` from
/// inside it does the same. It must not call `calls_pager_free` on that pager
/// (undefined behaviour: the pager is in use), and other `calls_pager_*`
/// functions on it (stats, checkpoint) get CALLS_RESULT_INVALID_ARGUMENT
/// ("in use"): read the counters from `progress` instead.
pub type calls_progress_callback =
    Option<unsafe extern "C" fn(progress: *const calls_progress, user_data: *mut c_void) -> c_int>;

/// The level of a log line: `CALLS_LOG_ERROR` (1) … `CALLS_LOG_DEBUG` (4).
/// The values are part of the ABI.
pub type calls_log_level = u32;
/// A request that failed for good (its error is what the call returns).
pub const CALLS_LOG_ERROR: calls_log_level = 1;
/// An attempt that failed and is retried.
pub const CALLS_LOG_WARN: calls_log_level = 2;
/// Not used for requests today; kept for lines about a whole export.
pub const CALLS_LOG_INFO: calls_log_level = 3;
/// A request answered as expected.
pub const CALLS_LOG_DEBUG: calls_log_level = 4;

/// One line of the request log: one attempt of one request. Every pointer
/// is valid during the callback only; strings are NUL-terminated UTF-8.
/// No field holds the auth token or the Basic credentials, whole or in part;
/// the account id in `path` is shown as `{auth_id}`. Fields may be added at
/// the end in later versions.
#[repr(C)]
#[derive(Debug)]
pub struct calls_log_record {
    /// `CALLS_LOG_ERROR`, `CALLS_LOG_WARN` or `CALLS_LOG_DEBUG`.
    pub level: calls_log_level,
    /// The whole line, e.g. `GET /v1/Account/{auth_id}/Zentrunk/Call/?… -> 200 in 12.5 ms (attempt 1)`.
    pub message: *const c_char,
    /// `GET`.
    pub method: *const c_char,
    /// The path and query sent.
    pub path: *const c_char,
    /// The HTTP status of the answer; 0 when there was none (connection
    /// error, timeout).
    pub status: u16,
    /// 1 for the first attempt of a request, 2 for its first retry, …
    pub attempt: u32,
    /// How long the attempt took, in microseconds.
    pub duration_us: u64,
    /// Why this attempt is retried and after how long; NULL when it is not.
    pub retry_reason: *const c_char,
}

/// A log callback: called once for each attempt of each request the client
/// sends, with `user_data` as given to `calls_client_builder_set_log`. It
/// runs on the thread that sent the request, which for a pager is one of its
/// request threads: it may be called from several threads at once, so it
/// must be thread-safe, and it should return quickly (the request waits for
/// it). It must not call into the library. Known limit: a pager's request
/// still in flight when the pager is freed or cancelled runs on to its end
/// (its retries included) and keeps calling the callback; keep `user_data`
/// alive until the program ends, or until such requests are over (at most
/// the client's timeouts and retry waits after the last free).
pub type calls_log_callback =
    Option<unsafe extern "C" fn(record: *const calls_log_record, user_data: *mut c_void)>;

/// The caller's `user_data`, carried to other threads: the header makes
/// thread safety the callback's contract.
#[derive(Clone, Copy)]
pub(crate) struct UserData(pub(crate) *mut c_void);

// SAFETY: the pointer is only passed back to the caller's callback, whose
// documented contract is to be safe to call from any thread.
unsafe impl Send for UserData {}
// SAFETY: as above; the library never dereferences it.
unsafe impl Sync for UserData {}

/// The Rust progress function for a C callback.
pub(crate) fn progress_fn(
    cb: unsafe extern "C" fn(*const calls_progress, *mut c_void) -> c_int,
    user: UserData,
) -> calls_core::ProgressFn {
    Box::new(move |s: &PagerStats| {
        let user = user;
        let p = calls_progress::from(s);
        // SAFETY: `cb` is the caller's function, called as its type says,
        // with a pointer valid for the call.
        let rc = unsafe { cb(&p, user.0) };
        if rc == 0 {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    })
}

/// The C level of a log line.
pub(crate) fn level_of(l: LogLevel) -> calls_log_level {
    match l {
        LogLevel::Error => CALLS_LOG_ERROR,
        LogLevel::Warn => CALLS_LOG_WARN,
        LogLevel::Info => CALLS_LOG_INFO,
        LogLevel::Debug | LogLevel::Trace => CALLS_LOG_DEBUG,
    }
}

/// A C string of `s`, with any NUL byte (there should be none) shown as `?`.
fn c_text(s: &str) -> CString {
    CString::new(s.replace('\0', "?")).unwrap_or_default()
}

/// The Rust request hook for a C callback, passing lines up to `max_level`.
pub(crate) fn log_fn(
    cb: unsafe extern "C" fn(*const calls_log_record, *mut c_void),
    user: UserData,
    max_level: calls_log_level,
) -> impl Fn(&RequestLog<'_>) + Send + Sync + 'static {
    move |r: &RequestLog<'_>| {
        let user = user;
        let level = level_of(r.level);
        if level > max_level {
            return;
        }
        let message = c_text(r.message);
        let method = c_text(r.method);
        let path = c_text(r.path);
        let reason = r.retry.map(c_text);
        let rec = calls_log_record {
            level,
            message: message.as_ptr(),
            method: method.as_ptr(),
            path: path.as_ptr(),
            status: r.status.unwrap_or(0),
            attempt: r.attempt,
            duration_us: u64::try_from(r.duration.as_micros()).unwrap_or(u64::MAX),
            retry_reason: reason.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        };
        // SAFETY: `cb` is the caller's function, called as its type says;
        // every pointer in `rec` lives until it returns.
        unsafe { cb(&rec, user.0) };
    }
}
