//! HTTPS: a development PKI and the server's rustls configuration.
//!
//! On first start with TLS on, the headend makes a development CA (ten
//! years) and a server certificate signed by it (one year, for the
//! configured host names and loopback addresses), under `<data-dir>/tls/`.
//! Private keys are written 0600. Boxes trust `ca.pem` as their operator
//! CA; nothing else is trusted, and nothing ever skips verification.
//! An operator with a real certificate points `[tls]` at it instead.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("TLS file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error("cannot generate the development certificates: {0}")]
    Generate(#[from] rcgen::Error),
    /// The certificate or key files are not usable.
    #[error("invalid TLS certificate or key: {0}")]
    Invalid(String),
}

/// The PEM files the server uses.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA boxes trust.
    pub ca_cert: PathBuf,
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// The server's private key (0600).
    pub key: PathBuf,
}

/// Makes the development CA and server certificate in `dir` unless they
/// exist; returns their paths.
pub fn ensure_dev_pki(dir: &Path, names: &[String]) -> Result<TlsFiles, TlsError> {
    let files = TlsFiles {
        ca_cert: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    if files.ca_cert.exists() && files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "ottbox development CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let ca_cert = ca.self_signed(&ca_key)?;

    let key = KeyPair::generate()?;
    let mut server = CertificateParams::new(names.to_vec())?;
    server
        .distinguished_name
        .push(DnType::CommonName, "ottbox headend");
    for ip in ["127.0.0.1", "::1"] {
        if let Ok(ip) = ip.parse() {
            server.subject_alt_names.push(SanType::IpAddress(ip));
        }
    }
    // Valid from the start of last year to the start of the year after next:
    // calendar dates keep this free of a time-zone crate.
    let year = this_year();
    server.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    server.not_after = rcgen::date_time_ymd(year + 2, 1, 1);
    let cert = server.signed_by(&key, &ca_cert, &ca_key)?;

    write(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write(
        &dir.join("ca.key"),
        ca_key.serialize_pem().as_bytes(),
        0o600,
    )?;
    write(
        &files.cert,
        format!("{}{}", cert.pem(), ca_cert.pem()).as_bytes(),
        0o644,
    )?;
    write(&files.ca_cert, ca_cert.pem().as_bytes(), 0o644)?;
    Ok(files)
}

pub(crate) fn this_year() -> i32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    1970 + (secs / 31_556_952) as i32
}

/// Writes a file with `mode` from creation on (no window where a key is
/// readable by others).
pub(crate) fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let io = |source| TlsError::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

/// The rustls server configuration for `files` (ring crypto, TLS 1.2+).
///
/// With `device_ca`, clients may present a device certificate: one signed
/// by that CA is accepted and reaches handlers (see
/// [`crate::server::device_auth`]), any other certificate fails the
/// handshake, and no certificate at all is allowed at the TLS level (a box
/// must reach enrollment before it has one); the routes that need a device
/// refuse such calls themselves.
pub fn server_config(
    files: &TlsFiles,
    device_ca: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Invalid(format!("{}: {e}", files.cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| TlsError::Invalid(format!("{}: {e}", files.key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    let builder = match device_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| TlsError::Invalid(format!("{}: {e}", path.display())))?
            {
                let cert =
                    cert.map_err(|e| TlsError::Invalid(format!("{}: {e}", path.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| TlsError::Invalid(format!("{}: {e}", path.display())))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|e| TlsError::Invalid(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Invalid(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Issues a server certificate for a CDN edge from the development CA in
/// `tls_dir` (made by [`ensure_dev_pki`]), for loopback addresses and
/// `names`; writes `<name>.pem` (chain) and `<name>.key` (0600) into
/// `out_dir`. Boxes that trust the headend's CA then trust its edges too.
pub fn issue_edge_cert(
    tls_dir: &Path,
    out_dir: &Path,
    name: &str,
    names: &[String],
) -> Result<crate::cdn_edge::EdgeCert, TlsError> {
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).map_err(|source| TlsError::Io { path, source })
    };
    let ca_pem = read(tls_dir.join("ca.pem"))?;
    let ca_key = KeyPair::from_pem(&read(tls_dir.join("ca.key"))?)?;
    // The issuer's name and key are what a signature needs; re-signing the
    // CA's own parameters gives an issuer object with both.
    let ca = CertificateParams::from_ca_cert_pem(&ca_pem)?.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("ottbox CDN edge {name}"));
    for ip in ["127.0.0.1", "::1"] {
        if let Ok(ip) = ip.parse() {
            params.subject_alt_names.push(SanType::IpAddress(ip));
        }
    }
    let year = this_year();
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + 2, 1, 1);
    let cert = params.signed_by(&key, &ca, &ca_key)?;
    let files = crate::cdn_edge::EdgeCert {
        cert: out_dir.join(format!("{name}.pem")),
        key: out_dir.join(format!("{name}.key")),
    };
    write(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write(
        &files.cert,
        format!("{}{ca_pem}", cert.pem()).as_bytes(),
        0o644,
    )?;
    Ok(files)
}
