//! HTTPS against calls-sim's HTTPS mode: a CA file that trusts the sim's CA
//! works (one page, a whole concurrent export); a wrong CA, or none (the
//! built-in roots), is refused at once: one connection, one failed
//! handshake, no request, not retried, and a message that says the
//! certificate is not trusted and how to trust one.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use calls_core::{CallQuery, Client, Error, TlsRoots};
use calls_sim::{Sim, SimConfig};
use common::{AUTH_ID, TOKEN};

fn https_sim(calls: usize) -> Sim {
    Sim::start(SimConfig {
        auth_id: AUTH_ID.into(),
        auth_token: TOKEN.into(),
        calls,
        seed: 42,
        https: true,
        ..SimConfig::default()
    })
    .expect("calls-sim starts in HTTPS mode")
}

/// A file in the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, body: &str) -> TempFile {
        let p = std::env::temp_dir().join(format!("calls-https-{}-{name}", std::process::id()));
        std::fs::write(&p, body).expect("temp file written");
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn ca_file_of(sim: &Sim, name: &str) -> TempFile {
    TempFile::new(name, sim.ca_pem().expect("an HTTPS sim has a CA"))
}

/// Polls the sim's counters (the server side of a refused handshake ends
/// on its own thread, after the client returned).
fn wait_for(sim: &Sim, what: &str, done: impl Fn(&calls_sim::Stats) -> bool) -> calls_sim::Stats {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let s = sim.stats();
        if done(&s) || Instant::now() > until {
            assert!(done(&s), "{what}: {s:?}");
            return s;
        }
        std::thread::yield_now();
    }
}

fn week() -> CallQuery {
    CallQuery::new()
}

#[test]
fn the_sims_ca_file_is_trusted_page_and_export() {
    let sim = https_sim(2000);
    assert!(sim.base_url().starts_with("https://127.0.0.1:"));
    let ca = ca_file_of(&sim, "right.pem");
    let client = common::builder(&sim)
        .ca_file(&ca.0)
        .concurrency(4)
        .build()
        .expect("client builds");
    let page = client.list_page(&week(), 20, 0).expect("a page over HTTPS");
    let newest = sim.expected(&[]).expect("expected set");
    assert!(newest.len() > 20, "{}", newest.len());
    assert_eq!(
        common::uuids(&page.objects),
        common::uuids_of_json(&newest[..20])
    );
    let since = sim.started_at() - chrono::Duration::days(25);
    let q = CallQuery::new().end_time(calls_core::Cmp::Gte, since);
    let all: Vec<_> = client
        .calls(&q)
        .collect::<Result<_, _>>()
        .expect("an export over HTTPS");
    let expected = sim
        .expected(&[(
            "end_time__gte",
            &since.format("%Y-%m-%d %H:%M:%S").to_string(),
        )])
        .expect("expected set");
    assert_eq!(common::uuids(&all), common::uuids_of_json(&expected));
    let s = sim.stats();
    assert_eq!(s.tls_handshakes_failed, 0);
    assert!(s.tls_handshakes >= 1, "{s:?}");
}

/// One client that counts its attempts; the default retry policy (4 retries).
fn counting_client(sim: &Sim, ca: Option<&TempFile>) -> (Client, Arc<AtomicU32>) {
    let attempts = Arc::new(AtomicU32::new(0));
    let a2 = Arc::clone(&attempts);
    let mut b = Client::builder(AUTH_ID, TOKEN)
        .base_url(sim.base_url())
        .rate_limit(0, Duration::from_secs(5))
        .on_request(move |_| {
            a2.fetch_add(1, Ordering::SeqCst);
        });
    if let Some(ca) = ca {
        b = b.ca_file(&ca.0);
    }
    (b.build().expect("client builds"), attempts)
}

fn assert_refused(sim: &Sim, client: &Client, attempts: &AtomicU32) {
    let err = client
        .list_page(&week(), 20, 0)
        .expect_err("an untrusted certificate is refused");
    let shown = err.to_string();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(
        !err.is_retryable() || shown.contains("not retried"),
        "{shown}"
    );
    assert!(shown.contains("not trusted (UnknownIssuer)"), "{shown}");
    assert!(shown.contains("ClientBuilder::ca_file"), "{shown}");
    assert!(
        shown.contains("calls_client_builder_set_ca_file"),
        "{shown}"
    );
    assert!(!shown.contains(TOKEN), "{shown}");
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "one attempt, not retried"
    );
    let s = wait_for(sim, "one refused handshake", |s| {
        s.tls_handshakes_failed == 1
    });
    assert_eq!(s.tls_handshakes, 0, "{s:?}");
    assert_eq!(s.requests, 0, "no request reached the sim: {s:?}");
}

