//! Device identity: a box enrolls once with its own key pair.
//!
//! The box makes a key pair that never leaves it, and sends a PKCS#10
//! certificate signing request with a valid bearer token to
//! [`ENROLL_PATH`]. The headend signs a client certificate with its device
//! CA and records the device (serial, account, certificate fingerprint).
//! From then on the box presents that certificate in the TLS handshake;
//! where the headend requires it (license and playback calls), a call
//! without it is refused with `device_certificate_required`, and a call
//! from a revoked device with `device_revoked`.

use serde::{Deserialize, Serialize};

/// Where a box enrolls (`POST`, bearer token required).
pub const ENROLL_PATH: &str = "/api/v1/devices/enroll";

/// A box asking for its client certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The box's serial number: 1–64 of `A-Z a-z 0-9 - _ .`.
    pub serial: String,
    /// A PKCS#10 certificate signing request, PEM
    /// (`-----BEGIN CERTIFICATE REQUEST-----`), signed with the box's key.
    pub csr_pem: String,
}

/// The signed certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The serial the certificate was issued to (its common name).
    pub serial: String,
    /// The device certificate followed by the device CA, PEM.
    pub certificate_chain_pem: String,
    /// SHA-256 of the device certificate (DER), lower-case hex.
    pub fingerprint: String,
}
