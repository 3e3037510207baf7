//! The typed records: [`Page`], [`Meta`], [`Link`], [`Call`] and its value types.
//!
//! A list response is `{"api_id": "...", "meta": {...}, "objects": [call, ...]}`;
//! [`decode_page`] turns its bytes into a [`Page`], [`decode_call`] decodes the
//! single-record endpoint. Both report what was wrong as
//! [`Error::BadResponse`](crate::Error::BadResponse) with a path to the value
//! (`objects[3].end_time: ...`); how values are read and written: [`decode_page`].

use std::cell::RefCell;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

mod value;

pub use value::{CallDirection, HangupSource, Link, Money, StirVerification, TransportProtocol};
use value::{Extra, Key, field};

/// Decodes a list response body (`{"api_id", "meta", "objects"}`) into a [`Page`].
///
/// Fails with [`Error::BadResponse`](crate::Error::BadResponse) whose message
/// names what was wrong: the path to the bad value and why, or serde_json's
/// description with line and column. Never panics, whatever the bytes.
///
/// Decoding is tolerant where the service is known to vary and strict where a
/// wrong value would silently corrupt data:
///
/// * every field a [`Call`] (or [`Meta`], [`Page`]) does not model is kept, in
///   order, in its `extra` map, and written back after the known fields;
/// * timestamps accept `HH:MM`, seconds, fractions, `T`, `Z` and offsets such as
///   `+05:30` (see [`crate::parse_timestamp`]); `""` and `null` are `None`;
///   anything else that does not parse is an error naming the field;
/// * money is a [`Money`]: the exact decimal text, never a float;
/// * enumerations keep values this crate does not know as `Other(String)`;
/// * counts and durations are whole, non-negative numbers (numeric strings are
///   accepted, `""` and `null` are `None`); `-1` or `2.5` is an error;
/// * a key sent twice: the last value wins (an unknown key keeps its first
///   place), and every value sent is checked.
///
/// Serialization writes the API's keys back: known fields first, under their
/// API names, then the `extra` fields unchanged. A known field that is `None`
/// is left out, except `answer_time`, which is written as `null` (the service
/// reports unanswered calls that way). Timestamps are written in UTC as
/// [`crate::format_record`] does, so `+05:30` input comes back as the same
/// instant in UTC. Money is always written as a JSON string.
///
/// ```
/// use calls_core::{decode_page, Link};
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
    decode(bytes, |d| read_page(d, None))
}

/// [`decode_page`] for a page asked for with `limit`: a page holding more
/// than `limit` objects is refused when the first object too many is met,
/// without decoding it or anything after it.
///
/// ```
/// use calls_core::decode_page_with_limit;
/// let body = br#"{"meta": {}, "objects": [{"call_uuid": "a"}, {"call_uuid": "b"}]}"#;
/// assert_eq!(decode_page_with_limit(body, 2)?.objects.len(), 2);
/// let err = decode_page_with_limit(body, 1).unwrap_err().to_string();
/// assert!(err.contains("more than 1 object"), "{err}");
/// # Ok::<(), calls_core::Error>(())
/// ```
pub fn decode_page_with_limit(bytes: &[u8], limit: u32) -> Result<Page, crate::Error> {
    let max = Some(limit as usize);
    decode(bytes, |d| read_page(d, max))
}

/// Decodes a single call record (`GET .../Zentrunk/Call/{call_uuid}/`) into a [`Call`].
///
/// Errors are [`Error::BadResponse`](crate::Error::BadResponse) naming the
/// field (`end_time: ...`); never panics.
///
/// ```
/// let call = calls_core::decode_call(br#"{"call_uuid": "u1", "srtp": false}"#)?;
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
                if !at.is_empty() && !segment.starts_with('[') {
                    at.push('.');
                }
                at.push_str(segment);
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

