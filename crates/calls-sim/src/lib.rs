//! `calls-sim`: a local, faithful simulator of Plivo's Zentrunk call-detail-record
//! endpoint (`GET /v1/Account/{auth_id}/Zentrunk/Call/`) over real HTTP on loopback.
//!
//! It serves a deterministic dataset generated from a seed, applies the real
//! service's filtering, paging and time-window rules, and can inject faults
//! (error statuses, dropped connections, malformed/truncated/slow/oversize
//! bodies, delays, late-arriving records). Start one with [`Sim::start`]; it
//! stops when dropped.
//!
//! ```no_run
//! let sim = calls_sim::Sim::start(calls_sim::SimConfig::default()).unwrap();
//! println!("{}", sim.base_url());
//! ```

#![warn(missing_docs)]

mod data;
mod http;
mod prng;
mod query;
mod server;
mod tls;

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::server::Shared;

/// Splits a raw query string into percent-decoded `(name, value)` pairs, as
/// the simulator reads requests (for tests that stand up servers of their own).
pub use crate::query::parse_query;

/// One injected fault.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this status and a JSON error body `{"api_id","error"}`;
    /// `retry_after` is sent verbatim as the `Retry-After` header (seconds or HTTP-date).
    Status {
        /// HTTP status code.
        status: u16,
        /// `Retry-After` header value, if any.
        retry_after: Option<String>,
    },
    /// Close the connection without sending any response byte.
    Drop,
    /// `200` with a body that is not JSON.
    Malformed,
    /// `200` with the real body cut in half (`Content-Length` matches the cut body).
    Truncated,
    /// The real response, its body written in small pieces spread over `total`.
    SlowBody {
        /// Time over which the body is spread.
        total: Duration,
    },
    /// `200` with a streamed body of `bytes` bytes that starts like JSON.
    Oversize {
        /// Body size (`Content-Length`).
        bytes: u64,
    },
    /// Answer normally after this delay.
    Delay(Duration),
    /// `200` with a well-formed page holding `objects` minimal call objects
    /// (`{"call_uuid":"h0"}`, ...) whatever `limit` was asked for; written
    /// as it is generated (gzip-compressed first with `gzip`, sent with
    /// `Content-Encoding: gzip`), never held whole.
    OverLimit {
        /// How many objects the page holds.
        objects: u64,
        /// Compress the body with gzip.
        gzip: bool,
    },
    /// `200` with a page of one call whose unknown field `x` is an array of
    /// `numbers` ones (`[1,1,1,...]`), generated as it is written.
    ManyNumbers {
        /// How many numbers the array holds.
        numbers: u64,
        /// Compress the body with gzip.
        gzip: bool,
    },
    /// The real answer, each object of a list page carrying an unknown field
    /// `padding` of `pad_bytes` characters.
    FatPage {
        /// Characters of padding per object.
        pad_bytes: usize,
    },
    /// `200` with a page of one call whose `field` holds `prefix` followed by
    /// the credentials the request carried: its auth token, or with `basic`
    /// the base64 `auth_id:token` of its `Authorization` header.
    EchoCredentials {
        /// The call field that echoes them (`end_time`, `total_amount`, ...).
        field: String,
        /// Text before them.
        prefix: String,
        /// Echo the base64 Basic credentials instead of the token.
        basic: bool,
    },
    /// An answer with this status and exactly this body.
    Raw {
        /// HTTP status code.
        status: u16,
        /// The body.
        body: Vec<u8>,
    },
}

impl Fault {
    /// The key under which this fault is counted in [`Stats::faults_by_kind`]:
    /// `status_<code>`, `drop`, `malformed`, `truncated`, `slow_body`, `oversize`, `delay`,
    /// `over_limit`, `many_numbers`, `fat_page`, `echo_credentials`, `raw_<code>`.
    pub fn kind(&self) -> String {
        match self {
            Fault::Status { status, .. } => format!("status_{status}"),
            Fault::Drop => "drop".into(),
            Fault::Malformed => "malformed".into(),
            Fault::Truncated => "truncated".into(),
            Fault::SlowBody { .. } => "slow_body".into(),
            Fault::Oversize { .. } => "oversize".into(),
            Fault::Delay(_) => "delay".into(),
            Fault::OverLimit { .. } => "over_limit".into(),
            Fault::ManyNumbers { .. } => "many_numbers".into(),
            Fault::FatPage { .. } => "fat_page".into(),
            Fault::EchoCredentials { .. } => "echo_credentials".into(),
            Fault::Raw { status, .. } => format!("raw_{status}"),
        }
    }

    /// `429 Too Many Requests` with `Retry-After: <retry_after>`.
    pub fn rate_limited(retry_after: &str) -> Fault {
        Fault::Status {
            status: 429,
            retry_after: Some(retry_after.to_string()),
        }
    }

