//! Query-string parsing, validation, window policy and matching.

use crate::data::{Call, DIRECTIONS, Dataset, SOURCES, STIR};

const DAY_MICROS: i64 = 86_400 * 1_000_000;

/// The window policy (in days).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub(crate) default_window_days: u32,
    pub(crate) max_range_days: u32,
    pub(crate) retention_days: u32,
}

/// `n` days in microseconds (saturating).
pub(crate) fn days(n: u32) -> i64 {
    i64::from(n).saturating_mul(DAY_MICROS)
}

/// The oldest end time (microseconds) of a record that still exists at `now`.
pub(crate) fn oldest_kept(now: i64, policy: Policy) -> i64 {
    now.saturating_sub(days(policy.retention_days))
        .saturating_add(1)
}

/// Decode a percent-encoded query component (`+` means space). Lenient as
/// servers are: a `%` not followed by two hex digits is kept as it is, and
/// bytes that are not UTF-8 become U+FFFD.
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// What a link's query component escapes: all but unreserved characters and `:`.
const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// Percent-encode a query component (unreserved characters and `:` kept).
pub(crate) fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ESCAPED).to_string()
}

/// Split a raw query string into decoded `(name, value)` pairs.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// Names of the recognised filters (everything but `limit` and `offset`).
const FILTERS: [&str; 16] = [
    "from_number",
    "to_number",
    "call_direction",
    "hangup_source",
    "stir_verification",
    "hangup_cause_code",
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
];

/// A prefix filter on a number.
#[derive(Clone, Debug)]
enum NumberFilter {
    /// Digits-only value: the number without `+` must start with it.
    Prefix(String),
    /// A value that can never match (non-digits).
    Nothing,
}

/// A validated query.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    from_number: Option<NumberFilter>,
    to_number: Option<NumberFilter>,
    direction: Option<Option<u8>>,
    source: Option<Option<u8>>,
    stir: Option<Option<u8>>,
    cause_code: Option<i64>,
    bill_eq: Option<u64>,
    bill_gt: Option<u64>,
    bill_gte: Option<u64>,
    bill_lt: Option<u64>,
    bill_lte: Option<u64>,
    end_eq: Option<i64>,
    end_gt: Option<i64>,
    end_gte: Option<i64>,
    end_lt: Option<i64>,
    end_lte: Option<i64>,
    /// Page size.
    pub(crate) limit: usize,
    /// Page offset.
    pub(crate) offset: usize,
    /// Recognised filters, as given, for `next`/`previous` links.
    pub(crate) link_filters: Vec<(String, String)>,
}

fn parse_u64(name: &str, v: &str) -> Result<u64, String> {
    if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("{name} must be a non-negative integer"));
    }
    v.parse::<u64>()
        .map_err(|_| format!("{name} must be a non-negative integer"))
}

fn parse_i64(name: &str, v: &str) -> Result<i64, String> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("{name} must be an integer"));
    }
    v.parse::<i64>()
        .map_err(|_| format!("{name} must be an integer"))
}

/// Parse `YYYY-MM-DD HH:MM[:SS[.ffffff]]` (UTC) into microseconds since the epoch.
pub(crate) fn parse_timestamp(v: &str) -> Option<i64> {
    let b = v.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = b.get(r)?;
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    if b.len() < 16 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' {
        return None;
    }
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let mut second = 0;
    let mut micros = 0i64;
    if b.len() > 16 {
        if b[16] != b':' || b.len() < 19 {
            return None;
        }
        second = num(17..19)?;
        if b.len() > 19 {
            if b[19] != b'.' || b.len() == 20 || b.len() > 26 {
                return None;
            }
            let frac = num(20..b.len())?;
            let scale = 10i64.pow(6 - (b.len() - 20) as u32);
            micros = i64::from(frac) * scale;
        }
    }
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let t = date.and_hms_opt(hour, minute, second)?;
    Some(t.and_utc().timestamp() * 1_000_000 + micros)
}

