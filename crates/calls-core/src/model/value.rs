//! The values of a record's fields ([`Money`], [`Link`], the enumerations)
//! and how each is read: [`Extra`] reads one JSON value within the decode
//! budget, and a field's type makes itself from it ([`FieldValue`]).

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use crate::response::{MAX_EXTRA_DEPTH, quote};
use crate::time::parse_timestamp;

/// Reads one JSON value into a [`Value`]: for a field not modelled
/// (`Extra(None)`) charging the decode budget ([`crate::response::charge`])
/// for what it builds and refusing nesting beyond [`MAX_EXTRA_DEPTH`]; for a
/// modelled field (`Extra(Some(what it takes))`) a scalar only, uncharged,
/// an array or object refused at its first byte.
///
/// Hand-written, and the reason the records hand-write their `visit_map`:
/// serde's derived `#[serde(flatten)]` buffers every unknown field into
/// serde's private `Content` before any code of ours sees it, so neither the
/// budget nor the depth cap could apply, and the body cap does not bound what
/// is built. Measured (`examples/flatten_probe.rs`) on an 8 MiB page holding
/// 4.1 million numbers in one unknown field, peak resident size above the
/// start: a derived `Page` with a flattened `Map`, 532 MiB; with a flattened
/// type refusing its first entry, still 125 MiB; a bare `Value` parse, 406
/// MiB; this, 4 MiB.
#[derive(Clone, Copy)]
pub(super) struct Extra(pub(super) Option<&'static str>);

/// serde_json's `arbitrary_precision` hands a number over as a one-entry map
/// under this key, holding the number's exact text.
const NUMBER_KEY: &str = "$serde_json::private::Number";

/// Estimated bytes of one `Value` node: its slot, twice (a growing `Vec` or
/// map holds up to twice what it uses).
const NODE_COST: usize = 2 * std::mem::size_of::<Value>();

/// Estimated bytes of a node holding a heap text of `len` bytes.
fn text_cost(len: usize) -> usize {
    NODE_COST + len.div_ceil(16).saturating_mul(16).saturating_add(16)
}

impl Extra {
    fn charge<E: de::Error>(self, bytes: usize) -> Result<(), E> {
        if self.0.is_some() || crate::response::charge(bytes) {
            return Ok(());
        }
        Err(E::custom(
            "the fields this client does not model hold more structure than the decode budget allows; not decoded further",
        ))
    }

    /// Enters an array or object: refused in a modelled field.
    fn enter<E: de::Error>(self, what: Unexpected<'_>) -> Result<(), E> {
        if self.0.is_some() {
            return Err(E::invalid_type(what, &self));
        }
        self.charge(NODE_COST)?;
        match crate::response::enter() {
            true => Ok(()),
            false => Err(E::custom(format_args!(
                "nested deeper than {MAX_EXTRA_DEPTH} levels; not decoded further"
            ))),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Extra {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Extra {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.unwrap_or("any JSON value"))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.charge(NODE_COST).map(|()| Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.charge(text_cost(20)).map(|()| Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.charge(text_cost(20)).map(|()| Value::Number(v.into()))
    }
    // Only from a deserializer with no literal text to give (not serde_json).
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.charge(text_cost(24))?;
        let n = Number::from_f64(v).ok_or_else(|| E::invalid_type(Unexpected::Float(v), &self))?;
        Ok(Value::Number(n))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.visit_string(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.charge(text_cost(v.len())).map(|()| Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.charge(NODE_COST).map(|()| Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.enter(Unexpected::Seq)?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        crate::response::leave();
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut key = map.next_key::<String>()?;
        if key.as_deref() == Some(NUMBER_KEY) {
            let text: String = map.next_value()?;
            self.charge(text_cost(text.len()))?;
            let n = text
                .parse()
                .map_err(|_| de::Error::invalid_type(Unexpected::Map, &self))?;
            return Ok(Value::Number(n));
        }
        self.enter(Unexpected::Map)?;
        let mut out = Map::new();
        while let Some(k) = key {
            self.charge(text_cost(k.len()) + std::mem::size_of::<String>())?;
            let v = map.next_value_seed(self)?;
            out.insert(k, v);
            key = map.next_key()?;
        }
        crate::response::leave();
        Ok(Value::Object(out))
    }
}

/// A key, borrowed from the body when it holds no escape (serde's own
/// `Cow<str>` always copies): no allocation for a modelled field's name.
pub(super) struct Key<'de>(pub(super) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The type of a modelled field: what it takes, and how it is made from the
/// JSON scalar [`Extra`] read for it.
pub(super) trait FieldValue: Sized {
    /// What the field takes, for the "invalid type" error of anything else.
    const EXPECTING: &'static str;
    fn from_json<E: de::Error>(v: Value) -> Result<Self, E>;
}

/// Reads the value of a modelled field (`T` says how).
pub(super) fn field<'de, A: MapAccess<'de>, T: FieldValue>(map: &mut A) -> Result<T, A::Error> {
    T::from_json(map.next_value_seed(Extra(Some(T::EXPECTING)))?)
}

/// A [`FieldValue`] read on its own (the public types' `Deserialize`).
fn scalar<'de, D: Deserializer<'de>, T: FieldValue>(d: D) -> Result<T, D::Error> {
    T::from_json(Extra(Some(T::EXPECTING)).deserialize(d)?)
}

/// The "invalid type" error for `v` where `expecting` was wanted.
fn wrong<T, E: de::Error>(v: &Value, expecting: &'static str) -> Result<T, E> {
    let unexpected = match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (None, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Other("a number"),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    };
    Err(E::invalid_type(unexpected, &expecting))
}

/// `` `text` is why ``, the text as [`crate::response::quote`] shows it:
/// the client's secrets scrubbed from the whole, control characters
/// dropped, then cut to 40 characters and `…`.
fn bad<E: de::Error>(text: &str, why: &str) -> E {
    E::custom(format_args!("`{}` is {why}", quote(text, 40)))
}

/// A string, a boolean, or either or `null` (`None`).
macro_rules! plain {
    ($($t:ty: $expecting:literal, $variant:ident;)+) => {$(
        impl FieldValue for $t {
            const EXPECTING: &'static str = $expecting;
            fn from_json<E: de::Error>(v: Value) -> Result<Self, E> {
                match v {
                    Value::$variant(s) => Ok(s.into()),
                    Value::Null if $expecting.ends_with("or null") => Ok(Default::default()),
                    v => wrong(&v, Self::EXPECTING),
                }
            }
        }
    )+};
}

plain! {
    String: "a string", String;
    Option<String>: "a string or null", String;
    Option<bool>: "a boolean or null", Bool;
}

/// A timestamp: `null` and `""` (or blanks) are `None`; anything else must
/// parse (see [`crate::time::parse_timestamp`]).
impl FieldValue for Option<DateTime<Utc>> {
    const EXPECTING: &'static str = "a timestamp string or null";
    fn from_json<E: de::Error>(v: Value) -> Result<Self, E> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => parse_timestamp(&s).map(Some).map_err(E::custom),
            v => wrong(&v, Self::EXPECTING),
        }
    }
}

/// A count: a whole, non-negative number read exactly from its text (`60.0`
/// and `6e1` are 60, `2.5` is refused), or a string of digits; `null` and
/// `""` are `None`.
impl FieldValue for Option<u64> {
    const EXPECTING: &'static str = "a whole non-negative number or null";
    fn from_json<E: de::Error>(v: Value) -> Result<Self, E> {
        let text = match &v {
            Value::Null => return Ok(None),
            Value::Number(n) => n.as_str(),
            Value::String(s) => match s.trim() {
                "" => return Ok(None),
                t if digits(t) => t,
                t if t.starts_with('-') => return Err(bad(t, "negative")),
                t => return Err(bad(t, "not a whole number")),
            },
            v => return wrong(v, Self::EXPECTING),
        };
        if let Ok(n) = text.parse() {
            return Ok(Some(n));
        }
        let decimal = exact_decimal(text).map_err(|e| match e {
            NumberError::OutOfRange => bad(text, "out of range"),
            NumberError::Malformed => bad(text, "not a whole number"),
        })?;
        let (int, frac) = decimal.split_once('.').unwrap_or((&decimal, ""));
        let nonzero = |s: &str| s.bytes().any(|b| b.is_ascii_digit() && b != b'0');
        match int.strip_prefix('-') {
            Some(_) if nonzero(int) || nonzero(frac) => Err(bad(text, "negative")),
            _ if nonzero(frac) => Err(bad(text, "not a whole number")),
            _ => int
                .trim_start_matches('-')
                .parse()
                .map(Some)
                .map_err(|_| bad(text, "too large")),
        }
    }
}

/// An amount (see [`Money`]); `""` and `null` are `None`.
impl FieldValue for Option<Money> {
    const EXPECTING: &'static str = "a decimal amount as a string or number";
    fn from_json<E: de::Error>(v: Value) -> Result<Self, E> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => Money::new(s).map(Some).map_err(E::custom),
            Value::Number(n) => match exact_decimal(n.as_str()) {
                Ok(text) => Ok(Some(Money(text))),
                Err(NumberError::OutOfRange) => Err(bad(n.as_str(), "out of range for an amount")),
                Err(NumberError::Malformed) => Err(bad(n.as_str(), "not a decimal amount")),
            },
            v => wrong(&v, Self::EXPECTING),
        }
    }
}

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
/// use calls_core::Money;
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
        match is_decimal(&s) {
            true => Ok(Money(s)),
            false => Err(format!("`{}` is not a decimal amount", quote(&s, 40))),
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
        scalar::<D, Option<Money>>(d)?.ok_or_else(|| de::Error::custom("empty amount"))
    }
}

/// An optional `-`, digits, and optionally `.` and more digits.
fn is_decimal(s: &str) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    digits(int) && digits(frac)
}

/// One or more ASCII digits, nothing else.
fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Why [`exact_decimal`] refused a number's text.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum NumberError {
    /// Not the text of a JSON number.
    Malformed,
    /// An exponent beyond ±[`MAX_EXPONENT`].
    OutOfRange,
}

