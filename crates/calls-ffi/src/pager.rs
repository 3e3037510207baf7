//! Streaming every matching call: `calls_pager_*`.

use std::ffi::{c_char, c_void};

use std::sync::{Mutex, MutexGuard, TryLockError};

use calls_core::{Canceller, Pager};

use crate::boundary::{Failure, ffi_call, ffi_void, mark_http_ok};
use crate::callback::{UserData, calls_progress_callback, progress_fn};
use crate::client::calls_client;
use crate::ptr::{OutHandle, OutString, free_box, to_json, try_ref, try_str};
use crate::query::calls_query;
use crate::*;

/// A lazy iterator over every call matching a query, across pages and time
/// windows, each call once, newest first (opaque).
///
/// Made by `calls_pager_new`, released with `calls_pager_free`. It holds its
/// own reference to the client's connection pool, so it keeps working after
/// `calls_client_free`. `calls_pager_checkpoint` and `calls_pager_resume`
/// continue an interrupted export. Use from one thread at a time; the one
/// exception is `calls_pager_cancel`, which any thread may call at any time.
/// A second thread calling another `calls_pager_*` function while one is
/// inside it gets CALLS_RESULT_INVALID_ARGUMENT ("in use by another thread")
/// and changes nothing.
pub struct calls_pager {
    /// Reached without the lock, from any thread.
    cancel: Canceller,
    /// Held for the whole of each call; `try_lock` tells a concurrent one.
    inner: Mutex<PagerInner>,
}

struct PagerInner {
    pager: Pager,
    state: State,
    /// For the client-wide counters in `calls_pager_stats`.
    client: calls_core::Client,
}

enum State {
    Running,
    Done,
    /// Errors are sticky: every later call returns the same failure.
    Failed(Failure),
}

impl calls_pager {
    fn new(pager: Pager, client: calls_core::Client) -> Self {
        calls_pager {
            cancel: pager.canceller(),
            inner: Mutex::new(PagerInner {
                pager,
                state: State::Running,
                client,
            }),
        }
    }

    /// The pager's state, unless another thread is inside a call on it. A
    /// call that panicked (caught at the boundary) leaves the lock poisoned:
    /// the state is still consistent (its errors are sticky), so it is used.
    fn lock(&self) -> Result<MutexGuard<'_, PagerInner>, Failure> {
        match self.inner.try_lock() {
            Ok(g) => Ok(g),
            Err(TryLockError::Poisoned(e)) => Ok(e.into_inner()),
            Err(TryLockError::WouldBlock) => Err(Failure::invalid(
                "the pager is in use by another thread: use a pager from one thread at a time \
                 (only calls_pager_cancel may be called meanwhile)",
            )),
        }
    }
}

impl PagerInner {
    /// Runs one step of the pager: `Ok(Some(json))`, `Ok(None)` when done.
    fn step<T: serde::Serialize>(
        &mut self,
        f: impl FnOnce(&mut Pager) -> Option<calls_core::Result<T>>,
    ) -> Result<Option<String>, Failure> {
        self.step_map(f, |v| to_json(&v))
    }

