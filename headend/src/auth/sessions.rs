//! Sessions and their rotating refresh tokens.

use rusqlite::{Connection, OptionalExtension, params};

use super::{hash_secret, random_secret};
use crate::db::{DbError, now_unix};

/// A session with the refresh token to continue it.
pub struct Grant {
    /// Session id (goes into access tokens).
    pub session: String,
    /// The account.
    pub account: String,
    /// The single-use refresh token.
    pub refresh_token: String,
}

/// Starts a session for `account` on `client_id`.
pub fn start(
    conn: &Connection,
    account: &str,
    client_id: &str,
    refresh_ttl_s: u64,
) -> Result<Grant, DbError> {
    let session = random_secret();
    conn.execute(
        "INSERT INTO sessions (id, account_id, client_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![session, account, client_id, now_unix()],
    )?;
    let refresh_token = new_refresh(conn, &session, refresh_ttl_s)?;
    Ok(Grant {
        session,
        account: account.to_owned(),
        refresh_token,
    })
}

fn new_refresh(conn: &Connection, session: &str, ttl_s: u64) -> Result<String, DbError> {
    let token = random_secret();
    conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, status, expires_at)
         VALUES (?1, ?2, 'active', ?3)",
        params![hash_secret(&token), session, now_unix() + ttl_s as i64],
    )?;
    Ok(token)
}

/// Exchanges a refresh token for the next one. `None` if it is unknown,
/// expired, or its session revoked. A token used twice revokes its session.
pub fn refresh(
    conn: &mut Connection,
    refresh_token: &str,
    ttl_s: u64,
) -> Result<Option<Grant>, DbError> {
    let tx = conn.transaction()?;
    let hash = hash_secret(refresh_token);
    let row: Option<(String, String, i64, String, bool)> = tx
        .query_row(
            "SELECT r.status, r.session_id, r.expires_at, s.account_id, s.revoked
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
             WHERE r.token_hash = ?1",
            [&hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((status, session, expires_at, account, revoked)) = row else {
        return Ok(None);
    };
    if status != "active" {
        tracing::warn!("a rotated refresh token was reused; revoking its session");
        tx.execute("UPDATE sessions SET revoked = 1 WHERE id = ?1", [&session])?;
        tx.commit()?;
        return Ok(None);
    }
    if revoked || expires_at <= now_unix() {
        return Ok(None);
    }
    tx.execute(
        "UPDATE refresh_tokens SET status = 'rotated' WHERE token_hash = ?1",
        [&hash],
    )?;
    let refresh_token = new_refresh(&tx, &session, ttl_s)?;
    tx.commit()?;
    Ok(Some(Grant {
        session,
        account,
        refresh_token,
    }))
}

/// Revokes a session: its refresh tokens and access tokens stop working.
pub fn revoke(conn: &Connection, session: &str) -> Result<(), DbError> {
    conn.execute("UPDATE sessions SET revoked = 1 WHERE id = ?1", [session])?;
    conn.execute(
        "DELETE FROM refresh_tokens WHERE session_id = ?1",
        [session],
    )?;
    Ok(())
}

/// Whether a session exists and is not revoked.
pub fn is_active(conn: &Connection, session: &str) -> Result<bool, DbError> {
    let mut stmt = conn.prepare_cached("SELECT revoked FROM sessions WHERE id = ?1")?;
    Ok(stmt
        .query_row([session], |r| r.get::<_, bool>(0))
        .optional()?
        .is_some_and(|revoked| !revoked))
}
