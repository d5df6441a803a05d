//! The ClearKey license client (W3C EME JSON).
//!
//! Before the first encrypted segment is pushed, the engine asks the
//! playback session's license URL for the key ids the manifest names. The
//! keys go straight into the pipeline's [`KeyRing`], in memory only: they
//! are never stored, logged or printed.
//!
//! A rejected access token (it expired between Play and the license call)
//! is refreshed once and the request retried; any other refusal
//! (`region_blocked`, `not_entitled`) is final and reaches the viewer with
//! its code.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ottbox_protocol::ErrorCode;
use ottbox_protocol::license::{LicenseRequest, LicenseResponse};

use crate::account::{Account, AccountError};
use crate::media::keyring::{KeyRing, Kid};
use crate::net::{Headend, HeadendError};

/// Why no keys could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LicenseError {
    /// The account could not give a token.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The license server refused or could not be reached.
    #[error("license: {0}")]
    Headend(#[from] HeadendError),
    /// The answer is not a ClearKey key set.
    #[error("license.bad_reply: {0}")]
    BadReply(String),
    /// The answer lacks a key the content needs.
    #[error("license.missing_key: no key for KID {0}")]
    MissingKey(Kid),
}

impl LicenseError {
    /// A stable code for logs and D-Bus errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Account(_) => "license.account",
            Self::Headend(e) if e.is_unreachable() => "license.unreachable",
            Self::Headend(_) => "license.refused",
            Self::BadReply(_) => "license.bad_reply",
            Self::MissingKey(_) => "license.missing_key",
        }
    }
}

/// Fetches the keys for `kids` into `ring`.
pub async fn acquire(
    account: &Account,
    headend: &Headend,
    url: &str,
    kids: &[Kid],
    ring: &KeyRing,
) -> Result<(), LicenseError> {
    if kids.is_empty() {
        return Ok(());
    }
    let request = LicenseRequest {
        kids: kids.iter().map(|k| URL_SAFE_NO_PAD.encode(k.0)).collect(),
        session_type: "temporary".into(),
    };
    let token = account.access_token().await?;
    let response = match headend.license(&token, url, &request).await {
        Err(e) if e.code() == Some(ErrorCode::InvalidToken) => {
            let fresh = account.refresh().await?;
            headend.license(&fresh.access, url, &request).await?
        }
        other => other?,
    };
    install(&response, kids, ring)
}

/// Checks a license answer and puts its keys in `ring`; every one of
/// `kids` must be granted.
pub fn install(
    response: &LicenseResponse,
    kids: &[Kid],
    ring: &KeyRing,
) -> Result<(), LicenseError> {
    let mut granted = Vec::with_capacity(response.keys.len());
    for jwk in &response.keys {
        if jwk.kty != "oct" {
            return Err(LicenseError::BadReply(format!(
                "key type {:?}, expected \"oct\"",
                jwk.kty
            )));
        }
        let kid = decode16(&jwk.kid, "kid")?;
        let key = decode16(&jwk.k, "k")?;
        granted.push((Kid(kid), key));
    }
    if let Some(missing) = kids.iter().find(|k| !granted.iter().any(|(g, _)| g == *k)) {
        return Err(LicenseError::MissingKey(*missing));
    }
    for (kid, key) in granted {
        ring.insert(kid, key);
    }
    Ok(())
}

/// Decodes 16 bytes of base64url (padding tolerated, as some servers add
/// it). The error names the field, never its value: `k` is a key.
fn decode16(text: &str, field: &str) -> Result<[u8; 16], LicenseError> {
    let bad = || LicenseError::BadReply(format!("{field} is not 16 bytes of base64url"));
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| bad())?
        .try_into()
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use ottbox_protocol::license::Jwk;

    use super::*;

    fn jwk(kid: [u8; 16], k: [u8; 16]) -> Jwk {
        Jwk {
            kty: "oct".into(),
            kid: URL_SAFE_NO_PAD.encode(kid),
            k: URL_SAFE_NO_PAD.encode(k),
        }
    }

    fn response(keys: Vec<Jwk>) -> LicenseResponse {
        LicenseResponse {
            keys,
            session_type: "temporary".into(),
        }
    }

    #[test]
    fn granted_keys_land_in_the_ring() {
        let ring = KeyRing::new();
        let r = response(vec![jwk([1; 16], [7; 16]), jwk([2; 16], [8; 16])]);
        install(&r, &[Kid([1; 16]), Kid([2; 16])], &ring).expect("installs");
        assert_eq!(ring.get(&Kid([2; 16])), Some([8; 16]));
    }

    #[test]
    fn a_key_left_out_is_named() {
        let ring = KeyRing::new();
        let r = response(vec![jwk([1; 16], [7; 16])]);
        let err = install(&r, &[Kid([1; 16]), Kid([3; 16])], &ring).expect_err("missing");
        assert_eq!(err.code(), "license.missing_key");
        assert!(err.to_string().contains(&Kid([3; 16]).to_string()), "{err}");
        assert!(
            ring.kids().is_empty(),
            "nothing installed from a partial answer"
        );
    }

    #[test]
    fn garbage_keys_are_a_bad_reply_that_does_not_echo_them() {
        let ring = KeyRing::new();
        let mut bad = jwk([1; 16], [7; 16]);
        bad.k = "not-a-key!!".into();
        let err = install(&response(vec![bad]), &[Kid([1; 16])], &ring).expect_err("bad");
        assert_eq!(err.code(), "license.bad_reply");
        assert!(!err.to_string().contains("not-a-key"), "{err}");
        let mut short = jwk([1; 16], [7; 16]);
        short.kid = URL_SAFE_NO_PAD.encode([1u8; 8]);
        let err = install(&response(vec![short]), &[Kid([1; 16])], &ring).expect_err("short");
        assert_eq!(err.code(), "license.bad_reply");
    }
}