    /// [`Self::step`] with the item turned into `R` by `conv`.
    fn step_map<T, R>(
        &mut self,
        f: impl FnOnce(&mut Pager) -> Option<calls_core::Result<T>>,
        conv: impl FnOnce(T) -> Result<R, Failure>,
    ) -> Result<Option<R>, Failure> {
        match &self.state {
            State::Running => {}
            State::Done => return Ok(None),
            State::Failed(e) => return Err(e.clone()),
        }
        let before = self.pager.stats().requests;
        let r = f(&mut self.pager);
        match r {
            Some(Ok(v)) => {
                // A call from the buffer sent nothing: the HTTP status stays 0.
                if self.pager.stats().requests > before {
                    mark_http_ok();
                }
                Ok(Some(conv(v)?))
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
/// into windows no wider than the policy's max range, and walked with an
/// `end_time` cursor: every call that existed when the walk started is
/// returned exactly once, whatever arrives meanwhile; a call that arrives
/// during the walk at most once. A service that breaks the newest-first order
/// or makes no progress (ignoring `offset`, repeating pages) ends it with
/// BAD_RESPONSE.
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
        out.set(calls_pager::new(pager, c.client.clone()));
        Ok(CALLS_RESULT_OK)
    })
}

/// Makes a pager for a scheduled job (cron): every call matching `q` that
/// ended since the last run, exactly once across runs.
///
/// `state` is the text `calls_pager_sync_state` gave at the end of the
/// previous run, or NULL for the first run. The first run walks from `q`'s
/// lower `end_time` bound (the client's default window without one) up to
/// now; each later run from the previous run's pinned upper bound minus
/// `lookback_s` seconds (0: the default, 3600) up to now, and skips the calls
/// earlier runs already returned (the state keeps their uuids, bounded by the
/// calls of one lookback span). A call that becomes visible more than the
/// lookback after the previous run ended is missed: a longer lookback catches
/// later arrivals and re-reads more. Otherwise the ordinary pager:
/// `calls_pager_next`, `calls_pager_next_page`, `calls_pager_checkpoint`
/// (a resumed sync pager is still a sync pager) and `calls_pager_free`; no
/// `max_items` cap.
///
/// Store the new state only after the calls of the run are stored: if the
/// job dies before, the next run (from the old state) returns them again.
///
/// On success `*pager_out` is a new pager owned by the caller; on failure it
/// is NULL. Errors: NULL_PARAMETER (`client`, `query` or `pager_out`),
/// INVALID_ARGUMENT (`state` is not UTF-8), VALIDATION (`q` is invalid or has
/// an upper `end_time` bound, as a sync always runs to now; the lookback is
/// longer than retention; the state is damaged, edited, from another account
/// or for other filters (`end_time` aside), or from another window policy).
/// A state so old that part of what it owes is beyond retention fails at the
/// first `calls_pager_next` (VALIDATION, naming what can no longer be
/// fetched, nothing sent). `client` may be shared by many threads at once.
///
/// # Safety
/// `client` and `query` are NULL or live handles; `state` is NULL or
/// NUL-terminated; `pager_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_sync_new(
    client: *const calls_client,
    query: *const calls_query,
    state: *const c_char,
    lookback_s: u32,
    pager_out: *mut *mut calls_pager,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all four): forwarded from this function's contract.
        let out = unsafe { OutHandle::new(pager_out, "pager_out") }?;
        let c = unsafe { try_ref(client, "client") }?;
        let q = unsafe { try_ref(query, "query") }?;
        let state = if state.is_null() {
            None
        } else {
            Some(unsafe { try_str(state, "state") }?)
        };
        let lookback = std::time::Duration::from_secs(u64::from(lookback_s));
        let pager = c.client.sync(&q.query, state, lookback)?;
        out.set(calls_pager::new(pager, c.client.clone()));
        Ok(CALLS_RESULT_OK)
    })
}

/// The state for the next run of a sync pager (`calls_pager_sync_new`): an
/// opaque NUL-terminated ASCII string (`calls-sync1.` followed by hexadecimal
/// text; it grows with the calls of one lookback span, about 100 bytes a
/// call), bound to the account and the query's filters, holding no secret.
/// Store it as is; any change makes it invalid.
///
/// Available once the pager returned CALLS_RESULT_DONE. Before that, after an
/// error, and for a pager that is not a sync pager: CALLS_RESULT_INVALID_ARGUMENT.
/// On success `*state_out` is owned by the caller (free it with
/// `calls_string_free`) and `*len_out`, if `len_out` is not NULL, its length;
/// on failure `*state_out` is NULL. Errors: NULL_PARAMETER, INVALID_ARGUMENT.
///
/// # Safety
/// `pager` is NULL or a live pager; `state_out` and `len_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_sync_state(
    pager: *const calls_pager,
    state_out: *mut *mut c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let out = unsafe { OutString::new(state_out, len_out, "state_out") }?;
        let p = unsafe { try_ref(pager, "pager") }?;
        let p = p.lock()?;
        if !p.pager.is_sync() {
            return Err(Failure::invalid(
                "not a sync pager: make it with calls_pager_sync_new",
            ));
        }
        let Some(state) = p.pager.sync_state() else {
            return Err(Failure::invalid(
                "the sync state is available once calls_pager_next returned CALLS_RESULT_DONE",
            ));
        };
        out.set(state)?;
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
    // SAFETY: forwarded from this function's contract.
    unsafe { next_json(p, json_out, len_out, Iterator::next) }
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
    // SAFETY: forwarded from this function's contract.
    unsafe { next_json(p, json_out, len_out, Pager::next_page) }
}

