//! Accounts' credentials, device login and sessions.
//!
//! - [`password`]: argon2 password hashes.
//! - [`device`]: the RFC 8628 device-code state machine (pending → approved
//!   or denied → consumed), with `slow_down` for impatient pollers.
//! - [`sessions`]: a login is a session; it holds a chain of single-use
//!   refresh tokens. Reusing a rotated refresh token (a sign it was stolen)
//!   revokes the whole session, as OAuth 2.0 Security BCP advises; logout
//!   revokes it too, and access tokens carry the session id so that a
//!   revoked session's access tokens stop working at once.
//!
//! Device codes and refresh tokens are random 256-bit strings, stored only
//! as SHA-256 hashes: a copy of the database does not log anyone in.

pub mod device;
pub mod password;
pub mod sessions;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh random secret, base64url.
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// How a secret is stored.
fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