#[test]
fn a_wrong_ca_is_refused_once_with_a_clear_message() {
    let sim = https_sim(50);
    let other = https_sim(1);
    let wrong = ca_file_of(&other, "wrong.pem");
    let (client, attempts) = counting_client(&sim, Some(&wrong));
    assert_refused(&sim, &client, &attempts);
}

#[test]
fn the_built_in_roots_refuse_a_private_ca() {
    let sim = https_sim(50);
    let (client, attempts) = counting_client(&sim, None);
    assert_refused(&sim, &client, &attempts);
}

#[test]
fn a_bundle_with_the_ca_among_others_is_trusted() {
    let sim = https_sim(50);
    let other = https_sim(1);
    let bundle = format!(
        "some text before\n{}{}",
        other.ca_pem().unwrap(),
        sim.ca_pem().unwrap()
    );
    let ca = TempFile::new("bundle.pem", &bundle);
    let (client, attempts) = counting_client(&sim, Some(&ca));
    client
        .list_page(&week(), 5, 0)
        .expect("trusted through the bundle");
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}

#[test]
fn the_user_agent_reaches_the_server() {
    let sim = https_sim(50);
    let ca = ca_file_of(&sim, "ua.pem");
    let client = common::builder(&sim).ca_file(&ca.0).build().unwrap();
    client.list_page(&week(), 1, 0).unwrap();
    let default = format!("calls/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(sim.stats().user_agent.as_deref(), Some(default.as_str()));
    let client = common::builder(&sim)
        .ca_file(&ca.0)
        .user_agent("my-app/2.0 (+https://example.invalid)")
        .build()
        .unwrap();
    client.list_page(&week(), 1, 0).unwrap();
    assert_eq!(
        sim.stats().user_agent.as_deref(),
        Some("my-app/2.0 (+https://example.invalid)")
    );
}

/// A server that accepts TCP but never answers the TLS hello: the connect
/// timeout (which covers the handshake) ends the attempt, before the
/// request's own timeout would.
#[test]
fn the_connect_timeout_bounds_the_tls_handshake() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("https://{}", silent.local_addr().unwrap());
    let attempt = |connect: Option<Duration>| {
        let mut b = Client::builder(AUTH_ID, TOKEN)
            .base_url(base.as_str())
            .max_retries(0)
            .timeout(Duration::from_secs(1));
        if let Some(d) = connect {
            b = b.connect_timeout(d);
        }
        b.build().unwrap().list_page(&week(), 1, 0).unwrap_err()
    };
    let e = attempt(Some(Duration::from_millis(100)));
    assert!(
        matches!(&e, Error::Timeout(m) if m.contains("Connect")),
        "{e:?}"
    );
    // The default (10 s) is longer than the request's 1 s: that one ends it.
    let e = attempt(None);
    assert!(
        matches!(&e, Error::Timeout(m) if m.contains("Global")),
        "{e:?}"
    );
    drop(silent);
}

#[test]
fn unusable_ca_files_are_refused_by_build() {
    let sim = https_sim(1);
    let missing = std::env::temp_dir().join("calls-https-missing-ca.pem");
    let e = common::builder(&sim)
        .ca_file(&missing)
        .build()
        .expect_err("a missing CA file");
    let shown = e.to_string();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(shown.contains("calls-https-missing-ca.pem"), "{shown}");
    let not_pem = TempFile::new("notpem.pem", "not a certificate\n");
    let e = common::builder(&sim)
        .ca_file(&not_pem.0)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
    let ca = ca_file_of(&sim, "platform.pem");
    let e = common::builder(&sim)
        .ca_file(&ca.0)
        .tls_roots(TlsRoots::Platform)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("TlsRoots::Platform"), "{e}");
    let s = sim.stats();
    assert_eq!(
        s.tls_handshakes + s.tls_handshakes_failed,
        0,
        "nothing was sent"
    );
}
