//! Enrolled boxes: serial, account, certificate fingerprint, revocation.

use rusqlite::{Connection, OptionalExtension, params};

use super::{DbError, now_unix};

/// One enrolled box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its serial number (the certificate's common name).
    pub serial: String,
    /// The account it enrolled with.
    pub account_id: String,
    /// SHA-256 of its current certificate, lower-case hex.
    pub fingerprint: String,
    /// When it was revoked (Unix seconds), if it was.
    pub revoked_at: Option<i64>,
}

/// Records (or, on re-enrollment, replaces) `serial`'s certificate.
pub fn enroll(
    conn: &Connection,
    serial: &str,
    account: &str,
    fingerprint: &str,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO devices (serial, account_id, fingerprint, enrolled_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(serial) DO UPDATE SET account_id = excluded.account_id,
           fingerprint = excluded.fingerprint, enrolled_at = excluded.enrolled_at",
        params![serial, account, fingerprint, now_unix()],
    )?;
    Ok(())
}

/// The device with serial `serial`.
pub fn by_serial(conn: &Connection, serial: &str) -> Result<Option<Device>, DbError> {
    query_one(conn, "serial", serial)
}

/// The device whose certificate has this fingerprint.
pub fn by_fingerprint(conn: &Connection, fingerprint: &str) -> Result<Option<Device>, DbError> {
    query_one(conn, "fingerprint", fingerprint)
}

fn query_one(conn: &Connection, column: &str, value: &str) -> Result<Option<Device>, DbError> {
    let sql = format!(
        "SELECT serial, account_id, fingerprint, revoked_at FROM devices WHERE {column} = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt
        .query_row([value], |r| {
            Ok(Device {
                serial: r.get(0)?,
                account_id: r.get(1)?,
                fingerprint: r.get(2)?,
                revoked_at: r.get(3)?,
            })
        })
        .optional()?)
}

/// Revokes `serial`; `false` if no such device is enrolled. Revoking twice
/// keeps the first date.
pub fn revoke(conn: &Connection, serial: &str) -> Result<bool, DbError> {
    let n = conn.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE serial = ?1",
        params![serial, now_unix()],
    )?;
    Ok(n > 0)
}

/// Every device, by serial.
pub fn list(conn: &Connection) -> Result<Vec<Device>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT serial, account_id, fingerprint, revoked_at FROM devices ORDER BY serial",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Device {
                serial: r.get(0)?,
                account_id: r.get(1)?,
                fingerprint: r.get(2)?,
                revoked_at: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
