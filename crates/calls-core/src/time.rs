//! Timestamps as the API writes and reads them: UTC, `YYYY-MM-DD HH:MM[:ss[.uuuuuu]]`.
//!
//! [`parse_timestamp`] also accepts a `T` separator, a trailing `Z`, and an
//! offset such as `+05:30` or `+0530` (Plivo's Voice API writes those); the
//! result is always UTC. [`format_api`] writes what the API expects.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Parses an API timestamp. The error text says what is wrong with it.
///
/// ```
/// use calls_core::parse_timestamp;
/// let t = parse_timestamp("2026-09-18 08:52").unwrap();
/// assert_eq!(t.to_rfc3339(), "2026-09-18T08:52:00+00:00");
/// let t = parse_timestamp("2015-07-26 15:45:02+05:30").unwrap();
/// assert_eq!(t.to_rfc3339(), "2015-07-26T10:15:02+00:00");
/// assert!(parse_timestamp("2026-02-30 10:00").is_err());
/// ```
pub fn parse_timestamp(input: &str) -> Result<DateTime<Utc>, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("empty timestamp".into());
    }
    if !s.is_ascii() {
        return Err(format!(
            "`{}` is not a timestamp of the form YYYY-MM-DD HH:MM[:SS[.ffffff]]",
            shown(s)
        ));
    }
    let bad = || {
        format!(
            "`{}` is not a timestamp of the form YYYY-MM-DD HH:MM[:SS[.ffffff]]",
            shown(s)
        )
    };
    // Split off an offset: Z, +HH:MM, +HHMM, +HH, -...
    let (local, offset_secs) = split_offset(s).ok_or_else(bad)?;
    if local.len() < 16 {
        return Err(bad());
    }
    let (date_part, rest) = local.split_at(10);
    let sep = rest.as_bytes()[0];
    if sep != b' ' && sep != b'T' {
        return Err(bad());
    }
    let time_part = &rest[1..];
    let date = parse_date(date_part).ok_or_else(|| impossible_or_bad(date_part, s))?;
    let time = parse_time(time_part).ok_or_else(|| impossible_or_bad_time(time_part, s))?;
    let naive = NaiveDateTime::new(date, time);
    match offset_secs {
        0 => Ok(Utc.from_utc_datetime(&naive)),
        secs => {
            let off = FixedOffset::east_opt(secs).ok_or_else(bad)?;
            off.from_local_datetime(&naive)
                .single()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(bad)
        }
    }
}

/// Writes a timestamp as the API expects it: `YYYY-MM-DD HH:MM:SS` in UTC,
/// with `.uuuuuu` appended only when the instant has a sub-second part.
/// The API's precision is the microsecond: a finer part is dropped (queries
/// truncate their typed bounds to the microsecond, and refuse a filter string
/// with more than six fraction digits, so what is validated is what is sent).
///
/// ```
/// use calls_core::{format_api, parse_timestamp};
/// assert_eq!(format_api(parse_timestamp("2026-09-18 08:52").unwrap()), "2026-09-18 08:52:00");
/// assert_eq!(format_api(parse_timestamp("2026-09-18 08:52:01.25").unwrap()), "2026-09-18 08:52:01.250000");
/// ```
pub fn format_api(t: DateTime<Utc>) -> String {
    if t.timestamp_subsec_nanos() < 1_000 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    }
}

/// Writes a timestamp of a record: as [`format_api`], but with nine fraction
/// digits when the instant has a sub-microsecond part, so a decoded record
/// encodes back to the same instant.
///
/// ```
/// use calls_core::{format_record, parse_timestamp};
/// let t = parse_timestamp("2026-09-18 08:52:01.123456789").unwrap();
/// assert_eq!(format_record(t), "2026-09-18 08:52:01.123456789");
/// ```
pub fn format_record(t: DateTime<Utc>) -> String {
    if t.timestamp_subsec_nanos().is_multiple_of(1_000) {
        format_api(t)
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.9f").to_string()
    }
}

/// Truncates long or odd input for an error message, after removing the
/// client's secrets from the whole of it (during a decode by the client).
fn shown(s: &str) -> String {
    crate::response::quote(s, 40)
}