fn parse_time(name: &str, v: &str) -> Result<i64, String> {
    parse_timestamp(v).ok_or_else(|| {
        format!("{name} must be a timestamp formatted as YYYY-MM-DD HH:MM[:SS[.ffffff]]")
    })
}

fn number_filter(v: &str) -> NumberFilter {
    if v.bytes().all(|c| c.is_ascii_digit()) {
        NumberFilter::Prefix(v.to_string())
    } else {
        NumberFilter::Nothing
    }
}

fn enum_index(values: &[&str], v: &str) -> Option<u8> {
    values.iter().position(|x| *x == v).map(|i| i as u8)
}

impl Query {
    /// Validate decoded query pairs (unknown names are ignored; last value wins).
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Result<Query, String> {
        let mut q = Query {
            limit: 20,
            ..Query::default()
        };
        for (name, value) in pairs {
            let name = name.as_str();
            let v = value.as_str();
            let known = FILTERS.contains(&name) || name == "limit" || name == "offset";
            if !known {
                continue;
            }
            if v.is_empty() {
                return Err(format!("{name} must not be empty"));
            }
            match name {
                "limit" => {
                    let n = parse_u64(name, v)
                        .ok()
                        .filter(|n| (1..=20).contains(n))
                        .ok_or_else(|| "limit must be an integer between 1 and 20".to_string())?;
                    q.limit = n as usize;
                }
                "offset" => {
                    let n = parse_u64(name, v)?;
                    q.offset = usize::try_from(n)
                        .map_err(|_| "offset must be a non-negative integer".to_string())?;
                }
                "from_number" => q.from_number = Some(number_filter(v)),
                "to_number" => q.to_number = Some(number_filter(v)),
                "call_direction" => q.direction = Some(enum_index(&DIRECTIONS, v)),
                "hangup_source" => q.source = Some(enum_index(&SOURCES, v)),
                "stir_verification" => q.stir = Some(enum_index(&STIR, v)),
                "hangup_cause_code" => q.cause_code = Some(parse_i64(name, v)?),
                "bill_duration" => q.bill_eq = Some(parse_u64(name, v)?),
                "bill_duration__gt" => q.bill_gt = Some(parse_u64(name, v)?),
                "bill_duration__gte" => q.bill_gte = Some(parse_u64(name, v)?),
                "bill_duration__lt" => q.bill_lt = Some(parse_u64(name, v)?),
                "bill_duration__lte" => q.bill_lte = Some(parse_u64(name, v)?),
                "end_time" => q.end_eq = Some(parse_time(name, v)?),
                "end_time__gt" => q.end_gt = Some(parse_time(name, v)?),
                "end_time__gte" => q.end_gte = Some(parse_time(name, v)?),
                "end_time__lt" => q.end_lt = Some(parse_time(name, v)?),
                "end_time__lte" => q.end_lte = Some(parse_time(name, v)?),
                _ => {}
            }
            if FILTERS.contains(&name) {
                q.link_filters.retain(|(n, _)| n != name);
                q.link_filters.push((name.to_string(), value.clone()));
            }
        }
        Ok(q)
    }

    /// Resolve the window policy into inclusive `[lo, hi]` microsecond bounds.
    pub(crate) fn window(&self, now: i64, policy: Policy) -> Result<(i64, i64), String> {
        let lowers: Vec<i64> = [self.end_eq, self.end_gte, self.end_gt.map(|x| x + 1)]
            .into_iter()
            .flatten()
            .collect();
        let uppers: Vec<i64> = [self.end_eq, self.end_lte, self.end_lt.map(|x| x - 1)]
            .into_iter()
            .flatten()
            .collect();
        let (lo, hi) = match (lowers.iter().max(), uppers.iter().min()) {
            (None, None) => (now.saturating_sub(days(policy.default_window_days)), now),
            (None, Some(_)) => {
                return Err(
                    "end_time__gte or end_time__gt is required with an upper bound on end_time"
                        .to_string(),
                );
            }
            (Some(&lo), hi) => {
                let hi = hi.copied().unwrap_or(now);
                let raw_lo = [self.end_eq, self.end_gte, self.end_gt]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(lo);
                let raw_hi = [self.end_eq, self.end_lte, self.end_lt]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(hi);
                if raw_hi.saturating_sub(raw_lo) > days(policy.max_range_days) {
                    return Err(format!(
                        "the end_time range must not exceed {} days",
                        policy.max_range_days
                    ));
                }
                (lo, hi)
            }
        };
        Ok((lo.max(oldest_kept(now, policy)), hi))
    }

