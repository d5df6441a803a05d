//! Bearer tokens on API requests: who is calling, and may they still.

use axum::http::{HeaderMap, header};
use ottbox_protocol::ErrorCode;

use super::AppState;
use super::error::HttpError;
use crate::auth::sessions;
use crate::db::accounts;
use crate::tokens::Claims;

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The claims of a valid bearer token. The account and session are checked
/// by [`check_session`], once the handler holds a database connection.
pub fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Claims, HttpError> {
    let token = bearer(headers)
        .ok_or_else(|| HttpError::from_code(ErrorCode::InvalidToken, "missing bearer token"))?;
    let claims = state.tokens.verify(token).map_err(|e| {
        tracing::info!(reason = %e, "license refused: invalid_token");
        HttpError::from_code(
            ErrorCode::InvalidToken,
            format!("access token refused: {e}"),
        )
    })?;
    Ok(claims)
}

/// Refuses a token whose account is gone or whose session was revoked.
pub fn check_session(conn: &rusqlite::Connection, claims: &Claims) -> Result<(), HttpError> {
    let refused = |why: &str| Err(HttpError::from_code(ErrorCode::InvalidToken, why));
    if !accounts::exists(conn, &claims.sub)? {
        return refused("the token's account no longer exists");
    }
    if let Some(sid) = &claims.sid
        && !sessions::is_active(conn, sid)?
    {
        return refused("the session was logged out");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_is_case_insensitive() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bearer abc".parse().expect("value"));
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().expect("value"));
        assert_eq!(bearer(&h), None);
    }
}
