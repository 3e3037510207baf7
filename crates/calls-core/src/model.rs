//! The typed records: [`Page`], [`Meta`], [`Link`], [`Call`] and its value types.
//!
//! A list response is `{"api_id": "...", "meta": {...}, "objects": [call, ...]}`;
//! [`decode_page`] turns its bytes into a [`Page`], [`decode_call`] decodes the
//! single-record endpoint. Both report what was wrong as
//! [`Error::BadResponse`](crate::Error::BadResponse) with a path to the value
//! (`objects[3].end_time: ...`) and serde_json's line and column.
//!
//! Decoding is tolerant where the service is known to vary and strict where a
//! wrong value would silently corrupt data:
//!
//! * every field a [`Call`] (or [`Meta`], [`Page`]) does not model is kept, in
//!   order, in its `extra` map, and written back after the known fields;
//! * timestamps accept `HH:MM`, seconds, fractions, `T`, `Z` and offsets such as
//!   `+05:30` (see [`crate::time::parse_timestamp`]); `""` and `null` are `None`;
//!   anything else that does not parse is an error naming the field;
//! * money is a [`Money`]: the exact decimal text, never a float;
//! * enumerations keep values this crate does not know as `Other(String)`;
//! * counts and durations are whole, non-negative numbers (numeric strings are
//!   accepted, `""` and `null` are `None`); `-1` or `2.5` is an error.
//!
//! Serialization writes the API's keys back: known fields first, under their
//! API names, then the `extra` fields unchanged. A known field that is `None`
//! is left out, except `answer_time`, which is written as `null` (the service
//! reports unanswered calls that way). Timestamps are written in UTC as
//! [`crate::time::format_record`] does, so `+05:30` input comes back as the same
//! instant in UTC. Money is always written as a JSON string.

use std::borrow::Cow;
use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::time::{format_record, parse_timestamp};

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// Decodes a list response body (`{"api_id", "meta", "objects"}`) into a [`Page`].
///
/// Fails with [`Error::BadResponse`](crate::Error::BadResponse) whose message
/// names what was wrong: the path to the bad value and why, or serde_json's
/// description with line and column. Never panics, whatever the bytes.
///
/// ```
/// use calls_core::model::{decode_page, Link};
///
/// let body = br#"{"api_id": "a1", "meta": {"limit": 20, "offset": 0, "total_count": 1,
///     "next": null, "previous": null},
///     "objects": [{"call_uuid": "u1", "end_time": "2026-09-18 08:52:26",
///                  "total_amount": "0.00280", "region": "us-east-1"}]}"#;
/// let page = decode_page(body)?;
/// assert_eq!(page.meta.total_count, Some(1));
/// assert!(!page.meta.next.is_more());
/// let call = &page.objects[0];
/// assert_eq!(call.total_amount.as_ref().unwrap().as_str(), "0.00280");
/// assert_eq!(call.extra["region"], "us-east-1");
///
/// let err = decode_page(br#"{"meta": {}, "objects": [{"call_uuid": "u1", "end_time": "2026-13-01 00:00"}]}"#)
///     .unwrap_err();
/// assert!(err.to_string().contains("objects[0].end_time: `2026-13-01 00:00` is not a real date"));
/// # Ok::<(), calls_core::Error>(())
/// ```
pub fn decode_page(bytes: &[u8]) -> Result<Page, crate::Error> {
    decode(bytes, |d| d.deserialize_map(PageVisitor { max: None }))
}

/// [`decode_page`] for a page asked for with `limit`: a page holding more
/// than `limit` objects is refused when the first object too many is met,
/// without decoding it or anything after it.
///
/// ```
/// use calls_core::model::decode_page_with_limit;
/// let body = br#"{"meta": {}, "objects": [{"call_uuid": "a"}, {"call_uuid": "b"}]}"#;
/// assert_eq!(decode_page_with_limit(body, 2)?.objects.len(), 2);
/// let err = decode_page_with_limit(body, 1).unwrap_err().to_string();
/// assert!(err.contains("more than 1 object"), "{err}");
/// # Ok::<(), calls_core::Error>(())
/// ```
pub fn decode_page_with_limit(bytes: &[u8], limit: u32) -> Result<Page, crate::Error> {
    let max = Some(limit as usize);
    decode(bytes, |d| d.deserialize_map(PageVisitor { max }))
}

/// Decodes a single call record (`GET .../Zentrunk/Call/{call_uuid}/`) into a [`Call`].
///
/// Errors are [`Error::BadResponse`](crate::Error::BadResponse) naming the
/// field (`end_time: ...`); never panics.
///
/// ```
/// let call = calls_core::model::decode_call(br#"{"call_uuid": "u1", "srtp": false}"#)?;
/// assert_eq!(call.srtp, Some(false));
/// # Ok::<(), calls_core::Error>(())
/// ```
pub fn decode_call(bytes: &[u8]) -> Result<Call, crate::Error> {
    decode(bytes, |d| Call::deserialize(d))
}

/// The structure (estimated bytes) that fields this crate does not model may
/// build when a decode function is called directly: the client's default
/// body cap, or the body's own size when larger. The client passes its cap.
pub const DEFAULT_DECODE_BUDGET: usize = 8 * 1024 * 1024;

type JsonDe<'d, 'b> = &'d mut serde_json::Deserializer<serde_json::de::SliceRead<'b>>;

/// Runs one decode of the whole of `bytes`, within the client's decode
/// context or, called directly, within [`DEFAULT_DECODE_BUDGET`] (at least
/// the body's size). A failure is reported as `path: why at line L column C`.
fn decode<T>(
    bytes: &[u8],
    run: impl FnOnce(JsonDe<'_, '_>) -> Result<T, serde_json::Error>,
) -> Result<T, crate::Error> {
    let go = || {
        PATH.with(|p| *p.borrow_mut() = Some(Vec::new()));
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let out = run(&mut de).and_then(|v| de.end().map(|()| v));
        let path = PATH.with(|p| p.borrow_mut().take()).unwrap_or_default();
        out.map_err(|e| {
            let mut at = String::new();
            for segment in path.iter().rev() {
                match segment {
                    Segment::Index(i) => at.push_str(&format!("[{i}]")),
                    Segment::Key(k) if at.is_empty() => at.push_str(k),
                    Segment::Key(k) => at.push_str(&format!(".{k}")),
                }
            }
            let sep = if at.is_empty() { "" } else { ": " };
            crate::Error::BadResponse(format!("{at}{sep}{e}"))
        })
    };
    if crate::response::in_decode_context() {
        go()
    } else {
        crate::response::with_decode_context(&[], DEFAULT_DECODE_BUDGET.max(bytes.len()), go).0
    }
}

// The path to a bad value (`objects[3].end_time`). Hand-written rather than
// `serde_path_to_error`, which copies every key it passes to know the path
// should an error come: that made a decode 45% slower, over a bare `Value`
// parse in the FFI's record bench. Here nothing is done until a value
// fails: each record reader notes its key or index as the error passes out
// (innermost first), and the error itself passes through untouched, so
// serde_json's line and column are written once.
thread_local! {
    static PATH: RefCell<Option<Vec<Segment>>> = const { RefCell::new(None) };
}

enum Segment {
    Key(String),
    Index(usize),
}

/// Notes where `r` failed, inside [`decode`] (elsewhere there is no path).
fn within<T, E>(r: Result<T, E>, segment: impl FnOnce() -> Segment) -> Result<T, E> {
    if r.is_err() {
        let _ = PATH.try_with(|p| {
            if let Some(path) = p.borrow_mut().as_mut() {
                path.push(segment());
            }
        });
    }
    r
}

/// [`within`] a field of a record.
fn in_field<T, E>(r: Result<T, E>, name: &str) -> Result<T, E> {
    within(r, || Segment::Key(name.to_owned()))
}

/// Shortens odd input for an error message, after removing the client's
/// secrets from the whole of it (so that no cut leaves a piece of one).
fn shown(s: &str) -> String {
    crate::response::quote(s, 40)
}

// ---------------------------------------------------------------------------
// Fields not modelled: kept as `Value`, within the decode budget
// ---------------------------------------------------------------------------

/// A field this crate does not model, read into a [`Value`] while charging
/// the decode budget (see [`crate::response::charge`]) for what is built and
/// refusing nesting beyond [`crate::response::MAX_EXTRA_DEPTH`].
///
/// Hand-written, and the reason the record types hand-write their
/// `visit_map`: serde's derived `#[serde(flatten)]` buffers every unknown
/// field into serde's private `Content` tree before any code of ours sees
/// it, so neither the budget nor the depth cap could apply (a hostile body
/// would build its whole structure first), and it costs a second pass.
struct Extra;

/// Estimated bytes of one `Value` node: its slot, twice (a growing `Vec` or
/// map holds up to twice what it uses).
const NODE_COST: usize = 2 * std::mem::size_of::<Value>();

/// Estimated bytes of a heap text of `len` bytes (allocator rounding included).
fn text_cost(len: usize) -> usize {
    len.div_ceil(16).saturating_mul(16).saturating_add(16)
}

fn charge<E: de::Error>(bytes: usize) -> Result<(), E> {
    if crate::response::charge(bytes) {
        Ok(())
    } else {
        Err(E::custom(
            "the fields this client does not model hold more structure than the decode budget allows; not decoded further",
        ))
    }
}

fn enter<E: de::Error>() -> Result<(), E> {
    if crate::response::enter() {
        Ok(())
    } else {
        Err(E::custom(format_args!(
            "nested deeper than {} levels; not decoded further",
            crate::response::MAX_EXTRA_DEPTH
        )))
    }
}

impl<'de> DeserializeSeed<'de> for Extra {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(Extra)
    }
}