    /// An error status without `Retry-After`.
    pub fn status(status: u16) -> Fault {
        Fault::Status {
            status,
            retry_after: None,
        }
    }
}

/// Extra records that become visible only after some API requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LateArrivals {
    /// How many records (their end_time lies within the few hours before the sim started).
    pub count: usize,
    /// They are invisible to the first `after_requests` API requests (counted since
    /// the faults were set) and visible to every later one.
    pub after_requests: u64,
}

/// A steady stream of late records: one more becomes visible every `every`
/// API requests, `count` in all (counted since the faults were set). Each
/// ended at a random whole second within the `depth_secs` before the sim
/// started (at most the minute before it with `depth_secs` 0: "at the top"),
/// so it lands anywhere in a list being walked, pushing older records down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SteadyArrivals {
    /// One record arrives with every `every`-th API request (at least 1).
    pub every: u64,
    /// How far back (seconds before the sim's start) an arrival may have ended.
    pub depth_secs: u64,
    /// How many arrive in all.
    pub count: usize,
}

/// With [`Faults::odd_fields`]: the fields added after every record's own,
/// as JSON text (a name of 199 bytes, a string with escapes and a NUL, nesting,
/// null).
pub const ODD_FIELDS: &str = concat!(
    r#"{"x_"#,
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
    r#"":"long name","x_note":"a, \"quoted\"\r\nline\ttab \u00e9 \u0000nul","#,
    r#""x_nested":{"a":[1,2.5,true,null],"b":{}},"x_null":null,"x_count":"42"}"#
);

/// With [`Faults::odd_fields`]: every record's `stir_verification`.
pub const ODD_STIR: &str = "Verified, \"A\"\r\nsecond line";

/// The fault plan of a server. Counting (`script`, `every`, `late`) restarts
/// whenever the plan is set; only API requests (not `/_sim/`) count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Added before every API answer (faulted or not).
    pub latency: Duration,
    /// Served to the first API requests in order, one each.
    pub script: Vec<Fault>,
    /// `(n, fault)`: every n-th API request (n, 2n, ...) gets `fault`; first matching rule wins.
    pub every: Vec<(u64, Fault)>,
    /// `(p, fault)`: per-request probability, drawn from a PRNG seeded by the sim's seed.
    pub rates: Vec<(f64, Fault)>,
    /// Late-arriving records.
    pub late: Option<LateArrivals>,
    /// Records arriving steadily while a client walks.
    pub arrivals: Option<SteadyArrivals>,
    /// Answer each page oldest first (breaks the service's newest-first order).
    pub break_order: bool,
    /// Answer every list request as if `offset` were 0 (`meta` still shows it).
    pub ignore_offset: bool,
    /// Records carry odd values (see [`ODD_FIELDS`]): fields a client does
    /// not model with a 199-byte name, escapes, a NUL, nesting and null, and
    /// a `stir_verification` holding `,`, `"`, CR and LF.
    pub odd_fields: bool,
    /// Hold every API answer until [`Sim::release`] (or `/_sim/release`): a
    /// request is then in flight for as long as a test needs.
    pub hold: bool,
}

impl Faults {
    /// No faults.
    pub fn none() -> Faults {
        Faults::default()
    }

    /// Every `every`-th API request answers `429` with `Retry-After: <retry_after>`.
    pub fn rate_limit(every: u64, retry_after: &str) -> Faults {
        Faults::default().with_every(every, Fault::rate_limited(retry_after))
    }

    /// Set the latency added before every API answer.
    pub fn with_latency(mut self, latency: Duration) -> Faults {
        self.latency = latency;
        self
    }

    /// Append faults to the script.
    pub fn with_script(mut self, faults: impl IntoIterator<Item = Fault>) -> Faults {
        self.script.extend(faults);
        self
    }

    /// Add an every-n-th rule.
    pub fn with_every(mut self, n: u64, fault: Fault) -> Faults {
        self.every.push((n, fault));
        self
    }

    /// Add a probabilistic rule.
    pub fn with_rate(mut self, p: f64, fault: Fault) -> Faults {
        self.rates.push((p, fault));
        self
    }

    /// One record arriving every `every` API requests, `count` in all, each
    /// ended within the `depth_secs` before the sim started (see [`SteadyArrivals`]).
    pub fn with_arrivals(mut self, every: u64, depth_secs: u64, count: usize) -> Faults {
        self.arrivals = Some(SteadyArrivals {
            every: every.max(1),
            depth_secs,
            count,
        });
        self
    }

    /// Every answer held until [`Sim::release`].
    pub fn with_hold(mut self) -> Faults {
        self.hold = true;
        self
    }

