//! One call record without a JSON parser: `calls_call_*` and
//! `calls_client_get_call`.
//!
//! A `calls_call` holds every field of one record as text, in one buffer
//! built when the record is made: each name and each value is NUL-terminated
//! and handed out as a borrowed view (libpq's `PQgetvalue`, SQLite's
//! `sqlite3_column_text`), valid until `calls_call_free`. Nothing is built
//! per lookup, so reading a field is a short scan of the names.

use std::ffi::{c_char, c_int};
use std::ptr;
use std::sync::OnceLock;

use calls_core::{Call, Money, ReceivedOrder};
use serde_json::Value;

use crate::boundary::{Failure, ffi_call, ffi_value, ffi_void, mark_http_ok};
use crate::client::calls_client;
use crate::ptr::{OutHandle, free_box, try_ref, try_str};
use crate::*;

/// One call detail record (opaque): every field the service sent, as text.
///
/// Made by `calls_pager_next_call` or `calls_client_get_call`, released with
/// `calls_call_free`. Every string it hands out (names, values, its JSON) is
/// borrowed from it: valid until `calls_call_free`, never to be freed or
/// modified by the caller. A `const calls_call *` may be read from many
/// threads at once.
pub struct calls_call {
    /// Every name and value, each followed by a NUL byte.
    text: Vec<u8>,
    fields: Vec<Field>,
    /// The record as compact JSON (NUL-terminated), built on first use.
    json: OnceLock<Vec<u8>>,
    /// The record, for `json`.
    call: Call,
}

struct Field {
    name: Span,
    /// `None` for a JSON `null`.
    value: Option<Span>,
    kind: Kind,
}

/// The JSON type of a value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Str,
    Num,
    Bool,
    Json,
}

#[derive(Clone, Copy)]
struct Span {
    start: usize,
    len: usize,
}

impl calls_call {
    /// The record's fields as text, in the order they were received (see
    /// [`Call::received_names`]); `answer_time`, which the model writes as
    /// null when it was not received, then comes last. Built straight from
    /// the record (the same text as its JSON, no JSON round trip).
    /// Public for the benchmark (`examples/bench_records.rs`); C programs
    /// get records from `calls_pager_next_call` and `calls_client_get_call`.
    pub fn new(call: Call) -> Result<Self, Failure> {
        let mut b = Builder {
            text: Vec::with_capacity(1024),
            fields: Vec::with_capacity(call.received.0.len() + 1),
        };
        let extras: Vec<(&String, &Value)> = call.extra.iter().collect();
        let mut known_done = 0u32;
        let mut extras_done = 0usize;
        let decoded = !call.received.0.is_empty();
        if decoded {
            for &i in &call.received.0 {
                if i >= ReceivedOrder::EXTRA {
                    if let Some((k, v)) = extras.get(usize::from(i - ReceivedOrder::EXTRA)) {
                        b.extra(k, v)?;
                        extras_done += 1;
                    }
                } else if i < 32 && known_done & (1 << i) == 0 {
                    known_done |= 1 << i;
                    b.known(&call, usize::from(i));
                }
            }
        } else {
            for i in 0..Call::FIELDS.len() {
                b.known(&call, i);
            }
            known_done = u32::MAX;
        }
        // answer_time is always written (null when not received).
        if known_done & (1 << ANSWER_TIME) == 0 {
            b.known(&call, ANSWER_TIME);
        }
        for (k, v) in extras.iter().skip(extras_done) {
            // A hand-made record may hold a known name in `extra`: its JSON
            // keeps the typed field, and so does this.
            if decoded || !Call::FIELDS.contains(&k.as_str()) {
                b.extra(k, v)?;
            }
        }
        let Builder { text, fields } = b;
        Ok(calls_call {
            text,
            fields,
            json: OnceLock::new(),
            call,
        })
    }

    fn ptr(&self, s: Span) -> *const c_char {
        // In bounds: every span was pushed into `text`, which is never
        // changed afterwards.
        self.text[s.start..].as_ptr().cast()
    }

    fn bytes(&self, s: Span) -> &[u8] {
        &self.text[s.start..s.start + s.len]
    }

