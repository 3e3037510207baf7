//! Where an interrupted export stands, as an opaque string.
//!
//! A checkpoint holds the caller's query (as its encoded string), the window
//! policy, the pinned upper bound ("now" when the export started), the window
//! being walked and the offset in it up to which calls were handed out, and
//! that window's `total_count`. It is written as `calls-ckpt1.<hex>.<check>`,
//! where `<check>` is a 64-bit FNV-1a over the payload and the account id: it
//! catches a corrupted or edited checkpoint and one from another account. It is
//! an integrity check, not a signature: a checkpoint holds no secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::WindowPolicy;

const PREFIX: &str = "calls-ckpt1.";

/// The decoded content of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// The caller's query, encoded.
    pub query: String,
    /// default window, max range, retention (days).
    pub policy: [u32; 3],
    /// The pinned "now" of the plan, as Unix microseconds; None before the export started.
    pub now_us: Option<i64>,
    /// Index of the window in the plan (newest first); the plan's length when done.
    pub window: usize,
    /// Offset in that window up to which calls were handed out.
    pub offset: u64,
    /// That window's `total_count` when the offset was reached.
    pub total: Option<u64>,
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
        let payload = serde_json::to_string(self).unwrap_or_default();
        let hex: String = payload.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{PREFIX}{hex}.{:016x}", check(&payload, auth_id))
    }

    /// Reads an opaque string; any damage is a validation error on `checkpoint`.
    pub(crate) fn decode(s: &str, auth_id: &str) -> Result<Checkpoint> {
        let bad = |why: &str| Error::validation("checkpoint", why.to_string());
        let rest = s
            .trim()
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("not a calls checkpoint (it must start with `calls-ckpt1.`)"))?;
        let (hex, sum) = rest
            .split_once('.')
            .ok_or_else(|| bad("truncated: the integrity check is missing"))?;
        if hex.len() % 2 != 0 || hex.len() > 64 * 1024 {
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
        serde_json::from_str(&payload).map_err(|e| bad(&format!("corrupt: {e}")))
    }
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

    fn sample() -> Checkpoint {
        Checkpoint {
            query: "call_direction=outbound".into(),
            policy: [7, 30, 90],
            now_us: Some(1_790_000_000_000_000),
            window: 1,
            offset: 40,
            total: Some(1234),
        }
    }

    /// A checkpoint with a valid check but values this library never writes
    /// (the check is against accidents, not forgery) is refused by
    /// `Client::resume`, not left to overflow later.
    #[test]
    fn forged_values_are_refused_by_resume() {
        let client = crate::Client::builder("MA1", "t")
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        let query = crate::CallQuery::new();
        let forged = [
            Checkpoint {
                now_us: Some(DateTime::<Utc>::MIN_UTC.timestamp_micros()),
                ..sample()
            },
            Checkpoint {
                now_us: Some(DateTime::<Utc>::MAX_UTC.timestamp_micros()),
                ..sample()
            },
            Checkpoint {
                now_us: Some(i64::MIN),
                ..sample()
            },
            Checkpoint {
                offset: u64::MAX - 5,
                ..sample()
            },
            Checkpoint {
                total: Some(u64::MAX),
                ..sample()
            },
        ];
        for cp in forged {
            let cp = Checkpoint {
                query: query.to_query_string(),
                ..cp
            };
            let e = client.resume(&query, &cp.encode("MA1")).unwrap_err();
            assert!(
                matches!(&e, Error::Validation { field, message }
                    if field == "checkpoint" && message.contains("corrupt")),
                "{cp:?}: {e}"
            );
        }
        // And a checkpoint this library could write is accepted.
        let fine = Checkpoint {
            query: query.to_query_string(),
            now_us: Some(Utc::now().timestamp_micros()),
            ..sample()
        };
        assert!(client.resume(&query, &fine.encode("MA1")).is_ok());
    }

    #[test]
    fn round_trips() {
        let s = sample().encode("MA1");
        assert!(s.starts_with(PREFIX));
        assert_eq!(Checkpoint::decode(&s, "MA1").unwrap(), sample());
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
            "calls-ckpt1.",
            "calls-ckpt1.zz.00",
            "nope",
            &s[..s.len() - 3],
            "calls-ckpt1.7b7d.0000000000000000",
        ] {
            assert!(Checkpoint::decode(bad, "MA1").is_err(), "{bad}");
        }
    }
}
