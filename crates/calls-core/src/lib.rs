//! # calls-core
//!
//! A blocking client for Plivo's SIP-trunking (Zentrunk) call detail records:
//! `GET {base}/v1/Account/{auth_id}/Zentrunk/Call/`.
//!
//! The data flows through one module per step:
//! `query` (filters, validated) → `client` (the HTTP request, retries,
//! rate limiting) → `response` (status and body checks) → `model` (the
//! typed [`Page`] and [`Call`]) → `walk` and `pager` (every matching call
//! across pages and time windows). The modules are private; everything a
//! program uses is exported here.
//!
//! ```no_run
//! use calls_core::{Client, CallQuery};
//!
//! let client = Client::builder("MAXXXXXXXXXXXXXXXXXX", "token").build()?;
//! let mut query = CallQuery::new();
//! query.set("call_direction", "outbound")?.set("end_time__gte", "2026-11-01 00:00")?;
//! let page = client.list_page(&query, 20, 0)?;
//! for call in &page.objects {
//!     println!("{} {:?}", call.call_uuid, call.total_amount);
//! }
//! # Ok::<(), calls_core::Error>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Every module is private: the public surface is the `pub use` set below,
// which the README's "Rust" section lists whole.
mod checkpoint;
mod client;
mod error;
mod model;
mod pager;
mod policy;
mod query;
mod ratelimit;
mod response;
mod retry;
mod sync;
mod time;
mod tls;
mod trace;
mod walk;

pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, MAX_LIMIT, TlsRoots};
pub use error::{ApiError, Error, Result};
/// The level of a request's log line ([`RequestLog::level`]): the `log` crate's.
pub use log::Level as LogLevel;
pub use model::{
    Call, CallDirection, HangupSource, Link, Meta, Money, Page, ReceivedOrder, StirVerification,
    TransportProtocol, decode_call, decode_page, decode_page_with_limit,
};
pub use pager::{Canceller, Pager, PagerStats, Pages, ProgressFn};
pub use policy::WindowPolicy;
pub use query::{Bounds, CallQuery, Cmp, FILTER_NAMES};
pub use ratelimit::RateStats;
pub use retry::RetryPolicy;
pub use sync::DEFAULT_LOOKBACK;
pub use time::{format_api, format_record, parse_timestamp};
pub use trace::{LOG_TARGET, RequestHook, RequestLog};