    fn find(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| self.bytes(f.name) == name.as_bytes())
    }

    /// The value of `name`: `Ok(None)` for a JSON null, NO_FIELD when absent.
    fn get(&self, name: &str) -> Result<Option<Span>, Failure> {
        match self.find(name) {
            Some(f) => Ok(f.value),
            None => Err(no_field(name)),
        }
    }

    /// The text of `name` for a typed getter: NO_FIELD when absent or null.
    fn text_of(&self, name: &str) -> Result<&str, Failure> {
        match self.get(name)? {
            Some(s) => std::str::from_utf8(self.bytes(s))
                .map_err(|_| Failure::invalid(format!("`{}` is not UTF-8", shown(name)))),
            None => Err(Failure::new(
                CALLS_RESULT_NO_FIELD,
                format!("`{}` is null", shown(name)),
            )),
        }
    }

    /// The record as compact JSON with its NUL.
    fn json(&self) -> Result<&[u8], Failure> {
        if let Some(j) = self.json.get() {
            return Ok(j);
        }
        let mut j = serde_json::to_vec(&self.call)
            .map_err(|e| Failure::new(CALLS_RESULT_BAD_RESPONSE, format!("JSON output: {e}")))?;
        j.push(0);
        Ok(self.json.get_or_init(|| j))
    }
}

/// The index of `answer_time` in [`Call::FIELDS`].
const ANSWER_TIME: usize = 8;

/// The fields of a record being made.
struct Builder {
    text: Vec<u8>,
    fields: Vec<Field>,
}

impl Builder {
    fn field(&mut self, name: &str, value: Option<&[u8]>, kind: Kind) {
        let name = push(&mut self.text, name.as_bytes());
        let value = value.map(|v| push(&mut self.text, v));
        self.fields.push(Field { name, value, kind });
    }

    /// The known field `i` of [`Call::FIELDS`], if the record has it.
    fn known(&mut self, c: &Call, i: usize) {
        let Some(&name) = Call::FIELDS.get(i) else {
            return;
        };
        fn s(v: &Option<String>) -> Option<&[u8]> {
            v.as_deref().map(str::as_bytes)
        }
        fn m(v: &Option<Money>) -> Option<&[u8]> {
            v.as_ref().map(|m| m.as_str().as_bytes())
        }
        let (text, kind): (Option<Vec<u8>>, Kind);
        let borrowed: Option<&[u8]> = match i {
            0 => Some(c.call_uuid.as_bytes()),
            1 => s(&c.from_number),
            2 => s(&c.to_number),
            3 => c.call_direction.as_ref().map(|e| e.as_str().as_bytes()),
            10 => s(&c.hangup_cause_name),
            12 => c.hangup_source.as_ref().map(|e| e.as_str().as_bytes()),
            13 => m(&c.total_rate),
            14 => m(&c.total_amount),
            15 => s(&c.trunk_domain),
            16 => s(&c.from_country),
            17 => s(&c.to_country),
            18 => c.transport_protocol.as_ref().map(|e| e.as_str().as_bytes()),
            21 => m(&c.secure_trunking_rate),
            22 => c.stir_verification.as_ref().map(|e| e.as_str().as_bytes()),
            23 => s(&c.attestation_indicator),
            _ => None,
        };
        if let Some(v) = borrowed {
            self.field(name, Some(v), Kind::Str);
            return;
        }
        match i {
            4 | 5 | 6 | 11 => {
                let n = match i {
                    4 => c.call_duration,
                    5 => c.bill_duration,
                    6 => c.billed_duration,
                    _ => c.hangup_cause_code,
                };
                kind = Kind::Num;
                text = n.map(|n| n.to_string().into_bytes());
            }
            7..=9 => {
                let t = match i {
                    7 => c.initiation_time,
                    8 => c.answer_time,
                    _ => c.end_time,
                };
                if i == ANSWER_TIME && t.is_none() {
                    self.field(name, None, Kind::Null);
                    return;
                }
                kind = Kind::Str;
                text = t.map(|t| time_text(t).into_bytes());
            }
            19 | 20 => {
                let v = if i == 19 { c.srtp } else { c.secure_trunking };
                kind = Kind::Bool;
                text = v.map(|v| {
                    if v {
                        b"true".to_vec()
                    } else {
                        b"false".to_vec()
                    }
                });
            }
            _ => return,
        }
        if let Some(t) = text {
            self.field(name, Some(&t), kind);
        }
    }

