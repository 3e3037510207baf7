//! # calls-ffi
//!
//! The C ABI of the `calls` library: `libcalls.a`, `libcalls.so` and
//! `include/calls.h` (generated from this crate by cbindgen; see
//! `tests/header.rs`).
//!
//! The design follows rustls-ffi, libcurl and libgit2:
//!
//! * every exported function runs inside one panic boundary
//!   ([`boundary::ffi_call`], [`boundary::ffi_void`], [`boundary::ffi_value`]):
//!   a panic becomes [`CALLS_RESULT_PANIC`] with its message in the thread's
//!   last error, and never unwinds into C;
//! * every pointer goes through a few checked helpers in [`ptr`]
//!   (`try_ref`, `try_mut`, `try_str`, `OutHandle`, `OutString`, `free_box`)
//!   instead of ad-hoc `unsafe`;
//! * result codes are `pub const` values that are never renumbered;
//! * the last error message and HTTP status are thread-local, cleared on the
//!   success of any fallible call;
//! * handles are opaque structs with `_new`/`_free` pairs; out-parameters come
//!   last and are set to NULL on failure.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
// The C names of the opaque handle types are part of the contract.
#![allow(non_camel_case_types)]

pub mod boundary;
pub mod call;
pub mod callback;
pub mod client;
pub mod pager;
pub mod ptr;
pub mod query;
pub mod settings;

use std::ffi::c_char;

use crate::boundary::{ffi_value, last_error_ptr, last_http_status};
use crate::ptr::free_c_string;

/// A result code: `CALLS_RESULT_OK` (0) on success, `CALLS_RESULT_DONE` (1)
/// when a pager is exhausted, an error code otherwise. The values are part of
/// the ABI and are never renumbered.
pub type calls_result = u32;

/// Success.
pub const CALLS_RESULT_OK: calls_result = 0;
/// A pager is exhausted; not an error. `*json_out` is NULL.
pub const CALLS_RESULT_DONE: calls_result = 1;
/// A required pointer argument was NULL.
pub const CALLS_RESULT_NULL_PARAMETER: calls_result = 100;
/// A bad argument: a string that is not UTF-8, an unknown filter name, a
/// paging argument (`limit`, `offset`) given as a filter, a page size outside
/// 1..=20, or a client setting refused by `calls_client_builder_build`.
pub const CALLS_RESULT_INVALID_ARGUMENT: calls_result = 101;
/// A filter the API would reject (bad value, empty range, time-window rules);
/// nothing was sent.
pub const CALLS_RESULT_VALIDATION: calls_result = 102;
/// A call record has no field of the name asked for (`calls_call_get` and
/// the typed getters; these also give it for a field that is null).
pub const CALLS_RESULT_NO_FIELD: calls_result = 103;
/// The connection could not be made or broke (refused, reset, DNS, TLS).
pub const CALLS_RESULT_TRANSPORT: calls_result = 200;
/// The service did not answer in time.
pub const CALLS_RESULT_TIMEOUT: calls_result = 201;
/// Stopped by `calls_pager_cancel`.
pub const CALLS_RESULT_CANCELLED: calls_result = 202;
/// 401 or 403: the credentials were refused.
pub const CALLS_RESULT_UNAUTHORIZED: calls_result = 300;
/// 404: no such account path or record.
pub const CALLS_RESULT_NOT_FOUND: calls_result = 301;
/// 429, still refused after the retries allowed.
pub const CALLS_RESULT_RATE_LIMITED: calls_result = 302;
/// 5xx, still failing after the retries allowed.
pub const CALLS_RESULT_SERVER: calls_result = 303;
/// Any other non-2xx answer, such as the API's 400.
pub const CALLS_RESULT_HTTP: calls_result = 304;
/// A response that could not be understood (bad JSON, wrong shape, too large).
pub const CALLS_RESULT_BAD_RESPONSE: calls_result = 400;
/// A bug: a Rust panic was caught at the boundary. The message is in
/// `calls_last_error_message()`. The handles involved should be freed, not reused.
pub const CALLS_RESULT_PANIC: calls_result = 900;

