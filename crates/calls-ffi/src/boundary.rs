//! The panic boundary and the thread-local last error.
//!
//! Every exported function runs its body through exactly one of:
//!
//! * [`ffi_call`] for fallible functions returning a [`calls_result`]: it
//!   resets the thread's HTTP status, catches panics, and records the outcome
//!   (the message and status of a [`Failure`], or `""` on success);
//! * [`ffi_void`] for `void` functions (the `*_free` family): panics are
//!   caught and recorded; a success leaves the last error alone, as `free()`
//!   leaves `errno`;
//! * [`ffi_value`] for infallible getters: a panic yields the fallback.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use calls_core::Error;

use crate::*;

/// Why a call failed: the code returned to C, the message for
/// `calls_last_error_message` and the status for `calls_last_http_status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The result code.
    pub code: calls_result,
    /// The message (never containing the auth token).
    pub message: String,
    /// The HTTP status of the answer the failure came from (a 200 whose body
    /// was unusable included), 0 when there was none.
    pub status: u16,
}

impl Failure {
    /// A failure without an HTTP status.
    pub fn new(code: calls_result, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            status: 0,
        }
    }

    /// `what` was NULL.
    pub fn null(what: &str) -> Self {
        Failure::new(CALLS_RESULT_NULL_PARAMETER, format!("`{what}` is NULL"))
    }

    /// A bad argument.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure::new(CALLS_RESULT_INVALID_ARGUMENT, message)
    }
}

/// The result code of a calls-core error.
pub fn code_of(e: &Error) -> calls_result {
    match e {
        Error::Validation { .. } => CALLS_RESULT_VALIDATION,
        Error::InvalidArgument(_) => CALLS_RESULT_INVALID_ARGUMENT,
        Error::Unauthorized(_) => CALLS_RESULT_UNAUTHORIZED,
        Error::NotFound(_) => CALLS_RESULT_NOT_FOUND,
        Error::RateLimited { .. } => CALLS_RESULT_RATE_LIMITED,
        Error::Server(_) => CALLS_RESULT_SERVER,
        Error::Http(_) => CALLS_RESULT_HTTP,
        Error::Transport(_) => CALLS_RESULT_TRANSPORT,
        Error::Timeout(_) => CALLS_RESULT_TIMEOUT,
        Error::Cancelled => CALLS_RESULT_CANCELLED,
        Error::BadResponse(_) | Error::BadAnswer { .. } => CALLS_RESULT_BAD_RESPONSE,
        // `Error` is non_exhaustive: a future variant with a status is an
        // HTTP failure, one without is a response we could not use.
        other if other.status().is_some() => CALLS_RESULT_HTTP,
        _ => CALLS_RESULT_BAD_RESPONSE,
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            code: code_of(&e),
            status: e.status().unwrap_or(0),
            // calls-core never puts the token in an error's text.
            message: e.to_string(),
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    static LAST_STATUS: Cell<u16> = const { Cell::new(0) };
}

/// Records this thread's last error message (interior NULs become spaces).
fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // try_with: during thread teardown the slot may be gone; then there is
    // nobody left to read the message anyway.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = c);
}

fn set_status(status: u16) {
    let _ = LAST_STATUS.try_with(|s| s.set(status));
}

/// Notes that the current call received a successful HTTP answer (status 200).
pub fn mark_http_ok() {
    set_status(200);
}

/// The pointer behind `calls_last_error_message`.
pub fn last_error_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

/// The value behind `calls_last_http_status`.
pub fn last_http_status() -> u16 {
    LAST_STATUS.try_with(Cell::get).unwrap_or(0)
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "unknown panic payload"
    };
    format!("internal error: a panic was caught at the C boundary: {what}")
}

