//! Accounts and their entitlements.

use rusqlite::{Connection, OptionalExtension, params};

use super::{DbError, now_unix};

/// Entitlement scope that covers every asset and title.
pub const ALL: &str = "*";

/// Creates an account (or updates its ad-free flag if it exists).
pub fn create(conn: &Connection, id: &str, ad_free: bool) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO accounts (id, ad_free, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET ad_free = excluded.ad_free",
        params![id, ad_free, now_unix()],
    )?;
    Ok(())
}

/// Whether the account exists.
pub fn exists(conn: &Connection, id: &str) -> Result<bool, DbError> {
    Ok(conn
        .query_row("SELECT 1 FROM accounts WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Grants `scope` ([`ALL`], an asset id or a title id) to the account.
pub fn entitle(conn: &Connection, account: &str, scope: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT OR IGNORE INTO entitlements (account_id, scope) VALUES (?1, ?2)",
        params![account, scope],
    )?;
    Ok(())
}

/// Whether the account may watch the asset: it holds [`ALL`], the asset
/// itself, or any catalog title played from that asset.
pub fn is_entitled_to_asset(
    conn: &Connection,
    account: &str,
    asset: &str,
) -> Result<bool, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM entitlements e
         WHERE e.account_id = ?1
           AND (e.scope = '*' OR e.scope = ?2
                OR e.scope IN (SELECT id FROM titles WHERE asset_id = ?2))
         LIMIT 1",
    )?;
    Ok(stmt
        .query_row(params![account, asset], |_| Ok(()))
        .optional()?
        .is_some())
}