impl<'de> Visitor<'de> for Extra {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        charge(NODE_COST)?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        charge(NODE_COST + text_cost(20))?;
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        charge(NODE_COST + text_cost(20))?;
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        charge(NODE_COST + text_cost(24))?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        charge(NODE_COST + text_cost(v.len()))?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        charge(NODE_COST + text_cost(v.len()))?;
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        charge(NODE_COST)?;
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Extra.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        charge(NODE_COST)?;
        enter()?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Extra)? {
            items.push(v);
        }
        crate::response::leave();
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        charge(NODE_COST)?;
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Value::Object(Map::new()));
        };
        // serde_json's `arbitrary_precision` hands a number over as a
        // one-entry map under this key, holding the number's exact text.
        if first == "$serde_json::private::Number" {
            let text: String = map.next_value()?;
            charge(text_cost(text.len()))?;
            return text
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .map_err(|_| de::Error::custom("not a JSON number"));
        }
        enter()?;
        let mut out = Map::new();
        let mut key = Some(first);
        while let Some(k) = key {
            charge(NODE_COST + std::mem::size_of::<String>() + text_cost(k.len()))?;
            let v = map.next_value_seed(Extra)?;
            out.insert(k, v);
            key = map.next_key::<String>()?;
        }
        crate::response::leave();
        Ok(Value::Object(out))
    }
}

// ---------------------------------------------------------------------------
// Money and exact numbers
// ---------------------------------------------------------------------------

/// An amount of money exactly as the API wrote it (`"0.00260"` stays `"0.00260"`).
///
/// Always a decimal: an optional `-`, digits, and optionally `.` and more
/// digits. Never converted to a float. The API sends strings; a JSON number
/// is accepted too and keeps its literal text exactly (`0.00260` stays
/// `0.00260`, `12345678901234567.89` keeps all its digits: calls-core builds
/// serde_json with `arbitrary_precision`). A number written with an exponent
/// is rewritten exactly as the same decimal without one (`1.50e-3` is
/// `0.00150`), keeping every digit of the mantissa; an exponent beyond
/// ±100 is refused. Serialized as a JSON string.
///
/// ```
/// use calls_core::model::Money;
/// let m: Money = "0.00260".parse().unwrap();
/// assert_eq!(m.as_str(), "0.00260");
/// assert!("1e-3".parse::<Money>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Money(String);

impl Money {
    /// Checks that `s` is a decimal and keeps it verbatim.
    pub fn new(s: impl Into<String>) -> Result<Money, String> {
        let s = s.into();
        if is_decimal(&s) {
            Ok(Money(s))
        } else {
            Err(format!("`{}` is not a decimal amount", shown(&s)))
        }
    }

    /// The decimal text, exactly as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The decimal text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    all(int) && frac.is_none_or(all)
}

impl FromStr for Money {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::new(s)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Money {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        OptMoney::deserialize(d)?
            .0
            .ok_or_else(|| de::Error::custom("empty amount"))
    }
}

/// Why [`exact_decimal`] refused a number's text.
#[derive(Debug, PartialEq, Eq)]
enum NumberError {
    /// Not the text of a JSON number.
    Malformed,
    /// An exponent beyond ±[`MAX_EXPONENT`].
    OutOfRange,
}

/// The largest exponent (either sign) [`exact_decimal`] expands.
const MAX_EXPONENT: u32 = 100;

/// A JSON number's text as a plain decimal with the same value and digits:
/// unchanged without an exponent; otherwise the mantissa's digits with the
/// point moved (`1.50e-3` → `0.00150`, `2.5E+2` → `250`, `-0e5` → `-0`).
/// Text that is not a JSON number, or an exponent beyond ±[`MAX_EXPONENT`],
/// is an error, never a panic or a huge allocation. Hand-written: the
/// decimal crates normalise digits (`0.00150` → `0.0015`) or print an
/// exponent again, and exact text is the point.
fn exact_decimal(text: &str) -> Result<String, NumberError> {
    let Some(e) = text.find(['e', 'E']) else {
        return if is_decimal(text) {
            Ok(text.to_owned())
        } else {
            Err(NumberError::Malformed)
        };
    };
    let (mantissa, exp) = (&text[..e], &text[e + 1..]);
    let (exp_negative, exp_digits) = match exp.as_bytes().first() {
        Some(b'-') => (true, &exp[1..]),
        Some(b'+') => (false, &exp[1..]),
        _ => (false, exp),
    };
    if !is_decimal(mantissa)
        || exp_digits.is_empty()
        || !exp_digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(NumberError::Malformed);
    }
    // Leading zeros (`1e-007`) are allowed; then any digits left must be few.
    let significant = exp_digits.trim_start_matches('0');
    let magnitude = match significant.len() {
        0 => 0,
        1..=3 => significant
            .parse::<u32>()
            .map_err(|_| NumberError::Malformed)?,
        _ => return Err(NumberError::OutOfRange),
    };
    if magnitude > MAX_EXPONENT {
        return Err(NumberError::OutOfRange);
    }
    let (negative, unsigned) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits: String = [int, frac].concat();
    // Where the point goes, counted in digits from the left.
    let shift = i64::from(magnitude) * if exp_negative { -1 } else { 1 };
    let point = int.len() as i64 + shift;
    let mut out = String::with_capacity(digits.len() + magnitude as usize + 3);
    if negative {
        out.push('-');
    }
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        let (whole, fraction) = if point >= digits.len() {
            (digits.clone() + &"0".repeat(point - digits.len()), "")
        } else {
            (digits[..point].to_owned(), &digits[point..])
        };
        // `0.05e2` is `5`, not `005`.
        let trimmed = whole.trim_start_matches('0');
        out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(fraction);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Field values: one scalar reader, then money, counts, times, enums
// ---------------------------------------------------------------------------

/// One JSON scalar as the decoder met it, text borrowed from the body when
/// it holds no escape (no allocation for a timestamp, an enumeration or a
/// known key; serde's own `Cow<str>` always allocates). Hand-written, as
/// the readers below take several JSON types for one field, and a number's
/// exact text.
enum Scalar<'de> {
    Null,
    Bool(bool),
    Str(Cow<'de, str>),
    Int(i128),
    /// A number that is not an `i64`/`u64`, as its exact text: with
    /// serde_json's `arbitrary_precision` it arrives as a private one-entry
    /// map (`visit_map`); a real JSON object there is not a number.
    Number(String),
    /// Only from a deserializer with no literal text to give, such as
    /// `serde_json::from_value`.
    Float(f64),
}

/// Reads a [`Scalar`]; the text names what the field takes, for the
/// "invalid type" error of anything else.
struct Read(&'static str);

impl<'de> DeserializeSeed<'de> for Read {
    type Value = Scalar<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Read {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar<'de>, E> {
        Ok(i128::try_from(v).map_or_else(|_| Scalar::Number(v.to_string()), Scalar::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        let not_number = || de::Error::invalid_type(de::Unexpected::Map, &self);
        match map.next_key_seed(Read("a number"))? {
            Some(Scalar::Str(k)) if k == "$serde_json::private::Number" => {}
            _ => return Err(not_number()),
        }
        match map.next_value_seed(Read("a number"))? {
            Scalar::Str(t) if t.parse::<serde_json::Number>().is_ok() => {
                Ok(Scalar::Number(t.into_owned()))
            }
            _ => Err(not_number()),
        }
    }
}

impl<'de> Scalar<'de> {
    fn read<D: Deserializer<'de>>(d: D, expecting: &'static str) -> Result<Self, D::Error> {
        Read(expecting).deserialize(d)
    }

    /// The "invalid type" error for this value where `expecting` was wanted.
    fn invalid<E: de::Error>(&self, expecting: &'static str) -> E {
        let unexpected = match self {
            Scalar::Null => de::Unexpected::Unit,
            Scalar::Bool(b) => de::Unexpected::Bool(*b),
            Scalar::Str(s) => de::Unexpected::Str(s),
            Scalar::Int(v) => match i64::try_from(*v) {
                Ok(v) if v < 0 => de::Unexpected::Signed(v),
                _ => de::Unexpected::Unsigned(u64::try_from(*v).unwrap_or(u64::MAX)),
            },
            Scalar::Number(_) | Scalar::Float(_) => de::Unexpected::Other("a number"),
        };
        E::invalid_type(unexpected, &expecting)
    }

    /// A string or `null` (`None`): what a key, a timestamp or an enum takes.
    fn text<E: de::Error>(self, expecting: &'static str) -> Result<Option<Cow<'de, str>>, E> {
        match self {
            Scalar::Null => Ok(None),
            Scalar::Str(s) => Ok(Some(s)),
            other => Err(other.invalid(expecting)),
        }
    }
}

/// `` `text` is why ``, the text shortened and without the client's secrets.
fn bad<E: de::Error>(text: &str, why: &str) -> E {
    E::custom(format_args!("`{}` is {why}", shown(text)))
}

/// An optional amount (see [`Money`]); `""` and `null` are `None`.
struct OptMoney(Option<Money>);

impl<'de> Deserialize<'de> for OptMoney {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const EXPECTING: &str = "a decimal amount as a string or number";
        let money = match Scalar::read(d, EXPECTING)? {
            Scalar::Null => None,
            Scalar::Str(s) if s.is_empty() => None,
            Scalar::Str(s) => Some(Money::new(s).map_err(de::Error::custom)?),
            Scalar::Int(v) => Some(Money(v.to_string())),
            Scalar::Number(text) => Some(Money(exact_decimal(&text).map_err(|e| match e {
                NumberError::OutOfRange => bad(&text, "out of range for an amount"),
                NumberError::Malformed => bad(&text, "not a decimal amount"),
            })?)),
            // NaN and infinities come out as `NaN`/`inf`, refused by `Money::new`;
            // Rust's Display for f64 is the shortest round-trip decimal, no exponent.
            Scalar::Float(v) => Some(Money::new(v.to_string()).map_err(de::Error::custom)?),
            other => return Err(other.invalid(EXPECTING)),
        };
        Ok(OptMoney(money))
    }
}

/// An optional whole, non-negative number: an integer, an integral float, or a
/// string of digits; `null` and `""` are `None`. A number is read exactly
/// from its text, so `60.0` and `6e1` are 60, `2.5` is refused.
struct OptCount(Option<u64>);

impl<'de> Deserialize<'de> for OptCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const EXPECTING: &str = "a whole non-negative number or null";
        let count = match Scalar::read(d, EXPECTING)? {
            Scalar::Null => None,
            Scalar::Int(v) if v < 0 => return Err(bad(&v.to_string(), "negative")),
            Scalar::Int(v) => Some(u64::try_from(v).map_err(|_| bad(&v.to_string(), "too large"))?),
            Scalar::Number(text) => Some(whole(&text)?),
            Scalar::Float(v) if v < 0.0 => return Err(bad(&v.to_string(), "negative")),
            // Up to 2^53, where every whole float is exact.
            Scalar::Float(v) if v.fract() == 0.0 && v <= 9_007_199_254_740_992.0 => Some(v as u64),
            Scalar::Float(v) => return Err(bad(&v.to_string(), "not a whole number")),
            Scalar::Str(s) => match s.trim() {
                "" => None,
                t if t.bytes().all(|b| b.is_ascii_digit()) => {
                    Some(t.parse().map_err(|_| bad(t, "too large"))?)
                }
                t if t.starts_with('-') => return Err(bad(t, "negative")),
                t => return Err(bad(t, "not a whole number")),
            },
            other => return Err(other.invalid(EXPECTING)),
        };
        Ok(OptCount(count))
    }
}