    /// An unmodelled field, as its JSON value.
    fn extra(&mut self, k: &str, v: &Value) -> Result<(), Failure> {
        match v {
            Value::Null => self.field(k, None, Kind::Null),
            Value::String(s) => self.field(k, Some(s.as_bytes()), Kind::Str),
            Value::Bool(true) => self.field(k, Some(b"true"), Kind::Bool),
            Value::Bool(false) => self.field(k, Some(b"false"), Kind::Bool),
            // arbitrary_precision: the literal text as received.
            Value::Number(n) => self.field(k, Some(n.as_str().as_bytes()), Kind::Num),
            Value::Array(_) | Value::Object(_) => {
                let name = push(&mut self.text, k.as_bytes());
                let start = self.text.len();
                serde_json::to_writer(&mut self.text, v).map_err(|e| {
                    Failure::new(CALLS_RESULT_BAD_RESPONSE, format!("call record: {e}"))
                })?;
                let len = self.text.len() - start;
                self.text.push(0);
                self.fields.push(Field {
                    name,
                    value: Some(Span { start, len }),
                    kind: Kind::Json,
                });
            }
        }
        Ok(())
    }
}

/// A record's timestamp as its JSON writes it
/// ([`calls_core::format_record`]), without chrono's format parser for
/// the usual whole seconds of years 1000 to 9999.
fn time_text(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    if t.timestamp_subsec_nanos() == 0 && (1000..=9999).contains(&t.year()) {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    } else {
        calls_core::format_record(t)
    }
}

fn push(text: &mut Vec<u8>, b: &[u8]) -> Span {
    let start = text.len();
    text.extend_from_slice(b);
    text.push(0);
    Span {
        start,
        len: b.len(),
    }
}

/// A field name for a message: at most 64 bytes of it.
fn shown(name: &str) -> String {
    let mut end = name.len().min(64);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    if end < name.len() {
        format!("{}...", &name[..end])
    } else {
        name.to_owned()
    }
}

fn no_field(name: &str) -> Failure {
    Failure::new(
        CALLS_RESULT_NO_FIELD,
        format!("the record has no field `{}`", shown(name)),
    )
}

fn wrong_type(name: &str, want: &str, got: &str) -> Failure {
    let got = crate::call::shown(got);
    Failure::invalid(format!("`{}` is not {want}: `{got}`", shown(name)))
}

/// A checked `const char **value_out, size_t *len_out` pair of borrowed
/// text: cleared when made (`len_out` may be NULL).
struct OutView {
    out: *mut *const c_char,
    len: *mut usize,
}

impl OutView {
    /// # Safety
    /// `out` and `len` are NULL or writable for the rest of the exported call.
    unsafe fn new(out: *mut *const c_char, len: *mut usize, what: &str) -> Result<Self, Failure> {
        if out.is_null() {
            return Err(Failure::null(what));
        }
        // SAFETY: non-NULL and writable (the caller's contract).
        unsafe { out.write(ptr::null()) };
        if !len.is_null() {
            // SAFETY: as above.
            unsafe { len.write(0) };
        }
        Ok(OutView { out, len })
    }

    fn set(&self, call: &calls_call, s: Option<Span>) {
        if let Some(s) = s {
            // SAFETY: checked when made, during the same exported call.
            unsafe {
                self.out.write(call.ptr(s));
                if !self.len.is_null() {
                    self.len.write(s.len);
                }
            }
        }
    }
}

/// A checked scalar out-parameter, zeroed when made.
///
/// # Safety
/// `out` is NULL or writable for the rest of the exported call.
unsafe fn out_scalar<T: Default>(out: *mut T, what: &str) -> Result<&'static mut T, Failure> {
    // SAFETY: the caller's contract; the reference does not outlive the call.
    let r = unsafe { out.as_mut() }.ok_or_else(|| Failure::null(what))?;
    *r = T::default();
    Ok(r)
}

/// Releases a call record and every string borrowed from it. NULL does
/// nothing.
///
/// # Safety
/// `call` is NULL or a live record not used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_call_free(call: *mut calls_call) {
    // SAFETY: forwarded from this function's contract.
    ffi_void(|| drop(unsafe { free_box(call) }));
}

