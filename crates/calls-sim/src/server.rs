//! Shared state, request routing, fault application and connection handling.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::data::{Call, CallView, Dataset};
use crate::http::{self, Body, Generated, ReadOutcome, Reply, Request};
use crate::prng::{SimRng, format_uuid};
use crate::query::{self, Policy, Query};
use crate::{Fault, Faults, RateLimit, SimConfig, Stats};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct FaultState {
    latency: Duration,
    script: VecDeque<Fault>,
    every: Vec<(u64, Fault)>,
    rates: Vec<(f64, Fault)>,
    rng: SimRng,
    /// API requests received since the plan was set.
    seq: u64,
    late: Arc<Vec<Call>>,
    late_after: u64,
    /// Steady arrivals still to come, the next one last.
    pool: Vec<Call>,
    /// One arrives with every `arrive_every`-th request (0: none).
    arrive_every: u64,
    /// Those that arrived, newest first (and those added by
    /// [`Shared::arrive_now`], which outlive a change of the fault plan).
    arrived: Arc<Vec<Call>>,
    break_order: bool,
    ignore_offset: bool,
    odd_fields: bool,
}

impl FaultState {
    /// The records visible beside the dataset now, newest first.
    fn extra(&self) -> Arc<Vec<Call>> {
        let late_visible = self.seq >= self.late_after && !self.late.is_empty();
        match (late_visible, self.arrived.is_empty()) {
            (false, _) => Arc::clone(&self.arrived),
            (true, true) => Arc::clone(&self.late),
            (true, false) => {
                let mut all: Vec<Call> = self
                    .late
                    .iter()
                    .chain(self.arrived.iter())
                    .cloned()
                    .collect();
                all.sort_unstable_by(Call::desc_cmp);
                Arc::new(all)
            }
        }
    }
}

#[derive(Default)]
struct Counters {
    requests: u64,
    faults: u64,
    by_kind: BTreeMap<String, u64>,
    rate_limited: u64,
    max_in_window: u64,
    tls_done: u64,
    tls_failed: u64,
    user_agent: Option<String>,
}

/// The per-account limit's sliding window: arrival times of accepted requests.
#[derive(Default)]
struct Window {
    limit: Option<RateLimit>,
    accepted: VecDeque<Instant>,
}

impl Window {
    /// `Ok(count in the window)` when the request arriving `now` is accepted,
    /// `Err(Retry-After seconds)` when it is refused.
    fn admit(&mut self, now: Instant) -> Option<Result<u64, u64>> {
        let limit = self.limit?;
        while let Some(&t) = self.accepted.front() {
            if now.saturating_duration_since(t) >= limit.per {
                self.accepted.pop_front();
            } else {
                break;
            }
        }
        if self.accepted.len() < limit.max as usize {
            self.accepted.push_back(now);
            return Some(Ok(self.accepted.len() as u64));
        }
        let free_at = self
            .accepted
            .front()
            .and_then(|&t| t.checked_add(limit.per))
            .unwrap_or(now);
        let wait = free_at.saturating_duration_since(now);
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Some(Err(secs.max(1)))
    }
}

/// State shared by the accept thread, connection threads and the [`crate::Sim`] handle.
pub(crate) struct Shared {
    pub(crate) auth_id: String,
    pub(crate) auth_token: String,
    /// Unix seconds.
    pub(crate) start: i64,
    seed: u64,
    policy: Policy,
    dataset: Dataset,
    faults: Mutex<FaultState>,
    counters: Mutex<Counters>,
    window: Mutex<Window>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    stop: AtomicBool,
    stop_lock: Mutex<()>,
    stop_cv: Condvar,
    workers: usize,
    busy: Mutex<usize>,
    busy_cv: Condvar,
    conns: Mutex<HashMap<u64, TcpStream>>,
    live: Mutex<usize>,
    live_cv: Condvar,
    next_conn: AtomicU64,
    api_ids: AtomicU64,
    /// Answers wait while this is set ([`Faults::hold`]).
    hold: Mutex<bool>,
    hold_cv: Condvar,
    /// The HTTPS mode's certificate and TLS settings ([`SimConfig::https`]).
    pub(crate) tls: Option<crate::tls::Tls>,
}

/// How this answer misbehaves (see [`Faults`]).
#[derive(Clone, Copy)]
struct Quirks {
    break_order: bool,
    ignore_offset: bool,
    odd_fields: bool,
}