    /// Pages answered oldest first.
    pub fn with_broken_order(mut self) -> Faults {
        self.break_order = true;
        self
    }

    /// Odd values in every record ([`ODD_FIELDS`], [`ODD_STIR`]).
    pub fn with_odd_fields(mut self) -> Faults {
        self.odd_fields = true;
        self
    }

    /// `offset` ignored.
    pub fn with_offset_ignored(mut self) -> Faults {
        self.ignore_offset = true;
        self
    }

    /// Set late arrivals.
    pub fn with_late(mut self, count: usize, after_requests: u64) -> Faults {
        self.late = Some(LateArrivals {
            count,
            after_requests,
        });
        self
    }
}

/// Request and fault counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// API requests received (everything outside `/_sim/`).
    pub requests: u64,
    /// Faults served.
    pub faults: u64,
    /// Faults served, by [`Fault::kind`].
    pub faults_by_kind: BTreeMap<String, u64>,
    /// Highest number of API requests being handled at once.
    pub max_in_flight: u64,
    /// API requests being handled now.
    pub in_flight: u64,
    /// API requests refused with 429 by the per-account limit ([`SimConfig::rate_limit`]);
    /// not counted in `faults`.
    #[serde(default)]
    pub rate_limited: u64,
    /// The most API requests the per-account limit accepted within any one of its
    /// windows (never more than its `max`).
    #[serde(default)]
    pub max_in_window: u64,
    /// HTTPS mode: connections whose TLS handshake completed.
    #[serde(default)]
    pub tls_handshakes: u64,
    /// HTTPS mode: connections whose TLS handshake failed (a client that
    /// refused the certificate, or left before the end of the handshake).
    #[serde(default)]
    pub tls_handshakes_failed: u64,
    /// The `User-Agent` header of the last API request, if it had one.
    #[serde(default)]
    pub user_agent: Option<String>,
}

/// A per-account request limit enforced by the simulator, as Plivo's
/// (300 requests per 5 seconds): a sliding window over the arrival times of
/// the requests it accepted. A request that would make more than `max` in any
/// `per` is answered `429` with a `Retry-After` of the whole seconds until the
/// oldest accepted request leaves the window (at least 1), and is not counted
/// in the window. Checked when a request arrives (before any latency), after
/// the fault plan: a request given a fault is not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests accepted in any window at most; 0 refuses every request.
    pub max: u32,
    /// The window's length.
    pub per: Duration,
}

impl RateLimit {
    /// Plivo's limit: 300 requests per 5 seconds.
    pub fn plivo() -> RateLimit {
        RateLimit {
            max: 300,
            per: Duration::from_secs(5),
        }
    }

    /// Parses `MAX/SECONDS` (`300/5`, `100/0.5`).
    pub fn parse(s: &str) -> Result<RateLimit, String> {
        let bad = || format!("a rate limit is MAX/SECONDS (such as 300/5), not {s:?}");
        let (max, secs) = s.split_once('/').ok_or_else(bad)?;
        let max: u32 = max.trim().parse().map_err(|_| bad())?;
        let secs: f64 = secs.trim().parse().map_err(|_| bad())?;
        if !(secs > 0.0 && secs <= 86_400.0) {
            return Err(format!(
                "the rate limit's SECONDS must be in (0, 86400], not {secs}"
            ));
        }
        let per = Duration::try_from_secs_f64(secs).map_err(|_| bad())?;
        Ok(RateLimit { max, per })
    }
}

/// Configuration of a simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Account id expected in Basic auth and in the path. Default `MASIMULATOR000000001`.
    pub auth_id: String,
    /// Token expected in Basic auth. Default `simulator-token`.
    pub auth_token: String,
    /// Number of generated calls (end times spread over the 100 days before start). Default 1000.
    pub calls: usize,
    /// Dataset and fault-PRNG seed. Default 1.
    pub seed: u64,
    /// Window used when no end_time filter is given. Default 7.
    pub default_window_days: u32,
    /// Largest allowed end_time range. Default 30.
    pub max_range_days: u32,
    /// Records older than this never exist. Default 90.
    pub retention_days: u32,
    /// Calls that all ended in one second (a tie burst), added to the
    /// generated ones: the second one day before the sim started
    /// ([`Sim::tie_second`]). Default 0.
    pub tie_burst: usize,
    /// Initial fault plan.
    pub faults: Faults,
    /// Requests handled concurrently at most. Default 16.
    pub workers: usize,
    /// Listen host. Default `127.0.0.1`.
    pub host: String,
    /// Listen port; 0 picks a free one. Default 0.
    pub port: u16,
    /// The per-account request limit; `None` (the default) accepts every request.
    pub rate_limit: Option<RateLimit>,
    /// Serve HTTPS instead of HTTP: a new CA and a server certificate it
    /// issued (for `localhost`, `127.0.0.1`, `::1` and [`SimConfig::host`])
    /// are made at start; [`Sim::ca_pem`] and [`Sim::write_ca_file`] give
    /// the CA certificate a client must trust. Default `false`.
    pub https: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            auth_id: "MASIMULATOR000000001".into(),
            auth_token: "simulator-token".into(),
            calls: 1000,
            seed: 1,
            default_window_days: 7,
            max_range_days: 30,
            retention_days: 90,
            tie_burst: 0,
            faults: Faults::default(),
            workers: 16,
            host: "127.0.0.1".into(),
            port: 0,
            rate_limit: None,
            https: false,
        }
    }
}

