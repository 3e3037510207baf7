//! The filters of one call-record request, validated before anything is sent.
//!
//! A [`CallQuery`] holds the Zentrunk call API's filters: `from_number`,
//! `to_number`, `call_direction`, `bill_duration` and `end_time` (each exact or
//! with `__gt`, `__gte`, `__lt`, `__lte`), `hangup_cause_code`, `hangup_source`
//! and `stir_verification`. `limit` and `offset` are not filters: they are the
//! paging arguments of [`Client::list_page`](crate::Client).
//!
//! A value is checked once, where it enters: [`CallQuery::set`] (by the API's
//! parameter name) refuses it at once; a typed builder keeps it for
//! [`CallQuery::validate`] to report, with the rules of the whole query
//! (empty ranges, years out of range). [`CallQuery::validate_window`] checks
//! the service's time-window rules for one request against a [`WindowPolicy`].
//!
//! ```
//! use calls_core::{CallQuery, Cmp};
//! use calls_core::parse_timestamp;
//!
//! let q = CallQuery::new()
//!     .from_number("+14155")
//!     .call_direction("outbound")
//!     .end_time(Cmp::Gte, parse_timestamp("2026-11-01 00:00").unwrap());
//! q.validate().unwrap();
//! assert_eq!(
//!     q.to_query_string(),
//!     "from_number=14155&call_direction=outbound&end_time__gte=2026-11-01%2000%3A00%3A00"
//! );
//! assert_eq!(CallQuery::from_query_string(&q.to_query_string()).unwrap(), q);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, Utc};

use crate::error::{Error, Result};
use crate::model::{CallDirection, HangupSource, StirVerification};
use crate::policy::WindowPolicy;
use crate::time::{format_api, parse_timestamp};

/// Every parameter name [`CallQuery::set`] accepts, in the order
/// [`CallQuery::to_pairs`] writes them.
pub const FILTER_NAMES: &[&str] = &[
    "from_number",
    "to_number",
    "call_direction",
    "bill_duration",
    "bill_duration__gt",
    "bill_duration__gte",
    "bill_duration__lt",
    "bill_duration__lte",
    "end_time",
    "end_time__gt",
    "end_time__gte",
    "end_time__lt",
    "end_time__lte",
    "hangup_cause_code",
    "hangup_source",
    "stir_verification",
];

/// The allowed `call_direction` values (case-sensitive): [`CallDirection::ALLOWED`].
pub const CALL_DIRECTIONS: &[&str] = CallDirection::ALLOWED;
/// The allowed `hangup_source` values (case-sensitive): [`HangupSource::ALLOWED`].
pub const HANGUP_SOURCES: &[&str] = HangupSource::ALLOWED;
/// The allowed `stir_verification` values (case-sensitive): [`StirVerification::ALLOWED`].
pub const STIR_VERIFICATIONS: &[&str] = StirVerification::ALLOWED;
/// The longest filter value accepted, in bytes.
pub const MAX_VALUE_LEN: usize = 256;
/// The most digits a `from_number`/`to_number` filter may have.
pub const MAX_NUMBER_DIGITS: usize = 20;

/// The paging arguments, refused as filters.
const PAGING_NAMES: &[&str] = &["limit", "offset"];
const FINER_THAN_MICROS: &str = "finer than a microsecond; the API takes at most 6 fraction digits";
const YEARS: &str = "out of range: the year must be 1970..=9999";

/// A comparison form of a range filter: exact, or with the suffix `__gt`,
/// `__gte`, `__lt` or `__lte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cmp {
    /// Exact match (no suffix).
    Eq,
    /// Greater than (`__gt`).
    Gt,
    /// Greater than or equal (`__gte`).
    Gte,
    /// Less than (`__lt`).
    Lt,
    /// Less than or equal (`__lte`).
    Lte,
}

impl Cmp {
    /// Every form, in the order the query string writes them.
    pub const ALL: [Cmp; 5] = [Cmp::Eq, Cmp::Gt, Cmp::Gte, Cmp::Lt, Cmp::Lte];

    /// Whether a bound of this form includes its own value (`Eq`, `Gte`, `Lte`).
    pub fn is_inclusive(self) -> bool {
        matches!(self, Cmp::Eq | Cmp::Gte | Cmp::Lte)
    }
}

/// The five forms of a range filter; each is optional.
///
/// Five slots rather than a lower and an upper [`std::ops::Bound`]: the API
/// takes `__gt` and `__gte` (or `__lt` and `__lte`) together, and a query
/// sends exactly what it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bounds<T> {
    /// Exact value.
    pub eq: Option<T>,
    /// Exclusive lower bound.
    pub gt: Option<T>,
    /// Inclusive lower bound.
    pub gte: Option<T>,
    /// Exclusive upper bound.
    pub lt: Option<T>,
    /// Inclusive upper bound.
    pub lte: Option<T>,
}

impl<T> Bounds<T> {
    /// The value of one form.
    pub fn get(&self, cmp: Cmp) -> Option<&T> {
        match cmp {
            Cmp::Eq => self.eq.as_ref(),
            Cmp::Gt => self.gt.as_ref(),
            Cmp::Gte => self.gte.as_ref(),
            Cmp::Lt => self.lt.as_ref(),
            Cmp::Lte => self.lte.as_ref(),
        }
    }

    /// Sets (`Some`) or clears (`None`) one form.
    pub fn set(&mut self, cmp: Cmp, value: Option<T>) {
        let slot = match cmp {
            Cmp::Eq => &mut self.eq,
            Cmp::Gt => &mut self.gt,
            Cmp::Gte => &mut self.gte,
            Cmp::Lt => &mut self.lt,
            Cmp::Lte => &mut self.lte,
        };
        *slot = value;
    }

    /// The first form (in [`Cmp::ALL`] order) whose value is `bad`.
    fn find(&self, bad: impl Fn(&T) -> bool) -> Option<Cmp> {
        let mut forms = Cmp::ALL.into_iter();
        forms.find(|c| self.get(*c).is_some_and(&bad))
    }
}

impl<T: Ord + Clone> Bounds<T> {
    /// The tightest lower bound among `gt`, `gte` and `eq`, with whether it is
    /// inclusive (the largest value; on a tie the exclusive `gt` wins).
    pub fn lower(&self) -> Option<(T, bool)> {
        self.lower_form()
            .map(|(v, c)| (v.clone(), c.is_inclusive()))
    }

    /// The tightest upper bound among `lt`, `lte` and `eq`, with whether it is
    /// inclusive (the smallest value; on a tie the exclusive `lt` wins).
    pub fn upper(&self) -> Option<(T, bool)> {
        self.upper_form()
            .map(|(v, c)| (v.clone(), c.is_inclusive()))
    }

    fn lower_form(&self) -> Option<(&T, Cmp)> {
        self.tightest([Cmp::Gt, Cmp::Gte, Cmp::Eq], |b, a| b > a)
    }

    fn upper_form(&self) -> Option<(&T, Cmp)> {
        self.tightest([Cmp::Lt, Cmp::Lte, Cmp::Eq], |b, a| b < a)
    }

    /// The tightest of `forms`: one replaces those before it only when
    /// `better`, so on a tie the first (the exclusive form) stays.
    fn tightest(&self, forms: [Cmp; 3], better: fn(&T, &T) -> bool) -> Option<(&T, Cmp)> {
        let set = forms.into_iter().filter_map(|c| Some((self.get(c)?, c)));
        set.reduce(|a, b| if better(b.0, a.0) { b } else { a })
    }
}