/// The value of the field `name` as text, borrowed from `call`: valid until
/// `calls_call_free(call)`, NUL-terminated, `*len_out` (if `len_out` is not
/// NULL) its length in bytes without the NUL. Do not free or modify it.
///
/// Strings are unescaped (UTF-8; a string holding `\u0000` has a NUL inside
/// it: use `*len_out`); numbers are their exact literal text (`0.00280`
/// stays `0.00280`); booleans are `true` or `false`; objects and arrays are
/// compact JSON. A JSON `null` is CALLS_RESULT_OK with `*value_out` NULL and
/// `*len_out` 0. Fields the library does not model work the same as the
/// known ones, whatever the length of their names.
///
/// Timestamps the library models (`end_time`, `answer_time`,
/// `initiation_time`) read as UTC `YYYY-MM-DD HH:MM:SS[.ffffff]`; a known
/// field the service sent as `""` or `null` is absent, except `answer_time`,
/// which is then `null`.
///
/// Errors: NULL_PARAMETER (`call`, `name` or `value_out`), INVALID_ARGUMENT
/// (`name` is not UTF-8), NO_FIELD (the record has no such field); on
/// failure `*value_out` is NULL and `*len_out` 0.
///
/// # Safety
/// `call` is NULL or a live record; `name` is NULL or NUL-terminated;
/// `value_out` and `len_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_call_get(
    call: *const calls_call,
    name: *const c_char,
    value_out: *mut *const c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let out = unsafe { OutView::new(value_out, len_out, "value_out") }?;
        let call = unsafe { try_ref(call, "call") }?;
        let name = unsafe { try_str(name, "name") }?;
        out.set(call, call.get(name)?);
        Ok(CALLS_RESULT_OK)
    })
}

/// How many fields `call` has (0 for NULL).
///
/// # Safety
/// `call` is NULL or a live record.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_call_field_count(call: *const calls_call) -> usize {
    // SAFETY: forwarded from this function's contract.
    ffi_value(0, || unsafe { call.as_ref() }.map_or(0, |c| c.fields.len()))
}

/// The field at `index` (0 ≤ index < `calls_call_field_count`): its name in
/// `*name_out` and its value as `calls_call_get` gives it, every field in
/// the order received (a known field the service sent as `""` or `null` is
/// not there, except `answer_time`, then null and, if it was not sent at
/// all, last). Both strings are borrowed from `call` until `calls_call_free`.
///
/// Errors: NULL_PARAMETER (`call`, `name_out` or `value_out`),
/// INVALID_ARGUMENT (`index` out of range); on failure `*name_out` and
/// `*value_out` are NULL and `*len_out` 0.
///
/// # Safety
/// `call` is NULL or a live record; `name_out`, `value_out` and `len_out`
/// are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_call_field_at(
    call: *const calls_call,
    index: usize,
    name_out: *mut *const c_char,
    value_out: *mut *const c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all four): forwarded from this function's contract.
        let name = unsafe { OutView::new(name_out, ptr::null_mut(), "name_out") }?;
        let out = unsafe { OutView::new(value_out, len_out, "value_out") }?;
        let call = unsafe { try_ref(call, "call") }?;
        let f = call.fields.get(index).ok_or_else(|| {
            Failure::invalid(format!(
                "index {index} is out of range: the record has {} fields",
                call.fields.len()
            ))
        })?;
        name.set(call, Some(f.name));
        out.set(call, f.value);
        Ok(CALLS_RESULT_OK)
    })
}

/// The whole record as one compact JSON object (the same text
/// `calls_pager_next` gives: the known fields first, in the API's order,
/// then the others in the order received), borrowed from `call` until
/// `calls_call_free`:
/// NUL-terminated, `*len_out` (if not NULL) its length. Do not free it.
///
/// Errors: NULL_PARAMETER; on failure `*json_out` is NULL.
///
/// # Safety
/// `call` is NULL or a live record; `json_out` and `len_out` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_call_json(
    call: *const calls_call,
    json_out: *mut *const c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (both): forwarded from this function's contract.
        let out = unsafe { OutView::new(json_out, len_out, "json_out") }?;
        let call = unsafe { try_ref(call, "call") }?;
        let j = call.json()?;
        // SAFETY: checked when made, during this call; `j` lives in `call`.
        unsafe {
            out.out.write(j.as_ptr().cast());
            if !out.len.is_null() {
                out.len.write(j.len() - 1);
            }
        }
        Ok(CALLS_RESULT_OK)
    })
}

