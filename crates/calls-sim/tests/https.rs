//! The HTTPS mode: `calls-sim --https CA_FILE` prints an `https://` URL after
//! writing its CA; a TLS client trusting that CA completes the handshake and
//! gets answers, one trusting another CA is refused (and counted); the
//! library's `Sim::ca_pem` differs at every start.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use calls_sim::{Sim, SimConfig};

const BIN: &str = env!("CARGO_BIN_EXE_calls-sim");

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A rustls client trusting the certificates of `ca_pem`.
fn client_config(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for item in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()) {
        let cert: rustls::pki_types::CertificateDer<'static> = item.expect("PEM");
        roots.add(cert).expect("a CA certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// GET `path` over TLS from `https://127.0.0.1:PORT`; the whole response.
fn get(base: &str, config: Arc<rustls::ClientConfig>, path: &str) -> std::io::Result<String> {
    let addr = base.strip_prefix("https://").expect("an https URL");
    let tcp = TcpStream::connect(addr)?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    tls.flush()?;
    let mut out = String::new();
    // The sim closes without close_notify: what arrived before that counts.
    match tls.read_to_string(&mut out) {
        Ok(_) => Ok(out),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => Ok(out),
        Err(e) => Err(e),
    }
}

#[test]
fn the_binary_writes_its_ca_and_serves_https() {
    let dir = std::env::temp_dir();
    let ca_path = dir.join(format!("calls-sim-https-{}.pem", std::process::id()));
    let _ = std::fs::remove_file(&ca_path);
    let mut child = Command::new(BIN)
        .args(["--calls", "20", "--https"])
        .arg(&ca_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _running = Running(child);
    let base = line.trim().to_string();
    assert!(base.starts_with("https://127.0.0.1:"), "{base:?}");
    // Written before the URL was printed.
    let ca = std::fs::read_to_string(&ca_path).expect("the CA file");
    let _ = std::fs::remove_file(&ca_path);
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    let answer = get(&base, client_config(&ca), "/_sim/stats").expect("a TLS answer");
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.contains("\"tls_handshakes\":1"), "{answer}");

    // Another CA: the handshake fails on both sides.
    let other = Sim::start(SimConfig {
        https: true,
        calls: 1,
        ..SimConfig::default()
    })
    .unwrap();
    let e = get(&base, client_config(other.ca_pem().unwrap()), "/_sim/stats")
        .expect_err("an unknown issuer");
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
    let answer = get(&base, client_config(&ca), "/_sim/stats").unwrap();
    assert!(answer.contains("\"tls_handshakes_failed\":1"), "{answer}");
}

#[test]
fn every_start_makes_a_new_ca_and_http_has_none() {
    let a = Sim::start(SimConfig {
        https: true,
        calls: 1,
        ..SimConfig::default()
    })
    .unwrap();
    let b = Sim::start(SimConfig {
        https: true,
        calls: 1,
        ..SimConfig::default()
    })
    .unwrap();
    assert_ne!(a.ca_pem(), b.ca_pem());
    assert!(a.base_url().starts_with("https://"));
    let plain = Sim::start(SimConfig {
        calls: 1,
        ..SimConfig::default()
    })
    .unwrap();
    assert!(plain.ca_pem().is_none());
    assert!(plain.base_url().starts_with("http://"));
    let path = std::env::temp_dir().join("calls-sim-plain-has-no-ca.pem");
    assert!(plain.write_ca_file(&path).is_err());
}
