//! Incremental sync: every call since the last run, exactly once across runs.
//!
//! A scheduled job (cron) calls [`Client::sync`] with the state the previous
//! run left ([`Pager::sync_state`]). The first run walks from the query's
//! lower `end_time` bound (or the policy's default window) up to now; each
//! later run from the previous run's pinned upper bound minus a lookback up
//! to now, so that calls that became visible late (up to the lookback) are
//! still found, and skips the calls earlier runs delivered in that overlap:
//! the state keeps their uuids, so it stays bounded by the calls of one
//! lookback span.
//!
//! The state is an opaque string `calls-sync1.<hex>.<check>` (the same
//! integrity check as a checkpoint: bound to the account, refused when
//! edited), tied to the query's filters other than `end_time`, holding no
//! secret.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{decode_opaque, encode_opaque};
use crate::error::{Error, Result};
use crate::policy::WindowPolicy;
use crate::query::CallQuery;

const PREFIX: &str = "calls-sync1.";

/// The lookback of [`crate::Client::sync`] when none is given: 60 minutes.
pub const DEFAULT_LOOKBACK: std::time::Duration = std::time::Duration::from_secs(3600);

/// The most uuids a state may hold.
const MAX_STATE_CALLS: usize = 1_000_000;

/// The decoded content of a sync state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyncState {
    /// The query's filters other than `end_time`, encoded.
    pub filters: String,
    /// default window, max range, retention (days).
    pub policy: [u32; 3],
    /// The last run's pinned upper bound (Unix microseconds).
    pub pinned_us: i64,
    /// Calls ending at or after this (Unix microseconds) that were delivered
    /// are in `delivered`; a next run never starts before it.
    pub kept_from_us: i64,
    /// `(end_time in Unix microseconds, call_uuid)` of the calls delivered
    /// with an end_time at or after `kept_from_us`.
    pub delivered: Vec<(i64, String)>,
}

impl SyncState {
    pub(crate) fn encode(&self, auth_id: &str) -> String {
        encode_opaque(
            PREFIX,
            &serde_json::to_string(self).unwrap_or_default(),
            auth_id,
        )
    }

    pub(crate) fn decode(s: &str, auth_id: &str) -> Result<SyncState> {
        let bad = |why: &str| Error::validation("state", why.to_string());
        let payload = decode_opaque(PREFIX, "a calls sync state", "state", s, auth_id)?;
        let st: SyncState =
            serde_json::from_str(&payload).map_err(|e| bad(&format!("corrupt: {e}")))?;
        let min = DateTime::<Utc>::MIN_UTC.timestamp_micros();
        let max = DateTime::<Utc>::MAX_UTC.timestamp_micros();
        let ok = |us: i64| (min..=max).contains(&us);
        if !ok(st.pinned_us) || !ok(st.kept_from_us) || st.kept_from_us > st.pinned_us {
            return Err(bad("corrupt: its times are out of range"));
        }
        if st.delivered.len() > MAX_STATE_CALLS
            || st
                .delivered
                .iter()
                .any(|(us, u)| !ok(*us) || u.is_empty() || u.len() > 64)
        {
            return Err(bad("corrupt: its calls are malformed"));
        }
        Ok(st)
    }

    pub(crate) fn policy(&self) -> WindowPolicy {
        WindowPolicy {
            default_window_days: self.policy[0],
            max_range_days: self.policy[1],
            retention_days: self.policy[2],
        }
    }
}

/// The query's filters other than `end_time`, as a sync state records them.
pub(crate) fn filters_of(query: &CallQuery) -> String {
    query
        .with_end_time(crate::query::Bounds::default())
        .to_query_string()
}

/// What a sync pager carries beside the walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyncRun {
    /// The query's filters other than `end_time`.
    pub filters: String,
    /// The query this run walks: the filters and its lower bound.
    pub plan_query: String,
    /// Its lower bound (Unix microseconds); `None`: the default window.
    pub lower_us: Option<i64>,
    /// The lookback (microseconds).
    pub lookback_us: i64,
    /// Delivered by earlier runs with end_time at or after `lower_us`: skipped.
    pub skip: Vec<(i64, String)>,
    /// Delivered by this run so far (those within a lookback of the end are
    /// all that the next state keeps; older ones are dropped as it goes).
    pub delivered: Vec<(i64, String)>,
    /// Calls skipped as delivered by an earlier run.
    pub skipped: u64,
}