/// Runs the body of a fallible exported function.
///
/// The body returns `Ok(CALLS_RESULT_OK)` or `Ok(CALLS_RESULT_DONE)`, or a
/// [`Failure`]. The thread's HTTP status is reset to 0 first (the body calls
/// [`mark_http_ok`] after a successful request; a failure's own status, such
/// as the 200 of an answer that was BAD_RESPONSE, replaces it, and a failure
/// without one leaves it); the last error becomes `""`
/// on success, the failure's message otherwise. A panic becomes
/// [`CALLS_RESULT_PANIC`].
pub fn ffi_call(body: impl FnOnce() -> Result<calls_result, Failure>) -> calls_result {
    set_status(0);
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => {
            set_last_error("");
            code
        }
        Ok(Err(f)) => {
            set_last_error(&f.message);
            // A failure without a status of its own (such as building the
            // output after a successful answer) keeps the answer's status.
            if f.status != 0 {
                set_status(f.status);
            }
            f.code
        }
        Err(payload) => {
            // Dropping a payload can itself panic; never let that escape.
            let msg = panic_message(&*payload);
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            set_last_error(&msg);
            set_status(0);
            CALLS_RESULT_PANIC
        }
    }
}

/// Runs the body of a `void` exported function; a panic is recorded in the
/// last error (there is no result to return it in).
pub fn ffi_void(body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        let msg = panic_message(&*payload);
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        set_last_error(&msg);
    }
}

/// Runs the body of an infallible exported getter; a panic yields `fallback`.
pub fn ffi_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            fallback
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last_error() -> String {
        // SAFETY: the pointer is valid until the next call on this thread.
        unsafe { CStr::from_ptr(last_error_ptr()) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn panics_become_calls_result_panic() {
        let rc = ffi_call(|| panic!("boom {}", 42));
        assert_eq!(rc, CALLS_RESULT_PANIC);
        assert!(last_error().contains("boom 42"), "{}", last_error());
        assert_eq!(last_http_status(), 0);
        let rc = ffi_call(|| std::panic::panic_any(7u8));
        assert_eq!(rc, CALLS_RESULT_PANIC);
        assert!(last_error().contains("unknown panic payload"));
        // A success clears the message.
        assert_eq!(ffi_call(|| Ok(CALLS_RESULT_OK)), CALLS_RESULT_OK);
        assert_eq!(last_error(), "");
    }

    #[test]
    fn void_and_value_functions_catch_too() {
        ffi_void(|| panic!("in a free"));
        assert!(last_error().contains("in a free"));
        assert_eq!(ffi_value(5, || panic!("getter")), 5);
    }

    #[test]
    fn failures_record_message_and_status() {
        let rc = ffi_call(|| {
            Err(Failure {
                code: CALLS_RESULT_SERVER,
                message: "nul\0inside".into(),
                status: 503,
            })
        });
        assert_eq!(rc, CALLS_RESULT_SERVER);
        assert_eq!(last_error(), "nul inside");
        assert_eq!(last_http_status(), 503);
        let rc = ffi_call(|| {
            mark_http_ok();
            Ok(CALLS_RESULT_DONE)
        });
        assert_eq!(rc, CALLS_RESULT_DONE);
        assert_eq!(last_http_status(), 200);
        // A failure after a successful answer (building the output) keeps 200.
        let rc = ffi_call(|| {
            mark_http_ok();
            Err(Failure::invalid("output too large"))
        });
        assert_eq!(rc, CALLS_RESULT_INVALID_ARGUMENT);
        assert_eq!(last_http_status(), 200);
        // A 200 whose body was unusable: BAD_RESPONSE with status 200.
        let f = Failure::from(Error::BadAnswer {
            status: 200,
            message: "not JSON".into(),
        });
        assert_eq!((f.code, f.status), (CALLS_RESULT_BAD_RESPONSE, 200));
        assert_eq!(ffi_call(|| Err(f)), CALLS_RESULT_BAD_RESPONSE);
        assert_eq!(last_http_status(), 200);
        // Nothing sent: 0.
        assert_eq!(
            ffi_call(|| Err(Failure::null("q"))),
            CALLS_RESULT_NULL_PARAMETER
        );
        assert_eq!(last_http_status(), 0);
    }

    #[test]
    fn core_errors_map_to_codes() {
        let api = calls_core::ApiError {
            status: 400,
            message: "bad".into(),
            api_id: None,
        };
        let f = Failure::from(Error::Http(api));
        assert_eq!((f.code, f.status), (CALLS_RESULT_HTTP, 400));
        let f = Failure::from(Error::validation("call_direction", "nope"));
        assert_eq!((f.code, f.status), (CALLS_RESULT_VALIDATION, 0));
        let f = Failure::from(Error::Timeout("slow".into()));
        assert_eq!(f.code, CALLS_RESULT_TIMEOUT);
    }
}
