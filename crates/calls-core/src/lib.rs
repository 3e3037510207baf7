//! # calls-core
//!
//! A blocking client for Plivo's SIP-trunking (Zentrunk) call detail records:
//! `GET {base}/v1/Account/{auth_id}/Zentrunk/Call/`.
//!
//! The data flows through one module per step:
//! [`query`] (filters, validated) → [`client`] (the HTTP request, retries,
//! rate limiting) → [`response`] (status and body checks) → [`model`] (the
//! typed [`Page`] and [`Call`]) → [`pager`] (every matching call across pages
//! and time windows).
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

mod checkpoint;
pub mod client;
pub mod error;
pub mod model;
pub mod pager;
pub mod policy;
pub mod query;
pub mod ratelimit;
pub mod response;
pub mod retry;
mod sync;
pub mod time;
mod tls;
mod trace;
mod walk;

pub use client::{Client, ClientBuilder, TlsRoots};
pub use error::{ApiError, Error, Result};
/// The level of a request's log line ([`RequestLog::level`]): the `log` crate's.
pub use log::Level as LogLevel;
pub use model::{
    Call, CallDirection, HangupSource, Link, Meta, Money, Page, StirVerification, TransportProtocol,
};
pub use pager::{Canceller, Pager, PagerStats, ProgressFn};
pub use policy::WindowPolicy;
pub use query::{CallQuery, Cmp};
pub use ratelimit::RateStats;
pub use sync::DEFAULT_LOOKBACK;
pub use trace::{LOG_TARGET, RequestHook, RequestLog};