/// The records visible beside the dataset for one request, and its quirks.
struct Late<'a> {
    calls: &'a [Call],
    quirks: Quirks,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    api_id: String,
    error: &'a str,
}

#[derive(Serialize)]
struct Meta {
    limit: usize,
    offset: usize,
    total_count: usize,
    previous: Option<String>,
    next: Option<String>,
}

#[derive(Serialize)]
struct ListBody<'a> {
    api_id: String,
    meta: Meta,
    objects: Vec<CallView<'a>>,
}

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = s.bytes().filter(|&c| c != b'-').collect();
    if s.len() != 36 || hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let txt = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(txt, 16).ok()?;
    }
    Some(out)
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

impl Shared {
    pub(crate) fn new(config: &SimConfig, tls: Option<crate::tls::Tls>) -> Shared {
        let start = chrono::Utc::now().timestamp();
        let mut dataset = Dataset::generate(config.seed, config.calls, start);
        if config.tie_burst > 0 {
            dataset.add_tie_burst(config.seed, config.tie_burst, start - 86_400);
        }
        let shared = Shared {
            auth_id: config.auth_id.clone(),
            auth_token: config.auth_token.clone(),
            start,
            seed: config.seed,
            policy: Policy {
                default_window_days: config.default_window_days,
                max_range_days: config.max_range_days,
                retention_days: config.retention_days,
            },
            dataset,
            faults: Mutex::new(FaultState {
                latency: Duration::ZERO,
                script: VecDeque::new(),
                every: Vec::new(),
                rates: Vec::new(),
                rng: SimRng::new(0),
                seq: 0,
                late: Arc::new(Vec::new()),
                late_after: 0,
                pool: Vec::new(),
                arrive_every: 0,
                arrived: Arc::new(Vec::new()),
                break_order: false,
                ignore_offset: false,
                odd_fields: false,
            }),
            counters: Mutex::new(Counters::default()),
            window: Mutex::new(Window {
                limit: config.rate_limit,
                accepted: VecDeque::new(),
            }),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            stop_lock: Mutex::new(()),
            stop_cv: Condvar::new(),
            workers: config.workers.max(1),
            busy: Mutex::new(0),
            busy_cv: Condvar::new(),
            conns: Mutex::new(HashMap::new()),
            live: Mutex::new(0),
            live_cv: Condvar::new(),
            next_conn: AtomicU64::new(0),
            api_ids: AtomicU64::new(0),
            hold: Mutex::new(false),
            hold_cv: Condvar::new(),
            tls,
        };
        shared.set_faults(config.faults.clone());
        shared
    }

    pub(crate) fn set_faults(&self, f: Faults) {
        let late = match &f.late {
            Some(l) if l.count > 0 => self.dataset.generate_late(self.seed, l.count, self.start),
            _ => Vec::new(),
        };
        let (pool, arrive_every) = match &f.arrivals {
            Some(a) if a.count > 0 => {
                let mut v =
                    self.dataset
                        .generate_arrivals(self.seed, a.count, self.start, a.depth_secs);
                v.reverse();
                (v, a.every.max(1))
            }
            _ => (Vec::new(), 0),
        };
        *lock(&self.hold) = f.hold;
        self.hold_cv.notify_all();
        let mut st = lock(&self.faults);
        let kept: Vec<Call> = st
            .arrived
            .iter()
            .filter(|c| c.end > self.start)
            .cloned()
            .collect();
        *st = FaultState {
            latency: f.latency,
            script: f.script.into_iter().collect(),
            every: f.every,
            rates: f.rates,
            rng: SimRng::new(self.seed ^ 0xFA17_FA17_FA17_FA17),
            seq: 0,
            late: Arc::new(late),
            late_after: f.late.map_or(0, |l| l.after_requests),
            pool,
            arrive_every,
            arrived: Arc::new(kept),
            break_order: f.break_order,
            ignore_offset: f.ignore_offset,
            odd_fields: f.odd_fields,
        };
    }

    pub(crate) fn set_rate_limit(&self, limit: Option<RateLimit>) {
        *lock(&self.window) = Window {
            limit,
            accepted: VecDeque::new(),
        };
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = lock(&self.counters);
        Stats {
            requests: c.requests,
            faults: c.faults,
            faults_by_kind: c.by_kind.clone(),
            max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
            in_flight: self.in_flight.load(Ordering::SeqCst),
            rate_limited: c.rate_limited,
            max_in_window: c.max_in_window,
            tls_handshakes: c.tls_done,
            tls_handshakes_failed: c.tls_failed,
            user_agent: c.user_agent.clone(),
        }
    }

