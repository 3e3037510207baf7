//! Property tests: queries, timestamps and page decoding never panic, and what
//! is encoded reads back the same.
//!
//! Bounded by default: proptest's default config runs 256 cases per property
//! (`PROPTEST_CASES` overrides it; `make fuzz` sets 20000). No network.

use std::str::FromStr;

use calls_core::{Call, Link, Page, decode_page};
use calls_core::{CallDirection, CallQuery, Cmp, FILTER_NAMES, HangupSource, StirVerification};
use calls_core::{Error, WindowPolicy};
use calls_core::{format_api, parse_timestamp};
use chrono::{DateTime, Datelike, NaiveDateTime, SubsecRound, TimeZone, Utc};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

/// The default config (which honours `PROPTEST_CASES`), without regression
/// files written into the source tree.
fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Strategies: instants and timestamps
// ---------------------------------------------------------------------------

/// 0000-01-01 00:00:00 and 9999-12-31 23:59:59.999999 in microseconds.
const MIN_MICROS: i64 = -62_167_219_200_000_000;
const MAX_MICROS: i64 = 253_402_300_799_999_999;

fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).expect("in chrono's range")
}

/// An instant with microsecond precision, years 0000..=9999; whole seconds
/// half of the time (they are written without a fraction).
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        (MIN_MICROS..=MAX_MICROS).prop_map(from_micros),
        (MIN_MICROS / 1_000_000..=MAX_MICROS / 1_000_000).prop_map(|s| from_micros(s * 1_000_000)),
    ]
}

/// An instant around now (2000..2100), where queries usually are.
fn recent_instant() -> impl Strategy<Value = DateTime<Utc>> {
    const Y2000: i64 = 946_684_800_000_000;
    const Y2100: i64 = 4_102_444_800_000_000;
    prop_oneof![
        (Y2000..Y2100).prop_map(from_micros),
        (Y2000 / 1_000_000..Y2100 / 1_000_000).prop_map(|s| from_micros(s * 1_000_000)),
    ]
}

/// Text that looks like a timestamp, in every documented form and many near misses.
fn timestampish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[ Tt_][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,12})?)?\
         ( ?([Zz]|[+-][0-9]{1,2}(:?[0-9]{1,3})?))?",
        "[0-9+: .TZ-]{0,30}",
        " *[0-9]{4}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9] *",
        instant().prop_map(format_api),
        // Real instants with 1 to 9 fraction digits (nanoseconds).
        (instant(), "[0-9]{1,9}")
            .prop_map(|(t, f)| format!("{}.{f}", t.format("%Y-%m-%d %H:%M:%S"))),
    ]
}

// ---------------------------------------------------------------------------
// Strategies: query names and values
// ---------------------------------------------------------------------------

fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(FILTER_NAMES).prop_map(str::to_owned),
        1 => select(&["limit", "offset", "LIMIT", "Offset"][..]).prop_map(str::to_owned),
        1 => select(FILTER_NAMES).prop_map(|n| n.replace("__", "_")),
        1 => select(FILTER_NAMES).prop_map(|n| n.to_uppercase()),
        1 => any::<String>(),
        1 => "[a-z_]{0,20}",
    ]
}

fn any_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\+?[0-9]{0,25}",
        "[0-9]{1,25}",
        "-?[0-9]{1,3}(\\.[0-9]+)?",
        timestampish(),
        select(CallDirection::ALLOWED).prop_map(str::to_owned),
        select(HangupSource::ALLOWED).prop_map(str::to_owned),
        select(StirVerification::ALLOWED).prop_map(str::to_owned),
        select(StirVerification::ALLOWED).prop_map(|s| format!(" {} ", s.to_lowercase())),
        "[\\x00-\\x1f\\x7f\u{85}\u{2028}]{1,3}[a-z0-9]{0,4}",
        "[ %&=+#?]{0,6}",
        "\\PC{0,300}",
    ]
}

/// A policy `WindowPolicy::new` accepts.
fn policy() -> impl Strategy<Value = WindowPolicy> {
    (1u32..=36_500, 1u32..=36_500, 1u32..=36_500).prop_filter_map("a valid policy", |(d, m, r)| {
        WindowPolicy::new(d.min(r), m.min(r), r).ok()
    })
}

