//! The few helpers through which every pointer from C passes.
//!
//! Each is `unsafe` with one contract: a non-NULL pointer given by C points
//! to what the header says it does (a live handle made by this library, a
//! NUL-terminated string, writable storage for an out-parameter) for the
//! duration of the call. NULL is always detected and reported as
//! `CALLS_RESULT_NULL_PARAMETER`.

use std::ffi::{CStr, c_char};
use std::ptr::{self, NonNull};

use crate::CALLS_RESULT_BAD_RESPONSE;
use crate::boundary::Failure;

/// Borrows a handle.
///
/// # Safety
/// `p` is NULL or points to a live `T` not mutated during `'a`.
pub unsafe fn try_ref<'a, T>(p: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller guarantees p is NULL or valid for reads during 'a.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(what))
}

/// Borrows a handle mutably.
///
/// # Safety
/// `p` is NULL or points to a live `T` not otherwise accessed during `'a`.
pub unsafe fn try_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller guarantees p is NULL or valid and unaliased during 'a.
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(what))
}

/// Borrows a C string as UTF-8 (NULL → NULL_PARAMETER, bad UTF-8 → INVALID_ARGUMENT).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string not mutated during `'a`.
pub unsafe fn try_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: p is non-NULL and, by the caller's contract, NUL-terminated.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map_err(|e| Failure::invalid(format!("`{what}` is not valid UTF-8: {e}")))
}

/// Moves a value to the heap and hands it to C as a handle.
pub fn box_into_raw<T>(v: T) -> *mut T {
    Box::into_raw(Box::new(v))
}

/// Takes back ownership of a handle made by [`box_into_raw`]; `None` for NULL.
///
/// # Safety
/// `p` is NULL or was returned by [`box_into_raw`] for this `T` and is not
/// used again by the caller.
pub unsafe fn free_box<T>(p: *mut T) -> Option<Box<T>> {
    // SAFETY: the caller guarantees p came from Box::into_raw and is unique.
    NonNull::new(p).map(|p| unsafe { Box::from_raw(p.as_ptr()) })
}

/// Bytes before each string handed to C: the size of its whole allocation,
/// so that freeing it never depends on the string's contents (a caller may
/// write into it, NUL bytes included).
const STRING_HEADER: usize = std::mem::size_of::<usize>();

/// Copies `s` into a new allocation for C: `[size][bytes of s][NUL]`, and
/// returns the pointer to the bytes (freed by [`free_c_string`]).
pub fn string_into_raw(s: &[u8]) -> *mut c_char {
    let total = STRING_HEADER + s.len() + 1;
    let mut buf = Vec::with_capacity(total);
    buf.extend_from_slice(&total.to_ne_bytes());
    buf.extend_from_slice(s);
    buf.push(0);
    let base = Box::into_raw(buf.into_boxed_slice()).cast::<u8>();
    // SAFETY: the allocation is `total` > STRING_HEADER bytes long.
    unsafe { base.add(STRING_HEADER) }.cast()
}