/// The static, NUL-terminated description of a result code.
pub(crate) fn result_str(code: calls_result) -> &'static std::ffi::CStr {
    match code {
        CALLS_RESULT_OK => c"CALLS_RESULT_OK: success",
        CALLS_RESULT_DONE => c"CALLS_RESULT_DONE: no more calls",
        CALLS_RESULT_NULL_PARAMETER => c"CALLS_RESULT_NULL_PARAMETER: a required pointer was NULL",
        CALLS_RESULT_INVALID_ARGUMENT => c"CALLS_RESULT_INVALID_ARGUMENT: invalid argument",
        CALLS_RESULT_VALIDATION => c"CALLS_RESULT_VALIDATION: invalid query (nothing was sent)",
        CALLS_RESULT_NO_FIELD => c"CALLS_RESULT_NO_FIELD: no such field in the record",
        CALLS_RESULT_TRANSPORT => c"CALLS_RESULT_TRANSPORT: connection failed",
        CALLS_RESULT_TIMEOUT => c"CALLS_RESULT_TIMEOUT: timed out",
        CALLS_RESULT_CANCELLED => c"CALLS_RESULT_CANCELLED: cancelled",
        CALLS_RESULT_UNAUTHORIZED => c"CALLS_RESULT_UNAUTHORIZED: credentials refused",
        CALLS_RESULT_NOT_FOUND => c"CALLS_RESULT_NOT_FOUND: not found",
        CALLS_RESULT_RATE_LIMITED => c"CALLS_RESULT_RATE_LIMITED: rate limited",
        CALLS_RESULT_SERVER => c"CALLS_RESULT_SERVER: server error",
        CALLS_RESULT_HTTP => c"CALLS_RESULT_HTTP: request refused",
        CALLS_RESULT_BAD_RESPONSE => c"CALLS_RESULT_BAD_RESPONSE: response not understood",
        CALLS_RESULT_PANIC => c"CALLS_RESULT_PANIC: internal error (panic)",
        _ => c"unknown calls_result",
    }
}

/// The library version, such as `"0.1.0"` (the same as the `CALLS_VERSION_*`
/// macros of the header the program was compiled with, if both match).
///
/// Static storage: never free it. Never NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn calls_version() -> *const c_char {
    const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    ffi_value(c"unknown".as_ptr(), || VERSION.as_ptr())
}

/// A short static description of a result code, starting with its name
/// (`"CALLS_RESULT_TIMEOUT: timed out"`); `"unknown calls_result"` for a value
/// that is not one.
///
/// Static storage: never free it. Never NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn calls_result_str(code: calls_result) -> *const c_char {
    ffi_value(c"unknown calls_result".as_ptr(), || {
        result_str(code).as_ptr()
    })
}

/// The message of this thread's last failed call into the library, or `""`
/// when the last fallible call succeeded (or none was made).
///
/// The message never contains the auth token. The string belongs to the
/// library: it stays valid until the next call into the library on this
/// thread; copy it to keep it. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn calls_last_error_message() -> *const c_char {
    ffi_value(c"".as_ptr(), last_error_ptr)
}

/// The HTTP status of this thread's last fallible call. When the call
/// received an HTTP answer, it is that answer's status whatever the outcome:
/// the error status (401, 404, 429, 503, ...) of a failure; 200 after a
/// success; and also 200 when the call failed with BAD_RESPONSE because a
/// 200 answer's body could not be used (not JSON, more objects than the limit
/// asked for, over the body cap). With retries, it describes the last
/// attempt. It is 0 when no HTTP answer was involved: VALIDATION,
/// INVALID_ARGUMENT and NULL_PARAMETER failures, TRANSPORT and TIMEOUT
/// failures (no answer, or one that broke off before its head or during its
/// body), and calls served without a request (a pager handing out calls it
/// already holds).
#[unsafe(no_mangle)]
pub extern "C" fn calls_last_http_status() -> u16 {
    ffi_value(0, last_http_status)
}

/// Frees a string returned by this library through a `char **` out-parameter
/// (JSON buffers, query strings, checkpoints). Only this function may free them: not
/// `free()`. `calls_string_free(NULL)` does nothing.
///
/// # Safety
/// `s` is NULL or a string returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_string_free(s: *mut c_char) {
    // SAFETY: forwarded from this function's contract.
    boundary::ffi_void(|| unsafe { free_c_string(s) });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn result_strings_are_distinct_and_named() {
        let codes = [
            CALLS_RESULT_OK,
            CALLS_RESULT_DONE,
            CALLS_RESULT_NULL_PARAMETER,
            CALLS_RESULT_INVALID_ARGUMENT,
            CALLS_RESULT_VALIDATION,
            CALLS_RESULT_NO_FIELD,
            CALLS_RESULT_TRANSPORT,
            CALLS_RESULT_TIMEOUT,
            CALLS_RESULT_CANCELLED,
            CALLS_RESULT_UNAUTHORIZED,
            CALLS_RESULT_NOT_FOUND,
            CALLS_RESULT_RATE_LIMITED,
            CALLS_RESULT_SERVER,
            CALLS_RESULT_HTTP,
            CALLS_RESULT_BAD_RESPONSE,
            CALLS_RESULT_PANIC,
        ];
        let mut seen = std::collections::HashSet::new();
        for c in codes {
            // SAFETY: calls_result_str returns a static NUL-terminated string.
            let s = unsafe { CStr::from_ptr(calls_result_str(c)) }
                .to_str()
                .unwrap();
            assert!(s.starts_with("CALLS_RESULT_"), "{s}");
            assert!(seen.insert(s), "{s} twice");
        }
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(calls_result_str(7)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown calls_result");
    }

    #[test]
    fn version_matches_cargo() {
        // SAFETY: calls_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(calls_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