// The path to a bad value (`objects[3].end_time`), innermost first: a key,
// or an index as `[3]`. Not `serde_path_to_error`, which copies every key it
// passes to know the path should an error come: that made a decode 45%
// slower. Here nothing is done until a value fails: each reader notes its
// key or index as the error passes out, and the error itself passes through
// untouched, so serde_json's line and column are written once.
thread_local! {
    static PATH: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Notes where `r` failed, inside [`decode`] (elsewhere there is no path).
fn within<T, E>(r: Result<T, E>, segment: impl FnOnce() -> String) -> Result<T, E> {
    if r.is_err() {
        let _ = PATH.try_with(|p| p.borrow_mut().as_mut().map(|path| path.push(segment())));
    }
    r
}

/// Writes an optional timestamp as the API does; `None` is `null`.
fn api_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::time::format_record(*t)),
        None => s.serialize_unit(),
    }
}

/// Writes the `extra` fields whose names `R` does not model: a known name
/// put into `extra` by hand would write its key twice; the typed field wins.
fn unknown_only<R: Record, S: Serializer>(m: &Map<String, Value>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter().filter(|(k, _)| !R::FIELDS.contains(&k.as_str())))
}

// `Serialize` is derived. `Deserialize` is one generic hand-written
// `visit_map` ([`RecordVisitor`]) over each record's table of fields
// ([`record!`]), not derived, because derive cannot keep what this crate
// promises: unknown fields read within the decode budget (see [`Extra`]),
// the order the fields arrived in ([`Call::received`]), and duplicate keys
// decided deliberately: the last value of a key wins, as in most JSON
// readers, and every value is checked (derive refuses a known key sent
// twice and keeps the last unknown one).

/// A record read from a JSON object by [`RecordVisitor`].
trait Record: Sized {
    /// The API names of the modelled fields, in the order they are written.
    const FIELDS: &'static [&'static str];
    /// What the record is, for the "invalid type" error of anything else.
    const EXPECTING: &'static str;
    /// Reads the value of `key` if it names a modelled field: its index in `FIELDS`.
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<Option<usize>, A::Error>;
    /// The fields not modelled.
    fn extra_mut(&mut self) -> &mut Map<String, Value>;
    /// Notes that a field arrived: an index of `FIELDS`, or
    /// [`ReceivedOrder::EXTRA`] plus an index of `extra`.
    fn arrived(&mut self, _at: usize) {}
    /// Checks the record once every field is read.
    fn finish<E: de::Error>(self) -> Result<Self, E> {
        Ok(self)
    }
}

/// Implements a [`Record`] from its table of modelled fields, in the
/// struct's order (which [`Call::FIELDS`] and [`ReceivedOrder`] index): a
/// field's Rust name is its API name, and its type's `FieldValue` says how
/// it is read.
macro_rules! record {
    ($name:ident, $what:literal, [$($f:ident),+ $(,)?] $($more:tt)*) => {
        impl Record for $name {
            const FIELDS: &'static [&'static str] = &[$(stringify!($f)),+];
            const EXPECTING: &'static str = $what;
            fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<Option<usize>, A::Error> {
                #[allow(non_camel_case_types)]
                enum Index { $($f),+ }
                Ok(Some(match key {
                    $(stringify!($f) => { self.$f = field(map)?; Index::$f as usize })+
                    _ => return Ok(None),
                }))
            }
            fn extra_mut(&mut self) -> &mut Map<String, Value> {
                &mut self.extra
            }
            $($more)*
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_map(RecordVisitor($name::default()))
            }
        }
    };
}

/// Reads a [`Record`]: each modelled field by its type, every other into
/// `extra` within the decode budget (the last of a key sent twice wins, at
/// the first one's place).
struct RecordVisitor<R>(R);