/// A JSON number's exact text as a whole, non-negative number.
fn whole<E: de::Error>(text: &str) -> Result<u64, E> {
    let decimal = exact_decimal(text).map_err(|e| match e {
        NumberError::OutOfRange => bad(text, "out of range"),
        NumberError::Malformed => bad(text, "not a whole number"),
    })?;
    let (negative, unsigned) = match decimal.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, decimal.as_str()),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if negative && !unsigned.bytes().all(|b| b == b'0' || b == b'.') {
        return Err(bad(text, "negative"));
    }
    if !frac.bytes().all(|b| b == b'0') {
        return Err(bad(text, "not a whole number"));
    }
    int.parse().map_err(|_| bad(text, "too large"))
}

/// An optional timestamp: `null` and `""` (or blanks) are `None`; anything
/// else must parse (see [`crate::time::parse_timestamp`]).
struct OptTime(Option<DateTime<Utc>>);

impl<'de> Deserialize<'de> for OptTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const EXPECTING: &str = "a timestamp string or null";
        match Scalar::read(d, EXPECTING)?.text(EXPECTING)? {
            Some(s) if !s.trim().is_empty() => parse_timestamp(&s)
                .map(|t| OptTime(Some(t)))
                .map_err(de::Error::custom),
            _ => Ok(OptTime(None)),
        }
    }
}

/// An optional enumeration: `null` and `""` are `None`, unknown text `Other`.
struct OptEnum<T>(Option<T>);

impl<'de, T: From<Cow<'de, str>>> Deserialize<'de> for OptEnum<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Scalar::read(d, "a string or null")?.text("a string or null")?;
        Ok(OptEnum(text.filter(|s| !s.is_empty()).map(T::from)))
    }
}

/// Writes an optional timestamp as the API does; `None` is `null`.
fn api_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_record(*t)),
        None => s.serialize_unit(),
    }
}

/// Writes the `extra` fields whose names `known` does not hold: a known name
/// put into `extra` by hand would write its key twice; the typed field wins.
fn unknown_only<S: Serializer>(
    extra: &Map<String, Value>,
    known: &[&str],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(extra.iter().filter(|(k, _)| !known.contains(&k.as_str())))
}

// ---------------------------------------------------------------------------
// Enumerations
// ---------------------------------------------------------------------------

/// The API enumerations: the spellings are listed once, here, and shared
/// with [`crate::query`] through `ALLOWED`. A macro rather than
/// `#[derive(Deserialize)]` with `#[serde(other)]`, which drops the unknown
/// text this crate keeps in `Other`.
macro_rules! api_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $s:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know (yet), kept verbatim.
            Other(String),
        }

        impl $name {
            /// The documented values, in the API's exact spelling.
            pub const ALLOWED: &'static [&'static str] = &[$($s),+];

            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $s, )+
                    $name::Other(s) => s,
                }
            }

            /// Reads the API spelling (case-sensitive); any other text is `Other`.
            pub fn parse(s: &str) -> Self {
                Self::from(Cow::Borrowed(s))
            }
        }

        impl From<Cow<'_, str>> for $name {
            fn from(s: Cow<'_, str>) -> Self {
                match &*s {
                    $( $s => $name::$variant, )+
                    _ => $name::Other(s.into_owned()),
                }
            }
        }

        impl FromStr for $name {
            type Err = Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::parse(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Cow::<str>::deserialize(d).map($name::from)
            }
        }
    };
}

api_enum! {
    /// `call_direction`: who placed the call.
    CallDirection {
        /// `inbound`: from the carrier network to the trunk.
        Inbound => "inbound",
        /// `outbound`: from the trunk to the carrier network.
        Outbound => "outbound",
    }
}

api_enum! {
    /// `hangup_source`: which side ended the call.
    HangupSource {
        /// `customer`: the customer's side of the trunk.
        Customer => "customer",
        /// `carrier`: the carrier network.
        Carrier => "carrier",
        /// `zentrunk`: Plivo's trunking platform itself.
        Zentrunk => "zentrunk",
    }
}

api_enum! {
    /// `stir_verification`: the STIR/SHAKEN verification result.
    StirVerification {
        /// `Verified`.
        Verified => "Verified",
        /// `Not Verified`.
        NotVerified => "Not Verified",
        /// `Not Applicable`.
        NotApplicable => "Not Applicable",
    }
}

api_enum! {
    /// `transport_protocol`: the SIP signalling transport.
    TransportProtocol {
        /// `udp`.
        Udp => "udp",
        /// `tcp`.
        Tcp => "tcp",
        /// `tls`.
        Tls => "tls",
    }
}

// ---------------------------------------------------------------------------
// Records: Call, Meta, Page
// ---------------------------------------------------------------------------
//
// `Serialize` is derived. `Deserialize` is one short hand-written `visit_map`
// per record, not derived, because derive cannot keep what this crate
// promises: unknown fields read within the decode budget (see [`Extra`]),
// the order the fields arrived in ([`Call::received`]), and duplicate keys
// decided deliberately: the last value of a key wins, as in most JSON
// readers (derive refuses a known key sent twice and keeps the last unknown
// one). The field values go through the small readers above.

/// The next key of a record's map: one of `F`'s fields, or the name of another.
fn next_key<'de, A: MapAccess<'de>, F>(
    map: &mut A,
    known: fn(&str) -> Option<F>,
) -> Result<Option<Result<F, String>>, A::Error> {
    let Some(key) = map.next_key_seed(Read("a field name"))? else {
        return Ok(None);
    };
    let key = key.text("a field name")?.unwrap_or_default();
    Ok(Some(known(&key).ok_or_else(|| key.into_owned())))
}

/// Reads an unknown field's value into `extra` (the last of a key sent
/// twice wins, at the first one's place); whether the key is new.
fn extra_entry<'de, A: MapAccess<'de>>(
    map: &mut A,
    key: String,
    extra: &mut Map<String, Value>,
) -> Result<bool, A::Error> {
    let v = in_field(map.next_value_seed(Extra), &key)?;
    Ok(extra.insert(key, v).is_none())
}