/// The field `name` as a signed 64-bit integer (counts and durations such as
/// `bill_duration`, `hangup_cause_code`): a JSON integer, or a string of one
/// (an optional `-` and decimal digits).
///
/// Errors: NULL_PARAMETER, NO_FIELD (no such field, or it is null),
/// INVALID_ARGUMENT (`name` not UTF-8; the value is not an integer, or does
/// not fit in int64_t). On failure `*value_out` is 0.
///
/// # Safety
/// `call` is NULL or a live record; `name` is NULL or NUL-terminated;
/// `value_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_call_get_int64(
    call: *const calls_call,
    name: *const c_char,
    value_out: *mut i64,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let out = unsafe { out_scalar(value_out, "value_out") }?;
        let call = unsafe { try_ref(call, "call") }?;
        let name = unsafe { try_str(name, "name") }?;
        let t = call.text_of(name)?;
        *out = parse_int(t).ok_or_else(|| wrong_type(name, "an int64_t integer", t))?;
        Ok(CALLS_RESULT_OK)
    })
}

fn parse_int(t: &str) -> Option<i64> {
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<i64>().ok()
}

/// The timestamp `name` (such as `end_time`, `answer_time`) as microseconds
/// since 1970-01-01 00:00:00 UTC. The text is read as the library reads the
/// API's timestamps: `YYYY-MM-DD HH:MM[:SS[.ffffff]]` in UTC, a `T`, `Z` or
/// an offset such as `+05:30` accepted. `""` counts as null.
///
/// Errors: NULL_PARAMETER, NO_FIELD (no such field, or it is null or `""`),
/// INVALID_ARGUMENT (`name` not UTF-8, or the value is not a timestamp).
/// On failure `*us_out` is 0.
///
/// # Safety
/// As `calls_call_get_int64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_call_get_time_us(
    call: *const calls_call,
    name: *const c_char,
    us_out: *mut i64,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let out = unsafe { out_scalar(us_out, "us_out") }?;
        let call = unsafe { try_ref(call, "call") }?;
        let name = unsafe { try_str(name, "name") }?;
        let t = call.text_of(name)?;
        if t.is_empty() {
            return Err(Failure::new(
                CALLS_RESULT_NO_FIELD,
                format!("`{}` is empty", shown(name)),
            ));
        }
        let when =
            calls_core::parse_timestamp(t).map_err(|_| wrong_type(name, "a timestamp", t))?;
        *out = when.timestamp_micros();
        Ok(CALLS_RESULT_OK)
    })
}

/// The boolean `name` (such as `srtp`, `secure_trunking`): `*value_out` is 1
/// for `true`, 0 for `false`.
///
/// Errors: NULL_PARAMETER, NO_FIELD (no such field, or it is null),
/// INVALID_ARGUMENT (`name` not UTF-8, or the value is not `true` or
/// `false`). On failure `*value_out` is 0.
///
/// # Safety
/// As `calls_call_get_int64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_call_get_bool(
    call: *const calls_call,
    name: *const c_char,
    value_out: *mut c_int,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let out = unsafe { out_scalar(value_out, "value_out") }?;
        let call = unsafe { try_ref(call, "call") }?;
        let name = unsafe { try_str(name, "name") }?;
        let found = call.find(name).ok_or_else(|| no_field(name))?;
        let Some(s) = found.value else {
            return Err(Failure::new(
                CALLS_RESULT_NO_FIELD,
                format!("`{}` is null", shown(name)),
            ));
        };
        // A JSON string "true" is text, not a boolean.
        *out = match (call.bytes(s), found.kind == Kind::Bool) {
            (b"true", true) => 1,
            (b"false", true) => 0,
            _ => {
                let t = String::from_utf8_lossy(call.bytes(s)).into_owned();
                return Err(wrong_type(name, "a boolean", &t));
            }
        };
        Ok(CALLS_RESULT_OK)
    })
}