/// The largest exponent (either sign) [`exact_decimal`] expands.
const MAX_EXPONENT: usize = 100;

/// A JSON number's text as a plain decimal with the same value and digits:
/// unchanged without an exponent; otherwise the mantissa's digits with the
/// point moved (`1.50e-3` → `0.00150`, `2.5E+2` → `250`, `-0e5` → `-0`).
/// Text that is not a JSON number, or an exponent beyond ±[`MAX_EXPONENT`],
/// is an error, never a panic or a huge allocation. Hand-written: the
/// decimal crates normalise digits (`0.00150` → `0.0015`) or print an
/// exponent again, and exact text is the point.
pub(super) fn exact_decimal(text: &str) -> Result<String, NumberError> {
    let Some((mantissa, exp)) = text.split_once(['e', 'E']) else {
        return is_decimal(text)
            .then(|| text.to_owned())
            .ok_or(NumberError::Malformed);
    };
    let (exp_negative, exp_digits) = match exp.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, exp.strip_prefix('+').unwrap_or(exp)),
    };
    if !is_decimal(mantissa) || !digits(exp_digits) {
        return Err(NumberError::Malformed);
    }
    // Leading zeros (`1e-007`) are allowed; too many digits do not parse.
    let significant = exp_digits.trim_start_matches('0');
    let shift = match significant.parse::<usize>() {
        Ok(m) if m <= MAX_EXPONENT => m,
        Err(_) if significant.is_empty() => 0,
        _ => return Err(NumberError::OutOfRange),
    };
    let (sign, unsigned) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = [int, frac].concat();
    let (whole, fraction) = if exp_negative && shift >= int.len() {
        ("0".to_owned(), "0".repeat(shift - int.len()) + &digits)
    } else {
        // The point `shift` digits right or left of where it was.
        let point = if exp_negative {
            int.len() - shift
        } else {
            int.len() + shift
        };
        let padded = format!("{digits:0<point$}");
        let (w, f) = padded.split_at(point);
        // `0.05e2` is `5`, not `005`.
        let w = w.trim_start_matches('0');
        (if w.is_empty() { "0" } else { w }.to_owned(), f.to_owned())
    };
    let dot = if fraction.is_empty() { "" } else { "." };
    Ok(format!("{sign}{whole}{dot}{fraction}"))
}

