//! The device CA: client certificates for enrolled boxes.
//!
//! A box proves who it is with a key pair it made itself. It sends a
//! certificate signing request (PKCS#10, PEM); the headend checks the
//! request's self-signature, and signs a client certificate for the box's
//! serial with the device CA (`<data-dir>/tls/device-ca.pem`, key 0600),
//! made on first use like the development TLS CA in [`crate::tls`]. Only
//! the public key of the request is kept: the subject is the serial, the
//! certificate is for client authentication only, whatever the box asked.
//!
//! The TLS server trusts this CA for client certificates (see
//! [`crate::tls::server_config`]); handlers then identify the box by the
//! SHA-256 fingerprint of the certificate it presented
//! ([`fingerprint`]), looked up in the device table ([`crate::db::devices`]).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use sha2::{Digest, Sha256};

use crate::tls::TlsError;

/// Longest serial accepted.
const MAX_SERIAL: usize = 64;

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    /// The serial is empty, too long or has characters outside
    /// `A-Z a-z 0-9 - _ .`.
    #[error("invalid serial: 1-{MAX_SERIAL} of A-Z a-z 0-9 - _ . expected")]
    InvalidSerial,
    /// The CSR is not PEM, not PKCS#10, or its signature does not verify.
    #[error("invalid certificate signing request: {0}")]
    InvalidCsr(String),
    /// Signing failed.
    #[error("cannot sign the device certificate: {0}")]
    Sign(#[from] rcgen::Error),
}

impl EnrollError {
    /// A stable code for logs and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidSerial => "invalid_serial",
            Self::InvalidCsr(_) => "invalid_csr",
            Self::Sign(_) => "sign_failed",
        }
    }
}

/// A certificate issued to a box.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The device certificate then the CA certificate, PEM.
    pub chain_pem: String,
    /// SHA-256 of the device certificate's DER, lower-case hex.
    pub fingerprint: String,
}

/// The device CA, loaded into memory.
pub struct DeviceCa {
    key: KeyPair,
    cert: Certificate,
    /// The CA certificate exactly as stored (what boxes get in their chain).
    cert_pem: String,
    /// The CA certificate's PEM file (the TLS server's client-auth root).
    pub cert_path: PathBuf,
}

impl std::fmt::Debug for DeviceCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("DeviceCa")
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

impl DeviceCa {
    /// Loads the device CA from `dir`, making it on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, TlsError> {
        let cert_path = dir.join("device-ca.pem");
        let key_path = dir.join("device-ca.key");
        let invalid = |e: rcgen::Error| TlsError::Invalid(format!("device CA: {e}"));
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| TlsError::Io {
                path: path.to_owned(),
                source,
            })
        };
        if cert_path.exists() && key_path.exists() {
            let key = KeyPair::from_pem(&read(&key_path)?).map_err(invalid)?;
            // rcgen needs a `Certificate` to sign with; re-creating it from
            // the stored parameters and key gives the same subject and key
            // identifier, which is all a child certificate refers to.
            let cert_pem = read(&cert_path)?;
            let params = CertificateParams::from_ca_cert_pem(&cert_pem).map_err(invalid)?;
            let cert = params.self_signed(&key).map_err(invalid)?;
            return Ok(Self {
                key,
                cert,
                cert_pem,
                cert_path,
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| TlsError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "ottbox device CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_after = rcgen::date_time_ymd(2036, 1, 1);
        let cert = params.self_signed(&key)?;
        crate::tls::write(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
        crate::tls::write(&cert_path, cert.pem().as_bytes(), 0o644)?;
        Ok(Self {
            key,
            cert_pem: cert.pem(),
            cert,
            cert_path,
        })
    }

    /// Signs a client certificate for `serial` over the public key of
    /// `csr_pem`.
    pub fn sign(&self, serial: &str, csr_pem: &str) -> Result<Issued, EnrollError> {
        check_serial(serial)?;
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| EnrollError::InvalidCsr(e.to_string()))?;
        // What the certificate says is the headend's decision, not the box's.
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, serial);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let year = crate::tls::this_year();
        params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
        params.not_after = rcgen::date_time_ymd(year + 10, 1, 1);
        csr.params = params;
        let cert = csr.signed_by(&self.cert, &self.key)?;
        Ok(Issued {
            fingerprint: fingerprint(cert.der()),
            chain_pem: format!("{}{}", cert.pem(), self.cert_pem),
        })
    }
}

/// SHA-256 of a certificate's DER, lower-case hex: how the device table
/// knows a certificate.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

fn check_serial(serial: &str) -> Result<(), EnrollError> {
    let ok = !serial.is_empty()
        && serial.len() <= MAX_SERIAL
        && serial
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(EnrollError::InvalidSerial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(key: &KeyPair) -> String {
        CertificateParams::new(vec!["box.example".to_owned()])
            .expect("params")
            .serialize_request(key)
            .expect("csr")
            .pem()
            .expect("pem")
    }

    #[test]
    fn signs_a_client_certificate_and_survives_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = DeviceCa::load_or_create(dir.path()).expect("ca");
        let key = KeyPair::generate().expect("key");
        let issued = ca.sign("BOX-0001", &csr(&key)).expect("signed");
        assert_eq!(issued.chain_pem.matches("BEGIN CERTIFICATE").count(), 2);
        assert_eq!(issued.fingerprint.len(), 64);

        // The same CA after a restart: the same root certificate on disk.
        let before = std::fs::read(&ca.cert_path).expect("pem");
        let again = DeviceCa::load_or_create(dir.path()).expect("reload");
        again.sign("BOX-0002", &csr(&key)).expect("signed again");
        assert_eq!(std::fs::read(&again.cert_path).expect("pem"), before);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("device-ca.key"))
                .expect("key")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn bad_serials_and_requests_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = DeviceCa::load_or_create(dir.path()).expect("ca");
        let key = KeyPair::generate().expect("key");
        for serial in ["", "a/b", "x y", &"9".repeat(65)] {
            let err = ca.sign(serial, &csr(&key)).expect_err("bad serial");
            assert_eq!(err.code(), "invalid_serial", "{serial:?}");
        }
        let err = ca.sign("BOX-1", "not a csr").expect_err("garbage");
        assert_eq!(err.code(), "invalid_csr");
        // A CSR whose body was altered no longer matches its signature.
        let good = csr(&key);
        let der = rustls::pki_types::pem::PemObject::from_pem_slice(good.as_bytes())
            .map(|d: rustls::pki_types::CertificateSigningRequestDer<'_>| d.as_ref().to_vec())
            .expect("der");
        let mut tampered = der.clone();
        let i = tampered.len() / 3;
        tampered[i] ^= 0x01;
        let pem = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &tampered)
        );
        let err = ca.sign("BOX-1", &pem).expect_err("tampered");
        assert_eq!(err.code(), "invalid_csr");
    }
}