fn impossible_or_bad(date: &str, whole: &str) -> String {
    if date.len() == 10
        && date.as_bytes()[4] == b'-'
        && date.as_bytes()[7] == b'-'
        && date
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
    {
        format!("`{}` is not a real date", shown(whole))
    } else {
        format!(
            "`{}` is not a timestamp of the form YYYY-MM-DD HH:MM[:SS[.ffffff]]",
            shown(whole)
        )
    }
}

fn impossible_or_bad_time(time: &str, whole: &str) -> String {
    let b = time.as_bytes();
    let hh_mm =
        b.len() >= 5 && b[2] == b':' && b[..2].iter().chain(&b[3..5]).all(u8::is_ascii_digit);
    let secs_ok = b.len() == 5
        || (b.len() >= 8
            && b[5] == b':'
            && b[6..8].iter().all(u8::is_ascii_digit)
            && (b.len() == 8
                || (b[8] == b'.'
                    && (10..=18).contains(&b.len())
                    && b[9..].iter().all(u8::is_ascii_digit))));
    if hh_mm && secs_ok {
        format!("`{}` is not a real time of day", shown(whole))
    } else {
        format!(
            "`{}` is not a timestamp of the form YYYY-MM-DD HH:MM[:SS[.ffffff]]",
            shown(whole)
        )
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&s[0..4])?;
    let m = digits(&s[5..7])?;
    let d = digits(&s[8..10])?;
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    if b.len() < 5 || b[2] != b':' {
        return None;
    }
    let h = digits(&s[0..2])?;
    let mi = digits(&s[3..5])?;
    let rest = &s[5..];
    if rest.is_empty() {
        return NaiveTime::from_hms_opt(h, mi, 0);
    }
    let rb = rest.as_bytes();
    if rb.len() < 3 || rb[0] != b':' {
        return None;
    }
    let sec = digits(&rest[1..3])?;
    let frac = &rest[3..];
    let nanos = if frac.is_empty() {
        0
    } else {
        let f = frac.strip_prefix('.')?;
        if f.is_empty() || f.len() > 9 {
            return None;
        }
        let v = digits(f)?;
        v * 10u32.pow(9 - f.len() as u32)
    };
    NaiveTime::from_hms_nano_opt(h, mi, sec, nanos)
}