/// The API enumerations, each spelling listed once, here, and shared with
/// [`crate::query`] through `ALLOWED`. `Serialize` and `Deserialize` are
/// derived (a `rename` per spelling, unknown text into the untagged
/// `Other`); a record reads its enumerations as a `FieldValue`, where `""`
/// is `None`.
macro_rules! api_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $s:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $s)] $variant, )+
            /// A value this crate does not know (yet), kept verbatim.
            #[serde(untagged)]
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
                Self::from_api(s.into())
            }

            fn from_api(s: String) -> Self {
                match s.as_str() {
                    $( $s => $name::$variant, )+
                    _ => $name::Other(s),
                }
            }
        }

        /// `null` and `""` are `None`, unknown text `Other`.
        impl FieldValue for Option<$name> {
            const EXPECTING: &'static str = "a string or null";
            fn from_json<E: de::Error>(v: Value) -> Result<Self, E> {
                let text = Option::<String>::from_json(v)?;
                Ok(text.filter(|s| !s.is_empty()).map($name::from_api))
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
}

impl FieldValue for Link {
    const EXPECTING: &'static str = "a URL, a path, a boolean or null";
    fn from_json<E: de::Error>(v: Value) -> Result<Self, E> {
        Ok(match v {
            Value::Null => Link::Null,
            Value::Bool(b) => Link::Flag(b),
            Value::String(s) if s.is_empty() => Link::Empty,
            Value::String(s) if s.starts_with(['/', '?']) => Link::Path(s),
            Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
                Link::Url(s)
            }
            Value::String(s) => Link::Other(s),
            v => return wrong(&v, Self::EXPECTING),
        })
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
        scalar(d)
    }
}