/// Any instant a caller might pass as `now` (years 0100..=9999).
fn any_now() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        (-59_011_459_200i64..=253_402_300_799).prop_map(|s| from_micros(s * 1_000_000)),
        recent_instant(),
    ]
}

// ---------------------------------------------------------------------------
// Strategies: valid queries
// ---------------------------------------------------------------------------

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

/// A query whose every value is valid (ranges may still be empty).
fn valid_query() -> impl Strategy<Value = CallQuery> {
    let numbers = (opt("\\+?[0-9]{1,20}"), opt("\\+?[0-9]{1,20}"));
    let choices = (
        opt(select(CallDirection::ALLOWED)),
        opt(select(HangupSource::ALLOWED)),
        opt(select(StirVerification::ALLOWED)),
        opt(any::<u64>()),
    );
    let durations = vec(opt(any::<u64>()), 5);
    let times = vec(opt(prop_oneof![recent_instant(), instant()]), 5);
    (numbers, choices, durations, times).prop_map(
        |((from, to), (dir, src, stir, code), durations, times)| {
            let mut q = CallQuery::new();
            if let Some(v) = from {
                q = q.from_number(v);
            }
            if let Some(v) = to {
                q = q.to_number(v);
            }
            if let Some(v) = dir {
                q = q.call_direction(v);
            }
            if let Some(v) = src {
                q = q.hangup_source(v);
            }
            if let Some(v) = stir {
                q = q.stir_verification(v);
            }
            if let Some(v) = code {
                q = q.hangup_cause_code(v);
            }
            for (cmp, v) in Cmp::ALL.into_iter().zip(durations) {
                if let Some(v) = v {
                    q = q.bill_duration(cmp, v);
                }
            }
            for (cmp, t) in Cmp::ALL.into_iter().zip(times) {
                if let Some(t) = t {
                    q = q.end_time(cmp, t);
                }
            }
            q
        },
    )
}

// ---------------------------------------------------------------------------
// Strategies: pages
// ---------------------------------------------------------------------------

/// Any JSON value. Floats are short dyadic fractions (k / 1024, |k| < 2^15);
/// calls-core builds serde_json with `arbitrary_precision`, so any number's
/// text is kept exactly (see `long_floats_in_extra_fields_are_kept_exactly`
/// and `number_money_fields_keep_their_text`).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i16>().prop_map(|k| json!(f64::from(k) / 1024.0)),
        any::<String>().prop_map(Value::String),
        "[0-9 :.-]{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Extra fields: names that are not in `known`, arbitrary values.
fn extras(known: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    vec(
        (prop_oneof!["[a-z_]{1,12}", any::<String>()], json_value()),
        0..4,
    )
    .prop_map(move |kv| {
        kv.into_iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .collect()
    })
}

/// A timestamp as the service may write it, for an instant with microsecond precision.
fn time_text() -> impl Strategy<Value = Value> {
    (instant(), 0u8..6, -(23 * 60 + 59)..=(23i32 * 60 + 59)).prop_map(|(t, form, off_min)| {
        // Keep the local time within the years 0000..=9999 that can be written.
        let off_min = if (1..9999).contains(&t.year()) {
            off_min
        } else {
            0
        };
        let off = chrono::FixedOffset::east_opt(off_min * 60).unwrap();
        let local = t.with_timezone(&off);
        let s = match form {
            0 => format_api(t),
            1 => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            2 => local.format("%Y-%m-%d %H:%M:%S%.f%:z").to_string(),
            3 => local.format("%Y-%m-%dT%H:%M:%S%.6f%z").to_string(),
            4 => t.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
            _ => return Value::Null,
        };
        Value::String(s)
    })
}

fn count_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        // Integral floats (`12.0`, `1.8144432997834490e15`): read exactly
        // from their text. Below 2^63 so that rounding to f64 stays in u64.
        (0u64..=1 << 63).prop_map(|v| json!(v as f64)),
        "[0-9]{1,19}".prop_map(Value::String),
        Just(Value::Null),
        Just(json!("")),
    ]
}

fn money_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "-?[0-9]{1,12}(\\.[0-9]{1,8})?".prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<i32>().prop_map(|k| json!(f64::from(k) / 1024.0)),
        Just(Value::Null),
        Just(json!("")),
    ]
}