/// The next call as a `calls_call` record (read its fields with
/// `calls_call_get` and the typed getters, no JSON parser needed).
///
/// Returns CALLS_RESULT_OK with `*call_out` a new record owned by the caller
/// (release it with `calls_call_free`; it does not depend on the pager, which
/// may be freed first), or CALLS_RESULT_DONE with `*call_out` NULL when every
/// call was returned. DONE, sticky errors and blocking as `calls_pager_next`,
/// with which it may be mixed. Errors: NULL_PARAMETER and those of
/// `calls_pager_next`; on failure `*call_out` is NULL.
///
/// # Safety
/// `pager` is NULL or a live pager; `call_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_next_call(
    pager: *mut calls_pager,
    call_out: *mut *mut crate::call::calls_call,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let out = unsafe { OutHandle::new(call_out, "call_out") }?;
        let p = unsafe { try_ref(pager, "pager") }?;
        let mut p = p.lock()?;
        match p.step_map(Iterator::next, crate::call::calls_call::new)? {
            Some(call) => {
                out.set(call);
                Ok(CALLS_RESULT_OK)
            }
            None => Ok(CALLS_RESULT_DONE),
        }
    })
}

/// The body of `calls_pager_next` and `calls_pager_next_page`, inside the
/// panic boundary: one step of `f`, OK with its JSON, or DONE.
///
/// # Safety
/// `p` is NULL or a live pager; `json_out` and `len_out` are NULL or writable.
unsafe fn next_json<T: serde::Serialize>(
    p: *mut calls_pager,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
    f: impl FnOnce(&mut Pager) -> Option<calls_core::Result<T>>,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let out = unsafe { OutString::new(json_out, len_out, "json_out") }?;
        let p = unsafe { try_ref(p, "p") }?;
        let mut p = p.lock()?;
        match p.step(f)? {
            Some(json) => {
                out.set(json)?;
                Ok(CALLS_RESULT_OK)
            }
            None => Ok(CALLS_RESULT_DONE),
        }
    })
}

/// Sets the pager's progress callback: `callback(progress, user_data)` is
/// called after every page the pager receives (see `calls_progress_callback`:
/// on the thread inside `calls_pager_next*`; a non-zero return cancels the
/// pager with CALLS_RESULT_CANCELLED). A NULL `callback` removes it. Defaults
/// to none. `user_data` is passed back unchanged and never dereferenced.
/// Errors: NULL_PARAMETER (`pager`), INVALID_ARGUMENT (in use by another
/// thread).
///
/// # Safety
/// `pager` is NULL or a live pager; `callback`, when not NULL, is a function
/// of the type's signature that neither unwinds (no C++ exception, no
/// `longjmp`) nor outlives the program's use of the pager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_set_progress(
    pager: *mut calls_pager,
    callback: calls_progress_callback,
    user_data: *mut c_void,
) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract.
        let p = unsafe { try_ref(pager, "pager") }?;
        let mut p = p.lock()?;
        p.pager
            .set_progress(callback.map(|cb| progress_fn(cb, UserData(user_data))));
        Ok(CALLS_RESULT_OK)
    })
}

/// The pager's counters so far, as a JSON object:
/// `{"requests":N,"retries":N,"windows":N,"slices":N,"splits":N,"pages":N,
/// "items":N,"duplicates_skipped":N,"already_delivered":N,"total_estimate":N,
/// "rewalks":0}`
/// (HTTP requests sent
/// including retries; retries; time windows of the plan; time slices walked;
/// of those, slices split off a running one for a free worker; pages
/// received; calls returned; calls skipped as already returned; for a sync
/// pager, calls skipped as returned by an earlier run; the estimated number
/// of calls in all, as `calls_progress` has it, or null before the first
/// page; `rewalks` is
/// always 0 since the cursor walk never walks a window again, and kept for
/// programs that read it), and `"client"`: the client's request counters as
/// `calls_client_stats` gives them (requests answered 429, time waiting on
/// the budget and on Retry-After, the effective request rate), which cover
/// every pager and thread of the client.
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
        let p = p.lock()?;
        let s = p.pager.stats();
        out.set_json(&serde_json::json!({
            "requests": s.requests,
            "retries": s.retries,
            "windows": s.windows,
            "slices": s.slices,
            "splits": s.splits,
            "pages": s.pages,
            "items": s.items,
            "duplicates_skipped": s.duplicates_skipped,
            "already_delivered": s.already_delivered,
            "total_estimate": s.total_estimate,
            "rewalks": 0,
            "client": crate::client::rate_stats_json(&p.client.rate_stats()),
        }))?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Where the export stands, as an opaque checkpoint for `calls_pager_resume`:
