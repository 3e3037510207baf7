//! TLS trust: a CA bundle file to verify servers against, and the error a
//! server certificate that is not trusted ends a request with.
//!
//! A CA file **replaces** the built-in roots, as libcurl's `CURLOPT_CAINFO`
//! does: only the certificates in the file are trusted. To trust a private
//! CA as well as the public ones, give a file holding both (for example the
//! system bundle, `/etc/ssl/certs/ca-certificates.crt` on Debian, with the
//! private CA appended).
//!
//! A certificate the client does not trust is final: sending again cannot
//! change the answer, so it is not retried, and the message says how to
//! trust one.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The largest CA file read (a full system bundle is about 200 KiB).
const MAX_CA_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What a certificate error tells a user to do.
pub(crate) const HOW_TO_TRUST: &str = "to trust the CA that issued it (a private CA, or a \
     TLS-inspecting proxy's), give its PEM file to ClientBuilder::ca_file \
     (calls_client_builder_set_ca_file in C)";

/// Reads a PEM file of CA certificates: every `CERTIFICATE` block in it
/// (other blocks, such as keys, and text between blocks are skipped).
///
/// Refused (`InvalidArgument`, naming the file): a file that cannot be read,
/// is larger than 16 MiB, is not PEM, or holds no certificate usable as a
/// trust anchor.
pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let shown = path.display();
    let bad = |why: String| Error::InvalidArgument(format!("CA file `{shown}`: {why}"));
    let file = std::fs::File::open(path).map_err(|e| bad(format!("cannot be opened: {e}")))?;
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1)
        .read_to_end(&mut pem)
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(bad(format!(
            "is larger than {} MiB",
            MAX_CA_FILE_BYTES / 1024 / 1024
        )));
    }
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(bad(format!("is not valid PEM: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(bad(
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    // The same parse rustls applies when it builds the trust store: a file
    // none of whose certificates it could use would trust nothing.
    let mut store = rustls::RootCertStore::empty();
    let (added, ignored) = store.add_parsable_certificates(
        certs
            .iter()
            .map(|c| rustls::pki_types::CertificateDer::from(c.der())),
    );
    if added == 0 {
        return Err(bad(format!(
            "none of its {ignored} certificate(s) can be used as a trust anchor"
        )));
    }
    Ok(certs)
}

/// The error for a server certificate the client refused, if `e` is one:
/// final (not retried), saying it is not trusted and how to trust one.
pub(crate) fn certificate_error(e: &ureq::Error) -> Option<Error> {
    let tls = match e {
        ureq::Error::Rustls(t) => t,
        ureq::Error::Io(io) => io.get_ref()?.downcast_ref::<rustls::Error>()?,
        _ => return None,
    };
    let rustls::Error::InvalidCertificate(why) = tls else {
        return None;
    };
    Some(Error::Transport(format!(
        "the server's TLS certificate is not trusted ({why:?}); not retried; {HOW_TO_TRUST}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, body: &[u8]) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("calls-tls-{}-{name}", std::process::id()));
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn ca_files_that_trust_nothing_are_refused() {
        let missing = std::env::temp_dir().join("calls-tls-no-such-file.pem");
        let e = read_ca_file(&missing).unwrap_err().to_string();
        assert!(
            e.contains("cannot be opened") && e.contains("no-such-file"),
            "{e}"
        );
        let p = temp("empty.pem", b"just some text\n");
        let e = read_ca_file(&p).unwrap_err().to_string();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        let p = temp(
            "garbage.pem",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let e = read_ca_file(&p).unwrap_err().to_string();
        assert!(e.contains("trust anchor"), "{e}");
        let p = temp(
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        );
        assert!(read_ca_file(&p).is_err());
    }

    #[test]
    fn a_certificate_error_is_final_and_says_how_to_trust() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let e = certificate_error(&ureq::Error::Io(io)).expect("a certificate error");
        let shown = e.to_string();
        assert!(shown.contains("not trusted"), "{shown}");
        assert!(shown.contains("UnknownIssuer"), "{shown}");
        assert!(
            shown.contains("calls_client_builder_set_ca_file"),
            "{shown}"
        );
        assert!(shown.contains("ClientBuilder::ca_file"), "{shown}");
        // Other I/O and TLS failures are not certificate errors.
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(certificate_error(&ureq::Error::Io(reset)).is_none());
        let alert = ureq::Error::Rustls(rustls::Error::HandshakeNotComplete);
        assert!(certificate_error(&alert).is_none());
    }
}