fn enum_value(allowed: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        select(allowed).prop_map(|s| json!(s)),
        any::<String>().prop_map(Value::String),
        Just(Value::Null),
        Just(json!("")),
    ]
}

fn text_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => any::<String>().prop_map(Value::String),
        1 => Just(Value::Null),
    ]
}

fn bool_value() -> impl Strategy<Value = Value> {
    prop_oneof![any::<bool>().prop_map(Value::Bool), Just(Value::Null)]
}

/// One call record: a random subset of the known fields with valid values,
/// plus extra fields.
fn call_json() -> impl Strategy<Value = Value> {
    let dir = calls_core::CallDirection::ALLOWED;
    let src = calls_core::HangupSource::ALLOWED;
    let stir = calls_core::StirVerification::ALLOWED;
    let proto = calls_core::TransportProtocol::ALLOWED;
    let known = (
        (
            any::<String>(),
            opt(text_value()),
            opt(text_value()),
            opt(enum_value(dir)),
            opt(count_value()),
            opt(count_value()),
            opt(count_value()),
            opt(time_text()),
        ),
        (
            opt(time_text()),
            opt(time_text()),
            opt(text_value()),
            opt(count_value()),
            opt(enum_value(src)),
            opt(money_value()),
            opt(money_value()),
            opt(text_value()),
        ),
        (
            opt(text_value()),
            opt(text_value()),
            opt(enum_value(proto)),
            opt(bool_value()),
            opt(bool_value()),
            opt(money_value()),
            opt(enum_value(stir)),
            opt(prop_oneof![text_value(), Just(json!("null"))]),
        ),
    );
    (known, extras(Call::FIELDS)).prop_map(|((a, b, c), extra)| {
        let (uuid, f1, f2, f3, f4, f5, f6, f7) = a;
        let (f8, f9, f10, f11, f12, f13, f14, f15) = b;
        let (f16, f17, f18, f19, f20, f21, f22, f23) = c;
        let values = [
            f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19,
            f20, f21, f22, f23,
        ];
        let mut m = Map::new();
        m.insert("call_uuid".into(), Value::String(uuid));
        for (name, v) in Call::FIELDS[1..].iter().zip(values) {
            if let Some(v) = v {
                m.insert((*name).into(), v);
            }
        }
        m.extend(extra);
        Value::Object(m)
    })
}

fn link_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!(""))),
        any::<bool>().prop_map(|b| Some(json!(b))),
        "/v1/Account/[A-Z0-9]{4}/Zentrunk/Call/\\?limit=20&offset=[0-9]{1,4}"
            .prop_map(|s| Some(json!(s))),
        "\\?offset=[0-9]{1,4}".prop_map(|s| Some(json!(s))),
        "https?://[a-z.]{1,12}/v1/\\?offset=[0-9]{1,3}".prop_map(|s| Some(json!(s))),
        any::<String>().prop_map(|s| Some(json!(s))),
    ]
}

const META_FIELDS: &[&str] = &["limit", "offset", "total_count", "next", "previous"];
const PAGE_FIELDS: &[&str] = &["api_id", "meta", "objects"];