    /// Whether a call matches every non-time filter.
    fn matches(&self, ds: &Dataset, c: &Call) -> bool {
        let num_ok = |f: &Option<NumberFilter>, idx: u16| match f {
            None => true,
            Some(NumberFilter::Nothing) => false,
            Some(NumberFilter::Prefix(p)) => ds
                .pool
                .get(usize::from(idx))
                .is_some_and(|n| n.digits().starts_with(p.as_str())),
        };
        let enum_ok = |f: Option<Option<u8>>, v: u8| match f {
            None => true,
            Some(x) => x == Some(v),
        };
        let bill = u64::from(c.bill_duration);
        num_ok(&self.from_number, c.from)
            && num_ok(&self.to_number, c.to)
            && enum_ok(self.direction, c.direction)
            && enum_ok(self.source, c.source())
            && enum_ok(self.stir, c.stir)
            && self
                .cause_code
                .is_none_or(|x| x == i64::from(c.cause_code()))
            && self.bill_eq.is_none_or(|x| bill == x)
            && self.bill_gt.is_none_or(|x| bill > x)
            && self.bill_gte.is_none_or(|x| bill >= x)
            && self.bill_lt.is_none_or(|x| bill < x)
            && self.bill_lte.is_none_or(|x| bill <= x)
    }

    /// All matching calls (main dataset plus `late`), newest first.
    pub(crate) fn select<'a>(
        &self,
        ds: &'a Dataset,
        late: &'a [Call],
        lo: i64,
        hi: i64,
    ) -> Vec<&'a Call> {
        let range = |calls: &'a [Call]| -> &'a [Call] {
            // Sorted by end descending.
            let start = calls.partition_point(|c| c.end_micros() > hi);
            let stop = calls.partition_point(|c| c.end_micros() >= lo);
            calls.get(start..stop.max(start)).unwrap_or(&[])
        };
        let main = range(&ds.calls).iter().filter(|c| self.matches(ds, c));
        let extra: Vec<&Call> = range(late).iter().filter(|c| self.matches(ds, c)).collect();
        if extra.is_empty() {
            return main.collect();
        }
        // Both are sorted: merge them (a sort per request would cost the
        // simulator more than the walk it serves).
        let mut out = Vec::new();
        let mut extra = extra.into_iter().peekable();
        for c in main {
            while let Some(e) = extra.next_if(|e| Call::desc_cmp(e, c).is_lt()) {
                out.push(e);
            }
            out.push(c);
        }
        out.extend(extra);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode() {
        assert_eq!(percent_decode("a+b%2B1%3a"), "a b+1:");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("x%4"), "x%4");
        assert_eq!(
            percent_encode("2026-01-01 10:00:00"),
            "2026-01-01%2010:00:00"
        );
    }

    #[test]
    fn timestamps() {
        let a = parse_timestamp("2026-01-02 03:04").unwrap();
        assert_eq!(parse_timestamp("2026-01-02 03:04:00"), Some(a));
        assert_eq!(parse_timestamp("2026-01-02 03:04:00.5"), Some(a + 500_000));
        assert_eq!(parse_timestamp("2026-01-02 03:04:00.000001"), Some(a + 1));
        for bad in [
            "",
            "2026-01-02",
            "2026-01-02T03:04:00",
            "2026-13-02 03:04",
            "2026-01-02 03:04:00.",
            "2026-01-02 03:04:00.1234567",
            "2026-01-02 03:04:0",
            "2026-01-02 25:04",
            "2026-01-02 03:04:00+00",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