/// The filters of one request to the call-records API.
///
/// Build it with the typed, consuming methods ([`CallQuery::from_number`], ...)
/// or by parameter name with [`CallQuery::set`]. A typed method keeps a bad
/// value as given (encoded as such, never spliced into another parameter) for
/// [`CallQuery::validate`] to report; `set` refuses it at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallQuery {
    /// The filters but the two ranges, as the API takes them.
    text: BTreeMap<Field, String>,
    bill_duration: Bounds<u64>,
    end_time: Bounds<DateTime<Utc>>,
    /// The first bad value given to a typed method (field, message).
    invalid: Option<(String, String)>,
}

/// One accepted parameter, ordered as [`FILTER_NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    FromNumber,
    ToNumber,
    CallDirection,
    BillDuration(Cmp),
    EndTime(Cmp),
    HangupCauseCode,
    HangupSource,
    StirVerification,
}

impl Field {
    /// Every field, in [`FILTER_NAMES`] order.
    fn all() -> impl Iterator<Item = Field> {
        use Field::*;
        let ranges = [Cmp::ALL.map(BillDuration), Cmp::ALL.map(EndTime)];
        let last = [HangupCauseCode, HangupSource, StirVerification];
        let first = [FromNumber, ToNumber, CallDirection].into_iter();
        first.chain(ranges.into_iter().flatten()).chain(last)
    }

    /// The parameter name: the entry of [`FILTER_NAMES`] at this field's place.
    fn name(self) -> &'static str {
        let mut names = Field::all().zip(FILTER_NAMES);
        names.find(|(f, _)| *f == self).map_or("", |(_, n)| n)
    }

    /// The field for a parameter name; the error explains a paging argument
    /// or suggests the nearest valid name.
    fn parse(name: &str) -> Result<Field> {
        if let Some(f) = Field::all().find(|f| f.name() == name) {
            return Ok(f);
        }
        // A name the API does not have is the caller's mistake, not a value it refuses.
        let shown_name = shown(name);
        Err(Error::InvalidArgument(match suggest(name) {
            _ if PAGING_NAMES.iter().any(|p| p.eq_ignore_ascii_case(name)) => {
                format!("`{shown_name}` is a paging argument, not a filter: pass it to list_page")
            }
            Some(s) => format!("unknown filter `{shown_name}`: did you mean `{s}`?"),
            None => format!("unknown filter `{shown_name}`"),
        }))
    }

    /// The rule of a text filter's value, after [`check_text`]: digits for a
    /// number (its `+` already stripped), an allowed value for an enumeration.
    fn check(self, v: &str) -> Result<()> {
        let name = self.name();
        match self {
            Field::FromNumber | Field::ToNumber => check_digits(name, v),
            Field::CallDirection => check_choice(name, v, CALL_DIRECTIONS),
            Field::HangupSource => check_choice(name, v, HANGUP_SOURCES),
            Field::StirVerification => check_choice(name, v, STIR_VERIFICATIONS),
            _ => Ok(()),
        }
    }
}

fn end_time_name(c: Cmp) -> &'static str {
    Field::EndTime(c).name()
}

fn invalid<T>(field: &str, message: impl Into<String>) -> Result<T> {
    Err(Error::validation(field, message))
}

/// `t` without its sub-microsecond part.
pub(crate) fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    let extra = t.timestamp_subsec_nanos() % 1_000;
    t.checked_sub_signed(chrono::Duration::nanoseconds(i64::from(extra)))
        .unwrap_or(t)
}

/// The valid name nearest to `name` by edit distance, when within 3 edits.
fn suggest(name: &str) -> Option<&'static str> {
    if name.chars().count() > 40 {
        return None;
    }
    let lowered = name.to_lowercase();
    let distance = |n: &str| strsim::levenshtein(&lowered, n);
    let nearest = FILTER_NAMES.iter().copied().min_by_key(|n| distance(n));
    nearest.filter(|n| distance(n) <= 3)
}

/// Long or odd input, shortened and made printable for an error message.
fn shown(s: &str) -> String {
    crate::response::quote(s, 40)
}

/// The checks every value gets: not empty, no control characters, not too long.
fn check_text(field: &str, value: &str) -> Result<()> {
    let len = value.len();
    let message = if value.trim().is_empty() {
        "must not be empty".to_owned()
    } else if value.chars().any(char::is_control) {
        "control characters are not allowed".to_owned()
    } else if len > MAX_VALUE_LEN {
        format!("must be at most {MAX_VALUE_LEN} bytes long (got {len})")
    } else {
        return Ok(());
    };
    invalid(field, message)
}

/// A phone-number filter as stored: 1 to 20 ASCII digits.
fn check_digits(field: &str, digits: &str) -> Result<()> {
    let len = digits.len();
    let message = if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        format!(
            "`{}` must be digits, optionally with a leading +",
            shown(digits)
        )
    } else if len > MAX_NUMBER_DIGITS {
        format!("must be at most {MAX_NUMBER_DIGITS} digits (got {len})")
    } else {
        return Ok(());
    };
    invalid(field, message)
}

/// Strips one leading `+` from a phone number.
fn strip_plus(v: &str) -> &str {
    v.strip_prefix('+').unwrap_or(v)
}

fn check_choice(field: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let mut message = format!(
        "`{}` is not allowed (values are case-sensitive): {}",
        shown(value),
        allowed.join(", ")
    );
    let trimmed = value.trim();
    if let Some(near) = allowed.iter().find(|a| a.eq_ignore_ascii_case(trimmed)) {
        message.push_str(&format!("; did you mean `{near}`?"));
    }
    invalid(field, message)
}

fn parse_count(field: &str, value: &str) -> Result<u64> {
    let shown = shown(value);
    let message = match value.parse::<u64>() {
        _ if !value.bytes().all(|b| b.is_ascii_digit()) => "",
        Ok(v) => return Ok(v),
        Err(_) => " no larger than 18446744073709551615", // u64::MAX
    };
    let message = format!("`{shown}` must be a non-negative integer{message}");
    invalid(field, message)
}

fn parse_time(field: &str, value: &str) -> Result<DateTime<Utc>> {
    let t = parse_timestamp(value).map_err(|m| Error::validation(field, m))?;
    if t.timestamp_subsec_nanos() % 1_000 != 0 {
        return invalid(field, format!("`{}` is {FINER_THAN_MICROS}", shown(value)));
    }
    Ok(t)
}

/// Refuses a range no value can satisfy: a lower form (`gt`, `gte`, `eq`)
/// and an upper one (`eq`, `lt`, `lte`) that exclude each other. Pairwise
/// checks are enough: in one dimension, intervals that meet pairwise have a
/// common point. `adjacent` says whether nothing lies strictly between two
/// values although `lo < hi` (whole seconds next to each other).
fn check_range<T: Ord>(
    name: fn(Cmp) -> &'static str,
    kind: &str,
    b: &Bounds<T>,
    show: fn(&T) -> String,
    adjacent: fn(&T, &T) -> bool,
) -> Result<()> {
    for lo_cmp in [Cmp::Gt, Cmp::Gte, Cmp::Eq] {
        for hi_cmp in [Cmp::Eq, Cmp::Lt, Cmp::Lte] {
            let (Some(lo), Some(hi)) = (b.get(lo_cmp), b.get(hi_cmp)) else {
                continue;
            };
            let (lo_incl, hi_incl) = (lo_cmp.is_inclusive(), hi_cmp.is_inclusive());
            let meet = lo < hi && (lo_incl || hi_incl || !adjacent(lo, hi));
            if meet || (lo == hi && lo_incl && hi_incl) {
                continue;
            }
            let (lo_name, hi_name, lo, hi) = (name(lo_cmp), name(hi_cmp), show(lo), show(hi));
            let message = match (lo_cmp, hi_cmp) {
                (_, Cmp::Eq) => format!("exact {hi_name}={hi} is excluded by {lo_name}={lo}"),
                (Cmp::Eq, _) => format!("exact {lo_name}={lo} is excluded by {hi_name}={hi}"),
                _ => format!("{lo_name}={lo} and {hi_name}={hi} match no {kind}"),
            };
            let field = if hi_cmp == Cmp::Eq { lo_name } else { hi_name };
            return invalid(field, format!("empty range: {message}"));
        }
    }
    Ok(())
}