fn meta_json() -> impl Strategy<Value = Value> {
    (
        opt(count_value()),
        opt(count_value()),
        opt(count_value()),
        link_value(),
        link_value(),
        extras(META_FIELDS),
    )
        .prop_map(|(limit, offset, total, next, previous, extra)| {
            let mut m = Map::new();
            for (k, v) in [
                ("limit", limit),
                ("offset", offset),
                ("total_count", total),
                ("next", next),
                ("previous", previous),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
            m.extend(extra);
            Value::Object(m)
        })
}

fn page_json() -> impl Strategy<Value = Value> {
    (
        opt(text_value()),
        meta_json(),
        vec(call_json(), 0..5),
        extras(PAGE_FIELDS),
    )
        .prop_map(|(api_id, meta, objects, extra)| {
            let mut m = Map::new();
            if let Some(id) = api_id {
                m.insert("api_id".into(), id);
            }
            m.insert("meta".into(), meta);
            m.insert("objects".into(), Value::Array(objects));
            m.extend(extra);
            Value::Object(m)
        })
}

/// A byte-level change to a valid body.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![any::<u8>(), select(&b"{}[]\",:0123456789.-eE tfn\\"[..]),];
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match *m {
        Mutation::Flip(i, x) if len > 0 => bytes[i % len] ^= x,
        Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
        Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
        Mutation::Remove(i) if len > 0 => {
            bytes.remove(i % len);
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Properties: queries
// ---------------------------------------------------------------------------

/// The query with its end_time bounds truncated to microseconds, which is
/// what the encoding keeps (`format_api` writes six fraction digits; `set`
/// refuses more: see `sub_microsecond_end_times_survive_encoding`).
fn to_micros(q: &CallQuery) -> CallQuery {
    let mut b = q.end_time_bounds().clone();
    for cmp in Cmp::ALL {
        let t = b.get(cmp).map(|t| t.trunc_subsecs(6));
        b.set(cmp, t);
    }
    q.with_end_time(b)
}

proptest! {
    #![proptest_config(config())]

    /// `set` never panics; on error the query is unchanged and the error is a
    /// `Validation` (an `InvalidArgument` for a name that is no filter); `validate`, `validate_window` and the encoding never panic.
    #[test]
    fn set_never_panics(
        pairs in vec((any_name(), any_value()), 0..8),
        policy in policy(),
        now in any_now(),
    ) {
        let mut q = CallQuery::new();
        for (name, value) in &pairs {
            let before = q.clone();
            match q.set(name, value) {
                Ok(_) => prop_assert!(FILTER_NAMES.contains(&name.as_str())),
                Err(e) => {
                    // A filter's bad value is a Validation; a name that is no
                    // filter (unknown, or limit/offset) an InvalidArgument.
                    if FILTER_NAMES.contains(&name.as_str()) {
                        prop_assert!(matches!(e, Error::Validation { .. }), "{:?}", e);
                    } else {
                        prop_assert!(matches!(e, Error::InvalidArgument(_)), "{:?}", e);
                    }
                    prop_assert_eq!(&q, &before, "a refused value left the query unchanged");
                }
            }
        }
        let _ = q.validate();
        let _ = q.validate_window(&policy, now);
        let _ = q.validate_window(&WindowPolicy::default(), now);
        let _ = q.to_pairs();
        let _ = q.to_query_string();
    }

    /// Whatever `set` accepted is encoded so that it parses back equal
    /// (modulo the known truncation of end_time to microseconds).
    #[test]
    fn accepted_values_round_trip(pairs in vec((any_name(), any_value()), 0..8)) {
        let mut q = CallQuery::new();
        for (name, value) in &pairs {
            let _ = q.set(name, value);
        }
        let s = q.to_query_string();
        prop_assert_eq!(CallQuery::from_query_string(&s).unwrap(), to_micros(&q), "{}", s);
    }

    #[test]
    fn from_query_string_never_panics(s in any::<String>()) {
        if let Err(e) = CallQuery::from_query_string(&s) {
            prop_assert!(
                matches!(e, Error::Validation { .. } | Error::InvalidArgument(_)),
                "{:?}",
                e
            );
        }
    }

    /// Query strings built from plausible pieces reach deeper than random text.
    #[test]
    fn from_query_string_of_pieces_never_panics(
        parts in vec((any_name(), any_value(), 0u8..4), 0..8),
        policy in policy(),
        now in any_now(),
    ) {
        let s: Vec<String> = parts
            .iter()
            .map(|(k, v, form)| match form {
                0 => format!("{k}={v}"),
                1 => format!("{k}={}", v.replace(' ', "+")),
                2 => format!("{k}={}", v.bytes().map(|b| format!("%{b:02x}")).collect::<String>()),
                _ => k.clone(),
            })
            .collect();
        if let Ok(q) = CallQuery::from_query_string(&s.join("&")) {
            let _ = q.validate();
            let _ = q.validate_window(&policy, now);
            let again = CallQuery::from_query_string(&q.to_query_string()).unwrap();
            prop_assert_eq!(again, to_micros(&q));
        }
    }

    /// A query of valid values survives encoding: `to_query_string` then
    /// `from_query_string` gives an equal query, and so does `set` on each pair.
    #[test]
    fn valid_query_round_trips(q in valid_query()) {
        let s = q.to_query_string();
        prop_assert!(
            s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%=&".contains(&b)),
            "only unreserved characters, escapes and separators: {}", s
        );
        prop_assert_eq!(&CallQuery::from_query_string(&s).unwrap(), &q, "{}", s);
        prop_assert_eq!(&CallQuery::from_str(&format!("?{s}")).unwrap(), &q);
        let mut by_name = CallQuery::new();
        for (k, v) in q.to_pairs() {
            by_name.set(k, &v).unwrap();
        }
        prop_assert_eq!(&by_name, &q);
        prop_assert_eq!(q.to_pairs().len(), if s.is_empty() { 0 } else { s.split('&').count() });
    }
}

// ---------------------------------------------------------------------------
// Properties: timestamps
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_timestamp_never_panics(s in prop_oneof![any::<String>(), timestampish()]) {
        if let Ok(t) = parse_timestamp(&s) {
            // Whatever parses is a real instant that formats and parses back.
            let _ = format_api(t);
        }
    }

    #[test]
    fn format_then_parse_is_identity(t in instant()) {
        let s = format_api(t);
        prop_assert_eq!(parse_timestamp(&s), Ok(t), "{}", s);
        // The T/Z form of the same instant, too.
        let iso = t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        prop_assert_eq!(parse_timestamp(&iso), Ok(t), "{}", iso);
    }

    /// `YYYY-MM-DD HH:MM:SS+HH:MM` (and `+HHMM`, `+HH`) is the local time at
    /// that offset: the UTC instant is local minus offset.
    #[test]
    fn offsets_give_the_utc_instant(
        local_secs in -62_135_596_800i64 + 86_400..253_402_300_799 - 86_400,
        micros in prop_oneof![Just(0u32), 0u32..1_000_000],
        hours in 0i32..=23,
        minutes in 0i32..=59,
        negative in any::<bool>(),
        form in 0u8..3,
    ) {
        let naive: NaiveDateTime = from_micros(local_secs * 1_000_000 + i64::from(micros)).naive_utc();
        let minutes = if form == 2 { 0 } else { minutes };
        let sign = if negative { '-' } else { '+' };
        let offset = match form {
            0 => format!("{sign}{hours:02}:{minutes:02}"),
            1 => format!("{sign}{hours:02}{minutes:02}"),
            _ => format!("{sign}{hours:02}"),
        };
        let text = format!("{}{offset}", naive.format("%Y-%m-%d %H:%M:%S%.f"));
        let east = (hours * 3600 + minutes * 60) * if negative { -1 } else { 1 };
        let expected = Utc.from_utc_datetime(&naive) - chrono::Duration::seconds(i64::from(east));
        prop_assert_eq!(parse_timestamp(&text), Ok(expected), "{}", text);
    }
}

// ---------------------------------------------------------------------------
// Properties: pages
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decode_page_never_panics(bytes in prop_oneof![
        vec(any::<u8>(), 0..512),
        any::<String>().prop_map(String::into_bytes),
        "[\\[\\]{}\",:0-9a-z. -]{0,200}".prop_map(String::into_bytes),
    ]) {
        if let Err(e) = decode_page(&bytes) {
            prop_assert!(matches!(e, Error::BadResponse(_)), "{:?}", e);
        }
    }

    #[test]
    fn mutated_pages_never_panic(page in page_json(), ms in vec(mutation(), 1..6)) {
        let mut bytes = serde_json::to_vec(&page).unwrap();
        for m in &ms {
            apply(&mut bytes, m);
        }
        if let Err(e) = decode_page(&bytes) {
            prop_assert!(matches!(e, Error::BadResponse(_)), "{:?}", e);
        }
    }

    /// Decode, encode, decode: the two decoded pages are equal, and every
    /// extra field (top level, meta, each call) survives with its value.
    #[test]
    fn decode_encode_is_lossless(page in page_json()) {
        let bytes = serde_json::to_vec(&page).unwrap();
        let first = decode_page(&bytes).map_err(|e| TestCaseError::fail(format!("{e}: {page}")))?;
        let encoded = serde_json::to_value(&first).unwrap();
        let second = decode_page(&serde_json::to_vec(&encoded).unwrap())
            .map_err(|e| TestCaseError::fail(format!("{e}: {encoded}")))?;
        prop_assert_eq!(&first, &second);

        let extra_of = |v: &Value, known: &[&str]| -> Map<String, Value> {
            v.as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| !known.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        prop_assert_eq!(&first.extra, &extra_of(&page, PAGE_FIELDS));
        prop_assert_eq!(&first.meta.extra, &extra_of(&page["meta"], META_FIELDS));
        let objects = page["objects"].as_array().unwrap();
        prop_assert_eq!(first.objects.len(), objects.len());
        for (call, input) in first.objects.iter().zip(objects) {
            prop_assert_eq!(&call.extra, &extra_of(input, Call::FIELDS));
            prop_assert_eq!(&call.call_uuid, input["call_uuid"].as_str().unwrap());
        }
        // And the encoding writes them back unchanged.
        prop_assert_eq!(&extra_of(&encoded, PAGE_FIELDS), &first.extra);
        for (i, call) in first.objects.iter().enumerate() {
            prop_assert_eq!(&extra_of(&encoded["objects"][i], Call::FIELDS), &call.extra);
        }
        // Links come back in the same form.
        for (link, key) in [(&first.meta.next, "next"), (&first.meta.previous, "previous")] {
            let input = page["meta"].get(key).cloned().unwrap_or(Value::Null);
            prop_assert_eq!(&serde_json::to_value(link).unwrap(), &input);
            let expect_more = match &input {
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                _ => false,
            };
            prop_assert_eq!(link.is_more(), expect_more);
            if let Value::String(s) = &input {
                let form_ok = match link {
                    Link::Empty => s.is_empty(),
                    Link::Path(p) => p == s && (s.starts_with('/') || s.starts_with('?')),
                    Link::Url(u) => u == s && (s.starts_with("http://") || s.starts_with("https://")),
                    Link::Other(o) => o == s,
                    Link::Null | Link::Flag(_) => false,
                };
                prop_assert!(form_ok, "{:?} for {:?}", link, s);
            }
        }
    }
}

/// `Page` decoded from the encoding of a decoded page is also equal through
/// `serde_json::from_value` (no text in between).
#[test]
fn page_value_round_trip_smoke() {
    let page: Page = decode_page(
        br#"{"api_id":"a","meta":{"limit":"20","next":true,"x":[1,{"y":null}]},
            "objects":[{"call_uuid":"u","end_time":"2026-01-01T10:00:00.123456+05:30",
            "total_amount":0.5,"weird":{"a":[true]}}],"tail":1}"#,
    )
    .unwrap();
    let v = serde_json::to_value(&page).unwrap();
    assert_eq!(v["objects"][0]["end_time"], "2026-01-01 04:30:00.123456");
    assert_eq!(v["objects"][0]["total_amount"], "0.5");
    assert_eq!(v["objects"][0]["answer_time"], Value::Null);
    assert_eq!(v["meta"]["limit"], 20);
    assert_eq!(serde_json::from_value::<Page>(v).unwrap(), page);
}

/// A float with 16-17 significant digits in an extra field comes back
/// exactly (calls-core builds serde_json with `arbitrary_precision`, which
/// keeps the text, and `float_roundtrip` for `as_f64`).
#[test]
fn long_floats_in_extra_fields_are_kept_exactly() {
    let x = 918_732.997_070_312_5_f64;
    let body = format!(r#"{{"meta":{{}},"objects":[{{"call_uuid":"u","f":{x}}}]}}"#);
    let page = decode_page(body.as_bytes()).unwrap();
    assert_eq!(page.objects[0].extra["f"].as_f64(), Some(x), "{body}");
}

/// A sub-microsecond filter value cannot be sent in the API's format (six
/// fraction digits at most), so it is refused, by `set` and by `validate`,
/// naming the field; a page timestamp with nanoseconds survives
/// decode-encode-decode.
#[test]
fn sub_microsecond_end_times_survive_encoding() {
    let mut q = CallQuery::new();
    let err = q
        .set("end_time__gt", "2026-11-01 00:00:00.0000001")
        .unwrap_err();
    assert!(
        matches!(&err, calls_core::Error::Validation { field, message }
            if field == "end_time__gt" && message.contains("6 fraction digits")),
        "{err}"
    );
    q.set("end_time__gt", "2026-11-01 00:00:00.000001").unwrap();
    let s = q.to_query_string();
    assert!(
        s.contains("00%3A00%3A00.000001") || s.contains("00:00:00.000001"),
        "{s}"
    );
    assert_eq!(CallQuery::from_query_string(&s).unwrap(), q, "{s}");
    // The typed builder truncates to the microsecond: validated is sent.
    let typed = CallQuery::new().end_time(
        calls_core::Cmp::Gte,
        calls_core::parse_timestamp("2026-11-01 00:00:00.000001999").unwrap(),
    );
    typed.validate().unwrap();
    assert_eq!(
        typed.end_time_bounds().gte,
        Some(calls_core::parse_timestamp("2026-11-01 00:00:00.000001").unwrap())
    );
    // A bound set directly with a finer part is refused by validate.
    let mut b = typed.end_time_bounds().clone();
    b.gte = Some(calls_core::parse_timestamp("2026-11-01 00:00:00.000000001").unwrap());
    assert!(typed.with_end_time(b).validate().is_err());
    let body =
        br#"{"meta":{},"objects":[{"call_uuid":"u","end_time":"2026-11-01 00:00:00.123456789"}]}"#;
    let page = decode_page(body).unwrap();
    let again = decode_page(&serde_json::to_vec(&page).unwrap()).unwrap();
    assert_eq!(again, page);
}

/// A money amount's value as (negative, digits without leading or trailing
/// zeros, power of ten of the last digit), to compare two decimal texts
/// by value: `0.00150` and `1.50e-3` are both (false, "15", -4).
fn decimal_value(text: &str) -> (bool, String, i64) {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().unwrap()),
        None => (text, 0),
    };
    let (negative, unsigned) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all = format!("{int}{frac}");
    let trimmed = all.trim_end_matches('0');
    let power = exp - frac.len() as i64 + (all.len() - trimmed.len()) as i64;
    let digits = trimmed.trim_start_matches('0');
    if digits.is_empty() {
        return (false, String::new(), 0);
    }
    (negative, digits.to_owned(), power)
}

