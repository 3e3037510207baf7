//! HTTPS mode ([`SimConfig::https`](crate::SimConfig::https)): a CA and a
//! server certificate made at start, and the TLS stream a connection is
//! served on.
//!
//! The CA is new at every start (its key never leaves the process); its
//! certificate is what a client is given to trust
//! ([`Sim::ca_pem`](crate::Sim::ca_pem)). The server certificate is issued
//! by it for `localhost`, `127.0.0.1`, `::1` and the listen host.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The server side of the HTTPS mode.
pub(crate) struct Tls {
    pub(crate) config: Arc<rustls::ServerConfig>,
    /// The CA certificate, PEM.
    pub(crate) ca_pem: String,
}

fn cert_error(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("calls-sim: cannot make the certificate: {e}"))
}

impl Tls {
    /// Makes a CA and a server certificate for `host` (and the loopback names).
    pub(crate) fn generate(host: &str) -> io::Result<Tls> {
        let ca_key = KeyPair::generate().map_err(cert_error)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own (from its key), so that another start's CA is
        // another issuer, not a namesake with a bad signature.
        use rcgen::PublicKeyData;
        let id: String = ca_key.der_bytes()[ca_key.der_bytes().len().saturating_sub(8)..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        ca.distinguished_name
            .push(DnType::CommonName, format!("calls-sim test CA {id}"));
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).map_err(cert_error)?;
        let issuer = Issuer::new(ca, ca_key);

        let mut names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        if !names.iter().any(|n| n == host) && !host.is_empty() {
            names.push(host.to_string());
        }
        let key = KeyPair::generate().map_err(cert_error)?;
        let mut leaf = CertificateParams::new(names).map_err(cert_error)?;
        leaf.distinguished_name
            .push(DnType::CommonName, "calls-sim");
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let leaf_cert = leaf.signed_by(&key, &issuer).map_err(cert_error)?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf_cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .map_err(io::Error::other)?;
        Ok(Tls {
            config: Arc::new(config),
            ca_pem: ca_cert.pem(),
        })
    }
}

/// One TLS connection, shared by the reading and the writing half of a
/// connection's thread (they take turns: a request is read whole, then its
/// answer written).
#[derive(Clone)]
pub(crate) struct TlsStream(Rc<RefCell<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>>);

impl TlsStream {
    pub(crate) fn new(config: &Arc<rustls::ServerConfig>, tcp: TcpStream) -> io::Result<Self> {
        let conn = rustls::ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
        Ok(TlsStream(Rc::new(RefCell::new(rustls::StreamOwned::new(
            conn, tcp,
        )))))
    }

    /// Completes the TLS handshake (an error: the client refused it, or left).
    pub(crate) fn handshake(&mut self) -> io::Result<()> {
        self.with(|s| {
            while s.conn.is_handshaking() {
                s.conn.complete_io(&mut s.sock)?;
            }
            Ok(())
        })?
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut rustls::StreamOwned<rustls::ServerConnection, TcpStream>) -> T,
    ) -> io::Result<T> {
        let mut s = self
            .0
            .try_borrow_mut()
            .map_err(|_| io::Error::other("TLS stream used by both halves at once"))?;
        Ok(f(&mut s))
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.with(|s| s.read(buf))?
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.with(|s| s.write(buf))?
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with(|s| s.flush())?
    }
}
