//! A minimal HTTP/1.1 server-side codec over a byte stream (a
//! `std::net::TcpStream`, or the TLS stream of the HTTPS mode).
//!
//! Hand-written (rather than tiny_http) so that faults can control the socket
//! exactly: a dropped connection really closes without a byte, bodies can be
//! trickled or streamed, and keep-alive connections are closed on demand.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Duration;

const MAX_HEAD: u64 = 32 * 1024;
const MAX_BODY: u64 = 1024 * 1024;

/// A parsed request head.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// Origin-form target (`/path?query`).
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    /// Whether the client allows the connection to stay open.
    pub(crate) keep_alive: bool,
}

impl Request {
    /// The value of the first header with this (case-insensitive) name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `(path, query)` of the target.
    pub(crate) fn path_and_query(&self) -> (&str, &str) {
        let t = self.target.as_str();
        // Absolute-form: strip `scheme://authority`.
        let t = match t.find("://") {
            Some(i) => {
                let rest = &t[i + 3..];
                rest.find('/').map_or("/", |j| &rest[j..])
            }
            None => t,
        };
        t.split_once('?').unwrap_or((t, ""))
    }
}

/// Result of reading one request.
pub(crate) enum ReadOutcome {
    /// A complete request (body, if any, consumed and discarded).
    Request(Request),
    /// The peer closed the connection (or it timed out / failed) between requests.
    Closed,
    /// Unparseable request: answer 400 and close.
    Bad,
}

fn read_line(r: &mut BufReader<impl Read>, budget: &mut u64) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r.by_ref().take(*budget).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    *budget = budget.saturating_sub(n as u64);
    if buf.last() != Some(&b'\n') {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// Read one request from the connection.
pub(crate) fn read_request(r: &mut BufReader<impl Read>) -> ReadOutcome {
    let mut budget = MAX_HEAD;
    // Skip blank lines between requests (RFC 9112 §2.2).
    let line = loop {
        match read_line(r, &mut budget) {
            Ok(None) => return ReadOutcome::Closed,
            Ok(Some(l)) if l.is_empty() => continue,
            Ok(Some(l)) => break l,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => return ReadOutcome::Bad,
            Err(_) => return ReadOutcome::Closed,
        }
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return ReadOutcome::Bad;
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return ReadOutcome::Bad,
    };
    if method.is_empty() || target.is_empty() {
        return ReadOutcome::Bad;
    }
    let mut headers = Vec::new();
    loop {
        match read_line(r, &mut budget) {
            Ok(Some(l)) if l.is_empty() => break,
            Ok(Some(l)) => match l.split_once(':') {
                Some((n, v)) if !n.is_empty() && !n.contains(' ') => {
                    headers.push((n.to_string(), v.trim().to_string()));
                }
                _ => return ReadOutcome::Bad,
            },
            Ok(None) => return ReadOutcome::Closed,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => return ReadOutcome::Bad,
            Err(_) => return ReadOutcome::Closed,
        }
    }
    let mut req = Request {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        keep_alive: false,
    };
    let conn = req.header("Connection").map(str::to_ascii_lowercase);
    req.keep_alive = match conn.as_deref() {
        Some(c) if c.contains("close") => false,
        Some(c) if c.contains("keep-alive") => true,
        _ => !http10,
    };
    if req.header("Transfer-Encoding").is_some() {
        return ReadOutcome::Bad;
    }
    if let Some(len) = req.header("Content-Length") {
        let Ok(len) = len.parse::<u64>() else {
            return ReadOutcome::Bad;
        };
        if len > MAX_BODY {
            return ReadOutcome::Bad;
        }
        if io::copy(&mut r.by_ref().take(len), &mut io::sink()).map_or(true, |n| n != len) {
            return ReadOutcome::Closed;
        }
    }
    ReadOutcome::Request(req)
}

/// How a response body is delivered.
pub(crate) enum Body {
    /// Written at once.
    Bytes(Vec<u8>),
    /// Written in small pieces spread over the duration.
    Slow(Vec<u8>, Duration),
    /// `n` bytes streamed from a small repeating buffer.
    Oversize(u64),
    /// A body generated as it is written.
    Generated(Generated),
}

/// A large hostile body, produced piece by piece (never held whole).
#[derive(Clone, Debug)]
pub(crate) enum Generated {
    /// A page of this many minimal call objects.
    OverLimit(u64),
    /// A page of one call with this many numbers in an unknown field.
    Numbers(u64),
}

const GENERATED_HEAD: &[u8] = br#"{"api_id":"00000000-0000-4000-8000-000000000000","meta":{"limit":20,"offset":0,"total_count":100000000,"previous":null,"next":null},"objects":["#;

impl Generated {
    /// Writes the body to `w`.
    pub(crate) fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut out = io::BufWriter::with_capacity(64 * 1024, w);
        out.write_all(GENERATED_HEAD)?;
        match self {
            Generated::OverLimit(n) => {
                for i in 0..*n {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    write!(out, "{{\"call_uuid\":\"h{i}\"}}")?;
                }
                out.write_all(b"]}")?;
            }
            Generated::Numbers(n) => {
                out.write_all(br#"{"call_uuid":"many-numbers","x":["#)?;
                for i in 0..*n {
                    out.write_all(if i > 0 { b",1" } else { b"1" })?;
                }
                out.write_all(b"]}]}")?;
            }
        }
        out.flush()
    }

    /// The body's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        struct Count(u64);
        impl Write for Count {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0 += b.len() as u64;
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut c = Count(0);
        match self.write_to(&mut c) {
            Ok(()) => c.0,
            Err(_) => 0,
        }
    }

    /// The body compressed with gzip (only the compressed bytes are held).
    pub(crate) fn gzip(&self) -> io::Result<Vec<u8>> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        self.write_to(&mut e)?;
        e.finish()
    }
}

