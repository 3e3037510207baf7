//! A minimal HTTP/1.1 client over `std::net::TcpStream` for the tests.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use calls_sim::{Sim, SimConfig};
use serde_json::Value;

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }
}

pub fn b64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Percent-encode a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// `host:port` of a base URL like `http://127.0.0.1:1234`.
pub fn authority(base: &str) -> &str {
    base.trim_start_matches("http://").trim_end_matches('/')
}

/// Starts, once per test binary, a watchdog that fails the binary when it
/// runs longer than `CALLS_TEST_TIME_LIMIT_S` seconds (default 300; every
/// binary takes well under a minute), so that a test that hangs fails
/// instead of blocking `make test`. Called by the request helpers below.
pub fn watchdog() {
    static START: std::sync::Once = std::sync::Once::new();
    START.call_once(|| {
        let secs: u64 = std::env::var("CALLS_TEST_TIME_LIMIT_S")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                let deadline = std::time::Instant::now() + Duration::from_secs(secs);
                loop {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        break;
                    }
                    std::thread::park_timeout(deadline - now);
                }
                // Straight to stderr: `eprintln!` in a test is captured, and
                // the capture is lost on exit.
                let _ = writeln!(
                    io::stderr(),
                    "watchdog: this test binary ran longer than {secs} s \
                     (CALLS_TEST_TIME_LIMIT_S): a test hangs; failing it"
                );
                std::process::exit(124);
            })
            .expect("the watchdog starts");
    });
}

/// Send raw bytes, read until EOF.
pub fn raw(base: &str, request: &[u8]) -> io::Result<Vec<u8>> {
    watchdog();
    let mut s = TcpStream::connect(authority(base))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(request)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

/// Parse a complete response; an I/O error when there is no response or the
/// body is shorter than Content-Length.
pub fn parse_response(bytes: &[u8]) -> io::Result<Resp> {
    if bytes.is_empty() {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no response"));
    }
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "incomplete head"))?;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if body.len() < len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "body cut short",
            ));
        }
        body.truncate(len);
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// GET with optional Basic auth and `Connection: close`.
pub fn get(base: &str, path: &str, auth: Option<(&str, &str)>) -> io::Result<Resp> {
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nConnection: close\r\n",
        authority(base)
    );
    if let Some((id, token)) = auth {
        req.push_str(&format!(
            "Authorization: Basic {}\r\n",
            b64(format!("{id}:{token}").as_bytes())
        ));
    }
    req.push_str("\r\n");
    parse_response(&raw(base, req.as_bytes())?)
}

/// Path of the list endpoint.
pub fn list_path(sim: &Sim) -> String {
    format!("/v1/Account/{}/Zentrunk/Call/", sim.auth_id())
}

/// GET the list endpoint with this (already encoded) query string.
pub fn api(sim: &Sim, query: &str) -> Resp {
    let path = if query.is_empty() {
        list_path(sim)
    } else {
        format!("{}?{query}", list_path(sim))
    };
    get(
        &sim.base_url(),
        &path,
        Some((sim.auth_id(), sim.auth_token())),
    )
    .expect("request")
}

/// Build an encoded query string from pairs.
pub fn qs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Follow `next` links from the first page; all objects in order.
pub fn fetch_all(sim: &Sim, pairs: &[(&str, &str)]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut resp = api(sim, &qs(pairs));
    loop {
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        let v = resp.json();
        out.extend(v["objects"].as_array().expect("objects").iter().cloned());
        match v["meta"]["next"].as_str() {
            Some(next) => {
                resp = get(
                    &sim.base_url(),
                    next,
                    Some((sim.auth_id(), sim.auth_token())),
                )
                .expect("request");
            }
            None => break,
        }
    }
    out
}

pub fn uuids(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|c| c["call_uuid"].as_str().expect("uuid").to_string())
        .collect()
}

pub fn sim_with(calls: usize, seed: u64) -> Sim {
    watchdog();
    Sim::start(SimConfig {
        calls,
        seed,
        ..SimConfig::default()
    })
    .expect("start sim")
}

/// Parse a record's `end_time` (or any `YYYY-MM-DD HH:MM:SS`) as unix seconds.
pub fn ts(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .expect("timestamp")
        .and_utc()
        .timestamp()
}

pub fn fmt_ts(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .expect("ts")
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

pub fn end_of(c: &Value) -> i64 {
    ts(c["end_time"].as_str().expect("end_time"))
}

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

pub const DAY: i64 = 86_400;
