//! The box's device identity, for mutual TLS with the headend.
//!
//! After the viewer signs in, the box makes a key pair that never leaves
//! it and sends a certificate request to the headend's device CA
//! ([`ottbox_protocol::device`]); the signed certificate and the key are
//! kept in the tokens tree (the 0600 store, never logged) and presented in
//! every TLS handshake with the headend from then on, so license and
//! playback calls work where the operator requires an enrolled device.
//! Signing out forgets the identity with the rest of the account; the
//! serial stays (it names the box, not the viewer).

use ottbox_protocol::device::EnrollRequest;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use serde::{Deserialize, Serialize};

use crate::net::{Headend, HeadendError};
use crate::store::{Store, StoreError};

/// Where the identity is kept (tokens tree).
const IDENTITY_KEY: &str = "device";
/// Where the box's serial is kept (meta tree) when config names none.
const SERIAL_KEY: &str = "device.serial";

/// Why the box could not enroll.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    /// The key pair or the request could not be made.
    #[error("device_key: {0}")]
    Key(String),
    /// The headend refused or could not be reached.
    #[error(transparent)]
    Headend(#[from] HeadendError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The key and the certificate chain, PEM.
#[derive(Clone, Serialize, Deserialize)]
pub struct Identity {
    /// The serial the certificate names.
    pub serial: String,
    key_pem: String,
    chain_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Identity")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// The key and chain in one PEM, as the TLS client takes them.
    pub fn pem(&self) -> Vec<u8> {
        format!("{}\n{}", self.key_pem, self.chain_pem).into_bytes()
    }
}

/// The identity kept in `store`, if the box enrolled.
pub fn load(store: &Store) -> Option<Identity> {
    store.get(&store.tokens, IDENTITY_KEY)
}

/// The box's serial: `configured` if set, else one made up once and kept.
pub fn serial(store: &Store, configured: &str) -> Result<String, StoreError> {
    if !configured.is_empty() {
        return Ok(configured.to_owned());
    }
    if let Some(kept) = store.get::<String>(&store.meta, SERIAL_KEY) {
        return Ok(kept);
    }
    let made = format!("stb-{}", &crate::ids::new_id()[..16]);
    store.put(&store.meta, SERIAL_KEY, &made)?;
    store.flush()?;
    Ok(made)
}

/// Makes a key pair, has the headend sign its certificate with `access`,
/// keeps both and makes `headend` present them.
pub async fn enroll(
    store: &Store,
    headend: &Headend,
    access: &str,
    serial: &str,
) -> Result<Identity, EnrollError> {
    let key = KeyPair::generate().map_err(|e| EnrollError::Key(e.to_string()))?;
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| EnrollError::Key(e.to_string()))?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, serial);
    params.distinguished_name = name;
    let csr = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .map_err(|e| EnrollError::Key(e.to_string()))?;
    let reply = headend
        .enroll(
            access,
            &EnrollRequest {
                serial: serial.to_owned(),
                csr_pem: csr,
            },
        )
        .await?;
    let identity = Identity {
        serial: reply.serial,
        key_pem: key.serialize_pem(),
        chain_pem: reply.certificate_chain_pem,
    };
    headend.set_identity(Some(&identity.pem()))?;
    store.put(&store.tokens, IDENTITY_KEY, &identity)?;
    store.flush()?;
    tracing::info!(serial = %identity.serial, "device enrolled");
    Ok(identity)
}