/// A running simulator; stopped (threads joined, port closed) when dropped.
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("addr", &self.addr).finish()
    }
}

impl Sim {
    /// Generate the dataset, bind the listener and start serving.
    pub fn start(config: SimConfig) -> io::Result<Sim> {
        let tls = match config.https {
            true => Some(tls::Tls::generate(&config.host)?),
            false => None,
        };
        let listener = TcpListener::bind((config.host.as_str(), config.port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(&config, tls));
        let s2 = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("calls-sim-accept".into())
            .spawn(move || server::accept_loop(s2, listener))?;
        Ok(Sim {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// `http://HOST:PORT`, or `https://HOST:PORT` in the HTTPS mode (no
    /// trailing slash).
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        match self.addr {
            SocketAddr::V4(a) => format!("{scheme}://{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("{scheme}://[{}]:{}", a.ip(), a.port()),
        }
    }

    /// In the HTTPS mode ([`SimConfig::https`]), the certificate (PEM) of
    /// the CA made at start, which issued the server's: what a client must
    /// trust. `None` over plain HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.shared.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// Writes [`Sim::ca_pem`] to `path` (an error over plain HTTP).
    pub fn write_ca_file(&self, path: &std::path::Path) -> io::Result<()> {
        let pem = self.ca_pem().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "calls-sim serves plain HTTP")
        })?;
        std::fs::write(path, pem)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configured account id.
    pub fn auth_id(&self) -> &str {
        &self.shared.auth_id
    }

    /// The configured auth token.
    pub fn auth_token(&self) -> &str {
        &self.shared.auth_token
    }

    /// The sim's start time (whole seconds, UTC); the dataset ends at or before it.
    pub fn started_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.shared.start, 0).unwrap_or_default()
    }

    /// The second every call of the tie burst ended in (one day before the start).
    pub fn tie_second(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.shared.start - 86_400, 0).unwrap_or_default()
    }

    /// `count` new calls that ended within the `max_age_secs` (at least 60)
    /// before now, visible from the next request on and kept when the fault
    /// plan changes (also `GET /_sim/arrive?count=N&max_age=SECS`).
    pub fn arrive_now(&self, count: usize, max_age_secs: u64) -> usize {
        self.shared.arrive_now(count, max_age_secs)
    }

    /// Lets every held answer go, and answers no longer wait (see [`Faults::hold`]).
    pub fn release(&self) {
        self.shared.release_held();
    }

    /// Steady arrivals that became visible so far.
    pub fn arrived(&self) -> usize {
        self.shared.arrived()
    }

    /// Replace the fault plan (restarts script/every/late counting and the rate PRNG).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// Replace the per-account request limit (`None` turns it off); its window
    /// starts empty.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        self.shared.set_rate_limit(limit);
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Zero the counters (`max_in_flight` restarts from the current `in_flight`).
    pub fn reset_stats(&self) {
        self.shared.reset_stats();
    }

    /// Every record matching `params` (same rules as the endpoint, including the window
    /// policy, retention and the visibility of late records now), ignoring paging,
    /// newest first; `Err(message)` where the endpoint would answer 400.
    pub fn expected(&self, params: &[(&str, &str)]) -> Result<Vec<serde_json::Value>, String> {
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        self.shared.expected(&pairs)
    }

    /// Every record that exists in the dataset plus late records visible now, newest
    /// first — including records older than the retention period (which the endpoint
    /// never returns) and regardless of any window.
    pub fn calls_json(&self) -> Vec<serde_json::Value> {
        self.shared.calls_json()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shared.begin_stop();
        // Unblock accept() with a throwaway connection.
        let wake = match self.addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => {
                SocketAddr::from(([127, 0, 0, 1], a.port()))
            }
            SocketAddr::V6(a) if a.ip().is_unspecified() => {
                SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port()))
            }
            other => other,
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(2));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        self.shared.close_connections();
    }
}