impl CallQuery {
    /// A query with no filters.
    pub fn new() -> Self {
        CallQuery::default()
    }

    /// Filters on the caller's number (exact or prefix), digits only: one
    /// leading `+` is stripped.
    pub fn from_number(self, v: impl AsRef<str>) -> Self {
        self.typed(Field::FromNumber, strip_plus(v.as_ref()))
    }

    /// Filters on the called number (exact or prefix), digits only: one
    /// leading `+` is stripped.
    pub fn to_number(self, v: impl AsRef<str>) -> Self {
        self.typed(Field::ToNumber, strip_plus(v.as_ref()))
    }

    /// Filters on the direction: `inbound` or `outbound` (case-sensitive).
    pub fn call_direction(self, v: impl AsRef<str>) -> Self {
        self.typed(Field::CallDirection, v.as_ref())
    }

    /// Filters on who hung up: `customer`, `carrier` or `zentrunk`
    /// (case-sensitive).
    pub fn hangup_source(self, v: impl AsRef<str>) -> Self {
        self.typed(Field::HangupSource, v.as_ref())
    }

    /// Filters on the STIR/SHAKEN result: `Verified`, `Not Verified` or
    /// `Not Applicable` (case-sensitive).
    pub fn stir_verification(self, v: impl AsRef<str>) -> Self {
        self.typed(Field::StirVerification, v.as_ref())
    }

    /// The typed text methods' way in: the value is checked here, once, and
    /// kept as given; the first error is kept for [`CallQuery::validate`].
    fn typed(mut self, field: Field, value: &str) -> Self {
        let checked = check_text(field.name(), value).and_then(|()| field.check(value));
        if let Err(Error::Validation { field, message }) = checked {
            self.invalid.get_or_insert((field, message));
        }
        self.text.insert(field, value.to_owned());
        self
    }

    /// Filters on the hangup cause code.
    pub fn hangup_cause_code(mut self, code: u64) -> Self {
        self.text.insert(Field::HangupCauseCode, code.to_string());
        self
    }

    /// Adds one form of the billed-duration filter, in seconds.
    pub fn bill_duration(mut self, cmp: Cmp, secs: u64) -> Self {
        self.bill_duration.set(cmp, Some(secs));
        self
    }

    /// Adds one form of the end-time filter, truncated to the microsecond
    /// (the API's precision), so what is validated is what is sent.
    pub fn end_time(mut self, cmp: Cmp, t: DateTime<Utc>) -> Self {
        self.end_time.set(cmp, Some(to_micros(t)));
        self
    }

    /// Sets one filter by its API parameter name, checking the value at once.
    /// On error the query is unchanged: `InvalidArgument` for a name that is
    /// no filter (`limit`, `offset`: paging arguments), `Validation` for a value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<&mut Self> {
        self.set_field(Field::parse(name)?, value)?;
        Ok(self)
    }

    /// [`CallQuery::set`] for a name already read: the one place a value
    /// given as text is checked.
    fn set_field(&mut self, field: Field, value: &str) -> Result<()> {
        let name = field.name();
        check_text(name, value)?;
        match field {
            Field::BillDuration(cmp) => {
                self.bill_duration.set(cmp, Some(parse_count(name, value)?))
            }
            Field::EndTime(cmp) => self.end_time.set(cmp, Some(parse_time(name, value)?)),
            Field::HangupCauseCode => {
                let code = parse_count(name, value)?;
                self.text.insert(field, code.to_string());
            }
            Field::FromNumber | Field::ToNumber => {
                let digits = strip_plus(value);
                check_digits(name, digits)?;
                self.text.insert(field, digits.to_owned());
            }
            _ => {
                field.check(value)?;
                self.text.insert(field, value.to_owned());
            }
        }
        Ok(())
    }

    /// Removes one filter by its API parameter name (no error if it was not set).
    pub fn unset(&mut self, name: &str) -> Result<&mut Self> {
        match Field::parse(name)? {
            Field::BillDuration(cmp) => self.bill_duration.set(cmp, None),
            Field::EndTime(cmp) => self.end_time.set(cmp, None),
            field => _ = self.text.remove(&field),
        }
        Ok(self)
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        *self == CallQuery::default()
    }

    /// The `end_time` filter's forms.
    pub fn end_time_bounds(&self) -> &Bounds<DateTime<Utc>> {
        &self.end_time
    }

    /// The `bill_duration` filter's forms.
    pub fn bill_duration_bounds(&self) -> &Bounds<u64> {
        &self.bill_duration
    }

    /// A copy of this query with the `end_time` forms replaced by `b`. A
    /// time finer than a microsecond is kept and reported by
    /// [`CallQuery::validate`].
    pub fn with_end_time(&self, b: Bounds<DateTime<Utc>>) -> CallQuery {
        let mut q = self.clone();
        q.end_time = b;
        if let Some(c) = q.end_time.find(|t| to_micros(*t) != *t) {
            let e = (end_time_name(c).to_owned(), FINER_THAN_MICROS.to_owned());
            q.invalid.get_or_insert(e);
        }
        q
    }

    /// Checks the query: the first bad value given to a typed method (or
    /// [`CallQuery::with_end_time`]), no empty range, `end_time` years in
    /// 1970..=9999.
    pub fn validate(&self) -> Result<()> {
        if let Some((field, message)) = &self.invalid {
            return Err(Error::validation(field, message));
        }
        let d = &self.bill_duration;
        if let Some(v) = d.gt.filter(|v| *v == u64::MAX) {
            let message = format!("empty range: no duration is above bill_duration__gt={v}");
            return Err(Error::validation("bill_duration__gt", message));
        }
        if d.lt == Some(0) {
            let message = "empty range: no duration is below bill_duration__lt=0";
            return Err(Error::validation("bill_duration__lt", message));
        }
        let adjacent = |lo: &u64, hi: &u64| lo.checked_add(1) == Some(*hi);
        let name = |c| Field::BillDuration(c).name();
        check_range(name, "duration", d, u64::to_string, adjacent)?;
        let show = |t: &DateTime<Utc>| format_api(*t);
        check_range(end_time_name, "time", &self.end_time, show, |_, _| false)?;
        let old = self.end_time.find(|t| !(1970..=9999).contains(&t.year()));
        old.map_or(Ok(()), |c| invalid(end_time_name(c), YEARS))
    }

    /// Checks the service's time-window rules for one request at `now`:
    ///
    /// * an upper `end_time` bound (`__lt`/`__lte`) needs a lower one
    ///   (`__gt`, `__gte` or exact);
    /// * the lower bound must not be older than `policy.earliest(now)`;
    /// * the range (upper bound, or `now` when there is none, minus the lower
    ///   bound) must not be wider than `policy.max_range()`.
    ///
    /// A query without `end_time` passes (the service searches its default
    /// window); a lower bound in the future passes. This does not repeat
    /// [`CallQuery::validate`].
    pub fn validate_window(&self, policy: &WindowPolicy, now: DateTime<Utc>) -> Result<()> {
        let b = &self.end_time;
        let Some((lo, lo_cmp)) = b.lower_form() else {
            let needs = "an upper bound needs a lower bound (end_time__gte or end_time__gt): \
                         the service refuses it";
            let upper = b.upper_form();
            return upper.map_or(Ok(()), |(_, c)| invalid(end_time_name(c), needs));
        };
        let (lo_name, earliest) = (end_time_name(lo_cmp), policy.earliest(now));
        if *lo < earliest {
            let (lo, earliest, days) =
                (format_api(*lo), format_api(earliest), policy.retention_days);
            let message = format!(
                "{lo} is older than the service keeps records: the earliest allowed is {earliest} \
                 (retention_days = {days})"
            );
            return invalid(lo_name, message);
        }
        let (hi, hi_name) = match b.upper_form() {
            Some((hi, hi_cmp)) => (*hi, end_time_name(hi_cmp)),
            None => (now, lo_name),
        };
        let width = hi - *lo;
        if width > policy.max_range() {
            let (days, max) = (width.num_seconds() as f64 / 86_400.0, policy.max_range_days);
            let message = format!(
                "the end_time range spans {days:.2} days, wider than one request may ask for \
                 (max_range_days = {max}): split it into windows"
            );
            return invalid(hi_name, message);
        }
        Ok(())
    }

    /// The filters as API parameters, in the order of [`FILTER_NAMES`]; times
    /// are written by [`format_api`] (UTC).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        Field::all()
            .filter_map(|f| Some((f.name(), self.value(f)?)))
            .collect()
    }

    /// The value of one filter as the API takes it, if set.
    fn value(&self, field: Field) -> Option<String> {
        match field {
            Field::BillDuration(cmp) => self.bill_duration.get(cmp).map(u64::to_string),
            Field::EndTime(cmp) => self.end_time.get(cmp).map(|t| format_api(*t)),
            _ => self.text.get(&field).cloned(),
        }
    }

    /// The filters percent-encoded and joined by `&`; `""` when there is none.
    pub fn to_query_string(&self) -> String {
        self.to_pairs()
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Parses a query string (one leading `?` allowed; `%XX` escapes and `+`
    /// as a space decoded): how a checkpoint's plan is read back. Each
    /// parameter goes through [`CallQuery::set`]; a parameter given twice, a
    /// bad escape or `limit`/`offset` is an error. The result is not
    /// [`validate`](CallQuery::validate)d.
    pub fn from_query_string(s: &str) -> Result<CallQuery> {
        let s = s.strip_prefix('?').unwrap_or(s);
        let mut q = CallQuery::new();
        for part in s.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = part.split_once('=').unwrap_or((part, ""));
            let name = percent_decode(raw_name)
                .map_err(|m| Error::validation("query", format!("parameter name: {m}")))?;
            let value = percent_decode(raw_value)
                .map_err(|m| Error::validation(shown(&name), format!("value: {m}")))?;
            let field = Field::parse(&name)?;
            if q.value(field).is_some() {
                return invalid(field.name(), "given more than once");
            }
            q.set_field(field, &value)?;
        }
        Ok(q)
    }
}

