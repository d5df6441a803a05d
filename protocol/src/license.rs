//! The W3C EME ClearKey license exchange.
//!
//! Request: `{"kids": ["<base64url key id>", ...], "type": "temporary"}`.
//! Response: a JSON Web Key set, `{"keys": [{"kty": "oct", "kid": "...",
//! "k": "..."}], "type": "temporary"}`. Key ids and keys are 16 bytes,
//! base64url-encoded without padding, as the EME specification requires.

use serde::{Deserialize, Serialize};

/// Path of the license endpoint on the headend.
pub const LICENSE_PATH: &str = "/api/v1/license";

/// A ClearKey license request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseRequest {
    /// Key ids, base64url without padding.
    pub kids: Vec<String>,
    /// Session type; only `temporary` is offered.
    #[serde(rename = "type", default = "temporary")]
    pub session_type: String,
}

fn temporary() -> String {
    "temporary".to_owned()
}

/// One key of a ClearKey license: a JSON Web Key of type `oct`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Always `oct`.
    pub kty: String,
    /// Key id, base64url without padding.
    pub kid: String,
    /// The content key, base64url without padding.
    pub k: String,
}

// Keys are secrets: never print them, not even in debug output.
impl std::fmt::Debug for Jwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("k", &"<redacted>")
            .finish()
    }
}

/// A ClearKey license response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseResponse {
    /// The granted keys.
    pub keys: Vec<Jwk>,
    /// Session type, echoed from the request.
    #[serde(rename = "type")]
    pub session_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_defaults_to_temporary() {
        let req: LicenseRequest =
            serde_json::from_str(r#"{"kids":["AAAAAAAAAAAAAAAAAAAAAA"]}"#).expect("parses");
        assert_eq!(req.session_type, "temporary");
    }

    #[test]
    fn debug_output_hides_the_key() {
        let jwk = Jwk {
            kty: "oct".into(),
            kid: "kid".into(),
            k: "SECRETKEY".into(),
        };
        assert!(!format!("{jwk:?}").contains("SECRETKEY"));
    }
}