/// a NUL-terminated ASCII string (`calls-ckpt2.` followed by hexadecimal text,
/// a few hundred bytes to a few kilobytes) that holds the query, the window
/// policy, the pinned upper bound of the time range and the walk's cursors
/// (time bounds, and inside the second being walked the uuids returned).
/// A checkpoint of an older version (`calls-ckpt1.`) is refused by
/// `calls_pager_resume` with VALIDATION.
///
/// It covers every call returned so far by `calls_pager_next` and
/// `calls_pager_next_page`; calls fetched but not yet returned are fetched
/// again by a resumed pager. It may be taken at any point: before the first
/// call (the resumed pager starts from the beginning), after every call
/// (cheap: no request is sent), after DONE (the resumed pager is DONE at
/// once), or after an error (the resumed pager retries from where it failed).
/// It holds no secret, but is bound to the account: only a client of the same
/// auth id resumes it. Store it as is; any change makes it invalid.
///
/// On success `*out` is a NUL-terminated string owned by the caller (free it
/// with `calls_string_free`) and `*len_out`, if `len_out` is not NULL, its
/// length; on failure `*out` is NULL. Errors: NULL_PARAMETER. Use from the
/// pager's thread (a pager is used from one thread at a time).
///
/// # Safety
/// `p` is NULL or a live pager; `out` and `len_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_checkpoint(
    p: *const calls_pager,
    out: *mut *mut c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let out = unsafe { OutString::new(out, len_out, "out") }?;
        let p = unsafe { try_ref(p, "p") }?;
        let p = p.lock()?;
        out.set(p.pager.checkpoint())?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Makes a pager that continues an interrupted export from a checkpoint of
/// `calls_pager_checkpoint`: it walks the same time windows (the same pinned
/// upper bound, even if the export started long ago) and starts right after
/// the last call that had been returned when the checkpoint was taken.
///
/// `q` must give the same query string (`calls_query_to_string`) as the
/// query of the interrupted pager, and `c` the same auth id and window policy
/// as its client; a relative time filter must therefore be recomputed from the
/// time the export started, not from now. The resumed pager has no
/// `max_items` cap. No call returned before the checkpoint comes again and
/// none after it is missed, however long ago it was taken and whatever
/// arrived since (within retention). The query and checkpoint are copied; nothing is sent before the first
/// `calls_pager_next` or `calls_pager_next_page`.
///
/// On success `*out` is a new pager owned by the caller (release it with
/// `calls_pager_free`); on failure it is NULL. Errors: NULL_PARAMETER,
/// INVALID_ARGUMENT (`checkpoint` is not UTF-8), VALIDATION (`q` is invalid;
/// the checkpoint is damaged or edited, or was made for another query, account
/// or window policy). An export whose oldest time has meanwhile passed the
/// retention fails at the first `calls_pager_next` (VALIDATION, nothing sent).
/// `c` may be shared by many threads at once.
///
/// # Safety
/// `c` and `q` are NULL or live handles; `checkpoint` is NULL or
/// NUL-terminated; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_resume(
    c: *const calls_client,
    q: *const calls_query,
    checkpoint: *const c_char,
    out: *mut *mut calls_pager,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all four): forwarded from this function's contract.
        let out = unsafe { OutHandle::new(out, "out") }?;
        let c = unsafe { try_ref(c, "c") }?;
        let q = unsafe { try_ref(q, "q") }?;
        let checkpoint = unsafe { try_str(checkpoint, "checkpoint") }?;
        q.query.validate()?;
        let pager = c.client.resume(&q.query, checkpoint)?;
        out.set(calls_pager::new(pager, c.client.clone()));
        Ok(CALLS_RESULT_OK)
    })
}