impl<'de, R: Record> Visitor<'de> for RecordVisitor<R> {
    type Value = R;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(R::EXPECTING)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<R, A::Error> {
        let mut r = self.0;
        while let Some(Key(key)) = map.next_key()? {
            let read = r.read(&key, &mut map);
            if let Some(i) = within(read, || key.to_string())? {
                r.arrived(i);
                continue;
            }
            let at = ReceivedOrder::EXTRA as usize + r.extra_mut().len();
            let v = within(map.next_value_seed(Extra(None)), || key.to_string())?;
            if r.extra_mut().insert(key.into_owned(), v).is_none() {
                r.arrived(at);
            }
        }
        r.finish()
    }
}

/// One call detail record.
///
/// Every field but `call_uuid` is optional: records differ by age and
/// endpoint, and many omit fields. Fields this crate does not model (such as
/// `call_id`, `cnam_lookup`, `region`, or the legacy `duration`,
/// `hangup_cause`, `hangup_initiator`, `hangup_code`, `rate`) are kept in
/// [`Call::extra`] exactly as received. How values are read and written
/// back: [`decode_page`].
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
    #[serde(flatten, serialize_with = "unknown_only::<Call, _>")]
    pub extra: Map<String, Value>,
    /// The order the service sent the fields in (see
    /// [`Call::received_names`]); empty for a record not decoded. Not part of
    /// equality: two records with the same fields are equal in any order.
    #[serde(skip)]
    pub received: ReceivedOrder,
}

record!(Call, "a call record object", [
    call_uuid, from_number, to_number, call_direction, call_duration, bill_duration,
    billed_duration, initiation_time, answer_time, end_time, hangup_cause_name,
    hangup_cause_code, hangup_source, total_rate, total_amount, trunk_domain, from_country,
    to_country, transport_protocol, srtp, secure_trunking, secure_trunking_rate,
    stir_verification, attestation_indicator,
]
    fn arrived(&mut self, at: usize) {
        // Beyond `u16::MAX`, the order of the first fields only.
        if let Ok(at) = u16::try_from(at) {
            self.received.0.push(at);
        }
    }
    fn finish<E: de::Error>(self) -> Result<Self, E> {
        match self.received.0.contains(&0) {
            true => Ok(self),
            false => Err(E::missing_field("call_uuid")),
        }
    }
);

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
    pub const FIELDS: &'static [&'static str] = <Call as Record>::FIELDS;

    /// The API names of the fields as they were received, in order: known
    /// fields (present, null or `""`) and unmodelled ones, each once. For a
    /// record not decoded (no [`Call::received`]), the known fields then
    /// [`Call::extra`]'s.
    ///
    /// ```
    /// let call = calls_core::decode_call(
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
        let mut extras_listed = 0;
        for &i in &self.received.0 {
            let name = match i.checked_sub(ReceivedOrder::EXTRA) {
                Some(e) => extra.get(usize::from(e)).inspect(|_| extras_listed += 1),
                None => Call::FIELDS.get(usize::from(i)),
            };
            // A known field sent twice is listed once.
            if let Some(name) = name.filter(|n| i >= ReceivedOrder::EXTRA || !out.contains(*n)) {
                out.push(*name);
            }
        }
        // Unmodelled fields beyond what the order could hold.
        out.extend(extra.iter().skip(extras_listed));
        out
    }

    /// The attestation indicator, or `None` when absent, `""` or the string `"null"`.
    ///
    /// ```
    /// let call = calls_core::decode_call(br#"{"call_uuid": "u", "attestation_indicator": "null"}"#)?;
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
    #[serde(flatten, serialize_with = "unknown_only::<Meta, _>")]
    pub extra: Map<String, Value>,
}

record!(
    Meta,
    "a meta object",
    [limit, offset, total_count, next, previous]
);

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
    #[serde(flatten, serialize_with = "unknown_only::<PageReader, _>")]
    pub extra: Map<String, Value>,
}

/// A page as it is read: with `max`, an `objects` element beyond `max`
/// stops the decode there (skipped, not built, to know it is there).
#[derive(Default)]
struct PageReader {
    page: Page,
    max: Option<usize>,
    arrived: [bool; 3],
}