    pub(crate) fn reset_stats(&self) {
        let mut c = lock(&self.counters);
        *c = Counters::default();
        self.max_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    fn visible_late(&self) -> Arc<Vec<Call>> {
        lock(&self.faults).extra()
    }

    pub(crate) fn arrived(&self) -> usize {
        lock(&self.faults).arrived.len()
    }

    /// Ends [`Faults::hold`]: every held answer goes.
    pub(crate) fn release_held(&self) {
        *lock(&self.hold) = false;
        self.hold_cv.notify_all();
    }

    /// Waits while answers are held; false when the server stops.
    fn wait_release(&self) -> bool {
        let mut held = lock(&self.hold);
        while *held {
            if self.stopping() {
                return false;
            }
            held = match self.hold_cv.wait_timeout(held, Duration::from_millis(50)) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        !self.stopping()
    }

    /// `count` new calls that ended within the `max_age_secs` (at least 60)
    /// before now, visible from the next request on: calls that keep ending
    /// after the sim started, and late ones.
    pub(crate) fn arrive_now(&self, count: usize, max_age_secs: u64) -> usize {
        let now = chrono::Utc::now().timestamp();
        let n = self.api_ids.fetch_add(1, Ordering::Relaxed);
        let calls = self.dataset.generate_arrivals(
            // `n + 1`: the first batch must not reuse the steady arrivals'
            // seed (`self.seed`), or both would make the same uuids.
            self.seed ^ n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            count,
            now,
            max_age_secs,
        );
        let mut st = lock(&self.faults);
        let arrived = Arc::make_mut(&mut st.arrived);
        for call in calls {
            let at = arrived.partition_point(|c| Call::desc_cmp(c, &call).is_lt());
            arrived.insert(at, call);
        }
        count
    }

    pub(crate) fn expected(
        &self,
        pairs: &[(String, String)],
    ) -> Result<Vec<serde_json::Value>, String> {
        let late = self.visible_late();
        let q = Query::from_pairs(pairs)?;
        let (lo, hi) = q.window(now_micros(), self.policy)?;
        Ok(q.select(&self.dataset, &late, lo, hi)
            .into_iter()
            .map(|c| self.dataset.to_value(c))
            .collect())
    }

    pub(crate) fn calls_json(&self) -> Vec<serde_json::Value> {
        let late = self.visible_late();
        let mut all: Vec<&Call> = self.dataset.calls.iter().chain(late.iter()).collect();
        all.sort_unstable_by(|a, b| Call::desc_cmp(a, b));
        all.into_iter().map(|c| self.dataset.to_value(c)).collect()
    }

    fn api_id(&self) -> String {
        let n = self.api_ids.fetch_add(1, Ordering::Relaxed);
        let mut r = SimRng::new(
            (self.start as u64).wrapping_mul(0x9E37_79B9) ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        format_uuid(&r.uuid_bytes())
    }

    fn error(&self, status: u16, msg: &str) -> Reply {
        let body = ErrorBody {
            api_id: self.api_id(),
            error: msg,
        };
        Reply::json(status, serde_json::to_vec(&body).unwrap_or_default())
    }

    pub(crate) fn begin_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        {
            let _g = lock(&self.stop_lock);
            self.stop_cv.notify_all();
        }
        let _g = lock(&self.busy);
        self.busy_cv.notify_all();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleep unless stopping; false when the server stops.
    fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut g = lock(&self.stop_lock);
        loop {
            if self.stopping() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            g = match self.stop_cv.wait_timeout(g, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    pub(crate) fn close_connections(&self) {
        for s in lock(&self.conns).values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut live = lock(&self.live);
        while *live > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            live = match self.live_cv.wait_timeout(live, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    fn acquire(&self) -> bool {
        let mut busy = lock(&self.busy);
        while *busy >= self.workers {
            if self.stopping() {
                return false;
            }
            busy = match self.busy_cv.wait(busy) {
                Ok(g) => g,
                Err(e) => e.into_inner(),
            };
        }
        *busy += 1;
        true
    }

    fn release(&self) {
        let mut busy = lock(&self.busy);
        *busy = busy.saturating_sub(1);
        self.busy_cv.notify_one();
    }

    /// The per-account limit's verdict on an API request arriving now (one
    /// given no fault): `Some(Retry-After seconds)` when it is refused.
    fn over_limit(&self) -> Option<u64> {
        let verdict = lock(&self.window).admit(Instant::now())?;
        let mut c = lock(&self.counters);
        match verdict {
            Ok(in_window) => {
                c.max_in_window = c.max_in_window.max(in_window);
                None
            }
            Err(secs) => {
                c.rate_limited += 1;
                Some(secs)
            }
        }
    }

    /// Count an API request and pick its fault, latency and late-record view.
    fn admit(&self) -> (Option<Fault>, Duration, Arc<Vec<Call>>, Quirks) {
        let (fault, latency, late, quirks) = {
            let mut st = lock(&self.faults);
            let late = st.extra();
            st.seq += 1;
            let n = st.seq;
            if st.arrive_every > 0
                && n.is_multiple_of(st.arrive_every)
                && let Some(call) = st.pool.pop()
            {
                // Visible from the next request on.
                let arrived = Arc::make_mut(&mut st.arrived);
                let at = arrived.partition_point(|c| Call::desc_cmp(c, &call).is_lt());
                arrived.insert(at, call);
            }
            let quirks = Quirks {
                break_order: st.break_order,
                ignore_offset: st.ignore_offset,
                odd_fields: st.odd_fields,
            };
            let mut drawn = None;
            let rates = st.rates.clone();
            for (p, f) in rates {
                let x = st.rng.unit();
                if drawn.is_none() && x < p {
                    drawn = Some(f);
                }
            }
            let fault = st
                .script
                .pop_front()
                .or_else(|| {
                    st.every
                        .iter()
                        .find(|(k, _)| *k > 0 && n.is_multiple_of(*k))
                        .map(|(_, f)| f.clone())
                })
                .or(drawn);
            (fault, st.latency, late, quirks)
        };
        let mut c = lock(&self.counters);
        c.requests += 1;
        if let Some(f) = &fault {
            c.faults += 1;
            *c.by_kind.entry(f.kind()).or_insert(0) += 1;
        }
        (fault, latency, late, quirks)
    }

    /// The answer to an API request; `None` means drop the connection.
    fn handle_api(&self, req: &Request) -> Option<Reply> {
        let (fault, latency, late, quirks) = self.admit();
        lock(&self.counters).user_agent = req.header("user-agent").map(str::to_owned);
        let late = Late {
            calls: &late,
            quirks,
        };
        let fault = match fault {
            None => self
                .over_limit()
                .map(|secs| Fault::rate_limited(&secs.to_string())),
            some => some,
        };
        if !latency.is_zero() && !self.sleep(latency) {
            return None;
        }
        if !self.wait_release() {
            return None;
        }
        match fault {
            None => Some(self.api_reply(req, &late)),
            Some(Fault::Status {
                status,
                retry_after,
            }) => {
                let msg = match status {
                    429 => "too many requests",
                    500 => "internal server error",
                    502 => "bad gateway",
                    503 => "service unavailable",
                    504 => "gateway timeout",
                    _ => "simulated error",
                };
                let mut r = self.error(status, msg);
                if let Some(v) = retry_after {
                    r.headers.push(("Retry-After".into(), v));
                }
                Some(r)
            }
            Some(Fault::Drop) => None,
            Some(Fault::Malformed) => Some(Reply::json(
                200,
                b"<html><body><h1>502 Bad Gateway</h1>upstream sent garbage</body></html>\n"
                    .to_vec(),
            )),
            Some(Fault::Truncated) => {
                let mut r = self.api_reply(req, &late);
                if let Body::Bytes(b) = &mut r.body {
                    b.truncate(b.len() / 2);
                }
                Some(r)
            }
            Some(Fault::SlowBody { total }) => {
                let mut r = self.api_reply(req, &late);
                if let Body::Bytes(b) = std::mem::replace(&mut r.body, Body::Oversize(0)) {
                    r.body = Body::Slow(b, total);
                }
                Some(r)
            }
            Some(Fault::Oversize { bytes }) => Some(Reply {
                status: 200,
                headers: Vec::new(),
                body: Body::Oversize(bytes),
            }),
            Some(Fault::Delay(d)) => {
                if !self.sleep(d) {
                    return None;
                }
                Some(self.api_reply(req, &late))
            }
            Some(Fault::OverLimit { objects, gzip }) => {
                Some(generated(Generated::OverLimit(objects), gzip))
            }
            Some(Fault::ManyNumbers { numbers, gzip }) => {
                Some(generated(Generated::Numbers(numbers), gzip))
            }
            Some(Fault::FatPage { pad_bytes }) => {
                let mut r = self.api_reply(req, &late);
                if let Body::Bytes(b) = &mut r.body
                    && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(b)
                    && let Some(objects) = v.get_mut("objects").and_then(|o| o.as_array_mut())
                {
                    let pad = "p".repeat(pad_bytes);
                    for o in objects.iter_mut() {
                        if let Some(m) = o.as_object_mut() {
                            m.insert("padding".into(), serde_json::Value::String(pad.clone()));
                        }
                    }
                    *b = serde_json::to_vec(&v).unwrap_or_default();
                }
                Some(r)
            }
            Some(Fault::EchoCredentials {
                field,
                prefix,
                basic,
            }) => {
                let cred = req
                    .header("Authorization")
                    .and_then(|h| h.trim().split_once(' '))
                    .map(|(_, c)| c.trim().to_string())
                    .unwrap_or_default();
                let secret = if basic {
                    cred
                } else {
                    http::base64_decode(&cred)
                        .and_then(|raw| String::from_utf8(raw).ok())
                        .and_then(|s| s.split_once(':').map(|(_, t)| t.to_string()))
                        .unwrap_or_default()
                };
                let mut call = serde_json::Map::new();
                call.insert("call_uuid".into(), "echo-1".into());
                call.insert(
                    field,
                    serde_json::Value::String(format!("{prefix}{secret}")),
                );
                let body = serde_json::json!({
                    "api_id": self.api_id(),
                    "meta": {"limit": 20, "offset": 0, "total_count": 1, "previous": null, "next": null},
                    "objects": [call],
                });
                Some(Reply::json(
                    200,
                    serde_json::to_vec(&body).unwrap_or_default(),
                ))
            }
            Some(Fault::Raw { status, body }) => Some(Reply::json(status, body)),
        }
    }

    fn authorized(&self, req: &Request) -> bool {
        let Some(h) = req.header("Authorization") else {
            return false;
        };
        let Some((scheme, cred)) = h.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Some(raw) = http::base64_decode(cred.trim()) else {
            return false;
        };
        let expected = format!("{}:{}", self.auth_id, self.auth_token);
        raw == expected.as_bytes()
    }

    fn api_reply(&self, req: &Request, late: &Late<'_>) -> Reply {
        let (path, raw_query) = req.path_and_query();
        let mut segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if segs.last() == Some(&"") {
            segs.pop();
        }
        let (id, uuid) = match segs.as_slice() {
            ["v1", "Account", id, "Zentrunk", "Call"] => (*id, None),
            ["v1", "Account", id, "Zentrunk", "Call", uuid] => (*id, Some(*uuid)),
            _ => return self.error(404, "not found"),
        };
        if !self.authorized(req) {
            return self.error(
                401,
                "Authentication credentials were not provided or are invalid",
            );
        }
        if id != self.auth_id {
            return self.error(404, "not found");
        }
        if req.method != "GET" {
            let mut r = self.error(405, "method not allowed");
            r.headers.push(("Allow".into(), "GET".into()));
            return r;
        }
        match uuid {
            None => self.list(raw_query, late),
            Some(u) => self.single(u, late),
        }
    }

    fn list(&self, raw_query: &str, view: &Late<'_>) -> Reply {
        let late = view.calls;
        let pairs = query::parse_query(raw_query);
        let q = match Query::from_pairs(&pairs) {
            Ok(q) => q,
            Err(e) => return self.error(400, &e),
        };
        let (lo, hi) = match q.window(now_micros(), self.policy) {
            Ok(w) => w,
            Err(e) => return self.error(400, &e),
        };
        let all = q.select(&self.dataset, late, lo, hi);
        let total = all.len();
        let skip = if view.quirks.ignore_offset {
            0
        } else {
            q.offset
        };
        let mut objects: Vec<CallView<'_>> = all
            .iter()
            .skip(skip)
            .take(q.limit)
            .map(|c| self.dataset.view(c))
            .collect();
        if view.quirks.break_order {
            objects.reverse();
        }
        if view.quirks.odd_fields {
            objects.iter_mut().for_each(CallView::make_odd);
        }
        let link = |offset: usize| {
            let mut s = format!(
                "/v1/Account/{}/Zentrunk/Call/?limit={}&offset={}",
                self.auth_id, q.limit, offset
            );
            for (k, v) in &q.link_filters {
                s.push('&');
                s.push_str(&query::percent_encode(k));
                s.push('=');
                s.push_str(&query::percent_encode(v));
            }
            s
        };
        let end = q.offset.saturating_add(q.limit);
        let meta = Meta {
            limit: q.limit,
            offset: q.offset,
            total_count: total,
            previous: (q.offset > 0).then(|| link(q.offset.saturating_sub(q.limit))),
            next: (end < total).then(|| link(end)),
        };
        let body = ListBody {
            api_id: self.api_id(),
            meta,
            objects,
        };
        Reply::json(200, serde_json::to_vec(&body).unwrap_or_default())
    }

    fn single(&self, uuid: &str, view: &Late<'_>) -> Reply {
        let late = view.calls;
        let oldest = query::oldest_kept(now_micros(), self.policy);
        let found = parse_uuid(&uuid.to_ascii_lowercase()).and_then(|u| {
            self.dataset
                .calls
                .iter()
                .chain(late.iter())
                .find(|c| c.uuid == u && c.end_micros() >= oldest)
        });
        match found {
            Some(c) => {
                let mut v = self.dataset.view(c);
                if view.quirks.odd_fields {
                    v.make_odd();
                }
                Reply::json(200, serde_json::to_vec(&v).unwrap_or_default())
            }
            None => self.error(404, "not found"),
        }
    }

    fn sim_reply(&self, req: &Request) -> Reply {
        let (path, raw_query) = req.path_and_query();
        match path.trim_end_matches('/') {
            "/_sim/stats" => {
                Reply::json(200, serde_json::to_vec(&self.stats()).unwrap_or_default())
            }
            "/_sim/expected" => {
                let pairs = query::parse_query(raw_query);
                match self.expected(&pairs) {
                    Ok(v) => {
                        let uuids: Vec<&serde_json::Value> =
                            v.iter().filter_map(|c| c.get("call_uuid")).collect();
                        let body = serde_json::json!({
                            "total_count": uuids.len(),
                            "call_uuids": uuids,
                        });
                        Reply::json(200, serde_json::to_vec(&body).unwrap_or_default())
                    }
                    Err(e) => self.error(400, &e),
                }
            }
            "/_sim/release" => {
                self.release_held();
                Reply::json(200, b"{\"released\":true}".to_vec())
            }
            "/_sim/arrive" => {
                let pairs = query::parse_query(raw_query);
                let get = |k: &str| {
                    pairs
                        .iter()
                        .find(|(n, _)| n == k)
                        .and_then(|(_, v)| v.parse::<u64>().ok())
                };
                match (get("count"), get("max_age")) {
                    (Some(count), max_age) if count <= 1_000_000 => {
                        let n = self.arrive_now(count as usize, max_age.unwrap_or(60));
                        Reply::json(200, format!("{{\"arrived\":{n}}}").into_bytes())
                    }
                    _ => self.error(400, "count=N (at most 1000000) and optional max_age=SECS"),
                }
            }
            _ => self.error(404, "not found"),
        }
    }
}

/// A generated hostile answer, gzip-compressed when asked (then only the
/// compressed bytes are held).
fn generated(g: Generated, gzip: bool) -> Reply {
    if gzip && let Ok(bytes) = g.gzip() {
        let mut r = Reply::json(200, bytes);
        r.headers.push(("Content-Encoding".into(), "gzip".into()));
        return r;
    }
    Reply {
        status: 200,
        headers: Vec::new(),
        body: Body::Generated(g),
    }
}

/// Accept connections until stopped; one thread per connection.
pub(crate) fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    for stream in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = stream else {
            // E.g. out of file descriptors: back off instead of spinning.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let Ok(clone) = stream.try_clone() else {
            continue;
        };
        let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
        lock(&shared.conns).insert(id, clone);
        *lock(&shared.live) += 1;
        let s2 = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("calls-sim-conn".into())
            .spawn(move || {
                serve_connection(&s2, stream);
                lock(&s2.conns).remove(&id);
                let mut live = lock(&s2.live);
                *live = live.saturating_sub(1);
                s2.live_cv.notify_all();
            });
        if spawned.is_err() {
            if let Some(s) = lock(&shared.conns).remove(&id) {
                let _ = s.shutdown(Shutdown::Both);
            }
            let mut live = lock(&shared.live);
            *live = live.saturating_sub(1);
        }
    }
}

fn serve_connection(shared: &Shared, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
    let Ok(raw) = stream.try_clone() else {
        return;
    };
    match &shared.tls {
        None => {
            let Ok(read_half) = stream.try_clone() else {
                return;
            };
            serve_on(shared, BufReader::new(read_half), stream, &raw);
        }
        Some(tls) => {
            let Ok(mut tls_stream) = crate::tls::TlsStream::new(&tls.config, stream) else {
                return;
            };
            // The handshake first, so that a client refusing the certificate
            // is counted (`Stats::tls_handshakes_failed`).
            if tls_stream.handshake().is_err() {
                lock(&shared.counters).tls_failed += 1;
                let _ = raw.shutdown(Shutdown::Both);
                return;
            }
            lock(&shared.counters).tls_done += 1;
            serve_on(shared, BufReader::new(tls_stream.clone()), tls_stream, &raw);
        }
    }
}

/// Serves the requests of one connection: read from `reader`, answered on
/// `writer`; `raw` is the socket under them (closed for a dropped answer).
fn serve_on(
    shared: &Shared,
    mut reader: BufReader<impl Read>,
    mut writer: impl Write,
    raw: &TcpStream,
) {
    let sleep = |d: Duration| shared.sleep(d);
    loop {
        let req = match http::read_request(&mut reader) {
            ReadOutcome::Request(r) => r,
            ReadOutcome::Closed => break,
            ReadOutcome::Bad => {
                let r = shared.error(400, "malformed HTTP request");
                let _ = http::write_reply(&mut writer, &r, false, &sleep);
                break;
            }
        };
        if shared.stopping() {
            break;
        }
        let (path, _) = req.path_and_query();
        let is_sim = path == "/_sim" || path.starts_with("/_sim/");
        if !is_sim {
            let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        }
        let mut keep = req.keep_alive;
        let ok = if shared.acquire() {
            let reply = if is_sim {
                Some(shared.sim_reply(&req))
            } else {
                shared.handle_api(&req)
            };
            keep = keep && !shared.stopping();
            // Handled: no longer in flight, before the client can see the
            // answer and send its next request.
            if !is_sim {
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            let ok = match reply {
                Some(r) => http::write_reply(&mut writer, &r, keep, &sleep).is_ok(),
                None => {
                    let _ = raw.shutdown(Shutdown::Both);
                    false
                }
            };
            shared.release();
            ok
        } else {
            if !is_sim {
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            false
        };
        if !ok || !keep {
            break;
        }
    }
    let _ = raw.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::parse_uuid;
    use std::time::{Duration, Instant};

    #[test]
    fn the_window_slides_and_says_when() {
        let mut w = super::Window {
            limit: Some(crate::RateLimit {
                max: 2,
                per: Duration::from_millis(2500),
            }),
            accepted: Default::default(),
        };
        let t0 = Instant::now();
        assert_eq!(w.admit(t0), Some(Ok(1)));
        assert_eq!(w.admit(t0 + Duration::from_millis(100)), Some(Ok(2)));
        // Full until t0 + 2.5 s: 2.4 s away, said as 3 whole seconds.
        assert_eq!(w.admit(t0 + Duration::from_millis(100)), Some(Err(3)));
        // A refused request is not counted: the first slot frees at t0 + 2.5 s.
        assert_eq!(w.admit(t0 + Duration::from_millis(2499)), Some(Err(1)));
        assert_eq!(w.admit(t0 + Duration::from_millis(2500)), Some(Ok(2)));
        assert_eq!(w.admit(t0 + Duration::from_millis(2501)), Some(Err(1)));
        let mut off = super::Window::default();
        assert_eq!(off.admit(t0), None);
    }

    #[test]
    fn uuid_parse() {
        assert!(parse_uuid("f3f74402-59af-40b3-909c-80c50a4b063f").is_some());
        assert!(parse_uuid("f3f74402-59af-40b3-909c-80c50a4b063").is_none());
        assert!(parse_uuid("g3f74402-59af-40b3-909c-80c50a4b063f").is_none());
        assert!(parse_uuid("").is_none());
    }
}