/// A record's modelled fields, named once: the enumeration, its API names
/// in order (what [`Call::received`] indexes) and the name lookup.
macro_rules! fields {
    ($name:ident { $($variant:ident => $api:literal),+ $(,)? }) => {
        #[derive(Clone, Copy)]
        enum $name { $($variant),+ }
        impl $name {
            const NAMES: &'static [&'static str] = &[$($api),+];
            fn from_key(k: &str) -> Option<Self> {
                match k { $($api => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

fields!(CallField {
    CallUuid => "call_uuid",
    FromNumber => "from_number",
    ToNumber => "to_number",
    CallDirection => "call_direction",
    CallDuration => "call_duration",
    BillDuration => "bill_duration",
    BilledDuration => "billed_duration",
    InitiationTime => "initiation_time",
    AnswerTime => "answer_time",
    EndTime => "end_time",
    HangupCauseName => "hangup_cause_name",
    HangupCauseCode => "hangup_cause_code",
    HangupSource => "hangup_source",
    TotalRate => "total_rate",
    TotalAmount => "total_amount",
    TrunkDomain => "trunk_domain",
    FromCountry => "from_country",
    ToCountry => "to_country",
    TransportProtocol => "transport_protocol",
    Srtp => "srtp",
    SecureTrunking => "secure_trunking",
    SecureTrunkingRate => "secure_trunking_rate",
    StirVerification => "stir_verification",
    AttestationIndicator => "attestation_indicator",
});

/// One call detail record.
///
/// Every field but `call_uuid` is optional: records differ by age and
/// endpoint, and many omit fields. Fields this crate does not model (such as
/// `call_id`, `cnam_lookup`, `region`, or the legacy `duration`,
/// `hangup_cause`, `hangup_initiator`, `hangup_code`, `rate`) are kept in
/// [`Call::extra`] exactly as received. See the [module docs](self) for how
/// values are read and written back.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Call {
    /// `call_uuid`: the call's identifier (required).
    pub call_uuid: String,
    /// `from_number`: the calling number, as sent (`+` prefix or not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_number: Option<String>,
    /// `to_number`: the called number, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_number: Option<String>,
    /// `call_direction`: `inbound` or `outbound`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_direction: Option<CallDirection>,
    /// `call_duration`: seconds from answer to hangup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_duration: Option<u64>,
    /// `bill_duration`: seconds billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_duration: Option<u64>,
    /// `billed_duration`: seconds billed after rounding to the billing increment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billed_duration: Option<u64>,
    /// `initiation_time`: when the call was initiated (UTC).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "api_time")]
    pub initiation_time: Option<DateTime<Utc>>,
    /// `answer_time`: when the call was answered (UTC); `None` if never answered.
    #[serde(serialize_with = "api_time")]
    pub answer_time: Option<DateTime<Utc>>,
    /// `end_time`: when the call ended (UTC).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "api_time")]
    pub end_time: Option<DateTime<Utc>>,
    /// `hangup_cause_name`: the hangup cause, e.g. `normal_hangup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hangup_cause_name: Option<String>,
    /// `hangup_cause_code`: the numeric hangup cause, e.g. `3000`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hangup_cause_code: Option<u64>,
    /// `hangup_source`: which side ended the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hangup_source: Option<HangupSource>,
    /// `total_rate`: the per-minute rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_rate: Option<Money>,
    /// `total_amount`: the amount charged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<Money>,
    /// `trunk_domain`: the trunk's SIP domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trunk_domain: Option<String>,
    /// `from_country`: ISO country code of the calling number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_country: Option<String>,
    /// `to_country`: ISO country code of the called number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_country: Option<String>,
    /// `transport_protocol`: `udp`, `tcp` or `tls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_protocol: Option<TransportProtocol>,
    /// `srtp`: whether the media was encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtp: Option<bool>,
    /// `secure_trunking`: whether secure trunking was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_trunking: Option<bool>,
    /// `secure_trunking_rate`: the secure trunking surcharge rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_trunking_rate: Option<Money>,
    /// `stir_verification`: the STIR/SHAKEN verification result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stir_verification: Option<StirVerification>,
    /// `attestation_indicator`: the STIR/SHAKEN attestation (`A`, `B`, `C`),
    /// verbatim; the service sometimes sends the string `"null"`: see
    /// [`Call::attestation`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation_indicator: Option<String>,
    /// Every other field the service sent, unchanged and in order.
    #[serde(flatten, serialize_with = "call_extra")]
    pub extra: Map<String, Value>,
    /// The order the service sent the fields in (see
    /// [`Call::received_names`]); empty for a record not decoded. Not part of
    /// equality: two records with the same fields are equal in any order.
    #[serde(skip)]
    pub received: ReceivedOrder,
}

/// The order in which a decoded [`Call`]'s fields arrived: for each field,
/// the index of a known field in [`Call::FIELDS`], or
/// [`ReceivedOrder::EXTRA`] plus the index of an unmodelled field in
/// [`Call::extra`]. Records with more than `u16::MAX - EXTRA` unmodelled
/// fields keep the order of the first ones only. Always equal to another
/// `ReceivedOrder`: it does not change what a record holds.
#[derive(Debug, Clone, Default)]
pub struct ReceivedOrder(pub Vec<u16>);

impl ReceivedOrder {
    /// Positions from this value on are indices into [`Call::extra`].
    pub const EXTRA: u16 = 64;
}

impl PartialEq for ReceivedOrder {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Call {
    /// The API names of the fields this type models, in the order they are written.
    pub const FIELDS: &'static [&'static str] = CallField::NAMES;

    /// The API names of the fields as they were received, in order: known
    /// fields (present, null or `""`) and unmodelled ones, each once. For a
    /// record not decoded (no [`Call::received`]), the known fields then
    /// [`Call::extra`]'s.
    ///
    /// ```
    /// let call = calls_core::model::decode_call(
    ///     br#"{"region": "us", "call_uuid": "u1", "srtp": false, "x": 1}"#)?;
    /// assert_eq!(call.received_names(), ["region", "call_uuid", "srtp", "x"]);
    /// # Ok::<(), calls_core::Error>(())
    /// ```
    pub fn received_names(&self) -> Vec<&str> {
        let extra: Vec<&str> = self.extra.keys().map(String::as_str).collect();
        if self.received.0.is_empty() {
            return Call::FIELDS.iter().copied().chain(extra).collect();
        }
        let mut out = Vec::with_capacity(self.received.0.len());
        let mut seen_known = 0u32;
        for &i in &self.received.0 {
            if i >= ReceivedOrder::EXTRA {
                if let Some(k) = extra.get(usize::from(i - ReceivedOrder::EXTRA)) {
                    out.push(*k);
                }
            } else if let Some(k) = Call::FIELDS.get(usize::from(i)) {
                // A known field sent twice is listed once.
                if seen_known & (1 << i) == 0 {
                    seen_known |= 1 << i;
                    out.push(*k);
                }
            }
        }
        // Unmodelled fields beyond what the order could hold.
        let recorded = self
            .received
            .0
            .iter()
            .filter(|&&i| i >= ReceivedOrder::EXTRA)
            .count();
        out.extend(extra.iter().skip(recorded));
        out
    }

    /// The attestation indicator, or `None` when absent, `""` or the string `"null"`.
    ///
    /// ```
    /// let call = calls_core::model::decode_call(br#"{"call_uuid": "u", "attestation_indicator": "null"}"#)?;
    /// assert_eq!(call.attestation(), None);
    /// assert_eq!(call.attestation_indicator.as_deref(), Some("null"));
    /// # Ok::<(), calls_core::Error>(())
    /// ```
    pub fn attestation(&self) -> Option<&str> {
        match self.attestation_indicator.as_deref() {
            None | Some("") | Some("null") => None,
            Some(a) => Some(a),
        }
    }
}

fn call_extra<S: Serializer>(extra: &Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
    unknown_only(extra, Call::FIELDS, s)
}

/// Reads the value of one modelled field of a [`Call`].
fn read_call_field<'de, A: MapAccess<'de>>(
    field: CallField,
    map: &mut A,
    c: &mut Call,
    uuid: &mut Option<String>,
) -> Result<(), A::Error> {
    use CallField as F;
    match field {
        F::CallUuid => *uuid = Some(map.next_value()?),
        F::FromNumber => c.from_number = map.next_value()?,
        F::ToNumber => c.to_number = map.next_value()?,
        F::CallDirection => c.call_direction = map.next_value::<OptEnum<_>>()?.0,
        F::CallDuration => c.call_duration = map.next_value::<OptCount>()?.0,
        F::BillDuration => c.bill_duration = map.next_value::<OptCount>()?.0,
        F::BilledDuration => c.billed_duration = map.next_value::<OptCount>()?.0,
        F::InitiationTime => c.initiation_time = map.next_value::<OptTime>()?.0,
        F::AnswerTime => c.answer_time = map.next_value::<OptTime>()?.0,
        F::EndTime => c.end_time = map.next_value::<OptTime>()?.0,
        F::HangupCauseName => c.hangup_cause_name = map.next_value()?,
        F::HangupCauseCode => c.hangup_cause_code = map.next_value::<OptCount>()?.0,
        F::HangupSource => c.hangup_source = map.next_value::<OptEnum<_>>()?.0,
        F::TotalRate => c.total_rate = map.next_value::<OptMoney>()?.0,
        F::TotalAmount => c.total_amount = map.next_value::<OptMoney>()?.0,
        F::TrunkDomain => c.trunk_domain = map.next_value()?,
        F::FromCountry => c.from_country = map.next_value()?,
        F::ToCountry => c.to_country = map.next_value()?,
        F::TransportProtocol => c.transport_protocol = map.next_value::<OptEnum<_>>()?.0,
        F::Srtp => c.srtp = map.next_value()?,
        F::SecureTrunking => c.secure_trunking = map.next_value()?,
        F::SecureTrunkingRate => c.secure_trunking_rate = map.next_value::<OptMoney>()?.0,
        F::StirVerification => c.stir_verification = map.next_value::<OptEnum<_>>()?.0,
        F::AttestationIndicator => c.attestation_indicator = map.next_value()?,
    }
    Ok(())
}

impl<'de> Deserialize<'de> for Call {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Call;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a call record object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Call, A::Error> {
                let mut uuid: Option<String> = None;
                let mut c = Call::default();
                while let Some(key) = next_key(&mut map, CallField::from_key)? {
                    let field = match key {
                        Ok(field) => field,
                        Err(k) => {
                            let at = u16::try_from(c.extra.len())
                                .ok()
                                .and_then(|i| i.checked_add(ReceivedOrder::EXTRA));
                            if extra_entry(&mut map, k, &mut c.extra)?
                                && let Some(at) = at
                            {
                                c.received.0.push(at);
                            }
                            continue;
                        }
                    };
                    c.received.0.push(field as u16);
                    let name = CallField::NAMES[field as usize];
                    in_field(read_call_field(field, &mut map, &mut c, &mut uuid), name)?;
                }
                c.call_uuid = uuid.ok_or_else(|| de::Error::missing_field("call_uuid"))?;
                Ok(c)
            }
        }
        d.deserialize_map(V)
    }
}

// ---------------------------------------------------------------------------
// Link and Meta
// ---------------------------------------------------------------------------

/// `meta.next` / `meta.previous`: where the next or previous page is, in
/// whichever form the service used.
///
/// Today's API sends a path or URL, or `null`; older Zentrunk responses send
/// booleans. Serializes back to the same JSON value (an absent key comes back
/// as `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Link {
    /// `null`, or the key was absent: no such page.
    #[default]
    Null,
    /// `""`: no such page.
    Empty,
    /// `true` / `false`: whether there is such a page (legacy responses).
    Flag(bool),
    /// A path or query, starting with `/` or `?` (`/v1/Account/.../?offset=20`).
    Path(String),
    /// An absolute `http://` or `https://` URL.
    Url(String),
    /// Any other non-empty string, kept verbatim.
    Other(String),
}

impl Link {
    /// Whether the link says there is such a page: `Flag(true)`, a path, a URL,
    /// or any other non-empty string.
    pub fn is_more(&self) -> bool {
        match self {
            Link::Null | Link::Empty => false,
            Link::Flag(b) => *b,
            Link::Path(_) | Link::Url(_) => true,
            Link::Other(s) => !s.is_empty(),
        }
    }

    /// The link's text for `Path`, `Url` and `Other`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Link::Path(s) | Link::Url(s) | Link::Other(s) => Some(s),
            _ => None,
        }
    }

    fn classify(s: String) -> Link {
        if s.is_empty() {
            Link::Empty
        } else if s.starts_with('/') || s.starts_with('?') {
            Link::Path(s)
        } else if s.starts_with("http://") || s.starts_with("https://") {
            Link::Url(s)
        } else {
            Link::Other(s)
        }
    }
}

