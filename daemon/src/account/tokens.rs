//! The account's tokens as stored in the `tokens` tree.
//!
//! Secrets: `Debug` never shows them, nothing logs them, and they live only
//! in the 0700 state directory.

use ottbox_protocol::auth::TokenResponse;
use serde::{Deserialize, Serialize};

/// Refresh this long before the access token expires, so no call is made
/// with a token about to die.
pub const REFRESH_MARGIN_S: i64 = 60;

/// What the box keeps of a token response.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tokens {
    /// Bearer token for API and license calls.
    pub access: String,
    /// Single-use refresh token.
    pub refresh: String,
    /// When `access` expires, Unix seconds.
    pub expires_at: i64,
}

impl Tokens {
    /// From a token response received at `now`.
    pub fn from_response(resp: &TokenResponse, now: i64) -> Self {
        Self {
            access: resp.access_token.clone(),
            refresh: resp.refresh_token.clone(),
            expires_at: now + resp.expires_in as i64,
        }
    }

    /// When to refresh, Unix seconds.
    pub fn refresh_at(&self) -> i64 {
        // A very short-lived token is refreshed halfway rather than at once.
        let margin = REFRESH_MARGIN_S.min((self.expires_at - crate::store::now_s()) / 2);
        self.expires_at - margin.max(0)
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let t = Tokens {
            access: "v1.secret-access".into(),
            refresh: "secret-refresh".into(),
            expires_at: 5,
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
