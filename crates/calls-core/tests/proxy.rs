//! Proxies come from the environment (ureq 3's `Proxy::try_from_env`, read
//! when the client is built): `ALL_PROXY`, `all_proxy`, `HTTPS_PROXY`,
//! `https_proxy`, `HTTP_PROXY`, `http_proxy`, in that order, with `NO_PROXY` /
//! `no_proxy` for exceptions.
//!
//! What ureq 3.5 does, read from its source (`proxy.rs`, `run.rs`,
//! `unversioned/transport/connect.rs`): an `http://` proxy is always used
//! through `CONNECT host:port` (a tunnel), also for `http://` targets; there is
//! no built-in bypass for loopback targets, only `NO_PROXY` entries (exact
//! host, `.suffix`, `*suffix`, `prefix*`, `*`). The credentials travel inside
//! the tunnel; the `CONNECT` request itself carries no `Authorization`.
//!
//! This file is its own test binary with a single test, because it changes
//! process-wide environment variables.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use calls_core::{CallQuery, Client, Error};
use common::{AUTH_ID, TOKEN, assert_no_connection, read_head};

const REFUSED: &str = r#"{"api_id":"proxy-test","error":"canned 401"}"#;

fn answer_401(stream: &mut TcpStream) {
    write!(
        stream,
        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{REFUSED}",
        REFUSED.len()
    )
    .unwrap();
}

fn query() -> CallQuery {
    CallQuery::new().call_direction("inbound")
}

fn client(target_port: u16) -> Client {
    Client::builder(AUTH_ID, TOKEN)
        .base_url(format!("http://127.0.0.1:{target_port}"))
        .max_retries(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[test]
fn proxy_from_the_environment_is_used_and_no_proxy_bypasses_it() {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = proxy.local_addr().unwrap().port();
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_port = target.local_addr().unwrap().port();

    // SAFETY: `set_var`/`remove_var` are unsound only while another thread
    // reads or writes the environment. This binary has this one test, so the
    // test harness runs no other test thread, and no thread of ours exists
    // yet: the server threads are spawned after these calls.
    unsafe {
        for v in [
            "NO_PROXY",
            "no_proxy",
            "all_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
        ] {
            std::env::remove_var(v);
        }
        std::env::set_var("ALL_PROXY", format!("http://127.0.0.1:{proxy_port}"));
    }

    // 1. The proxy is used, even for a loopback target, through CONNECT.
    let c = client(target_port);
    let p2 = proxy.try_clone().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = p2.accept().unwrap();
        let connect = read_head(&mut s);
        s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        // Inside the tunnel: the request meant for the target.
        let inner = read_head(&mut s);
        answer_401(&mut s);
        (connect, inner)
    });
    let e = c.list_page(&query(), 20, 0).unwrap_err();
    let (connect, inner) = server.join().unwrap();
    assert!(
        connect.starts_with(&format!("CONNECT 127.0.0.1:{target_port} HTTP/1.1\r\n")),
        "{connect}"
    );
    assert!(
        !connect.to_ascii_lowercase().contains("authorization") && !connect.contains(TOKEN),
        "the CONNECT request carries no credentials: {connect}"
    );
    assert!(
        inner.starts_with(&format!(
            "GET /v1/Account/{AUTH_ID}/Zentrunk/Call/?call_direction=inbound&limit=20&offset=0 HTTP/1.1\r\n"
        )),
        "{inner}"
    );
    assert!(
        inner
            .to_ascii_lowercase()
            .contains("\r\nauthorization: basic "),
        "{inner}"
    );
    match &e {
        Error::Unauthorized(a) => {
            assert_eq!(a.status, 401);
            assert_eq!(a.message, "canned 401");
            assert_eq!(a.api_id.as_deref(), Some("proxy-test"));
        }
        other => panic!("expected the canned 401 through the proxy, got {other:?}"),
    }
    assert_no_connection(&target, "the target, with a proxy");
    proxy.set_nonblocking(false).unwrap();

    // 2. NO_PROXY naming the target host bypasses the proxy. The
    //    environment is read when the client is built.
    // SAFETY: as above; the server thread of step 1 has been joined and the
    // one of step 2 is spawned after this.
    unsafe { std::env::set_var("NO_PROXY", "localhost,127.0.0.1") };
    let c = client(target_port);
    target.set_nonblocking(false).unwrap();
    let t2 = target.try_clone().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = t2.accept().unwrap();
        let head = read_head(&mut s);
        answer_401(&mut s);
        head
    });
    let e = c.list_page(&query(), 20, 0).unwrap_err();
    let head = server.join().unwrap();
    assert!(head.starts_with("GET /v1/Account/"), "{head}");
    assert!(matches!(e, Error::Unauthorized(_)), "{e:?}");
    assert_no_connection(&proxy, "the proxy, with NO_PROXY");
}