impl fmt::Display for CallQuery {
    /// The query string, as [`CallQuery::to_query_string`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_query_string())
    }
}

impl std::str::FromStr for CallQuery {
    type Err = Error;

    /// As [`CallQuery::from_query_string`].
    fn from_str(s: &str) -> Result<Self> {
        CallQuery::from_query_string(s)
    }
}

/// Every byte but the unreserved `A-Za-z0-9-._~` is escaped (uppercase hex).
const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ESCAPED).to_string()
}

/// Decodes `%XX` escapes and `+` (a space); the result must be UTF-8. A `%`
/// without two hex digits is refused here: the crate's decoder keeps it as
/// text, and a query string with one is a mistake to report.
fn percent_decode(s: &str) -> std::result::Result<String, String> {
    let bytes = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
        if !(hex(i + 1) && hex(i + 2)) {
            return Err(format!("invalid percent-escape at byte {i}"));
        }
    }
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .map(|t| t.into_owned())
        .map_err(|_| "percent-escapes do not decode to UTF-8 text".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn bill_duration_name(c: Cmp) -> &'static str {
        Field::BillDuration(c).name()
    }

    fn ts(s: &str) -> DateTime<Utc> {
        parse_timestamp(s).unwrap()
    }

    /// The field and message of a validation error.
    fn fail<T: fmt::Debug>(r: Result<T>) -> (String, String) {
        match r {
            Err(Error::Validation { field, message }) => (field, message),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    /// The message of an unknown or paging name (an invalid argument).
    fn name_err(r: Result<()>) -> String {
        match r {
            Err(Error::InvalidArgument(message)) => message,
            other => panic!("expected an invalid argument, got {other:?}"),
        }
    }

    fn set_name_err(name: &str, value: &str) -> String {
        name_err(CallQuery::new().set(name, value).map(|_| ()))
    }

    fn set_err(name: &str, value: &str) -> (String, String) {
        let mut q = CallQuery::new();
        fail(q.set(name, value).map(|_| ()))
    }

    fn assert_has(message: &str, words: &[&str]) {
        for w in words {
            assert!(message.contains(w), "{message:?} should contain {w:?}");
        }
    }

    fn now() -> DateTime<Utc> {
        ts("2026-11-20 00:00")
    }

    // ---- set(): one value at a time ----

    #[test]
    fn set_accepts_valid_values() {
        let mut q = CallQuery::new();
        q.set("from_number", "+14155")
            .unwrap()
            .set("to_number", "4420")
            .unwrap()
            .set("call_direction", "inbound")
            .unwrap()
            .set("bill_duration__gte", "0")
            .unwrap()
            .set("bill_duration__lt", "007")
            .unwrap()
            .set("end_time__gte", "2026-11-01 00:00")
            .unwrap()
            .set("end_time__lt", " 2026-11-02T00:00:00Z ")
            .unwrap()
            .set("hangup_cause_code", "4000")
            .unwrap()
            .set("hangup_source", "zentrunk")
            .unwrap()
            .set("stir_verification", "Not Applicable")
            .unwrap();
        q.validate().unwrap();
        q.validate_window(&WindowPolicy::default(), now()).unwrap();
        for v in CALL_DIRECTIONS {
            CallQuery::new().set("call_direction", v).unwrap();
        }
        for v in HANGUP_SOURCES {
            CallQuery::new().set("hangup_source", v).unwrap();
        }
        for v in STIR_VERIFICATIONS {
            CallQuery::new().set("stir_verification", v).unwrap();
        }
        CallQuery::new()
            .set("from_number", &"9".repeat(20))
            .unwrap();
        CallQuery::new()
            .set("bill_duration", &u64::MAX.to_string())
            .unwrap();
        assert_eq!(q.bill_duration_bounds().lt, Some(7));
        assert_eq!(q.end_time_bounds().lt, Some(ts("2026-11-02 00:00")));
    }

    #[test]
    fn set_unknown_name_suggests_nearest() {
        let msg = set_name_err("end_time_gte", "2026-11-01 00:00");
        assert_has(
            &msg,
            &[
                "unknown filter `end_time_gte`",
                "did you mean `end_time__gte`?",
            ],
        );
        let msg = set_name_err("from_numbr", "1");
        assert_has(&msg, &["did you mean `from_number`?"]);
        let msg = set_name_err("CALL_DIRECTION", "inbound");
        assert_has(&msg, &["did you mean `call_direction`?"]);
        let msg = set_name_err("bill_duration_lte", "5");
        assert_has(&msg, &["did you mean `bill_duration__lte`?"]);
    }

    #[test]
    fn set_unknown_name_without_close_match_suggests_nothing() {
        let msg = set_name_err("from", "1");
        assert_has(&msg, &["unknown filter `from`"]);
        assert!(!msg.contains("did you mean"), "{msg}");
        let msg = set_name_err("status", "x");
        assert!(!msg.contains("did you mean"), "{msg}");
        // The unchecked name is shortened and made printable in the error.
        let long = format!("x\n{}", "y".repeat(10_000));
        let msg = set_name_err(&long, "1");
        assert!(!msg.contains('\n') && msg.contains("`xyyy"), "{msg}");
        assert!(msg.len() < 200);
    }

    #[test]
    fn suggestions_are_within_three_edits() {
        // `to_num` is 3 insertions from `to_number`, `to_nu` 4.
        let msg = set_name_err("to_num", "1");
        assert_has(&msg, &["did you mean `to_number`?"]);
        let msg = set_name_err("to_nu", "1");
        assert!(!msg.contains("did you mean"), "{msg}");
        // The nearest of several: `end_time_lt` is 1 edit from `end_time__lt`,
        // 2 from `end_time__lte` and from `end_time__gt`.
        let msg = set_name_err("end_time_lt", "2026-11-01 00:00");
        assert_has(&msg, &["did you mean `end_time__lt`?"]);
    }

    #[test]
    fn set_refuses_paging_arguments() {
        for name in ["limit", "offset", "LIMIT"] {
            let msg = set_name_err(name, "20");
            assert_has(
                &msg,
                &[
                    &format!("`{name}` is a paging argument, not a filter"),
                    "list_page",
                ],
            );
            let mut q = CallQuery::new();
            let msg = name_err(q.unset(name).map(|_| ()));
            assert_has(&msg, &[&format!("`{name}` is a paging argument")]);
        }
    }

    #[test]
    fn set_rejects_empty_values() {
        for name in FILTER_NAMES {
            for v in ["", " ", "\t "] {
                let (field, msg) = set_err(name, v);
                assert_eq!(field, *name);
                assert_has(&msg, &["must not be empty"]);
            }
        }
    }

    #[test]
    fn set_rejects_control_characters() {
        for (name, v) in [
            ("call_direction", "outbound\r\n"),
            ("from_number", "1415\0"),
            ("end_time__gte", "2026-11-01\n00:00"),
            ("stir_verification", "Not\u{7f}Verified"),
            ("hangup_source", "carrier\u{85}"),
        ] {
            let (field, msg) = set_err(name, v);
            assert_eq!(field, name);
            assert_has(&msg, &["control characters are not allowed"]);
        }
    }

    #[test]
    fn set_rejects_values_longer_than_256_bytes() {
        let long = "1".repeat(257);
        for name in ["from_number", "bill_duration", "end_time", "call_direction"] {
            let (field, msg) = set_err(name, &long);
            assert_eq!(field, name);
            assert_has(&msg, &["at most 256 bytes", "257"]);
        }
        // 256 bytes of é (2 bytes each: 128 chars) is at the limit, 129 over.
        let (_, msg) = set_err("hangup_source", &"é".repeat(129));
        assert_has(&msg, &["at most 256 bytes"]);
        let (_, msg) = set_err("hangup_source", &"é".repeat(128));
        assert_has(&msg, &["is not allowed"]);
    }

    #[test]
    fn set_rejects_enum_values_outside_the_allowed_list() {
        let (field, msg) = set_err("call_direction", "Outbound");
        assert_eq!(field, "call_direction");
        assert_has(
            &msg,
            &["`Outbound` is not allowed (values are case-sensitive): inbound, outbound"],
        );
        assert_has(&msg, &["did you mean `outbound`?"]);
        let (field, msg) = set_err("hangup_source", "network");
        assert_eq!(field, "hangup_source");
        assert_has(
            &msg,
            &["`network` is not allowed", "customer, carrier, zentrunk"],
        );
        assert!(!msg.contains("did you mean"));
        let (field, msg) = set_err("stir_verification", "not verified");
        assert_eq!(field, "stir_verification");
        assert_has(
            &msg,
            &[
                "case-sensitive",
                "Verified, Not Verified, Not Applicable",
                "`Not Verified`",
            ],
        );
        let (_, msg) = set_err("call_direction", " outbound");
        assert_has(&msg, &["is not allowed"]);
    }

    #[test]
    fn set_rejects_non_integer_counts() {
        for name in ["bill_duration", "bill_duration__lte", "hangup_cause_code"] {
            for v in ["-1", "1.5", "abc", "+5", "1e3", "٣", "0x10"] {
                let (field, msg) = set_err(name, v);
                assert_eq!(field, name);
                assert_has(&msg, &["must be a non-negative integer"]);
            }
        }
    }

    #[test]
    fn set_rejects_overflowing_counts() {
        let (field, msg) = set_err("bill_duration__gt", "18446744073709551616");
        assert_eq!(field, "bill_duration__gt");
        assert_has(&msg, &["must be a non-negative integer", "no larger than"]);
        let (field, msg) = set_err("hangup_cause_code", &"9".repeat(100));
        assert_eq!(field, "hangup_cause_code");
        assert_has(&msg, &["must be a non-negative integer"]);
    }

    #[test]
    fn set_rejects_bad_numbers() {
        for v in [
            "+",
            "++1415",
            "1415-555",
            "(415)",
            "1 415",
            "abc",
            "１４１５",
        ] {
            let (field, msg) = set_err("from_number", v);
            assert_eq!(field, "from_number");
            assert_has(&msg, &["must be digits, optionally with a leading +"]);
        }
        let (field, msg) = set_err("to_number", &"1".repeat(21));
        assert_eq!(field, "to_number");
        assert_has(&msg, &["at most 20 digits"]);
    }

    #[test]
    fn set_rejects_bad_timestamps() {
        let (field, msg) = set_err("end_time__gte", "2026-02-30 10:00");
        assert_eq!(field, "end_time__gte");
        assert_has(&msg, &["not a real date"]);
        let (field, msg) = set_err("end_time", "yesterday");
        assert_eq!(field, "end_time");
        assert_has(&msg, &["not a timestamp"]);
        let (field, msg) = set_err("end_time__lt", "2026-11-01 25:00");
        assert_eq!(field, "end_time__lt");
        assert_has(&msg, &["not a real time"]);
    }

    #[test]
    fn failed_set_leaves_query_unchanged() {
        let mut q = CallQuery::new();
        q.set("call_direction", "inbound").unwrap();
        let before = q.clone();
        assert!(q.set("call_direction", "sideways").is_err());
        assert!(q.set("bill_duration", "-3").is_err());
        assert_eq!(q, before);
    }

    #[test]
    fn unset_clears_one_filter() {
        let mut q = CallQuery::new();
        q.set("end_time__gte", "2026-11-01 00:00")
            .unwrap()
            .set("end_time__lt", "2026-11-02 00:00")
            .unwrap()
            .set("hangup_source", "carrier")
            .unwrap();
        q.unset("end_time__lt")
            .unwrap()
            .unset("hangup_source")
            .unwrap();
        assert_eq!(
            q,
            CallQuery::new().end_time(Cmp::Gte, ts("2026-11-01 00:00"))
        );
        q.unset("end_time__gte")
            .unwrap()
            .unset("to_number")
            .unwrap();
        assert!(q.is_empty());
        let msg = name_err(q.unset("end_time_gt").map(|_| ()));
        assert_has(
            &msg,
            &[
                "unknown filter `end_time_gt`",
                "did you mean `end_time__gt`?",
            ],
        );
    }

    #[test]
    fn is_empty_means_no_filter() {
        assert!(CallQuery::new().is_empty());
        assert!(!CallQuery::new().hangup_cause_code(0).is_empty());
        assert!(!CallQuery::new().bill_duration(Cmp::Lt, 5).is_empty());
        let mut q = CallQuery::new();
        q.set("end_time__gte", "2026-11-01 00:00").unwrap();
        assert!(!q.is_empty());
    }

    // ---- validate(): the whole query ----

    #[test]
    fn validate_rechecks_builder_enums() {
        let (field, msg) = fail(CallQuery::new().call_direction("Outbound").validate());
        assert_eq!(field, "call_direction");
        assert_has(
            &msg,
            &["not allowed (values are case-sensitive): inbound, outbound"],
        );
        let (field, _) = fail(CallQuery::new().hangup_source("Carrier").validate());
        assert_eq!(field, "hangup_source");
        let (field, msg) = fail(CallQuery::new().stir_verification("").validate());
        assert_eq!(field, "stir_verification");
        assert_has(&msg, &["must not be empty"]);
        let (field, msg) = fail(CallQuery::new().hangup_source("carrier\n").validate());
        assert_eq!(field, "hangup_source");
        assert_has(&msg, &["control characters"]);
    }

    #[test]
    fn validate_rechecks_builder_numbers() {
        let (field, msg) = fail(CallQuery::new().from_number("+1-415").validate());
        assert_eq!(field, "from_number");
        assert_has(&msg, &["must be digits, optionally with a leading +"]);
        // Only one leading + is stripped.
        let (field, _) = fail(CallQuery::new().to_number("++44").validate());
        assert_eq!(field, "to_number");
        let (field, msg) = fail(CallQuery::new().to_number("+").validate());
        assert_eq!(field, "to_number");
        assert_has(&msg, &["must not be empty"]);
        let (_, msg) = fail(CallQuery::new().to_number("1".repeat(21)).validate());
        assert_has(&msg, &["at most 20 digits"]);
        CallQuery::new()
            .from_number("+14155")
            .to_number("4420")
            .validate()
            .unwrap();
    }

    #[test]
    fn validate_rejects_lower_above_upper() {
        let (field, msg) = fail(
            CallQuery::new()
                .bill_duration(Cmp::Gte, 10)
                .bill_duration(Cmp::Lte, 5)
                .validate(),
        );
        assert_eq!(field, "bill_duration__lte");
        assert_has(
            &msg,
            &[
                "empty range",
                "bill_duration__gte=10",
                "bill_duration__lte=5",
            ],
        );
        let (field, msg) = fail(
            CallQuery::new()
                .end_time(Cmp::Gt, ts("2026-11-02 00:00"))
                .end_time(Cmp::Lt, ts("2026-11-01 00:00"))
                .validate(),
        );
        assert_eq!(field, "end_time__lt");
        assert_has(&msg, &["empty range", "end_time__gt=2026-11-02 00:00:00"]);
    }

    #[test]
    fn validate_rejects_equal_bounds_with_an_exclusive_side() {
        for (lo, hi) in [(Cmp::Gt, Cmp::Lt), (Cmp::Gte, Cmp::Lt), (Cmp::Gt, Cmp::Lte)] {
            let q = CallQuery::new().bill_duration(lo, 5).bill_duration(hi, 5);
            let (field, msg) = fail(q.validate());
            assert_eq!(field, bill_duration_name(hi));
            assert_has(&msg, &["empty range"]);
            let t = ts("2026-11-01 00:00");
            let (field, msg) = fail(CallQuery::new().end_time(lo, t).end_time(hi, t).validate());
            assert_eq!(field, end_time_name(hi));
            assert_has(&msg, &["empty range"]);
        }
    }

    #[test]
    fn validate_accepts_touching_inclusive_bounds() {
        CallQuery::new()
            .bill_duration(Cmp::Gte, 5)
            .bill_duration(Cmp::Lte, 5)
            .validate()
            .unwrap();
        let t = ts("2026-11-01 00:00");
        CallQuery::new()
            .end_time(Cmp::Gte, t)
            .end_time(Cmp::Lte, t)
            .end_time(Cmp::Eq, t)
            .validate()
            .unwrap();
        // Whole seconds next to each other with one inclusive side hold one.
        CallQuery::new()
            .bill_duration(Cmp::Gte, 4)
            .bill_duration(Cmp::Lt, 5)
            .validate()
            .unwrap();
        CallQuery::new()
            .bill_duration(Cmp::Gt, 4)
            .bill_duration(Cmp::Lte, 5)
            .validate()
            .unwrap();
        // Redundant bounds on the same side are fine.
        CallQuery::new()
            .bill_duration(Cmp::Gt, 1)
            .bill_duration(Cmp::Gte, 2)
            .bill_duration(Cmp::Lt, 10)
            .bill_duration(Cmp::Lte, 20)
            .validate()
            .unwrap();
    }

    #[test]
    fn validate_rejects_exact_value_excluded_by_range() {
        for (cmp, bound) in [(Cmp::Gt, 60), (Cmp::Gte, 61), (Cmp::Lt, 60), (Cmp::Lte, 59)] {
            let q = CallQuery::new()
                .bill_duration(Cmp::Eq, 60)
                .bill_duration(cmp, bound);
            let (field, msg) = fail(q.validate());
            assert_eq!(field, bill_duration_name(cmp));
            assert_has(
                &msg,
                &["empty range", "exact bill_duration=60", "excluded by"],
            );
        }
        let (field, msg) = fail(
            CallQuery::new()
                .end_time(Cmp::Eq, ts("2026-11-01 00:00"))
                .end_time(Cmp::Gte, ts("2026-11-01 00:00:01"))
                .validate(),
        );
        assert_eq!(field, "end_time__gte");
        assert_has(&msg, &["empty range", "exact end_time=2026-11-01 00:00:00"]);
    }

    #[test]
    fn validate_rejects_integer_ranges_with_no_whole_second() {
        let (field, msg) = fail(
            CallQuery::new()
                .bill_duration(Cmp::Gt, 4)
                .bill_duration(Cmp::Lt, 5)
                .validate(),
        );
        assert_eq!(field, "bill_duration__lt");
        assert_has(&msg, &["empty range"]);
        let (field, msg) = fail(CallQuery::new().bill_duration(Cmp::Lt, 0).validate());
        assert_eq!(field, "bill_duration__lt");
        assert_has(&msg, &["empty range", "below"]);
        let (field, msg) = fail(CallQuery::new().bill_duration(Cmp::Gt, u64::MAX).validate());
        assert_eq!(field, "bill_duration__gt");
        assert_has(&msg, &["empty range", "above"]);
        CallQuery::new()
            .bill_duration(Cmp::Gt, 4)
            .bill_duration(Cmp::Lt, 6)
            .validate()
            .unwrap();
    }

    #[test]
    fn validate_rejects_years_outside_1970_to_9999() {
        let (field, msg) = fail(
            CallQuery::new()
                .end_time(Cmp::Lt, ts("1969-12-31 23:59:59"))
                .validate(),
        );
        assert_eq!(field, "end_time__lt");
        assert_has(&msg, &["the year must be 1970..=9999"]);
        let (field, _) = fail(
            CallQuery::new()
                .end_time(Cmp::Gte, ts("2026-11-01 00:00"))
                .end_time(Cmp::Gt, DateTime::<Utc>::MAX_UTC)
                .validate(),
        );
        assert_eq!(field, "end_time__gt");
        CallQuery::new()
            .end_time(Cmp::Gte, ts("1970-01-01 00:00"))
            .end_time(Cmp::Lte, ts("9999-12-31 23:59:59.999999"))
            .validate()
            .unwrap();
    }

    #[test]
    fn end_times_finer_than_a_microsecond() {
        let t = ts("2026-11-01 00:00");
        let finer = t + chrono::Duration::nanoseconds(999);
        // The typed builder truncates to the microsecond.
        let q = CallQuery::new().end_time(Cmp::Gt, finer);
        assert_eq!(q.end_time_bounds().gt, Some(t));
        // Bounds given whole keep it, and validate names the form.
        let b = Bounds {
            gte: Some(ts("2026-10-31 00:00")),
            lt: Some(finer),
            ..Bounds::default()
        };
        let (field, msg) = fail(CallQuery::new().with_end_time(b).validate());
        assert_eq!(field, "end_time__lt");
        assert_has(&msg, &["finer than a microsecond", "6 fraction digits"]);
        let micro = t + chrono::Duration::microseconds(1);
        let b = Bounds {
            lt: Some(micro),
            ..Bounds::default()
        };
        CallQuery::new().with_end_time(b).validate().unwrap();
    }

    // ---- validate_window(): one request against the service's policy ----

    #[test]
    fn window_upper_bound_needs_a_lower_bound() {
        let p = WindowPolicy::default();
        let (field, msg) = fail(
            CallQuery::new()
                .end_time(Cmp::Lt, ts("2026-11-10 00:00"))
                .validate_window(&p, now()),
        );
        assert_eq!(field, "end_time__lt");
        assert_has(
            &msg,
            &[
                "an upper bound needs a lower bound (end_time__gte or end_time__gt)",
                "the service refuses it",
            ],
        );
        let (field, _) = fail(
            CallQuery::new()
                .end_time(Cmp::Lte, ts("2026-11-10 00:00"))
                .validate_window(&p, now()),
        );
        assert_eq!(field, "end_time__lte");
        // An exact end_time counts as a lower bound.
        CallQuery::new()
            .end_time(Cmp::Eq, ts("2026-11-10 00:00"))
            .end_time(Cmp::Lte, ts("2026-11-10 00:00"))
            .validate_window(&p, now())
            .unwrap();
    }

    #[test]
    fn window_rejects_range_wider_than_max_range() {
        let p = WindowPolicy::default();
        let (field, msg) = fail(
            CallQuery::new()
                .end_time(Cmp::Gte, ts("2026-09-01 00:00"))
                .end_time(Cmp::Lt, ts("2026-10-15 00:00"))
                .validate_window(&p, now()),
        );
        assert_eq!(field, "end_time__lt");
        assert_has(&msg, &["44.00 days", "max_range_days = 30"]);
        // Without an upper bound the range runs to now.
        let (field, msg) = fail(
            CallQuery::new()
                .end_time(Cmp::Gt, ts("2026-10-20 00:00"))
                .validate_window(&p, now()),
        );
        assert_eq!(field, "end_time__gt");
        assert_has(&msg, &["max_range_days = 30"]);
        // Exactly the max range is fine.
        CallQuery::new()
            .end_time(Cmp::Gte, ts("2026-10-21 00:00"))
            .validate_window(&p, now())
            .unwrap();
        let p = WindowPolicy::new(7, 90, 90).unwrap();
        CallQuery::new()
            .end_time(Cmp::Gte, ts("2026-09-01 00:00"))
            .end_time(Cmp::Lt, ts("2026-10-15 00:00"))
            .validate_window(&p, now())
            .unwrap();
    }

    #[test]
    fn window_rejects_lower_bound_older_than_retention() {
        let p = WindowPolicy::default();
        let (field, msg) = fail(
            CallQuery::new()
                .end_time(Cmp::Gte, ts("2026-08-01 00:00"))
                .end_time(Cmp::Lt, ts("2026-08-02 00:00"))
                .validate_window(&p, now()),
        );
        assert_eq!(field, "end_time__gte");
        assert_has(
            &msg,
            &[
                "earliest allowed is 2026-08-22 00:00:00",
                "retention_days = 90",
            ],
        );
        let (field, _) = fail(
            CallQuery::new()
                .end_time(Cmp::Eq, ts("2026-01-01 00:00"))
                .validate_window(&p, now()),
        );
        assert_eq!(field, "end_time");
        CallQuery::new()
            .end_time(Cmp::Gte, ts("2026-08-22 00:00"))
            .end_time(Cmp::Lt, ts("2026-08-23 00:00"))
            .validate_window(&p, now())
            .unwrap();
    }

    #[test]
    fn window_accepts_future_lower_bound_and_no_end_time() {
        let p = WindowPolicy::default();
        CallQuery::new()
            .end_time(Cmp::Gte, ts("2027-01-01 00:00"))
            .validate_window(&p, now())
            .unwrap();
        CallQuery::new()
            .call_direction("inbound")
            .validate_window(&p, now())
            .unwrap();
    }

    // ---- encoding ----

    fn everything() -> CallQuery {
        CallQuery::new()
            .from_number("+14155")
            .to_number("4420")
            .call_direction("outbound")
            .bill_duration(Cmp::Eq, 60)
            .bill_duration(Cmp::Gt, 1)
            .bill_duration(Cmp::Gte, 2)
            .bill_duration(Cmp::Lt, 3600)
            .bill_duration(Cmp::Lte, 3599)
            .end_time(Cmp::Eq, ts("2026-11-10 12:30:00.5"))
            .end_time(Cmp::Gt, ts("2026-10-31 23:59:59"))
            .end_time(Cmp::Gte, ts("2026-11-01 00:00"))
            .end_time(Cmp::Lt, ts("2026-11-20 00:00"))
            .end_time(Cmp::Lte, ts("2026-11-19 23:59:59"))
            .hangup_cause_code(4000)
            .hangup_source("carrier")
            .stir_verification("Not Verified")
    }

    #[test]
    fn encodes_every_filter_exactly() {
        let q = everything();
        q.validate().unwrap();
        assert_eq!(
            q.to_query_string(),
            "from_number=14155&to_number=4420&call_direction=outbound\
             &bill_duration=60&bill_duration__gt=1&bill_duration__gte=2\
             &bill_duration__lt=3600&bill_duration__lte=3599\
             &end_time=2026-11-10%2012%3A30%3A00.500000\
             &end_time__gt=2026-10-31%2023%3A59%3A59\
             &end_time__gte=2026-11-01%2000%3A00%3A00\
             &end_time__lt=2026-11-20%2000%3A00%3A00\
             &end_time__lte=2026-11-19%2023%3A59%3A59\
             &hangup_cause_code=4000&hangup_source=carrier&stir_verification=Not%20Verified"
        );
        assert_eq!(q.to_string(), q.to_query_string());
        let names: Vec<&str> = q.to_pairs().iter().map(|(k, _)| *k).collect();
        assert_eq!(names, FILTER_NAMES);
        // The same query by parameter name.
        let mut by_name = CallQuery::new();
        for (k, v) in q.to_pairs() {
            by_name.set(k, &v).unwrap();
        }
        assert_eq!(by_name, q);
        assert_eq!(CallQuery::new().to_query_string(), "");
    }

    #[test]
    fn leading_plus_is_stripped_from_numbers() {
        let q = CallQuery::new().from_number("+1415");
        assert_eq!(q.to_pairs(), vec![("from_number", "1415".to_owned())]);
        let mut q = CallQuery::new();
        q.set("from_number", "+1415").unwrap();
        assert_eq!(q.to_query_string(), "from_number=1415");
        assert_eq!(q, CallQuery::new().from_number("1415"));
        let q = CallQuery::from_query_string("to_number=%2B4420").unwrap();
        assert_eq!(q.to_query_string(), "to_number=4420");
    }

    #[test]
    fn round_trips_through_query_string() {
        for q in [
            CallQuery::new(),
            everything(),
            CallQuery::new().stir_verification("Not Applicable"),
            CallQuery::new()
                .end_time(Cmp::Gte, ts("2026-11-01 00:00:00.000001"))
                .bill_duration(Cmp::Lte, u64::MAX),
        ] {
            let s = q.to_query_string();
            assert_eq!(CallQuery::from_query_string(&s).unwrap(), q, "{s}");
            assert_eq!(s.parse::<CallQuery>().unwrap(), q);
        }
        // A leading '?', '+' as a space, lowercase escapes, empty segments.
        let q = CallQuery::from_query_string(
            "?stir_verification=Not+Verified&&end_time__gte=2026-11-01%2000%3a00&",
        )
        .unwrap();
        assert_eq!(
            q,
            CallQuery::new()
                .stir_verification("Not Verified")
                .end_time(Cmp::Gte, ts("2026-11-01 00:00"))
        );
    }

    #[test]
    fn offsets_become_utc_in_the_encoding() {
        let mut q = CallQuery::new();
        q.set("end_time__gte", "2026-11-01 05:30:00+05:30").unwrap();
        assert_eq!(
            q.to_query_string(),
            "end_time__gte=2026-11-01%2000%3A00%3A00"
        );
        let q = CallQuery::new().end_time(
            Cmp::Lt,
            chrono::FixedOffset::west_opt(3 * 3600)
                .unwrap()
                .with_ymd_and_hms(2026, 11, 1, 22, 0, 0)
                .unwrap()
                .with_timezone(&Utc),
        );
        assert_eq!(
            q.to_pairs(),
            vec![("end_time__lt", "2026-11-02 01:00:00".to_owned())]
        );
    }

    #[test]
    fn fractional_seconds_are_preserved() {
        let mut q = CallQuery::new();
        q.set("end_time", "2026-11-01 10:00:00.5").unwrap();
        assert_eq!(q.to_pairs()[0].1, "2026-11-01 10:00:00.500000");
        assert_eq!(
            q.to_query_string(),
            "end_time=2026-11-01%2010%3A00%3A00.500000"
        );
        let t = Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(
            CallQuery::new().end_time(Cmp::Gt, t).to_pairs()[0].1,
            "2026-11-01 10:00:00.123456"
        );
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(
            percent_encode("a b:c/d+e&f=g%"),
            "a%20b%3Ac%2Fd%2Be%26f%3Dg%25"
        );
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_decode("%C3%a9+x").unwrap(), "é x");
    }

    #[test]
    fn from_query_string_reports_bad_input() {
        let msg = name_err(CallQuery::from_query_string("limit=20").map(|_| ()));
        assert_has(&msg, &["`limit` is a paging argument"]);
        let msg =
            name_err(CallQuery::from_query_string("call_direction=inbound&offset=5").map(|_| ()));
        assert_has(&msg, &["`offset` is a paging argument"]);
        let (field, msg) = fail(CallQuery::from_query_string("hangup_source=carrier%"));
        assert_eq!(field, "hangup_source");
        assert_has(&msg, &["invalid percent-escape"]);
        let (field, _) = fail(CallQuery::from_query_string("hangup_source=%zz"));
        assert_eq!(field, "hangup_source");
        let (field, msg) = fail(CallQuery::from_query_string("from_%4=1"));
        assert_eq!(field, "query");
        assert_has(&msg, &["invalid percent-escape"]);
        let (_, msg) = fail(CallQuery::from_query_string("to_number=%FF%FE"));
        assert_has(&msg, &["UTF-8"]);
        let (field, msg) = fail(CallQuery::from_query_string("to_number=1&to_number=2"));
        assert_eq!(field, "to_number");
        assert_has(&msg, &["more than once"]);
        let (field, msg) = fail(CallQuery::from_query_string("call_direction"));
        assert_eq!(field, "call_direction");
        assert_has(&msg, &["must not be empty"]);
        let (field, msg) = fail(CallQuery::from_query_string("call_direction=in%0Abound"));
        assert_eq!(field, "call_direction");
        assert_has(&msg, &["control characters"]);
        let msg = name_err(CallQuery::from_query_string("end_time_gte=2026-11-01").map(|_| ()));
        assert_has(&msg, &["did you mean `end_time__gte`?"]);
    }

    #[test]
    fn odd_input_never_panics() {
        let huge = "9".repeat(1 << 20);
        let odd = [
            "",
            "%",
            "%%",
            "%4",
            "=",
            "&&&",
            "==&==",
            "é=ü",
            "from_number=%E2%82",
            "end_time=%",
            "end_time=2026-11-01%2000%3A00%3A00%2B99%3A99",
            "stir_verification=Not%20Verified%00",
            "\u{0}=\u{0}",
            "日本語=値",
            "bill_duration=-0",
        ];
        for s in odd {
            let _ = CallQuery::from_query_string(s);
        }
        let _ = CallQuery::from_query_string(&huge);
        let _ = CallQuery::from_query_string(&format!("from_number={huge}"));
        let _ = CallQuery::from_query_string(&format!("{huge}=1"));
        let _ = CallQuery::from_query_string(&"%".repeat(10_000));
        for name in FILTER_NAMES.iter().chain(&["", "é", "limit"]) {
            for v in [huge.as_str(), "é", "日本", "\u{FFFD}", "%", "+", "\u{200B}"] {
                let mut q = CallQuery::new();
                let _ = q.set(name, v);
                let _ = q.validate();
                let _ = q.validate_window(&WindowPolicy::default(), now());
            }
        }
        let q = CallQuery::new()
            .from_number(&huge)
            .call_direction("日本")
            .end_time(Cmp::Gte, DateTime::<Utc>::MIN_UTC)
            .end_time(Cmp::Lte, DateTime::<Utc>::MAX_UTC);
        assert!(q.validate().is_err());
        assert!(q.validate_window(&WindowPolicy::default(), now()).is_err());
        let _ = q.to_query_string();
    }

    #[test]
    fn bounds_helpers() {
        let mut b: Bounds<u64> = Bounds::default();
        assert_eq!((b.lower(), b.upper()), (None, None));
        b.set(Cmp::Gte, Some(5));
        b.set(Cmp::Gt, Some(5));
        assert_eq!(b.lower(), Some((5, false)), "gt beats gte on a tie");
        b.set(Cmp::Gt, Some(3));
        assert_eq!(b.lower(), Some((5, true)));
        b.set(Cmp::Lt, Some(9));
        b.set(Cmp::Lte, Some(20));
        assert_eq!(b.upper(), Some((9, false)));
        assert_eq!(b.get(Cmp::Lte), Some(&20));
        b.set(Cmp::Lte, None);
        assert_eq!(b.get(Cmp::Lte), None);
        // The tightest upper bound is the smallest, whichever form holds it;
        // on a tie the exclusive one.
        let mut u: Bounds<u64> = Bounds::default();
        u.set(Cmp::Lt, Some(20));
        u.set(Cmp::Lte, Some(9));
        assert_eq!(u.upper(), Some((9, true)));
        u.set(Cmp::Lt, Some(9));
        assert_eq!(u.upper(), Some((9, false)), "lt beats lte on a tie");
        u.set(Cmp::Eq, Some(3));
        assert_eq!(u.upper(), Some((3, true)));
        u.set(Cmp::Gt, Some(1));
        assert_eq!(u.lower(), Some((3, true)), "eq above gt is the lower bound");
        let mut e: Bounds<u64> = Bounds::default();
        e.set(Cmp::Eq, Some(7));
        assert_eq!(e.lower(), Some((7, true)));
        assert_eq!(e.upper(), Some((7, true)));
        // The parameter name of each form.
        let suffixes = ["", "__gt", "__gte", "__lt", "__lte"];
        for (c, suffix) in Cmp::ALL.into_iter().zip(suffixes) {
            assert_eq!(end_time_name(c), format!("end_time{suffix}"));
            assert_eq!(bill_duration_name(c), format!("bill_duration{suffix}"));
        }
    }

    #[test]
    fn with_end_time_replaces_only_end_time() {
        let q = everything();
        let window = Bounds {
            gte: Some(ts("2026-11-05 00:00")),
            lt: Some(ts("2026-11-06 00:00")),
            ..Bounds::default()
        };
        let w = q.with_end_time(window.clone());
        assert_eq!(w.end_time_bounds(), &window);
        assert_eq!(w.with_end_time(q.end_time_bounds().clone()), q);
    }

    #[test]
    fn filter_names_match_fields() {
        let names: Vec<&str> = Field::all().map(|f| f.name()).collect();
        assert_eq!(names, FILTER_NAMES);
        for name in FILTER_NAMES {
            assert_eq!(Field::parse(name).unwrap().name(), *name);
        }
    }
}