/// A response to write.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
}

impl Reply {
    /// A JSON response.
    pub(crate) fn json(status: u16, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Bytes(body),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

const OVERSIZE_PREFIX: &[u8] = b"{\"api_id\": \"00000000-0000-4000-8000-000000000000\", \"meta\": {\"limit\": 20, \"offset\": 0, \"total_count\": 1, \"previous\": null, \"next\": null}, \"objects\": [";
const OVERSIZE_UNIT: &[u8] = b"{\"call_uuid\": \"00000000-0000-4000-8000-000000000000\", \"padding\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}, ";

/// Write `reply`; `sleep` waits and returns false when the server stops.
pub(crate) fn write_reply(
    w: &mut impl Write,
    reply: &Reply,
    keep_alive: bool,
    sleep: &dyn Fn(Duration) -> bool,
) -> io::Result<()> {
    let len = match &reply.body {
        Body::Bytes(b) | Body::Slow(b, _) => b.len() as u64,
        Body::Oversize(n) => *n,
        Body::Generated(g) => g.len(),
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nDate: {}\r\nConnection: {}\r\n",
        reply.status,
        reason(reply.status),
        chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT"),
        if keep_alive { "keep-alive" } else { "close" },
    );
    for (n, v) in &reply.headers {
        head.push_str(n);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    match &reply.body {
        Body::Bytes(b) => {
            let mut all = head.into_bytes();
            all.extend_from_slice(b);
            w.write_all(&all)?;
        }
        Body::Slow(b, total) => {
            w.write_all(head.as_bytes())?;
            w.flush()?;
            let pieces = b.len().clamp(1, 20);
            let size = b.len().div_ceil(pieces).max(1);
            let n = b.len().div_ceil(size).max(1);
            let interval = *total / u32::try_from(n).unwrap_or(u32::MAX);
            for chunk in b.chunks(size) {
                if !sleep(interval) {
                    return Err(io::Error::new(io::ErrorKind::Interrupted, "stopping"));
                }
                w.write_all(chunk)?;
                w.flush()?;
            }
        }
        Body::Generated(g) => {
            w.write_all(head.as_bytes())?;
            g.write_to(w)?;
        }
        Body::Oversize(n) => {
            w.write_all(head.as_bytes())?;
            let mut block = Vec::with_capacity(64 * 1024 + OVERSIZE_UNIT.len());
            while block.len() < 64 * 1024 {
                block.extend_from_slice(OVERSIZE_UNIT);
            }
            let mut left = *n;
            let first = OVERSIZE_PREFIX
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            w.write_all(&OVERSIZE_PREFIX[..first])?;
            left -= first as u64;
            while left > 0 {
                let k = block.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                w.write_all(&block[..k])?;
                left -= k as u64;
            }
        }
    }
    w.flush()
}

/// Decode standard base64 (padding optional); `None` on invalid input.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert!(base64_decode("@@").is_none());
    }
}
