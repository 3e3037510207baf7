//! The client settings of calls-core's builder that have no other C setter:
//! TLS trust (`calls_client_builder_set_ca_file`,
//! `calls_client_builder_set_tls_roots`), the connect timeout, the retry
//! policy's waits, the user agent and the body cap.

use std::ffi::c_char;
use std::time::Duration;

use calls_core::TlsRoots;

use crate::boundary::{Failure, ffi_call};
use crate::client::calls_client_builder;
use crate::ptr::{try_mut, try_str};
use crate::*;

/// Which certificates `https://` servers are verified against
/// (`calls_client_builder_set_tls_roots`).
pub type calls_tls_roots = u32;
/// Mozilla's root certificates, compiled into the library (webpki-roots):
/// the same on every machine. The default.
pub const CALLS_TLS_ROOTS_WEBPKI: calls_tls_roots = 0;
/// The operating system's verifier and trust store (rustls-platform-verifier),
/// for networks whose TLS-inspecting proxy has its root installed there.
/// Only in a library built with the `platform-verifier` feature;
/// otherwise `calls_client_builder_build` refuses it (INVALID_ARGUMENT).
pub const CALLS_TLS_ROOTS_PLATFORM: calls_tls_roots = 1;

/// Trusts the CA certificates of a PEM file (every `CERTIFICATE` block in
/// it, as libcurl's `CURLOPT_CAINFO`) **instead of** the built-in roots:
/// for a private endpoint, or a network whose TLS-inspecting proxy has its
/// own CA. To keep trusting the public CAs as well, give a file that holds
/// them too (the system bundle, such as
/// `/etc/ssl/certs/ca-certificates.crt`, with the CA appended). Defaults to
/// none (the roots of `calls_client_builder_set_tls_roots`).
///
/// The path (UTF-8) is copied; the file is read by
/// `calls_client_builder_build`, which fails with INVALID_ARGUMENT, naming
/// the file, when it cannot be read, is not PEM or holds no usable
/// certificate, and when `CALLS_TLS_ROOTS_PLATFORM` was chosen too.
/// A server whose certificate is not trusted fails a request at once with
/// CALLS_RESULT_TRANSPORT (not retried), the message saying so.
/// Errors here: NULL_PARAMETER, INVALID_ARGUMENT (not UTF-8).
///
/// # Safety
/// `builder` is NULL or a live builder; `path` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_ca_file(
    builder: *mut calls_client_builder,
    path: *const c_char,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let b = unsafe { try_mut(builder, "builder") }?;
        let path = unsafe { try_str(path, "path") }?.to_owned();
        b.update(|x| x.ca_file(path))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Chooses which certificates `https://` servers are verified against:
/// `CALLS_TLS_ROOTS_WEBPKI` (0) or `CALLS_TLS_ROOTS_PLATFORM` (1, only in a
/// library built with the `platform-verifier` feature, else refused by
/// `calls_client_builder_build`). A CA file
/// (`calls_client_builder_set_ca_file`) replaces either. Defaults to
/// `CALLS_TLS_ROOTS_WEBPKI`.
/// Errors: NULL_PARAMETER, INVALID_ARGUMENT (another value).
///
/// # Safety
/// `builder` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_tls_roots(
    builder: *mut calls_client_builder,
    roots: calls_tls_roots,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(builder, "builder") }?;
        let roots = match roots {
            CALLS_TLS_ROOTS_WEBPKI => TlsRoots::WebPki,
            CALLS_TLS_ROOTS_PLATFORM => TlsRoots::Platform,
            other => {
                return Err(Failure::invalid(format!(
                    "roots must be CALLS_TLS_ROOTS_WEBPKI (0) or CALLS_TLS_ROOTS_PLATFORM (1), not {other}"
                )));
            }
        };
        b.update(|x| x.tls_roots(roots))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets how long connecting (DNS, TCP and the TLS handshake) may take, in
/// milliseconds. Defaults to 10000 (10 s). 0, or more than 86400000
/// (24 h), is refused by `calls_client_builder_build`.
/// Errors here: NULL_PARAMETER.
///
/// # Safety
/// `builder` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_connect_timeout_ms(
    builder: *mut calls_client_builder,
    ms: u32,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(builder, "builder") }?;
        b.update(|x| x.connect_timeout(Duration::from_millis(u64::from(ms))))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets the waits between retries (how many there are is
/// `calls_client_builder_set_max_retries`, kept): the n-th retry waits a
/// random time (full jitter) up to `min(max_backoff_ms, base_ms × 2^n)`; a
/// `Retry-After` longer than `max_retry_after_ms` is cut to it, and a 429
/// storm ends once a wait for a pause would be longer. Defaults to 100,
/// 5000 and 60000 ms. Each at most 86400000 (24 h), checked by
/// `calls_client_builder_build`.
/// Errors here: NULL_PARAMETER.
///
/// # Safety
/// `builder` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_retry_policy(
    builder: *mut calls_client_builder,
    base_ms: u32,
    max_backoff_ms: u32,
    max_retry_after_ms: u32,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(builder, "builder") }?;
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        b.retry.base = ms(base_ms);
        b.retry.max_backoff = ms(max_backoff_ms);
        b.retry.max_retry_after = ms(max_retry_after_ms);
        let policy = b.retry;
        b.update(|x| x.retry_policy(policy))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets the `User-Agent` header of every request (copied). Defaults to
/// `calls/<version>`. `calls_client_builder_build` refuses one longer than
/// 1024 bytes or with a character outside printable ASCII (CR and LF
/// included). Errors here: NULL_PARAMETER, INVALID_ARGUMENT (not UTF-8).
///
/// # Safety
/// `builder` is NULL or a live builder; `user_agent` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_user_agent(
    builder: *mut calls_client_builder,
    user_agent: *const c_char,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let b = unsafe { try_mut(builder, "builder") }?;
        let ua = unsafe { try_str(user_agent, "user_agent") }?.to_owned();
        b.update(|x| x.user_agent(ua))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets the largest response body read, in bytes, counted after gzip (a
/// page of 20 calls is about 20 KiB). A longer answer fails with
/// CALLS_RESULT_BAD_RESPONSE, not retried. Defaults to 8388608 (8 MiB); at
/// least 1024, checked by `calls_client_builder_build`.
/// Errors here: NULL_PARAMETER.
///
/// # Safety
/// `builder` is NULL or a live builder.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_builder_set_max_body_bytes(
    builder: *mut calls_client_builder,
    bytes: u64,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let b = unsafe { try_mut(builder, "builder") }?;
        b.update(|x| x.max_body_bytes(bytes))?;
        Ok(CALLS_RESULT_OK)
    })
}
