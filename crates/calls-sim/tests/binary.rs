//! The `calls-sim` binary: URL on the first line, flags, usage errors.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_calls-sim");

struct Running {
    child: Child,
    base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base:?}");
    Running { child, base }
}

#[test]
fn serves_with_flags() {
    let r = spawn(&[
        "--port",
        "0",
        "--calls",
        "300",
        "--seed",
        "5",
        "--auth-id",
        "MABINARY",
        "--auth-token=tok",
        "--rate-limit-every",
        "2",
        "--retry-after",
        "3",
        "--workers",
        "4",
    ]);
    let path = "/v1/Account/MABINARY/Zentrunk/Call/?limit=3";
    let a = get(&r.base, path, Some(("MABINARY", "tok"))).unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["objects"].as_array().unwrap().len(), 3);
    let b = get(&r.base, path, Some(("MABINARY", "tok"))).unwrap();
    assert_eq!(b.status, 429);
    assert_eq!(b.header("Retry-After"), Some("3"));
    assert_eq!(get(&r.base, path, None).unwrap().status, 401);
    let s = get(&r.base, "/_sim/stats", None).unwrap().json();
    assert_eq!(s["requests"], 3);
    assert_eq!(s["faults_by_kind"]["status_429"], 1);
}

#[test]
fn rate_limit_flag() {
    let r = spawn(&["--calls", "50", "--rate-limit", "2/600"]);
    let auth = Some(("MASIMULATOR000000001", "simulator-token"));
    let path = "/v1/Account/MASIMULATOR000000001/Zentrunk/Call/?limit=1";
    let statuses: Vec<u16> = (0..4)
        .map(|_| get(&r.base, path, auth).unwrap().status)
        .collect();
    assert_eq!(statuses, [200, 200, 429, 429]);
    let refused = get(&r.base, path, auth).unwrap();
    let secs: u64 = refused.header("Retry-After").unwrap().parse().unwrap();
    assert!((590..=600).contains(&secs), "Retry-After {secs}");
    let s = get(&r.base, "/_sim/stats", None).unwrap().json();
    assert_eq!(s["requests"], 5);
    assert_eq!(s["rate_limited"], 3);
    assert_eq!(s["max_in_window"], 2);
    assert_eq!(s["faults"], 0, "the limit's 429s are not faults");
}

#[test]
fn error_drop_malformed_late_flags() {
    let r = spawn(&[
        "--calls",
        "300",
        "--error-every",
        "3",
        "--error-status",
        "502",
        "--drop-every",
        "4",
        "--malformed-every",
        "5",
        "--late",
        "4",
        "--late-after",
        "100",
        "--default-window-days",
        "10",
        "--max-range-days",
        "20",
        "--retention-days",
        "60",
    ]);
    let auth = Some(("MASIMULATOR000000001", "simulator-token"));
    let path = "/v1/Account/MASIMULATOR000000001/Zentrunk/Call/";
    let kinds: Vec<String> = (0..5)
        .map(|_| match get(&r.base, path, auth) {
            Ok(resp) if resp.status == 200 => {
                if serde_json::from_slice::<serde_json::Value>(&resp.body).is_ok() {
                    "ok".into()
                } else {
                    "malformed".into()
                }
            }
            Ok(resp) => resp.status.to_string(),
            Err(_) => "io".into(),
        })
        .collect();
    assert_eq!(kinds, ["ok", "ok", "502", "io", "malformed"]);
}

#[test]
fn help_and_usage_errors() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--rate-limit-every"));

    for args in [
        &["--bogus"][..],
        &["--port"],
        &["--port", "99999"],
        &["--calls", "many"],
        &["--error-rate", "2"],
        &["--drop-every", "0"],
        &["--rate-limit", "300"],
        &["--rate-limit", "300/0"],
        &["--rate-limit", "x/5"],
        &["--rate-limit", "300/-1"],
        &["positional"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
        assert!(out.stdout.is_empty());
    }
}
