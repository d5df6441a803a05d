//! Error bodies of the headend API.
//!
//! Every refusal a client can meet has a stable, machine-readable code (the
//! `error` field, as in OAuth 2.0) and a human sentence (`message`). Clients
//! branch on the code; people read the message.

use serde::{Deserialize, Serialize};

/// The stable error codes of the headend API.
///
/// Serialized in `snake_case`; the string form never changes once shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The bearer token is missing, malformed, tampered with or expired.
    InvalidToken,
    /// The account is not entitled to the title.
    NotEntitled,
    /// The client's region is not among the title's licensed regions.
    RegionBlocked,
    /// A requested key id is not known to the license server.
    UnknownKey,
    /// The request body or parameters could not be understood.
    InvalidRequest,
    /// The request body is larger than the server accepts.
    PayloadTooLarge,
    /// The resource does not exist.
    NotFound,
    /// Something went wrong on the server; retrying may help.
    ServerError,
    /// RFC 8628: the viewer has not confirmed the code yet; poll again.
    AuthorizationPending,
    /// RFC 8628: polling too fast; add 5 s to the interval.
    SlowDown,
    /// RFC 8628: the device code expired; start over.
    ExpiredToken,
    /// RFC 8628: the viewer declined.
    AccessDenied,
    /// RFC 6749: the device code or refresh token is not valid.
    InvalidGrant,
    /// RFC 6749: the grant type is not supported.
    UnsupportedGrantType,
    /// The e-mail or password is wrong.
    InvalidCredentials,
    /// The call needs a device certificate (mutual TLS) from an enrolled
    /// box, and none (or an unknown one) was presented.
    DeviceCertificateRequired,
    /// The device presenting this certificate was revoked.
    DeviceRevoked,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidToken => "invalid_token",
            Self::NotEntitled => "not_entitled",
            Self::RegionBlocked => "region_blocked",
            Self::UnknownKey => "unknown_key",
            Self::InvalidRequest => "invalid_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::NotFound => "not_found",
            Self::ServerError => "server_error",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::AccessDenied => "access_denied",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidCredentials => "invalid_credentials",
            Self::DeviceCertificateRequired => "device_certificate_required",
            Self::DeviceRevoked => "device_revoked",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON body of every error response: `{"error": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code.
    pub error: ErrorCode,
    /// A sentence for people; never contains secrets.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_documented() {
        for code in [
            ErrorCode::InvalidToken,
            ErrorCode::NotEntitled,
            ErrorCode::RegionBlocked,
            ErrorCode::UnknownKey,
            ErrorCode::InvalidRequest,
            ErrorCode::PayloadTooLarge,
            ErrorCode::NotFound,
            ErrorCode::ServerError,
            ErrorCode::AuthorizationPending,
            ErrorCode::SlowDown,
            ErrorCode::ExpiredToken,
            ErrorCode::AccessDenied,
            ErrorCode::InvalidGrant,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::InvalidCredentials,
            ErrorCode::DeviceCertificateRequired,
            ErrorCode::DeviceRevoked,
        ] {
            let json = serde_json::to_string(&code).expect("serializes");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
