//! Where an interrupted export stands, as an opaque string.
//!
//! A checkpoint holds the caller's query (as its encoded string), the window
//! policy, the pinned upper bound ("now" when the export started) and the
//! walk's cursors: for each time slice not yet handed out whole, its bounds
//! and, inside the second it stands in, the uuids already handed out. Cursors,
//! not offsets: a resume days later is still exact, whatever arrived since.
//! It is written as `calls-ckpt2.<hex>.<check>`, where `<check>` is a 64-bit
//! FNV-1a over the payload and the account id: it catches a corrupted or
//! edited checkpoint and one from another account. It is an integrity check,
//! not a signature: a checkpoint holds no secret.
//!
//! Version 1 (`calls-ckpt1.`, offsets into windows) is refused with a clear
//! error: its offsets cannot be turned into cursors exactly.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::WindowPolicy;
use crate::walk::Cursor;

const PREFIX: &str = "calls-ckpt2.";

/// The prefixes of older versions, which are refused by name.
const OLD_PREFIXES: [&str; 1] = ["calls-ckpt1."];

/// The longest checkpoint read (hex digits of the payload): room for a tie
/// second of many thousand calls.
const MAX_HEX: usize = 8 * 1024 * 1024;

/// The decoded content of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Checkpoint {
    /// The caller's query, encoded.
    pub query: String,
    /// default window, max range, retention (days).
    pub policy: [u32; 3],
    /// The pinned "now" of the plan, as Unix microseconds; None before the export started.
    pub now_us: Option<i64>,
    /// The cursors of the slices still to hand out, newest first; None
    /// before the export started, empty when it is done.
    pub slices: Option<Vec<Cursor>>,
    /// For a sync pager: its run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<crate::sync::SyncRun>,
}

impl Checkpoint {
    pub(crate) fn now(&self) -> Option<DateTime<Utc>> {
        self.now_us.and_then(DateTime::from_timestamp_micros)
    }

    pub(crate) fn policy(&self) -> WindowPolicy {
        WindowPolicy {
            default_window_days: self.policy[0],
            max_range_days: self.policy[1],
            retention_days: self.policy[2],
        }
    }

    /// The opaque string.
    pub(crate) fn encode(&self, auth_id: &str) -> String {
        encode_opaque(
            PREFIX,
            &serde_json::to_string(self).unwrap_or_default(),
            auth_id,
        )
    }

    /// Reads an opaque string; any damage is a validation error on `checkpoint`.
    pub(crate) fn decode(s: &str, auth_id: &str) -> Result<Checkpoint> {
        let bad = |why: &str| Error::validation("checkpoint", why.to_string());
        let s = s.trim();
        if OLD_PREFIXES.iter().any(|p| s.starts_with(p)) {
            return Err(bad(
                "made by an older version of this library (offsets, not cursors): it cannot \
                 be resumed exactly; start the export again",
            ));
        }
        let payload = decode_opaque(PREFIX, "a calls checkpoint", "checkpoint", s, auth_id)?;
        serde_json::from_str(&payload).map_err(|e| bad(&format!("corrupt: {e}")))
    }
}

/// `<prefix><hex of payload>.<check>`: the payload readable by nothing but
/// this library, with an integrity check bound to the account.
pub(crate) fn encode_opaque(prefix: &str, payload: &str, auth_id: &str) -> String {
    let hex: String = payload.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}.{:016x}", check(payload, auth_id))
}

/// The payload of an [`encode_opaque`] string; any damage is a validation
/// error on `field`.
pub(crate) fn decode_opaque(
    prefix: &str,
    what: &str,
    field: &str,
    s: &str,
    auth_id: &str,
) -> Result<String> {
    let bad = |why: &str| Error::validation(field, why.to_string());
    let rest = s
        .trim()
        .strip_prefix(prefix)
        .ok_or_else(|| bad(&format!("not {what} (it must start with `{prefix}`)")))?;
    let (hex, sum) = rest
        .split_once('.')
        .ok_or_else(|| bad("truncated: the integrity check is missing"))?;
    if hex.len() % 2 != 0 || hex.len() > MAX_HEX {
        return Err(bad("corrupt: bad length"));
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let payload = bytes
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| bad("corrupt: not hexadecimal text"))?;
    let want = u64::from_str_radix(sum, 16).map_err(|_| bad("corrupt: bad integrity check"))?;
    if sum.len() != 16 || want != check(&payload, auth_id) {
        return Err(bad(
            "tampered or corrupt, or made by another account (the integrity check does not match)",
        ));
    }
    Ok(payload)
}

