//! Filters: `calls_query_*`.

use std::ffi::c_char;

use calls_core::CallQuery;

use crate::boundary::{ffi_call, ffi_void};
use crate::ptr::{OutHandle, OutString, free_box, try_mut, try_ref, try_str};
use crate::*;

/// The filters of a request (opaque).
///
/// Made by `calls_query_new`, released with `calls_query_free`. A query is
/// copied by the functions that use it, so it may be changed or freed
/// afterwards. Use from one thread at a time (or read-only from many).
pub struct calls_query {
    pub(crate) query: CallQuery,
}

/// Makes a query with no filters.
///
/// On success `*out` is a new query owned by the caller (release it with
/// `calls_query_free`); on failure it is NULL. Errors: NULL_PARAMETER.
///
/// # Safety
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_query_new(out: *mut *mut calls_query) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { OutHandle::new(out, "out") }?;
        out.set(calls_query {
            query: CallQuery::new(),
        });
        Ok(CALLS_RESULT_OK)
    })
}

/// Sets one filter by its API parameter name, checking the value at once:
/// `from_number`, `to_number` (digits, one leading `+` dropped; a prefix
/// matches), `call_direction` (`inbound`, `outbound`), `bill_duration` and
/// `end_time` (exact or with `__gt`, `__gte`, `__lt`, `__lte`; seconds, and
/// `YYYY-MM-DD HH:MM[:SS]` times in UTC), `hangup_cause_code`,
/// `hangup_source` (`customer`, `carrier`, `zentrunk`) and
/// `stir_verification` (`Verified`, `Not Verified`, `Not Applicable`).
/// Setting a filter again replaces it.
///
/// On failure the query is unchanged. Errors: NULL_PARAMETER,
/// INVALID_ARGUMENT (not UTF-8, an unknown name, or `limit`/`offset`, which
/// are paging arguments of `calls_client_list_page`), VALIDATION (a value the
/// API would reject; the message says why).
///
/// # Safety
/// `q` is NULL or a live query; the strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_query_set(
    q: *mut calls_query,
    name: *const c_char,
    value: *const c_char,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let q = unsafe { try_mut(q, "q") }?;
        let name = unsafe { try_str(name, "name") }?;
        let value = unsafe { try_str(value, "value") }?;
        // calls-core decides: an unknown name or a paging argument is
        // InvalidArgument, a value the API would refuse is Validation.
        q.query.set(name, value)?;
        Ok(CALLS_RESULT_OK)
    })
}

/// The filters as the encoded query string the API receives (without
/// `limit`/`offset`), in a fixed order; `""` when no filter is set. For
/// example `call_direction=outbound&end_time__gte=2026-11-01%2000%3A00%3A00`.
///
/// On success `*out` is a NUL-terminated string owned by the caller (free it
/// with `calls_string_free`) and `*len_out`, if not NULL, its length; on
/// failure `*out` is NULL. Errors: NULL_PARAMETER.
///
/// # Safety
/// `q` is NULL or a live query; `out` and `len_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_query_to_string(
    q: *const calls_query,
    out: *mut *mut c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let out = unsafe { OutString::new(out, len_out, "out") }?;
        let q = unsafe { try_ref(q, "q") }?;
        out.set(q.query.to_query_string())?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Releases a query. NULL does nothing.
///
/// # Safety
/// `q` is NULL or a live query not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_query_free(q: *mut calls_query) {
    // SAFETY: forwarded from this function's contract.
    ffi_void(|| drop(unsafe { free_box(q) }));
}