/// The amount `name` (such as `total_amount`, `total_rate`) as its exact
/// decimal text, borrowed like `calls_call_get`'s values: an optional `-`,
/// digits, and optionally `.` and more digits (`"0.00280"` stays
/// `"0.00280"`), from a JSON string or number.
///
/// Errors: NULL_PARAMETER, NO_FIELD (no such field, or it is null),
/// INVALID_ARGUMENT (`name` not UTF-8, or the value is not such a decimal).
/// On failure `*value_out` is NULL and `*len_out` 0.
///
/// # Safety
/// As `calls_call_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_call_get_money(
    call: *const calls_call,
    name: *const c_char,
    value_out: *mut *const c_char,
    len_out: *mut usize,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let out = unsafe { OutView::new(value_out, len_out, "value_out") }?;
        let call = unsafe { try_ref(call, "call") }?;
        let name = unsafe { try_str(name, "name") }?;
        let t = call.text_of(name)?;
        Money::new(t).map_err(|_| wrong_type(name, "a decimal amount", t))?;
        out.set(call, call.get(name)?);
        Ok(CALLS_RESULT_OK)
    })
}

/// The amount `name` as integer micro-units (millionths: `"0.00280"` is
/// 2800, `"-1.5"` is -1500000), computed exactly from the decimal text.
/// Never rounded: more than 6 decimals are accepted only when the extra ones
/// are zeros (`"0.0028000"`), otherwise INVALID_ARGUMENT; so is an amount
/// beyond int64_t (about ±9.2 × 10^12 units).
///
/// Errors: NULL_PARAMETER, NO_FIELD (no such field, or it is null),
/// INVALID_ARGUMENT (`name` not UTF-8; not a decimal; too many decimals;
/// out of range). On failure `*micros_out` is 0.
///
/// # Safety
/// As `calls_call_get_int64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_call_get_money_micros(
    call: *const calls_call,
    name: *const c_char,
    micros_out: *mut i64,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let out = unsafe { out_scalar(micros_out, "micros_out") }?;
        let call = unsafe { try_ref(call, "call") }?;
        let name = unsafe { try_str(name, "name") }?;
        let t = call.text_of(name)?;
        *out = money_micros(t).map_err(|why| {
            Failure::invalid(format!(
                "`{}` = `{}` as micro-units: {why}",
                shown(name),
                shown(t)
            ))
        })?;
        Ok(CALLS_RESULT_OK)
    })
}

/// Exact integer micro-units of a decimal text.
pub(crate) fn money_micros(t: &str) -> Result<i64, &'static str> {
    if Money::new(t).is_err() {
        return Err("not a decimal amount");
    }
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let (kept, rest) = frac.split_at(frac.len().min(6));
    if rest.bytes().any(|b| b != b'0') {
        return Err("more than 6 decimals (it would be rounded)");
    }
    // Accumulate negatively: i64::MIN is reachable, and overflow is checked.
    let mut acc: i64 = 0;
    let digits_iter = int
        .bytes()
        .chain(kept.bytes())
        .chain(std::iter::repeat_n(b'0', 6 - kept.len()));
    for b in digits_iter {
        let d = i64::from(b - b'0');
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_sub(d))
            .ok_or("out of the range of int64_t")?;
    }
    if neg {
        Ok(acc)
    } else {
        acc.checked_neg().ok_or("out of the range of int64_t")
    }
}

/// Fetches one call by its uuid: `GET .../Zentrunk/Call/{call_uuid}/`.
///
/// `call_uuid` must be a uuid: 8-4-4-4-12 hexadecimal digits (either case);
/// anything else is VALIDATION with nothing sent. Retries as configured.
/// On success `*call_out` is a new record owned by the caller (release it
/// with `calls_call_free`); on failure it is NULL.
/// Errors: NULL_PARAMETER, INVALID_ARGUMENT (not UTF-8), VALIDATION,
/// NOT_FOUND (404: no such call, or beyond retention), and those of
/// `calls_client_list_page`. `client` may be shared by many threads at once.
///
/// # Safety
/// `client` is NULL or a live client; `call_uuid` is NULL or NUL-terminated;
/// `call_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calls_client_get_call(
    client: *const calls_client,
    call_uuid: *const c_char,
    call_out: *mut *mut calls_call,
) -> calls_result {
    ffi_call(|| {
        // SAFETY (all three): forwarded from this function's contract.
        let out = unsafe { OutHandle::new(call_out, "call_out") }?;
        let c = unsafe { try_ref(client, "client") }?;
        let uuid = unsafe { try_str(call_uuid, "call_uuid") }?;
        if !is_uuid(uuid) {
            return Err(Failure::new(
                CALLS_RESULT_VALIDATION,
                format!(
                    "call_uuid: `{}` is not a uuid (8-4-4-4-12 hexadecimal digits)",
                    shown(uuid)
                ),
            ));
        }
        let call = c.client.get_call(uuid)?;
        mark_http_ok();
        out.set(calls_call::new(call)?);
        Ok(CALLS_RESULT_OK)
    })
}

