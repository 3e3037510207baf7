//! Streaming every matching call: `calls_pager_*`.

use std::ffi::c_char;

use calls_core::Pager;

use crate::boundary::{Failure, ffi_call, ffi_void, mark_http_ok};
use crate::client::calls_client;
use crate::ptr::{OutHandle, OutString, free_box, to_json, try_mut, try_ref};
use crate::query::calls_query;
use crate::*;

/// A lazy iterator over every call matching a query, across pages and time
/// windows, each call once, newest first (opaque).
///
/// Made by `calls_pager_new`, released with `calls_pager_free`. It holds its
/// own reference to the client's connection pool, so it keeps working after
/// `calls_client_free`. Use from one thread at a time.
pub struct calls_pager {
    pager: Pager,
    state: State,
}

enum State {
    Running,
    Done,
    /// Errors are sticky: every later call returns the same failure.
    Failed(Failure),
}

impl calls_pager {
    /// Runs one step of the pager: `Ok(Some(json))`, `Ok(None)` when done.
    fn step<T: serde::Serialize>(
        &mut self,
        f: impl FnOnce(&mut Pager) -> Option<calls_core::Result<T>>,
    ) -> Result<Option<String>, Failure> {
        match &self.state {
            State::Running => {}
            State::Done => return Ok(None),
            State::Failed(e) => return Err(e.clone()),
        }
        let before = self.pager.stats().requests;
        let r = f(&mut self.pager);
        match r {
            Some(Ok(v)) => {
                mark_http_ok();
                Ok(Some(to_json(&v)?))
            }
            None => {
                if self.pager.stats().requests > before {
                    mark_http_ok();
                }
                self.state = State::Done;
                Ok(None)
            }
            Some(Err(e)) => {
                let f = Failure::from(e);
                self.state = State::Failed(f.clone());
                Err(f)
            }
        }
    }
}

/// Makes a pager over every call matching `q`, at most `max_items` of them
/// (0 = no cap). The query is copied and checked now (VALIDATION); nothing is
/// sent before the first `calls_pager_next` or `calls_pager_next_page`.
///
/// The time range is the query's `end_time` bounds (the client's default
/// window when there is none, up to now when there is no upper bound), split
/// into windows no wider than the policy's max range; duplicates caused by
/// records arriving during the walk are skipped.
///
/// On success `*out` is a new pager owned by the caller (release it with
/// `calls_pager_free`); on failure it is NULL. Errors: NULL_PARAMETER,
/// VALIDATION.
///
/// # Safety
/// `c` and `q` are NULL or live handles; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_new(
    c: *const calls_client,
    q: *const calls_query,
    max_items: u64,
    out: *mut *mut calls_pager,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let out = unsafe { OutHandle::new(out, "out") }?;
        let c = unsafe { try_ref(c, "c") }?;
        let q = unsafe { try_ref(q, "q") }?;
        q.query.validate()?;
        let mut pager = c.client.calls(&q.query);
        if max_items > 0 {
            pager = pager.max_items(max_items);
        }
        out.set(calls_pager {
            pager,
            state: State::Running,
        });
        Ok(CALLS_RESULT_OK)
    })
}

/// The next call, as one JSON object with every field the API sent.
///
/// Returns CALLS_RESULT_OK with `*json_out` set (a NUL-terminated string
/// owned by the caller: free it with `calls_string_free`; `*len_out`, if not
/// NULL, is its length), or CALLS_RESULT_DONE with `*json_out` NULL when every
/// call was returned; after DONE it keeps answering DONE. After an error, it
/// keeps answering the same error. Fetches pages as needed (blocking).
/// Errors: NULL_PARAMETER and those of `calls_client_list_page`.
///
/// # Safety
/// `p` is NULL or a live pager; `json_out` and `len_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_next(
    p: *mut calls_pager,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let out = unsafe { OutString::new(json_out, len_out, "json_out") }?;
        let p = unsafe { try_mut(p, "p") }?;
        match p.step(Iterator::next)? {
            Some(json) => {
                out.set(json)?;
                Ok(CALLS_RESULT_OK)
            }
            None => Ok(CALLS_RESULT_DONE),
        }
    })
}

/// The next batch of calls as a JSON array (never empty): the calls already
/// fetched but not yet returned by `calls_pager_next`, if any, otherwise the
/// new calls of the next page. CALLS_RESULT_DONE (with `*json_out` NULL) when
/// every call was returned. Ownership, DONE and errors as `calls_pager_next`;
/// the two may be mixed.
///
/// # Safety
/// As `calls_pager_next`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_next_page(
    p: *mut calls_pager,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let out = unsafe { OutString::new(json_out, len_out, "json_out") }?;
        let p = unsafe { try_mut(p, "p") }?;
        match p.step(Pager::next_page)? {
            Some(json) => {
                out.set(json)?;
                Ok(CALLS_RESULT_OK)
            }
            None => Ok(CALLS_RESULT_DONE),
        }
    })
}

/// The pager's counters so far, as a JSON object:
/// `{"requests":N,"retries":N,"windows":N,"pages":N,"items":N,
/// "duplicates_skipped":N,"rewalks":N}` (HTTP requests sent including
/// retries; retries; time windows started; pages received; calls returned;
/// calls skipped as already returned; windows walked again because their
/// total changed).
///
/// Ownership of `*json_out` and `*len_out` as for `calls_pager_next`.
/// Errors: NULL_PARAMETER.
///
/// # Safety
/// `p` is NULL or a live pager; `json_out` and `len_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_stats(
    p: *const calls_pager,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let out = unsafe { OutString::new(json_out, len_out, "json_out") }?;
        let p = unsafe { try_ref(p, "p") }?;
        let s = p.pager.stats();
        out.set_json(&serde_json::json!({
            "requests": s.requests,
            "retries": s.retries,
            "windows": s.windows,
            "pages": s.pages,
            "items": s.items,
            "duplicates_skipped": s.duplicates_skipped,
            "rewalks": s.rewalks,
        }))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Releases a pager (page requests it still has in flight finish on their own).
/// NULL does nothing.
///
/// # Safety
/// `p` is NULL or a live pager not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_free(p: *mut calls_pager) {
    // SAFETY: forwarded from this function's contract.
    ffi_void(|| drop(unsafe { free_box(p) }));
}