/// Returns the part before the offset and the offset in seconds east of UTC.
fn split_offset(s: &str) -> Option<(&str, i32)> {
    if let Some(rest) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return Some((rest, 0));
    }
    // An offset sign can only appear after the time part begins (index > 10).
    let b = s.as_bytes();
    let pos = b
        .iter()
        .enumerate()
        .skip(11)
        .find(|(_, c)| **c == b'+' || **c == b'-')
        .map(|(i, _)| i);
    let Some(pos) = pos else {
        return Some((s, 0));
    };
    let sign: i32 = if b[pos] == b'+' { 1 } else { -1 };
    let off = &s[pos + 1..];
    let (h, m) = match off.len() {
        2 => (digits(off)?, 0),
        4 => (digits(&off[0..2])?, digits(&off[2..4])?),
        5 if off.as_bytes()[2] == b':' => (digits(&off[0..2])?, digits(&off[3..5])?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    let secs = sign * i32::try_from(h * 3600 + m * 60).ok()?;
    Some((s[..pos].trim_end(), secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<String, String> {
        parse_timestamp(s).map(|t| t.format("%Y-%m-%d %H:%M:%S%.f").to_string())
    }

    #[test]
    fn accepts_every_documented_form() {
        assert_eq!(p("2026-09-18 08:52").unwrap(), "2026-09-18 08:52:00");
        assert_eq!(p("2026-09-18 08:52:26").unwrap(), "2026-09-18 08:52:26");
        assert_eq!(
            p("2026-09-18 08:52:26.123456").unwrap(),
            "2026-09-18 08:52:26.123456"
        );
        assert_eq!(p("2026-09-18T08:52:26Z").unwrap(), "2026-09-18 08:52:26");
        assert_eq!(p("  2026-09-18 08:52 ").unwrap(), "2026-09-18 08:52:00");
    }

    #[test]
    fn offsets_become_utc() {
        assert_eq!(
            p("2015-07-26 15:45:02+05:30").unwrap(),
            "2015-07-26 10:15:02"
        );
        assert_eq!(
            p("2015-07-26 15:45:02+0530").unwrap(),
            "2015-07-26 10:15:02"
        );
        assert_eq!(p("2015-07-26 01:00:00-02").unwrap(), "2015-07-26 03:00:00");
        assert_eq!(
            p("2015-07-26 01:00:00 +00:00").unwrap(),
            "2015-07-26 01:00:00"
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2026-09-18",
            "2026/09/18 08:52",
            "2026-09-18 8:52",
            "2026-09-18 08:52:2",
            "2026-09-18 08:52:26.",
            "2026-09-18 08:52:26.1234567890",
            "yesterday",
            "2026-09-18 08:52+5",
            "2026-09-18 08:52:26+25:00",
            "2026-09-18_08:52",
            "２０２６-09-18 08:52",
            "-026-09-18 08:52",
        ] {
            let e = parse_timestamp(bad).unwrap_err();
            assert!(
                e.contains("timestamp") || e.contains("empty"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn rejects_impossible() {
        assert!(
            parse_timestamp("2026-02-30 10:00")
                .unwrap_err()
                .contains("not a real date")
        );
        assert!(
            parse_timestamp("2026-13-01 10:00")
                .unwrap_err()
                .contains("not a real date")
        );
        assert!(
            parse_timestamp("2026-01-01 24:00")
                .unwrap_err()
                .contains("not a real time")
        );
        assert!(
            parse_timestamp("2026-01-01 10:60")
                .unwrap_err()
                .contains("not a real time")
        );
        assert!(parse_timestamp("2025-02-29 10:00").is_err());
        assert!(parse_timestamp("2024-02-29 10:00").is_ok());
    }

    #[test]
    fn formats_for_the_api() {
        let t = parse_timestamp("2026-09-18 08:52:26.5").unwrap();
        assert_eq!(format_api(t), "2026-09-18 08:52:26.500000");
        let t = parse_timestamp("2026-09-18 08:52").unwrap();
        assert_eq!(format_api(t), "2026-09-18 08:52:00");
        assert_eq!(parse_timestamp(&format_api(t)).unwrap(), t);
    }

    /// A time or date of the right shape that does not exist is "not a
    /// real" one; anything else is not of the form.
    #[test]
    fn says_whether_the_form_or_the_value_is_wrong() {
        for impossible in [
            "2026-09-18 08:52:60",
            "2026-09-18 25:00:00.123456789",
            "2026-09-18 24:00",
        ] {
            let e = parse_timestamp(impossible).unwrap_err();
            assert!(e.contains("not a real time of day"), "{impossible:?}: {e}");
        }
        for malformed in [
            "2026-09-18 0x:52",
            "2026-09-18 08-52",
            "2026-09-18 08:52:6x",
            "2026-09-18 08:52-26",
            "2026-09-18 08:52:26,5",
            "2026-09-18 08:52:59.1234567891",
            "2026-0x-01 10:00",
            "2026-09/18 10:00",
        ] {
            let e = parse_timestamp(malformed).unwrap_err();
            assert!(
                e.contains("is not a timestamp of the form"),
                "{malformed:?}: {e}"
            );
        }
        let e = parse_timestamp("2026-04-31 10:00").unwrap_err();
        assert!(e.contains("not a real date"), "{e}");
    }

    #[test]
    fn nine_fraction_digits_are_the_most() {
        assert_eq!(
            p("2026-09-18 08:52:26.123456789").unwrap(),
            "2026-09-18 08:52:26.123456789"
        );
        assert!(parse_timestamp("2026-09-18 08:52:26.1234567890").is_err());
    }

    #[test]
    fn every_separator_and_digit_is_checked() {
        for bad in [
            "2026x09-18 08:52",
            "2026-09x18 08:52",
            "2026-+9-18 08:52",
            "2026-09-18 08x52",
            "2026-09-18 +8:52",
            "2015-07-26 15:45:02+05x30",
            "2015-07-26 15:45:02+05:60",
            "2015-07-26 15:45:02+0560",
            "2015-07-26 15:45:02+24:00",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn offsets_up_to_23_59_either_way() {
        assert_eq!(
            p("2015-07-26 23:30:00+23:59").unwrap(),
            "2015-07-25 23:31:00"
        );
        assert_eq!(
            p("2015-07-26 01:00:00-05:59").unwrap(),
            "2015-07-26 06:59:00"
        );
        assert_eq!(p("2015-07-26 23:00:00+23").unwrap(), "2015-07-26 00:00:00");
    }
}