fn check(payload: &str, auth_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in payload.bytes().chain([0u8]).chain(auth_id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walk::Edge;

    const DAY: i64 = 86_400_000_000;

    fn edge(us: i64, incl: bool) -> Edge {
        Edge { us, incl }
    }

    /// A checkpoint of an export of the default window (7 days) ending at
    /// `now_us`: two slices, the first inside a tie second.
    fn sample_at(now_us: i64) -> Checkpoint {
        let sec = (now_us - DAY) / 1_000_000 * 1_000_000;
        Checkpoint {
            query: crate::CallQuery::new().to_query_string(),
            policy: [7, 30, 90],
            now_us: Some(now_us),
            slices: Some(vec![
                Cursor {
                    lower: edge(now_us - 3 * DAY, true),
                    upper: edge(sec + 1_000_000, false),
                    tie: Some((sec, vec!["a-1".into(), "a-2".into()])),
                },
                Cursor {
                    lower: edge(now_us - 7 * DAY, true),
                    upper: edge(now_us - 3 * DAY, false),
                    tie: None,
                },
            ]),
            sync: None,
        }
    }

    fn sample() -> Checkpoint {
        sample_at(1_790_000_000_000_000)
    }

    /// A checkpoint with a valid check but values this library never writes
    /// (the check is against accidents, not forgery) is refused by
    /// `Client::resume`, not left to overflow or to read outside the export.
    #[test]
    fn forged_values_are_refused_by_resume() {
        let client = crate::Client::builder("MA1", "t")
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        let query = crate::CallQuery::new();
        let now = Utc::now().timestamp_micros();
        let fine = sample_at(now);
        let with_slices = |f: &dyn Fn(&mut Vec<Cursor>)| {
            let mut cp = fine.clone();
            if let Some(s) = cp.slices.as_mut() {
                f(s);
            }
            cp
        };
        let forged = [
            Checkpoint {
                now_us: Some(DateTime::<Utc>::MIN_UTC.timestamp_micros()),
                ..fine.clone()
            },
            Checkpoint {
                now_us: Some(DateTime::<Utc>::MAX_UTC.timestamp_micros()),
                ..fine.clone()
            },
            Checkpoint {
                now_us: Some(i64::MIN),
                ..fine.clone()
            },
            Checkpoint {
                slices: None,
                ..fine.clone()
            },
            Checkpoint {
                now_us: None,
                ..fine.clone()
            },
            // Bounds upside down, out of range, outside the export.
            with_slices(&|s| s[1].lower.us = s[1].upper.us + 1),
            with_slices(&|s| s[1].lower.us = i64::MIN),
            with_slices(&|s| s[1].lower.us = now - 8 * DAY),
            with_slices(&|s| s[0].upper.us = now + 1),
            // Overlapping or out of order.
            with_slices(&|s| s.swap(0, 1)),
            with_slices(&|s| s[1].upper.us = s[0].upper.us),
            // A tie second that is not a second, or above the cursor.
            with_slices(&|s| {
                if let Some(t) = s[0].tie.as_mut() {
                    t.0 += 1
                }
            }),
            with_slices(&|s| {
                if let Some(t) = s[0].tie.as_mut() {
                    t.0 += 2_000_000
                }
            }),
            // Malformed uuids, too many of them, too many slices.
            with_slices(&|s| s[0].tie = Some((s[0].upper.us - 1_000_000, vec![String::new()]))),
            with_slices(&|s| {
                s[0].tie = Some((
                    s[0].upper.us - 1_000_000,
                    vec!["u".into(); crate::walk::MAX_TIE_CALLS + 1],
                ))
            }),
            with_slices(&|s| {
                let c = s[1].clone();
                s.resize(crate::pager::MAX_CHECKPOINT_SLICES + 1, c)
            }),
        ];
        for cp in forged {
            let e = client.resume(&query, &cp.encode("MA1")).unwrap_err();
            assert!(
                matches!(&e, Error::Validation { field, message }
                    if field == "checkpoint" && message.contains("corrupt")),
                "{:?}: {e}",
                cp.slices
                    .as_ref()
                    .map(|s| s.iter().take(2).collect::<Vec<_>>())
            );
        }
        // And checkpoints this library could write are accepted.
        assert!(client.resume(&query, &fine.encode("MA1")).is_ok());
        let done = Checkpoint {
            slices: Some(Vec::new()),
            ..fine.clone()
        };
        assert!(client.resume(&query, &done.encode("MA1")).is_ok());
        let unstarted = Checkpoint {
            now_us: None,
            slices: None,
            ..fine
        };
        assert!(client.resume(&query, &unstarted.encode("MA1")).is_ok());
    }

    #[test]
    fn round_trips() {
        let s = sample().encode("MA1");
        assert!(s.starts_with(PREFIX));
        assert_eq!(Checkpoint::decode(&s, "MA1").unwrap(), sample());
    }

    /// A version-1 checkpoint (offsets into windows) says so.
    #[test]
    fn an_older_version_is_refused_by_name() {
        for old in ["calls-ckpt1.7b7d.0000000000000000", "calls-ckpt1."] {
            let e = Checkpoint::decode(old, "MA1").unwrap_err();
            assert!(
                matches!(&e, Error::Validation { field, message }
                    if field == "checkpoint" && message.contains("older version")),
                "{e}"
            );
        }
    }

    #[test]
    fn any_change_is_refused() {
        let s = sample().encode("MA1");
        assert!(Checkpoint::decode(&s, "MA2").is_err(), "another account");
        // Flip each hex digit of the payload in turn.
        let start = PREFIX.len();
        let end = s.rfind('.').unwrap();
        for i in start..end {
            let mut b = s.clone().into_bytes();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            let t = String::from_utf8(b).unwrap();
            let e = Checkpoint::decode(&t, "MA1").unwrap_err();
            assert!(
                matches!(e, Error::Validation { ref field, .. } if field == "checkpoint"),
                "{e}"
            );
        }
        for bad in [
            "",
            "calls-ckpt2.",
            "calls-ckpt2.zz.00",
            "nope",
            &s[..s.len() - 3],
            "calls-ckpt2.7b7d.0000000000000000",
        ] {
            assert!(Checkpoint::decode(bad, "MA1").is_err(), "{bad}");
        }
    }
}