/// Cancels a pager. Safe to call from any thread, including while another
/// thread is inside `calls_pager_next` or `calls_pager_next_page` on this
/// pager (the one exception to the one-thread rule): that call then returns
/// CALLS_RESULT_CANCELLED within a few milliseconds, whatever it was waiting
/// for (an answer, a backoff, a `Retry-After`, the request budget; requests
/// in flight finish on their own and are dropped), and every later
/// `calls_pager_next*` returns CALLS_RESULT_CANCELLED too (a pager that
/// already returned DONE keeps returning DONE). `calls_pager_checkpoint`
/// still works after it: a pager resumed from that checkpoint goes on.
/// Calling it again does nothing more. Errors: NULL_PARAMETER.
///
/// # Safety
/// `pager` is NULL or a live pager (not freed while this runs).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_pager_cancel(pager: *mut calls_pager) -> calls_result {
    ffi_call(|| {
        // SAFETY: forwarded from this function's contract; only the
        // canceller (not the locked state) is touched.
        let p = unsafe { try_ref(pager, "pager") }?;
        p.cancel.cancel();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{calls_client_builder_build, calls_client_builder_new, calls_client_free};
    use crate::query::{calls_query_free, calls_query_new, calls_query_set};
    use std::ffi::{CStr, CString};
    use std::ptr;

    /// A client of a loopback port: nothing below sends a request.
    fn client() -> *mut calls_client {
        let mut b = ptr::null_mut();
        let mut c = ptr::null_mut();
        // SAFETY: literals and locals.
        unsafe {
            assert_eq!(
                calls_client_builder_new(c"MA1".as_ptr(), c"t".as_ptr(), &mut b),
                CALLS_RESULT_OK
            );
            assert_eq!(calls_client_builder_build(b, &mut c), CALLS_RESULT_OK);
        }
        c
    }

    fn query(direction: &std::ffi::CStr) -> *mut calls_query {
        let mut q = ptr::null_mut();
        // SAFETY: literals and locals.
        unsafe {
            assert_eq!(calls_query_new(&mut q), CALLS_RESULT_OK);
            assert_eq!(
                calls_query_set(q, c"call_direction".as_ptr(), direction.as_ptr()),
                CALLS_RESULT_OK
            );
        }
        q
    }

    #[test]
    fn checkpoint_and_resume_before_any_request() {
        let c = client();
        let (q, other) = (query(c"inbound"), query(c"outbound"));
        let mut p = ptr::null_mut();
        let mut s = ptr::null_mut();
        let mut n = 0usize;
        // SAFETY: every pointer is a live handle or a local.
        unsafe {
            assert_eq!(calls_pager_new(c, q, 0, &mut p), CALLS_RESULT_OK);
            assert_eq!(calls_pager_checkpoint(p, &mut s, &mut n), CALLS_RESULT_OK);
            let cp = CStr::from_ptr(s).to_str().unwrap().to_owned();
            assert_eq!(cp.len(), n);
            assert!(cp.starts_with("calls-ckpt2."));
            crate::calls_string_free(s);
            let cp = CString::new(cp).unwrap();
            let mut r = ptr::null_mut();
            assert_eq!(
                calls_pager_resume(c, q, cp.as_ptr(), &mut r),
                CALLS_RESULT_OK
            );
            assert!(!r.is_null());
            calls_pager_free(r);
            r = p; // a non-NULL value that must be overwritten
            assert_eq!(
                calls_pager_resume(c, other, cp.as_ptr(), &mut r),
                CALLS_RESULT_VALIDATION
            );
            assert!(r.is_null());
            let mut bytes = cp.into_bytes();
            let last = bytes.len() - 1;
            bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
            let tampered = CString::new(bytes).unwrap();
            assert_eq!(
                calls_pager_resume(c, q, tampered.as_ptr(), &mut r),
                CALLS_RESULT_VALIDATION
            );
            assert_eq!(
                calls_pager_resume(c, q, c"\xff".as_ptr(), &mut r),
                CALLS_RESULT_INVALID_ARGUMENT
            );
            assert_eq!(
                calls_pager_resume(c, q, ptr::null(), &mut r),
                CALLS_RESULT_NULL_PARAMETER
            );
            assert_eq!(
                calls_pager_checkpoint(ptr::null(), &mut s, &mut n),
                CALLS_RESULT_NULL_PARAMETER
            );
            assert!(s.is_null() && n == 0);
            calls_pager_free(p);
            calls_query_free(q);
            calls_query_free(other);
            calls_client_free(c);
        }
    }
}
