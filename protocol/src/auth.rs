//! Device login: OAuth 2.0 Device Authorization Grant (RFC 8628).
//!
//! The box asks for a code ([`DeviceAuthorization`]), shows the user code
//! and the verification URL (and a QR code of `verification_uri_complete`),
//! and polls the token endpoint with [`DEVICE_CODE_GRANT`] until the viewer
//! confirms on a phone; it then holds a [`TokenResponse`], refreshing it with
//! [`REFRESH_TOKEN_GRANT`] before the access token expires.
//! Requests are `application/x-www-form-urlencoded`, as OAuth requires.

use serde::{Deserialize, Serialize};

/// `POST` here (form: `client_id`) to start a device login.
pub const DEVICE_AUTHORIZATION_PATH: &str = "/api/v1/device/code";
/// `POST` here (form: `grant_type`, ...) for tokens.
pub const TOKEN_PATH: &str = "/api/v1/token";
/// `POST` here with a bearer token to log out (revokes the session).
pub const LOGOUT_PATH: &str = "/api/v1/logout";
/// The page where the viewer confirms a code.
pub const VERIFICATION_PATH: &str = "/device";
/// `grant_type` for polling with a device code.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// `grant_type` for refreshing.
pub const REFRESH_TOKEN_GRANT: &str = "refresh_token";

/// The answer to a device authorization request (RFC 8628 §3.2).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    /// Secret the box polls with. Never shown, never logged.
    pub device_code: String,
    /// Short code the viewer types, e.g. `BCDF-GHJK`.
    pub user_code: String,
    /// Where the viewer goes.
    pub verification_uri: String,
    /// The same with the code filled in (for a QR code).
    pub verification_uri_complete: String,
    /// Seconds until the codes expire.
    pub expires_in: u64,
    /// Seconds to wait between polls.
    pub interval: u64,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Bearer token for API and license calls.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single-use token for the next refresh (rotated on every use).
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}
