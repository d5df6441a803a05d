//! Access tokens: a small signed-token issuer.
//!
//! A token is `v1.<payload>.<signature>`: the payload is base64url JSON
//! (`sub` = account, `iat`, `exp` in Unix seconds), the signature an
//! HMAC-SHA256 over `v1.<payload>` with the headend's token secret. It is
//! what a JWT with HS256 would be, without the algorithm negotiation that has
//! made JWT libraries a source of bugs. The device-login flow issues these.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::db::now_unix;

type HmacSha256 = Hmac<Sha256>;

const VERSION: &str = "v1";

/// Why a token was refused. The server answers all of them with
/// `invalid_token`; the variants are for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not of the form `v1.<payload>.<signature>`.
    #[error("token is malformed")]
    Malformed,
    /// The signature does not match: tampered with, or another issuer's.
    #[error("token signature is invalid")]
    BadSignature,
    /// The token's lifetime is over.
    #[error("token has expired")]
    Expired,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// The login session, for tokens from device login; a revoked session's
    /// tokens are refused even before they expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct TokenIssuer {
    mac: HmacSha256,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenIssuer(<redacted>)")
    }
}

impl TokenIssuer {
    /// An issuer keyed with `secret` (at least 32 bytes are advised).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length"),
        }
    }

    /// Issues a token for `account` valid for `ttl_secs` from now.
    pub fn issue(&self, account: &str, ttl_secs: i64) -> String {
        self.issue_for_session(account, None, ttl_secs)
    }

    /// Issues a token bound to a login session.
    pub fn issue_for_session(&self, account: &str, session: Option<&str>, ttl_secs: i64) -> String {
        let now = now_unix();
        self.issue_claims(&Claims {
            sub: account.to_owned(),
            iat: now,
            exp: now + ttl_secs,
            sid: session.map(str::to_owned),
        })
    }

    /// Signs arbitrary claims (tests use it to make expired tokens).
    pub fn issue_claims(&self, claims: &Claims) -> String {
        let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let signed = format!("{VERSION}.{payload}");
        let sig = B64.encode(self.sign(signed.as_bytes()));
        format!("{signed}.{sig}")
    }

    /// Verifies a token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let (signed, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (version, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        if version != VERSION {
            return Err(TokenError::Malformed);
        }
        let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac.clone();
        mac.update(signed.as_bytes());
        // verify_slice compares in constant time.
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let json = B64.decode(payload).map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now_unix() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn sign(&self, data: &[u8]) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn valid_token_round_trips() {
        let t = issuer().issue("alice", 60);
        assert_eq!(issuer().verify(&t).expect("valid").sub, "alice");
    }

    #[test]
    fn tampered_token_is_refused() {
        let t = issuer().issue("alice", 60);
        let (head, sig) = t.rsplit_once('.').expect("dot");
        let (v, _) = head.split_once('.').expect("dot");
        let forged = B64.encode(br#"{"sub":"mallory","iat":0,"exp":99999999999}"#);
        assert_eq!(
            issuer().verify(&format!("{v}.{forged}.{sig}")),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            TokenIssuer::new(b"another secret").verify(&t),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn expired_and_garbage_tokens_are_refused() {
        let old = issuer().issue_claims(&Claims {
            sub: "alice".into(),
            iat: 0,
            exp: 1,
            sid: None,
        });
        assert_eq!(issuer().verify(&old), Err(TokenError::Expired));
        for junk in ["", ".", "v1..", "v2.a.b", "v1.%%%.abc", "no-dots"] {
            assert!(issuer().verify(junk).is_err(), "{junk:?}");
        }
    }
}