/// Frees a string made by [`string_into_raw`] (or [`OutString::set`]),
/// whatever the caller wrote into its bytes.
///
/// # Safety
/// `s` is NULL or was returned by this library as a `char *` and not yet freed.
pub unsafe fn free_c_string(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: s came from string_into_raw (the caller's contract): the
    // header is the STRING_HEADER bytes before it, written there and not
    // reachable through the string.
    unsafe {
        let base = s.cast::<u8>().sub(STRING_HEADER);
        let total = usize::from_ne_bytes(base.cast::<[u8; STRING_HEADER]>().read_unaligned());
        drop(Box::from_raw(ptr::slice_from_raw_parts_mut(base, total)));
    }
}

/// A checked `T **out` parameter: NULLed when made, written on success.
pub struct OutHandle<T> {
    out: NonNull<*mut T>,
}

impl<T> OutHandle<T> {
    /// Checks `out` and sets `*out = NULL`.
    ///
    /// # Safety
    /// `out` is NULL or valid for writes for the rest of the exported call.
    pub unsafe fn new(out: *mut *mut T, what: &str) -> Result<Self, Failure> {
        let out = NonNull::new(out).ok_or_else(|| Failure::null(what))?;
        // SAFETY: non-NULL and writable (the caller's contract).
        unsafe { out.as_ptr().write(ptr::null_mut()) };
        Ok(OutHandle { out })
    }

    /// Moves `v` to the heap and stores the handle in `*out`.
    pub fn set(self, v: T) {
        // SAFETY: checked non-NULL and writable when this was made, during
        // the same exported call.
        unsafe { self.out.as_ptr().write(box_into_raw(v)) };
    }
}

/// A checked `char **out, size_t *len_out` pair: `*out = NULL` and
/// `*len_out = 0` when made (`len_out` may be NULL), written on success.
pub struct OutString {
    out: NonNull<*mut c_char>,
    len: *mut usize,
}

impl OutString {
    /// Checks `out` and clears both out-parameters.
    ///
    /// # Safety
    /// `out` is NULL or valid for writes, and `len` NULL or valid for writes,
    /// for the rest of the exported call.
    pub unsafe fn new(out: *mut *mut c_char, len: *mut usize, what: &str) -> Result<Self, Failure> {
        let out = NonNull::new(out).ok_or_else(|| Failure::null(what))?;
        // SAFETY: non-NULL and writable (the caller's contract).
        unsafe { out.as_ptr().write(ptr::null_mut()) };
        if !len.is_null() {
            // SAFETY: non-NULL and writable (the caller's contract).
            unsafe { len.write(0) };
        }
        Ok(OutString { out, len })
    }

    /// Stores `s` as a NUL-terminated string owned by the caller (freed with
    /// `calls_string_free`) and its length in bytes.
    pub fn set(self, s: String) -> Result<(), Failure> {
        let n = s.len();
        if s.as_bytes().contains(&0) {
            return Err(Failure::new(
                CALLS_RESULT_BAD_RESPONSE,
                "the output contains a NUL byte and cannot be returned as a C string",
            ));
        }
        // SAFETY: both pointers were checked when this was made, during the
        // same exported call.
        unsafe {
            self.out.as_ptr().write(string_into_raw(s.as_bytes()));
            if !self.len.is_null() {
                self.len.write(n);
            }
        }
        Ok(())
    }

    /// Serializes `v` as compact JSON and stores it.
    pub fn set_json<V: serde::Serialize + ?Sized>(self, v: &V) -> Result<(), Failure> {
        self.set(to_json(v)?)
    }
}

/// Compact JSON text of a value.
pub fn to_json<V: serde::Serialize + ?Sized>(v: &V) -> Result<String, Failure> {
    serde_json::to_string(v)
        .map_err(|e| Failure::new(CALLS_RESULT_BAD_RESPONSE, format!("JSON output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_string_refuses_interior_nul() {
        let mut p: *mut c_char = ptr::null_mut();
        let mut n = 99usize;
        // SAFETY: both point to locals.
        let o = unsafe { OutString::new(&mut p, &mut n, "out") }.unwrap();
        assert_eq!(n, 0);
        let f = o.set("a\0b".into()).unwrap_err();
        assert_eq!(f.code, CALLS_RESULT_BAD_RESPONSE);
        assert!(p.is_null());
        // SAFETY: as above.
        let o = unsafe { OutString::new(&mut p, &mut n, "out") }.unwrap();
        o.set("héllo".into()).unwrap();
        assert_eq!(n, 6);
        // SAFETY: p was just made by OutString::set.
        unsafe { free_c_string(p) };
    }

    #[test]
    fn a_string_written_into_is_freed_whole() {
        let p = string_into_raw(b"{\"a\":\"some longer text\"}");
        // SAFETY: p holds 26 bytes and a NUL; the caller may write them.
        unsafe {
            p.add(3).write(0);
            p.add(10).write(0);
            p.write(b'x' as c_char);
            free_c_string(p);
            free_c_string(ptr::null_mut());
        }
        let e = string_into_raw(b"");
        // SAFETY: a valid, empty string.
        unsafe {
            assert_eq!(*e, 0);
            free_c_string(e);
        }
    }

    #[test]
    fn null_and_utf8_checks() {
        // SAFETY: NULL and a valid literal.
        unsafe {
            assert_eq!(
                try_str(ptr::null(), "name").unwrap_err().code,
                crate::CALLS_RESULT_NULL_PARAMETER
            );
            let bad = c"\xff\xfe";
            assert_eq!(
                try_str(bad.as_ptr(), "name").unwrap_err().code,
                crate::CALLS_RESULT_INVALID_ARGUMENT
            );
            assert_eq!(try_str(c"ok".as_ptr(), "name").unwrap(), "ok");
        }
    }
}