proptest! {
    #![proptest_config(config())]

    /// A money field sent as a JSON number keeps its literal text (any
    /// number of digits, trailing zeros); one with an exponent becomes the
    /// decimal of the same value with the same mantissa digits. Encoding
    /// writes that text as a string, which decodes to the same call.
    #[test]
    fn number_money_fields_keep_their_text(
        negative in any::<bool>(),
        int in "0|[1-9][0-9]{0,30}",
        frac in proptest::option::of("[0-9]{1,30}"),
        exp in proptest::option::of(
            (select(&["e", "E"][..]), select(&["", "+", "-"][..]), 0u32..=40),
        ),
        as_string in any::<bool>(),
    ) {
        let mut literal = format!("{}{int}", if negative { "-" } else { "" });
        if let Some(f) = &frac {
            literal.push('.');
            literal.push_str(f);
        }
        let plain = literal.clone();
        if let Some((e, sign, k)) = exp {
            literal.push_str(&format!("{e}{sign}{k}"));
        }
        // A string must already be a plain decimal.
        let sent = if as_string {
            format!("\"{plain}\"")
        } else {
            literal.clone()
        };
        let body = format!(r#"{{"call_uuid": "u", "total_amount": {sent}}}"#);
        let call = calls_core::decode_call(body.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e}: {body}")))?;
        let got = call.total_amount.clone().unwrap().into_string();
        if as_string || exp.is_none() {
            prop_assert_eq!(&got, &plain);
        } else {
            prop_assert!(!got.contains(['e', 'E']), "{}", got);
            prop_assert_eq!(
                decimal_value(&got),
                decimal_value(&literal),
                "{} -> {}",
                literal,
                got
            );
            // Trailing zeros are kept: the last digit has the same place
            // (`0.00150` for `1.50e-3`), or the result is whole.
            let (_, sign, k) = exp.unwrap();
            let shift = if sign == "-" { -i64::from(k) } else { i64::from(k) };
            let frac_len = frac.as_ref().map_or(0, |f| f.len() as i64);
            let got_frac = got.split_once('.').map_or(0, |(_, f)| f.len() as i64);
            prop_assert_eq!(got_frac, (frac_len - shift).max(0), "{} -> {}", literal, got);
        }
        let encoded = serde_json::to_string(&call).unwrap();
        let quoted = format!(r#""total_amount":"{got}""#);
        prop_assert!(encoded.contains(&quoted), "{}", encoded);
        let again = calls_core::decode_call(encoded.as_bytes()).unwrap();
        prop_assert_eq!(again, call);
    }
}