impl SyncRun {
    /// The uuids to skip, as a set.
    pub(crate) fn skip_set(&self) -> HashSet<String> {
        self.skip.iter().map(|(_, u)| u.clone()).collect()
    }

    /// The state after this run, pinned at `pinned`.
    pub(crate) fn next_state(&self, policy: &WindowPolicy, pinned: DateTime<Utc>) -> SyncState {
        let pinned_us = pinned.timestamp_micros();
        let mut kept_from_us = pinned_us.saturating_sub(self.lookback_us);
        if let Some(lower) = self.lower_us {
            // Never before where this run began: nothing older was delivered.
            kept_from_us = kept_from_us.max(lower);
        }
        let mut delivered: Vec<(i64, String)> = self
            .skip
            .iter()
            .chain(self.delivered.iter())
            .filter(|(us, _)| *us >= kept_from_us)
            .cloned()
            .collect();
        delivered.sort_unstable();
        delivered.dedup();
        SyncState {
            filters: self.filters.clone(),
            policy: [
                policy.default_window_days,
                policy.max_range_days,
                policy.retention_days,
            ],
            pinned_us,
            kept_from_us: kept_from_us.min(pinned_us),
            delivered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    fn client() -> crate::Client {
        // Nothing listens there: a test that sends a request fails.
        crate::Client::builder("MA1", "t")
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap()
    }

    fn state(pinned_us: i64, kept_from_us: i64) -> SyncState {
        SyncState {
            filters: filters_of(&CallQuery::new()),
            policy: [7, 30, 90],
            pinned_us,
            kept_from_us,
            delivered: vec![(pinned_us - 1_000_000, "u-1".into())],
        }
    }

    /// A state whose next range reaches beyond retention fails when the
    /// pager starts, naming what can no longer be fetched; nothing is sent
    /// (a request would fail with a transport error instead).
    #[test]
    fn a_state_older_than_retention_says_what_is_lost() {
        let now = Utc::now().timestamp_micros();
        let old = state(now - 95 * DAY, now - 96 * DAY).encode("MA1");
        let q = CallQuery::new();
        let mut pager = client().sync(&q, Some(&old), DEFAULT_LOOKBACK).unwrap();
        match pager.next() {
            Some(Err(Error::Validation { field, message })) => {
                assert_eq!(field, "state");
                assert!(message.contains("can no longer be fetched"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let st = state(1_790_000_000_000_000, 1_790_000_000_000_000 - DAY);
        let s = st.encode("MA1");
        assert_eq!(SyncState::decode(&s, "MA1").unwrap(), st);
        assert!(SyncState::decode(&s, "MA2").is_err());
        for bad in [
            state(i64::MAX, 0),
            state(0, 5),
            SyncState {
                delivered: vec![(0, String::new())],
                ..state(10, 0)
            },
        ] {
            let e = SyncState::decode(&bad.encode("MA1"), "MA1").unwrap_err();
            assert!(e.to_string().contains("corrupt"), "{e}");
        }
    }

    /// The next state keeps exactly the calls within a lookback of the
    /// pinned bound (never before the run's lower bound), old and new.
    #[test]
    fn the_next_state_keeps_one_lookback_of_calls() {
        let run = SyncRun {
            filters: String::new(),
            plan_query: String::new(),
            lower_us: Some(0),
            lookback_us: 100,
            skip: vec![(950, "old-in".into()), (850, "old-out".into())],
            delivered: vec![(990, "new-in".into()), (899, "new-out".into())],
            skipped: 0,
        };
        let pinned = DateTime::from_timestamp_micros(1000).unwrap();
        let st = run.next_state(&WindowPolicy::default(), pinned);
        assert_eq!((st.pinned_us, st.kept_from_us), (1000, 900));
        let kept: Vec<&str> = st.delivered.iter().map(|(_, u)| u.as_str()).collect();
        assert_eq!(kept, ["old-in", "new-in"]);
        let first = SyncRun {
            lower_us: Some(950),
            ..run
        };
        assert_eq!(
            first
                .next_state(&WindowPolicy::default(), pinned)
                .kept_from_us,
            950
        );
    }
}