// Hand-written both ways: the variants are told apart by the text's
// content, which `#[serde(untagged)]` cannot do (and it would write `Empty`
// as `null`).
impl Serialize for Link {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Link::Null => s.serialize_unit(),
            Link::Empty => s.serialize_str(""),
            Link::Flag(b) => s.serialize_bool(*b),
            Link::Path(v) | Link::Url(v) | Link::Other(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for Link {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Link;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a URL, a path, a boolean or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Link, E> {
                Ok(Link::classify(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Link, E> {
                Ok(Link::classify(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Link, E> {
                Ok(Link::Flag(v))
            }
            fn visit_none<E: de::Error>(self) -> Result<Link, E> {
                Ok(Link::Null)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Link, E> {
                Ok(Link::Null)
            }
        }
        d.deserialize_any(V)
    }
}

/// The paging block of a list response.
///
/// `limit`, `offset` and `total_count` may come as numbers or numeric strings;
/// a negative or fractional value is a decode error. Other keys are kept in
/// `extra`. Serialization writes the three counts when present, `next` and
/// `previous` always, then `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Meta {
    /// The page size the service applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// The offset of this page's first record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// How many records match the query in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
    /// The next page.
    pub next: Link,
    /// The previous page.
    pub previous: Link,
    /// Every other key of `meta`, unchanged.
    #[serde(flatten, serialize_with = "meta_extra")]
    pub extra: Map<String, Value>,
}

fields!(MetaField {
    Limit => "limit",
    Offset => "offset",
    TotalCount => "total_count",
    Next => "next",
    Previous => "previous",
});

fn meta_extra<S: Serializer>(extra: &Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
    unknown_only(extra, MetaField::NAMES, s)
}

impl<'de> Deserialize<'de> for Meta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Meta;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a meta object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Meta, A::Error> {
                let mut m = Meta::default();
                while let Some(key) = next_key(&mut map, MetaField::from_key)? {
                    let field = match key {
                        Ok(field) => field,
                        Err(k) => {
                            extra_entry(&mut map, k, &mut m.extra)?;
                            continue;
                        }
                    };
                    let read = &mut map;
                    let r = match field {
                        MetaField::Limit => read.next_value().map(|v: OptCount| m.limit = v.0),
                        MetaField::Offset => read.next_value().map(|v: OptCount| m.offset = v.0),
                        MetaField::TotalCount => {
                            read.next_value().map(|v: OptCount| m.total_count = v.0)
                        }
                        MetaField::Next => read.next_value().map(|v| m.next = v),
                        MetaField::Previous => read.next_value().map(|v| m.previous = v),
                    };
                    in_field(r, MetaField::NAMES[field as usize])?;
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
}

// ---------------------------------------------------------------------------
// Page
// ---------------------------------------------------------------------------

/// One page of a list response: `{"api_id", "meta", "objects"}`.
///
/// `meta` and `objects` are required; other top-level keys are kept in
/// `extra`. Decode one with [`decode_page`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Page {
    /// The API's request identifier, if sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_id: Option<String>,
    /// The paging block.
    pub meta: Meta,
    /// The call records on this page.
    pub objects: Vec<Call>,
    /// Every other top-level key, unchanged.
    #[serde(flatten, serialize_with = "page_extra")]
    pub extra: Map<String, Value>,
}

fields!(PageField {
    ApiId => "api_id",
    Meta => "meta",
    Objects => "objects",
});

fn page_extra<S: Serializer>(extra: &Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
    unknown_only(extra, PageField::NAMES, s)
}

/// The `objects` array. With `max`, an element beyond `max` stops the
/// decode there (skipped, not built, to know it is there).
struct Objects {
    max: Option<usize>,
}

impl<'de> DeserializeSeed<'de> for Objects {
    type Value = Vec<Call>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Objects {
    type Value = Vec<Call>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of call records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Call>, A::Error> {
        let hint = seq.size_hint().unwrap_or(0).min(1024);
        let mut out = Vec::with_capacity(self.max.map_or(hint, |m| hint.min(m)));
        loop {
            if let Some(max) = self.max
                && out.len() >= max
            {
                let next = seq.next_element::<de::IgnoredAny>();
                if within(next, || Segment::Index(out.len()))?.is_none() {
                    return Ok(out);
                }
                let msg = format!(
                    "the page holds more than {max} object{}, but limit={max} was asked for; not decoded further",
                    if max == 1 { "" } else { "s" }
                );
                crate::response::stop(msg.clone());
                return Err(de::Error::custom(msg));
            }
            match within(seq.next_element::<Call>(), || Segment::Index(out.len()))? {
                Some(c) => out.push(c),
                None => return Ok(out),
            }
        }
    }
}

/// Reads a page; with `max`, at most that many objects (see [`Objects`]).
struct PageVisitor {
    max: Option<usize>,
}

impl<'de> Deserialize<'de> for Page {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PageVisitor { max: None })
    }
}

impl<'de> Visitor<'de> for PageVisitor {
    type Value = Page;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a page object {api_id, meta, objects}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page, A::Error> {
        let (mut api_id, mut meta, mut objects) = (None, None, None);
        let mut extra = Map::new();
        while let Some(key) = next_key(&mut map, PageField::from_key)? {
            match key {
                Ok(PageField::ApiId) => api_id = in_field(map.next_value(), "api_id")?,
                Ok(PageField::Meta) => meta = Some(in_field(map.next_value(), "meta")?),
                Ok(PageField::Objects) => {
                    let seed = Objects { max: self.max };
                    objects = Some(in_field(map.next_value_seed(seed), "objects")?)
                }
                Err(k) => {
                    extra_entry(&mut map, k, &mut extra)?;
                }
            }
        }
        Ok(Page {
            api_id,
            meta: meta.ok_or_else(|| de::Error::custom("`meta` is missing"))?,
            objects: objects.ok_or_else(|| de::Error::custom("`objects` is missing"))?,
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn call(json: &str) -> Call {
        decode_call(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn call_err(json: &str) -> String {
        match decode_call(json.as_bytes()) {
            Err(Error::BadResponse(m)) => m,
            other => panic!("{json}: expected BadResponse, got {other:?}"),
        }
    }

    fn page_err(json: &[u8]) -> String {
        match decode_page(json) {
            Err(Error::BadResponse(m)) => m,
            other => panic!("expected BadResponse, got {other:?}"),
        }
    }

    fn with_end_time(t: &str) -> Call {
        call(&format!(r#"{{"call_uuid": "u", "end_time": {t}}}"#))
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const PAGE: &str = r#"{"api_id": "a-1",
        "meta": {"limit": 2, "offset": 0, "total_count": 3, "next": "/v1/Account/MA1/Zentrunk/Call/?limit=2&offset=2", "previous": null},
        "objects": [
          {"call_uuid": "u1", "call_id": "x@1.2.3.4", "from_number": "+1415", "to_number": "+1732",
           "call_direction": "inbound", "call_duration": 32, "bill_duration": 60, "billed_duration": 60,
           "initiation_time": "2026-09-18 08:51:53", "answer_time": "2026-09-18 08:51:54",
           "end_time": "2026-09-18 08:52:26", "hangup_cause_name": "normal_hangup",
           "hangup_cause_code": 3000, "hangup_source": "carrier", "total_rate": "0.00280",
           "total_amount": "0.00280", "trunk_domain": "1.zt.plivo.com", "from_country": "IN",
           "to_country": "US", "transport_protocol": "tcp", "srtp": false, "secure_trunking": false,
           "secure_trunking_rate": "0.00000", "cnam_lookup": false, "stir_verification": "Not Verified",
           "attestation_indicator": "C"},
          {"call_uuid": "u2", "answer_time": null, "end_time": "2026-09-18 09:00"}
        ]}"#;

    #[test]
    fn decodes_a_full_page() {
        let page = decode_page(PAGE.as_bytes()).unwrap();
        assert_eq!(page.api_id.as_deref(), Some("a-1"));
        assert_eq!(page.meta.limit, Some(2));
        assert_eq!(page.meta.total_count, Some(3));
        assert!(page.meta.next.is_more());
        assert_eq!(page.meta.previous, Link::Null);
        assert_eq!(page.objects.len(), 2);
        let c = &page.objects[0];
        assert_eq!(c.call_uuid, "u1");
        assert_eq!(c.call_direction, Some(CallDirection::Inbound));
        assert_eq!(c.hangup_source, Some(HangupSource::Carrier));
        assert_eq!(c.transport_protocol, Some(TransportProtocol::Tcp));
        assert_eq!(c.stir_verification, Some(StirVerification::NotVerified));
        assert_eq!(c.call_duration, Some(32));
        assert_eq!(c.hangup_cause_code, Some(3000));
        assert_eq!(c.srtp, Some(false));
        assert_eq!(c.attestation(), Some("C"));
        assert_eq!(c.end_time, Some(utc("2026-09-18T08:52:26Z")));
        assert_eq!(
            c.extra.keys().collect::<Vec<_>>(),
            ["call_id", "cnam_lookup"]
        );
        assert_eq!(page.objects[1].answer_time, None);
        assert_eq!(page.objects[1].from_number, None);
    }

    #[test]
    fn timestamp_forms() {
        let cases = [
            (r#""2026-09-18 08:52""#, "2026-09-18T08:52:00Z"),
            (r#""2026-09-18 08:52:26""#, "2026-09-18T08:52:26Z"),
            (r#""2026-09-18 08:52:26.250""#, "2026-09-18T08:52:26.25Z"),
            (
                r#""2026-09-18 08:52:26.123456""#,
                "2026-09-18T08:52:26.123456Z",
            ),
            (r#""2015-07-26 15:45:02+05:30""#, "2015-07-26T10:15:02Z"),
            (r#""2026-09-18T08:52:26Z""#, "2026-09-18T08:52:26Z"),
        ];
        for (input, want) in cases {
            assert_eq!(with_end_time(input).end_time, Some(utc(want)), "{input}");
        }
        assert_eq!(with_end_time(r#""""#).end_time, None);
        assert_eq!(with_end_time(r#""  ""#).end_time, None);
        assert_eq!(with_end_time("null").end_time, None);
    }

    #[test]
    fn timestamps_are_written_in_utc() {
        let c = call(
            r#"{"call_uuid": "u", "initiation_time": "2015-07-26 15:45:02+05:30",
                "end_time": "2026-09-18 08:52:26.5"}"#,
        );
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["initiation_time"], "2015-07-26 10:15:02");
        assert_eq!(v["end_time"], "2026-09-18 08:52:26.500000");
    }

    #[test]
    fn answer_time_null_and_absent() {
        let c = call(r#"{"call_uuid": "u", "answer_time": null}"#);
        assert_eq!(c.answer_time, None);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["answer_time"], Value::Null);
        assert!(v.as_object().unwrap().contains_key("answer_time"));
        // Other absent known fields stay absent.
        assert!(!v.as_object().unwrap().contains_key("end_time"));
        let c = call(r#"{"call_uuid": "u", "answer_time": ""}"#);
        assert_eq!(c.answer_time, None);
    }

    #[test]
    fn attestation_null_string() {
        let c = call(r#"{"call_uuid": "u", "attestation_indicator": "null"}"#);
        assert_eq!(c.attestation_indicator.as_deref(), Some("null"));
        assert_eq!(c.attestation(), None);
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["attestation_indicator"], "null");
        let c = call(r#"{"call_uuid": "u", "attestation_indicator": ""}"#);
        assert_eq!(c.attestation(), None);
        let c = call(r#"{"call_uuid": "u", "attestation_indicator": null}"#);
        assert_eq!(c.attestation_indicator, None);
        assert_eq!(
            call(r#"{"call_uuid": "u", "attestation_indicator": "A"}"#).attestation(),
            Some("A")
        );
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        let c = call(
            r#"{"call_uuid": "u", "call_direction": "sideways", "hangup_source": "Customer",
                "transport_protocol": "wss", "stir_verification": "Verified Partially"}"#,
        );
        assert_eq!(
            c.call_direction,
            Some(CallDirection::Other("sideways".into()))
        );
        // Case-sensitive: the API writes `customer`.
        assert_eq!(
            c.hangup_source,
            Some(HangupSource::Other("Customer".into()))
        );
        assert_eq!(
            c.transport_protocol,
            Some(TransportProtocol::Other("wss".into()))
        );
        assert_eq!(
            c.stir_verification,
            Some(StirVerification::Other("Verified Partially".into()))
        );
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["call_direction"], "sideways");
        assert_eq!(v["hangup_source"], "Customer");
        assert_eq!(v["transport_protocol"], "wss");
        assert_eq!(v["stir_verification"], "Verified Partially");
        // "" and null are absent values, not `Other("")`.
        let c = call(r#"{"call_uuid": "u", "call_direction": "", "hangup_source": null}"#);
        assert_eq!((c.call_direction, c.hangup_source), (None, None));
    }

    #[test]
    fn enum_spellings() {
        for (s, v) in [
            ("Verified", StirVerification::Verified),
            ("Not Verified", StirVerification::NotVerified),
            ("Not Applicable", StirVerification::NotApplicable),
        ] {
            assert_eq!(StirVerification::parse(s), v);
            assert_eq!(s.parse::<StirVerification>().unwrap(), v);
            assert_eq!(v.as_str(), s);
            assert_eq!(v.to_string(), s);
        }
        assert_eq!(CallDirection::ALLOWED, ["inbound", "outbound"]);
        assert_eq!(HangupSource::ALLOWED, ["customer", "carrier", "zentrunk"]);
        assert_eq!(TransportProtocol::ALLOWED, ["udp", "tcp", "tls"]);
        assert_eq!(
            StirVerification::ALLOWED,
            ["Verified", "Not Verified", "Not Applicable"]
        );
        for s in CallDirection::ALLOWED {
            assert!(!matches!(CallDirection::parse(s), CallDirection::Other(_)));
        }
        assert_eq!(
            CallDirection::parse("Inbound"),
            CallDirection::Other("Inbound".into())
        );
        let e: TransportProtocol = serde_json::from_str(r#""tls""#).unwrap();
        assert_eq!(e, TransportProtocol::Tls);
        assert_eq!(
            serde_json::to_string(&HangupSource::Zentrunk).unwrap(),
            r#""zentrunk""#
        );
    }

    #[test]
    fn money_is_kept_exact() {
        let c = call(
            r#"{"call_uuid": "u", "total_amount": "0.00260", "total_rate": 3,
                "secure_trunking_rate": "-1.50"}"#,
        );
        assert_eq!(c.total_amount.as_ref().unwrap().as_str(), "0.00260");
        assert_eq!(c.total_rate.as_ref().unwrap().as_str(), "3");
        assert_eq!(c.secure_trunking_rate.as_ref().unwrap().as_str(), "-1.50");
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["total_amount"], "0.00260");
        assert_eq!(v["total_rate"], "3");
        // A number with an exponent is written as the same decimal without one.
        let c = call(r#"{"call_uuid": "u", "total_amount": 0.0026, "total_rate": 1e-7}"#);
        assert_eq!(c.total_amount.unwrap().as_str(), "0.0026");
        assert_eq!(c.total_rate.unwrap().as_str(), "0.0000001");
        let c = call(r#"{"call_uuid": "u", "total_amount": "", "total_rate": null}"#);
        assert_eq!((c.total_amount, c.total_rate), (None, None));
        for bad in ["1e3", "abc", ".5", "5.", "+1", "1,00", " 1", "--1", "0x10"] {
            let m = call_err(&format!(r#"{{"call_uuid": "u", "total_amount": "{bad}"}}"#));
            assert!(m.starts_with("total_amount: "), "{bad}: {m}");
            assert!(m.contains("is not a decimal amount"), "{bad}: {m}");
        }
        assert!(Money::new("12.340").is_ok());
        assert_eq!("7".parse::<Money>().unwrap().to_string(), "7");
    }

    #[test]
    fn money_numbers_keep_their_literal_text() {
        // Trailing zeros and 17+ significant digits survive, as numbers...
        let json = r#"{"call_uuid": "u", "total_amount": 12345678901234567.89,
            "total_rate": 0.00260, "secure_trunking_rate": -0.000000000000000000001230}"#;
        let c = call(json);
        assert_eq!(
            c.total_amount.as_ref().unwrap().as_str(),
            "12345678901234567.89"
        );
        assert_eq!(c.total_rate.as_ref().unwrap().as_str(), "0.00260");
        assert_eq!(
            c.secure_trunking_rate.as_ref().unwrap().as_str(),
            "-0.000000000000000000001230"
        );
        // ...and integers beyond u64, and `-0`.
        let c = call(
            r#"{"call_uuid": "u", "total_amount": 123456789012345678901234567890, "total_rate": -0}"#,
        );
        assert_eq!(
            c.total_amount.unwrap().as_str(),
            "123456789012345678901234567890"
        );
        assert_eq!(c.total_rate.unwrap().as_str(), "-0");
        // Re-encoding writes the same text (as a JSON string), and decoding
        // that gives the same call.
        let c = call(json);
        let text = serde_json::to_string(&c).unwrap();
        assert!(
            text.contains(r#""total_amount":"12345678901234567.89""#),
            "{text}"
        );
        assert!(text.contains(r#""total_rate":"0.00260""#), "{text}");
        assert_eq!(call(&text), c);
    }

    #[test]
    fn money_strings_are_unchanged() {
        let json = r#"{"call_uuid": "u", "total_amount": "12345678901234567.8900",
            "total_rate": "0.00260", "secure_trunking_rate": "0"}"#;
        let c = call(json);
        assert_eq!(
            c.total_amount.as_ref().unwrap().as_str(),
            "12345678901234567.8900"
        );
        assert_eq!(c.total_rate.as_ref().unwrap().as_str(), "0.00260");
        assert_eq!(c.secure_trunking_rate.as_ref().unwrap().as_str(), "0");
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["total_amount"], "12345678901234567.8900");
        assert_eq!(v["total_rate"], "0.00260");
        assert_eq!(v["secure_trunking_rate"], "0");
        assert_eq!(call(&v.to_string()), c);
    }

    #[test]
    fn money_exponents_are_expanded_exactly() {
        for (number, want) in [
            ("1e-7", "0.0000001"),
            ("1.50e-3", "0.00150"),
            ("1.50E+3", "1500"),
            ("1.2345e2", "123.45"),
            ("12345678901234567.89e-2", "123456789012345.6789"),
            ("2.5e0", "2.5"),
            ("0.05e2", "5"),
            ("0.050e2", "5.0"),
            ("0e5", "0"),
            ("-4.2e1", "-42"),
            ("-4.2e-1", "-0.42"),
            ("1e-007", "0.0000001"),
            ("1e100", &format!("1{}", "0".repeat(100))),
        ] {
            let c = call(&format!(
                r#"{{"call_uuid": "u", "total_amount": {number}}}"#
            ));
            assert_eq!(c.total_amount.unwrap().as_str(), want, "{number}");
        }
        for (number, why) in [
            ("1e101", "is out of range for an amount"),
            ("1e-101", "is out of range for an amount"),
            ("1e400", "is out of range for an amount"),
            ("1e99999999999999999999", "is out of range for an amount"),
        ] {
            let m = call_err(&format!(
                r#"{{"call_uuid": "u", "total_amount": {number}}}"#
            ));
            assert!(m.starts_with("total_amount: `"), "{number}: {m}");
            assert!(m.contains(why), "{number}: {m}");
        }
        // Not numbers at all: serde_json refuses them, naming nothing of ours.
        for bad in [
            "NaN",
            "Infinity",
            "-Infinity",
            "1.",
            ".5",
            "01",
            "1e",
            "+1",
            "0x10",
        ] {
            let json = format!(r#"{{"call_uuid": "u", "total_amount": {bad}}}"#);
            assert!(
                matches!(decode_call(json.as_bytes()), Err(Error::BadResponse(_))),
                "{bad}"
            );
        }
        // An object is not an amount, even one that looks like serde_json's
        // private number encoding with a bad value.
        let m = call_err(r#"{"call_uuid": "u", "total_amount": {"a": 1}}"#);
        assert!(
            m.starts_with("total_amount: invalid type: map, expected a decimal amount"),
            "{m}"
        );
        let m = call_err(r#"{"call_uuid": "u", "total_amount": {}}"#);
        assert!(m.starts_with("total_amount: invalid type: map"), "{m}");
        let m = call_err(
            r#"{"call_uuid": "u", "total_amount": {"$serde_json::private::Number": "x"}}"#,
        );
        assert!(m.starts_with("total_amount: invalid type: map"), "{m}");
    }

    #[test]
    fn exact_decimal_edges() {
        assert_eq!(exact_decimal("0.00260").as_deref(), Ok("0.00260"));
        assert_eq!(exact_decimal("-0e5").as_deref(), Ok("-0"));
        assert_eq!(exact_decimal("5e-1").as_deref(), Ok("0.5"));
        assert_eq!(exact_decimal("5e+0").as_deref(), Ok("5"));
        for bad in [
            "", "-", "e5", "1e", "1e+", "1e-x", "1.e5", "1e5e5", "1e+-5", "x",
        ] {
            assert_eq!(exact_decimal(bad), Err(NumberError::Malformed), "{bad}");
        }
        assert_eq!(exact_decimal("1e1000"), Err(NumberError::OutOfRange));
        assert_eq!(exact_decimal("1e0101"), Err(NumberError::OutOfRange));
        assert_eq!(
            exact_decimal(&format!("1e{}", "9".repeat(10_000))),
            Err(NumberError::OutOfRange)
        );
    }

    #[test]
    fn numbers_in_extra_fields_round_trip_exactly() {
        let json = concat!(
            r#"{"call_uuid":"u","rate":0.00650,"big":12345678901234567.89,"#,
            r#""huge":123456789012345678901234567890,"exp":1.50E-3,"neg":-0,"#,
            r#""f":[1.0,2.50,{"x":1e400}]}"#
        );
        let c = call(json);
        assert_eq!(c.extra["rate"].to_string(), "0.00650");
        assert_eq!(c.extra["big"].to_string(), "12345678901234567.89");
        let text = serde_json::to_string(&c).unwrap();
        // Every digit is kept; serde_json only spells the exponent marker
        // its own way (`E-3` as `e-3`, `e400` as `e+400`).
        let want = concat!(
            r#""rate":0.00650,"big":12345678901234567.89,"#,
            r#""huge":123456789012345678901234567890,"exp":1.50e-3,"neg":-0,"#,
            r#""f":[1.0,2.50,{"x":1e+400}]}"#
        );
        assert!(text.ends_with(want), "{text}");
        assert_eq!(call(&text), c);
        // The same in meta and at the top of a page.
        let body = br#"{"meta":{"rate":0.00650},"objects":[],"t":1.000}"#;
        let page = decode_page(body).unwrap();
        let text = serde_json::to_string(&page).unwrap();
        assert!(text.contains(r#""rate":0.00650"#), "{text}");
        assert!(text.ends_with(r#""t":1.000}"#), "{text}");
    }

    #[test]
    fn counts() {
        let c = call(
            r#"{"call_uuid": "u", "call_duration": "20", "bill_duration": "", "billed_duration": 60.0}"#,
        );
        assert_eq!(c.call_duration, Some(20));
        assert_eq!(c.bill_duration, None);
        assert_eq!(c.billed_duration, Some(60));
        // Whole numbers written as fractions or with exponents are read exactly.
        let c = call(
            r#"{"call_uuid": "u", "call_duration": 6e1, "bill_duration": 18446744073709551615.000,
                "billed_duration": -0.0, "hangup_cause_code": 1.2e3}"#,
        );
        assert_eq!(c.call_duration, Some(60));
        assert_eq!(c.bill_duration, Some(u64::MAX));
        assert_eq!(c.billed_duration, Some(0));
        assert_eq!(c.hangup_cause_code, Some(1200));
        for (bad, why) in [
            ("-1", "negative"),
            ("1.5", "not a whole number"),
            ("-1.0", "negative"),
            ("-1e400", "out of range"),
            ("1e-400", "out of range"),
            ("25e-1", "not a whole number"),
            ("18446744073709551616", "too large"),
            ("18446744073709551616.0", "too large"),
            ("-18446744073709551616", "negative"),
            ("{}", "invalid type: map"),
            (r#""-3""#, "negative"),
            (r#""12a""#, "not a whole number"),
            (r#""99999999999999999999999""#, "too large"),
            ("true", "invalid type"),
        ] {
            let m = call_err(&format!(r#"{{"call_uuid": "u", "call_duration": {bad}}}"#));
            assert!(m.starts_with("call_duration: "), "{bad}: {m}");
            assert!(m.contains(why), "{bad}: {m}");
        }
    }

    fn meta(json: &str) -> Meta {
        let body = format!(r#"{{"meta": {json}, "objects": []}}"#);
        decode_page(body.as_bytes())
            .unwrap_or_else(|e| panic!("{json}: {e}"))
            .meta
    }

    #[test]
    fn link_forms_and_round_trip() {
        let cases: [(&str, Link, bool); 7] = [
            ("null", Link::Null, false),
            (r#""""#, Link::Empty, false),
            ("true", Link::Flag(true), true),
            ("false", Link::Flag(false), false),
            (
                r#""/v1/Account/MA1/Zentrunk/Call/?limit=20&offset=20""#,
                Link::Path("/v1/Account/MA1/Zentrunk/Call/?limit=20&offset=20".into()),
                true,
            ),
            (
                r#""https://api.plivo.com/v1/Account/MA1/Zentrunk/Call/?offset=20""#,
                Link::Url("https://api.plivo.com/v1/Account/MA1/Zentrunk/Call/?offset=20".into()),
                true,
            ),
            (r#""next-page""#, Link::Other("next-page".into()), true),
        ];
        for (json, want, more) in cases {
            let m = meta(&format!(r#"{{"next": {json}, "previous": {json}}}"#));
            assert_eq!(m.next, want, "{json}");
            assert_eq!(m.previous, want, "{json}");
            assert_eq!(m.next.is_more(), more, "{json}");
            let back = serde_json::to_value(&m).unwrap();
            let orig: Value = serde_json::from_str(json).unwrap();
            assert_eq!(back["next"], orig, "{json}");
            assert_eq!(back["previous"], orig, "{json}");
            let link: Link = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&link).unwrap(), json);
        }
        // Absent: Null, written as null.
        let m = meta("{}");
        assert_eq!((&m.next, &m.previous), (&Link::Null, &Link::Null));
        assert!(!m.next.is_more());
        assert_eq!(serde_json::to_value(&m).unwrap()["next"], Value::Null);
        assert!(!Link::Other(String::new()).is_more());
        let m = page_err(br#"{"meta": {"next": 5}, "objects": []}"#);
        assert!(m.starts_with("meta.next: invalid type"), "{m}");
    }

    #[test]
    fn meta_counts_and_extra() {
        let m = meta(r#"{"limit": "20", "offset": 0, "total_count": "2521", "foo": [1]}"#);
        assert_eq!(
            (m.limit, m.offset, m.total_count),
            (Some(20), Some(0), Some(2521))
        );
        assert_eq!(m.extra["foo"], serde_json::json!([1]));
        let back = serde_json::to_value(&m).unwrap();
        assert_eq!(back["foo"], serde_json::json!([1]));
        assert_eq!(back["limit"], 20);
        for (bad, why) in [
            ("-1", "negative"),
            ("2.5", "not a whole number"),
            (r#""-1""#, "negative"),
            (r#""x""#, "not a whole number"),
        ] {
            let body = format!(r#"{{"meta": {{"total_count": {bad}}}, "objects": []}}"#);
            let m = page_err(body.as_bytes());
            assert!(m.starts_with("meta.total_count: "), "{bad}: {m}");
            assert!(m.contains(why), "{bad}: {m}");
            assert!(m.contains(" at line 1 column "), "{bad}: {m}");
            assert_eq!(m.matches(" at line ").count(), 1, "{m}");
        }
    }

    #[test]
    fn bad_inputs_name_the_field() {
        let m =
            page_err(br#"{"meta": {}, "objects": [{"call_uuid": "a"}, {"from_number": "+1"}]}"#);
        assert!(
            m.starts_with("objects[1]: missing field `call_uuid`"),
            "{m}"
        );
        let m = call_err(r#"{"to_number": "+1"}"#);
        assert!(m.starts_with("missing field `call_uuid`"), "{m}");

        let m = page_err(
            br#"{"meta": {}, "objects": [{"call_uuid": "a"}, {"call_uuid": "b"}, {"call_uuid": "c"},
                {"call_uuid": "d", "end_time": "2026-02-30 10:00"}]}"#,
        );
        assert!(
            m.starts_with(
                "objects[3].end_time: `2026-02-30 10:00` is not a real date at line 2 column "
            ),
            "{m}"
        );
        assert_eq!(m.matches(" at line ").count(), 1, "{m}");
        let m = call_err(r#"{"call_uuid": "u", "answer_time": "soon"}"#);
        assert!(
            m.starts_with("answer_time: `soon` is not a timestamp"),
            "{m}"
        );
        let m = call_err(r#"{"call_uuid": "u", "answer_time": 17}"#);
        assert!(
            m.starts_with("answer_time: invalid type: integer `17`"),
            "{m}"
        );
        let m = call_err(r#"{"call_uuid": "u", "srtp": "yes"}"#);
        assert!(m.starts_with("srtp: invalid type"), "{m}");
        let m = call_err(r#"{"call_uuid": 5}"#);
        assert!(m.starts_with("call_uuid: invalid type"), "{m}");

        let m = page_err(br#"{"meta": {}, "objects": {"call_uuid": "a"}}"#);
        assert!(
            m.starts_with("objects: invalid type: map, expected an array"),
            "{m}"
        );
        let m = page_err(br#"{"meta": {}, "objects": null}"#);
        assert!(m.starts_with("objects: invalid type: null"), "{m}");
        let m = page_err(br#"{"meta": {}, "objects": [1]}"#);
        assert!(
            m.starts_with("objects[0]: invalid type: integer `1`"),
            "{m}"
        );
        let m = page_err(br#"{"meta": {}}"#);
        assert!(m.contains("`objects` is missing"), "{m}");
        let m = page_err(br#"{"objects": []}"#);
        assert!(m.contains("`meta` is missing"), "{m}");
        let m = page_err(br#"[]"#);
        assert!(m.contains("expected a page object"), "{m}");

        let m = page_err(b"<html>502 Bad Gateway</html>");
        assert_eq!(m, "expected value at line 1 column 1");
        let m = page_err(b"");
        assert!(m.contains("EOF"), "{m}");
        let m = page_err(&PAGE.as_bytes()[..PAGE.len() - 40]);
        assert!(m.contains("EOF while parsing"), "{m}");
        assert!(m.starts_with("objects[1]"), "{m}");
        let m = page_err(format!("{PAGE} x").as_bytes());
        assert!(m.contains("trailing characters"), "{m}");
    }

    #[test]
    fn extra_fields_round_trip_in_order() {
        let json = r#"{"call_uuid": "u", "duration": 20, "hangup_cause": "normal_hangup",
            "hangup_initiator": "customer", "hangup_code": 3010, "rate": "0.00650",
            "region": "us-east-1", "parent_call_uuid": null, "nested": {"a": [1, 2.5, "x"]}}"#;
        let c = call(json);
        assert_eq!(
            c.extra.keys().collect::<Vec<_>>(),
            [
                "duration",
                "hangup_cause",
                "hangup_initiator",
                "hangup_code",
                "rate",
                "region",
                "parent_call_uuid",
                "nested"
            ]
        );
        let orig: Value = serde_json::from_str(json).unwrap();
        let back = serde_json::to_value(&c).unwrap();
        for (k, v) in orig.as_object().unwrap() {
            assert_eq!(&back[k], v, "{k}");
        }
        // Known fields first, then extra; answer_time is written as null.
        let keys: Vec<_> = back.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys[..2], ["call_uuid", "answer_time"]);
        // A known name inserted into `extra` by hand is not written twice.
        let mut c = c;
        c.extra.insert("call_uuid".into(), Value::from("dup"));
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(s.matches("\"call_uuid\"").count(), 1);
        // The decoded value decodes again to the same call.
        let again: Call =
            serde_json::from_str(&serde_json::to_string(&call(json)).unwrap()).unwrap();
        assert_eq!(again, call(json));
    }

    #[test]
    fn page_round_trip() {
        let page = decode_page(PAGE.as_bytes()).unwrap();
        let bytes = serde_json::to_vec(&page).unwrap();
        assert_eq!(decode_page(&bytes).unwrap(), page);
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let c = call(r#"{"call_uuid": "a", "call_uuid": "b", "x": 1, "x": 2}"#);
        assert_eq!(c.call_uuid, "b");
        assert_eq!(c.extra["x"], 2);
    }

    /// The decision on duplicate keys, everywhere: the last value wins; an
    /// unknown key keeps its first place in `extra` and in the received
    /// order; every value sent is checked, so a bad first one is an error.
    #[test]
    fn duplicate_keys_are_decided() {
        let c = call(
            r#"{"y": 0, "call_uuid": "a", "x": 1, "call_direction": "inbound", "x": 2,
                "call_direction": "outbound", "call_uuid": "b", "y": 3}"#,
        );
        assert_eq!(c.call_uuid, "b");
        assert_eq!(c.call_direction, Some(CallDirection::Outbound));
        assert_eq!(c.extra.keys().collect::<Vec<_>>(), ["y", "x"]);
        assert_eq!(
            (&c.extra["y"], &c.extra["x"]),
            (&Value::from(3), &Value::from(2))
        );
        assert_eq!(
            c.received_names(),
            ["y", "call_uuid", "x", "call_direction"]
        );
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(s.matches("\"call_direction\"").count(), 1, "{s}");

        let m = call_err(r#"{"call_uuid": "a", "end_time": "soon", "end_time": null}"#);
        assert!(m.starts_with("end_time: `soon` is not a timestamp"), "{m}");

        let page = decode_page(
            br#"{"api_id": "1", "meta": {"limit": 1, "limit": 2}, "objects": [{"call_uuid": "a"}],
                "objects": [], "api_id": "2"}"#,
        )
        .unwrap();
        assert_eq!(page.api_id.as_deref(), Some("2"));
        assert_eq!(page.meta.limit, Some(2));
        assert!(page.objects.is_empty());
    }

    /// A tiny deterministic generator (xorshift), so the test needs no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    fn must_not_panic(bytes: &[u8]) {
        let r = std::panic::catch_unwind(|| {
            let _ = decode_page(bytes);
            let _ = decode_call(bytes);
        });
        assert!(
            r.is_ok(),
            "panicked on {:?}",
            String::from_utf8_lossy(bytes)
        );
    }

    #[test]
    fn never_panics_on_mangled_input() {
        let page = PAGE.as_bytes();
        // Every truncation.
        for n in 0..page.len() {
            must_not_panic(&page[..n]);
            assert!(decode_page(&page[..n]).is_err());
        }
        // Flipped, replaced, inserted and removed bytes.
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let specials = b"\"\\{}[]:,-.0123456789eE+ \x00\xff\xc3tfn";
        for _ in 0..600 {
            let mut b = page.to_vec();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() as usize) % b.len();
                match rng.next() % 4 {
                    0 => b[i] ^= 1 << (rng.next() % 8),
                    1 => b[i] = specials[(rng.next() as usize) % specials.len()],
                    2 => b.insert(i, specials[(rng.next() as usize) % specials.len()]),
                    _ => {
                        b.remove(i);
                    }
                }
            }
            must_not_panic(&b);
        }
        // Pure noise, and odd but valid JSON.
        for _ in 0..200 {
            let len = (rng.next() % 64) as usize;
            let b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            must_not_panic(&b);
        }
        for odd in [
            "null",
            "0",
            "\"\"",
            "{}",
            "[]",
            "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]",
            r#"{"meta": {}, "objects": [{"call_uuid": "u", "end_time": "2026-09-18 08:52:26.1234567899"}]}"#,
            r#"{"meta": {}, "objects": [{"call_uuid": "u", "end_time": "2026-09-18 08:52:26+99:99"}]}"#,
            r#"{"meta": {}, "objects": [{"call_uuid": "u", "end_time": "２０２６-09-18 08:52"}]}"#,
            r#"{"meta": {"total_count": 1e400}, "objects": []}"#,
            r#"{"meta": {"total_count": 18446744073709551616}, "objects": []}"#,
        ] {
            must_not_panic(odd.as_bytes());
        }
        let deep = "[".repeat(100_000);
        must_not_panic(deep.as_bytes());
        let deep = format!(r#"{{"call_uuid": "u", "x": {}}}"#, "[".repeat(100_000));
        must_not_panic(deep.as_bytes());
    }
}