impl Record for PageReader {
    const FIELDS: &'static [&'static str] = &["api_id", "meta", "objects"];
    const EXPECTING: &'static str = "a page object {api_id, meta, objects}";
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<Option<usize>, A::Error> {
        let p = &mut self.page;
        match key {
            "api_id" => p.api_id = field(map)?,
            "meta" => p.meta = map.next_value()?,
            "objects" => p.objects = map.next_value_seed(Objects { max: self.max })?,
            _ => return Ok(None),
        }
        Ok(Self::FIELDS.iter().position(|f| *f == key))
    }
    fn extra_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.page.extra
    }
    fn arrived(&mut self, at: usize) {
        if let Some(seen) = self.arrived.get_mut(at) {
            *seen = true;
        }
    }
    fn finish<E: de::Error>(self) -> Result<Self, E> {
        match self.arrived {
            [_, false, _] => Err(E::custom("`meta` is missing")),
            [_, _, false] => Err(E::custom("`objects` is missing")),
            _ => Ok(self),
        }
    }
}

impl<'de> Deserialize<'de> for Page {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_page(d, None)
    }
}

/// Reads a page; with `max`, at most that many objects (see [`PageReader`]).
fn read_page<'de, D: Deserializer<'de>>(d: D, max: Option<usize>) -> Result<Page, D::Error> {
    let reader = PageReader {
        max,
        ..PageReader::default()
    };
    d.deserialize_map(RecordVisitor(reader)).map(|r| r.page)
}

/// The `objects` array, with at most `max` elements.
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
            let index = || format!("[{}]", out.len());
            if let Some(max) = self.max.filter(|&m| out.len() >= m) {
                if within(seq.next_element::<de::IgnoredAny>(), index)?.is_none() {
                    return Ok(out);
                }
                let msg = format!(
                    "the page holds more than {max} object{}, but limit={max} was asked for; not decoded further",
                    if max == 1 { "" } else { "s" }
                );
                crate::response::stop(msg.clone());
                return Err(de::Error::custom(msg));
            }
            match within(seq.next_element::<Call>(), index)? {
                Some(c) => out.push(c),
                None => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::value::{NumberError, exact_decimal};
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
        // Standalone (derived): unknown text is kept both ways.
        let e: CallDirection = serde_json::from_str(r#""sideways""#).unwrap();
        assert_eq!(e, CallDirection::Other("sideways".into()));
        assert_eq!(serde_json::to_string(&e).unwrap(), r#""sideways""#);
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
        // Standalone: the same reading as in a record; empty is an error.
        let m: Money = serde_json::from_str("1.50e-3").unwrap();
        assert_eq!(m.as_str(), "0.00150");
        let m: Money = serde_json::from_str(r#""0.00260""#).unwrap();
        assert_eq!(m.as_str(), "0.00260");
        let e = serde_json::from_str::<Money>(r#""""#).unwrap_err();
        assert!(e.to_string().contains("empty amount"), "{e}");
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
        // An array or object in a modelled field is refused at its first byte.
        let m = call_err(r#"{"call_uuid": [1, 2]}"#);
        assert!(
            m.starts_with(
                "call_uuid: invalid type: sequence, expected a string at line 1 column 15"
            ),
            "{m}"
        );
        let m = call_err(r#"{"call_uuid": "u", "end_time": {"a": 1}}"#);
        assert!(
            m.starts_with("end_time: invalid type: map, expected a timestamp"),
            "{m}"
        );

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
    fn escaped_keys_are_read_like_plain_ones() {
        let c = call(r#"{"call_\u0075uid": "u", "re\u0067ion": 1, "srtp": true}"#);
        assert_eq!(c.call_uuid, "u");
        assert_eq!(c.extra["region"], 1);
        assert_eq!(c.received_names(), ["call_uuid", "region", "srtp"]);
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