/// 8-4-4-4-12 hexadecimal digits.
pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn record(json: &str) -> calls_call {
        calls_call::new(calls_core::decode_call(json.as_bytes()).unwrap()).unwrap()
    }

    fn get(c: &calls_call, name: &CStr) -> (calls_result, Option<Vec<u8>>) {
        let mut v: *const c_char = SENTINEL;
        let mut n = 99usize;
        // SAFETY: live record and locals.
        let rc = unsafe { calls_call_get(c, name.as_ptr(), &mut v, &mut n) };
        if v.is_null() {
            assert_eq!(n, 0);
            return (rc, None);
        }
        // SAFETY: borrowed from c, NUL-terminated after n bytes.
        let s = unsafe { std::slice::from_raw_parts(v.cast::<u8>(), n + 1) };
        assert_eq!(s[n], 0, "NUL-terminated");
        (rc, Some(s[..n].to_vec()))
    }

    const SENTINEL: *const c_char = c"x".as_ptr();

    #[test]
    fn values_as_text() {
        let long = "k".repeat(300);
        let c = record(&format!(
            r#"{{"call_uuid":"u1","bill_duration":32,"total_amount":"0.00280","srtp":false,
              "answer_time":null,"x_num":12345678901234567890.125,"x_str":"a\"b\u00e9\u0000c",
              "x_obj":{{"a": [1, 2]}},"x_null":null,"{long}":"long name"}}"#
        ));
        assert_eq!(get(&c, c"call_uuid"), (0, Some(b"u1".to_vec())));
        assert_eq!(get(&c, c"bill_duration"), (0, Some(b"32".to_vec())));
        assert_eq!(get(&c, c"total_amount"), (0, Some(b"0.00280".to_vec())));
        assert_eq!(get(&c, c"srtp"), (0, Some(b"false".to_vec())));
        assert_eq!(get(&c, c"answer_time"), (0, None));
        assert_eq!(get(&c, c"x_null"), (0, None));
        assert_eq!(
            get(&c, c"x_num"),
            (0, Some(b"12345678901234567890.125".to_vec()))
        );
        assert_eq!(get(&c, c"x_str"), (0, Some("a\"bé\0c".as_bytes().to_vec())));
        assert_eq!(get(&c, c"x_obj"), (0, Some(br#"{"a":[1,2]}"#.to_vec())));
        let cname = std::ffi::CString::new(long).unwrap();
        assert_eq!(get(&c, &cname), (0, Some(b"long name".to_vec())));
        assert_eq!(get(&c, c"nope"), (CALLS_RESULT_NO_FIELD, None));
        assert_eq!(get(&c, c"end_time"), (CALLS_RESULT_NO_FIELD, None));
    }

    #[test]
    fn fields_in_the_order_received() {
        let c = record(
            r#"{"region":"us","srtp":true,"call_uuid":"u1","x":null,"end_time":"",
               "total_amount":"0.1","call_id":"c"}"#,
        );
        // SAFETY: a live record.
        let n = unsafe { calls_call_field_count(&c) };
        let names: Vec<String> = (0..n)
            .map(|i| {
                let (mut n, mut v): (*const c_char, *const c_char) = (SENTINEL, SENTINEL);
                // SAFETY: live record and locals.
                let rc = unsafe { calls_call_field_at(&c, i, &mut n, &mut v, ptr::null_mut()) };
                assert_eq!(rc, CALLS_RESULT_OK);
                // SAFETY: borrowed from c, NUL-terminated.
                unsafe { CStr::from_ptr(n) }.to_str().unwrap().to_owned()
            })
            .collect();
        // end_time "" is absent; answer_time, never sent, is written as null, last.
        assert_eq!(
            names,
            [
                "region",
                "srtp",
                "call_uuid",
                "x",
                "total_amount",
                "call_id",
                "answer_time"
            ]
        );
    }

    /// The fields as text are the record's JSON values, whatever the input.
    #[test]
    fn text_matches_the_records_json() {
        for json in [
            r#"{"call_uuid":"u1","end_time":"2026-09-18T08:52:26.5+05:30","answer_time":"2026-09-18 03:00",
               "initiation_time":"2026-09-18 02:59:59.123456789","call_direction":"sideways",
               "hangup_source":"customer","bill_duration":"32","total_rate":0.00280,"srtp":true,
               "secure_trunking":false,"stir_verification":"Verified","transport_protocol":"udp",
               "hangup_cause_code":4010,"x":[1,{"a":null}],"region":"us","trunk_domain":"t"}"#,
            r#"{"call_uuid":"u2","answer_time":null,"end_time":"","from_number":"+1","to_number":"2",
               "call_duration":0,"billed_duration":60,"hangup_cause_name":"n","total_amount":"-1.5",
               "from_country":"US","to_country":"IN","secure_trunking_rate":"0.00050",
               "attestation_indicator":"null"}"#,
            r#"{"call_uuid":"u3"}"#,
        ] {
            let call = calls_core::decode_call(json.as_bytes()).unwrap();
            let Value::Object(want) = serde_json::to_value(&call).unwrap() else {
                panic!("an object")
            };
            let c = calls_call::new(call).unwrap();
            assert_eq!(c.fields.len(), want.len(), "{json}");
            for f in &c.fields {
                let name = std::str::from_utf8(c.bytes(f.name)).unwrap();
                let got = f.value.map(|v| c.bytes(v).to_vec());
                let expect = match &want[name] {
                    Value::Null => None,
                    Value::String(s) => Some(s.as_bytes().to_vec()),
                    Value::Number(n) => Some(n.as_str().as_bytes().to_vec()),
                    Value::Bool(b) => Some(b.to_string().into_bytes()),
                    v => Some(serde_json::to_vec(v).unwrap()),
                };
                assert_eq!(got, expect, "{name} of {json}");
            }
        }
        // A record made by hand (no order): the known fields, then the others.
        let mut call = Call {
            call_uuid: "h".into(),
            srtp: Some(true),
            ..Call::default()
        };
        call.extra.insert("srtp".into(), Value::from("shadowed"));
        call.extra.insert("zz".into(), Value::from(1));
        let c = calls_call::new(call).unwrap();
        let names: Vec<&[u8]> = c.fields.iter().map(|f| c.bytes(f.name)).collect();
        assert_eq!(names, [&b"call_uuid"[..], b"answer_time", b"srtp", b"zz"]);
        assert_eq!(get(&c, c"srtp"), (0, Some(b"true".to_vec())));
    }

    #[test]
    fn micros_exact() {
        assert_eq!(money_micros("0.00280"), Ok(2800));
        assert_eq!(money_micros("-1.5"), Ok(-1_500_000));
        assert_eq!(money_micros("12"), Ok(12_000_000));
        assert_eq!(money_micros("0.0028000"), Ok(2800));
        assert_eq!(money_micros("0.000001"), Ok(1));
        assert!(money_micros("0.0000001").is_err());
        assert_eq!(money_micros("9223372036854.775807"), Ok(i64::MAX));
        assert_eq!(money_micros("-9223372036854.775808"), Ok(i64::MIN));
        assert!(money_micros("9223372036854.775808").is_err());
        assert!(money_micros("99999999999999999999").is_err());
        assert!(money_micros("1e3").is_err());
        assert!(money_micros("").is_err());
        assert!(money_micros("1.").is_err());
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("0d8aa0f3-4cb6-4f86-ab24-3d1ed24f856f"));
        assert!(is_uuid("0D8AA0F3-4CB6-4F86-AB24-3D1ED24F856F"));
        assert!(!is_uuid("0d8aa0f3-4cb6-4f86-ab24-3d1ed24f856"));
        assert!(!is_uuid("0d8aa0f3x4cb6-4f86-ab24-3d1ed24f856f"));
        assert!(!is_uuid("0d8aa0f3-4cb6-4f86-ab24-3d1ed24f856g"));
        assert!(!is_uuid("../../etc/passwd"));
    }
}
