//! The RFC 8628 device-code state machine.

use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};

use super::{hash_secret, now_ms, random_secret};
use crate::db::DbError;
use ottbox_protocol::ErrorCode;

/// Letters a viewer cannot confuse (RFC 8628 §6.1: no vowels, no 0/O 1/I).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// A freshly issued pair of codes.
pub struct Issued {
    /// Secret for the box.
    pub device_code: String,
    /// `XXXX-XXXX` for the viewer.
    pub user_code: String,
}

/// Issues codes for `client_id`, valid `ttl_s` seconds.
pub fn issue(
    conn: &Connection,
    client_id: &str,
    ttl_s: u64,
    interval_s: u64,
) -> Result<Issued, DbError> {
    // Forget codes that expired long ago, so the table does not grow.
    conn.execute(
        "DELETE FROM device_codes WHERE expires_at < ?1",
        [now_ms() - 3_600_000],
    )?;
    loop {
        let device_code = random_secret();
        let user_code = user_code();
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO device_codes
             (code_hash, user_code, client_id, status, interval_s, expires_at)
             VALUES (?1, ?2, ?3, 'pending', ?4, ?5)",
            params![
                hash_secret(&device_code),
                user_code,
                client_id,
                interval_s as i64,
                now_ms() + ttl_s as i64 * 1000
            ],
        )?;
        // A clash of user codes is rare; draw again.
        if inserted == 1 {
            return Ok(Issued {
                device_code,
                user_code,
            });
        }
    }
}

fn user_code() -> String {
    let mut rng = rand::rng();
    let c: String = (0..8)
        .map(|_| USER_CODE_ALPHABET[rng.random_range(0..USER_CODE_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &c[..4], &c[4..])
}

/// A typed code in canonical form: upper case, `XXXX-XXXX`.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let c: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (c.len() == 8).then(|| format!("{}-{}", &c[..4], &c[4..]))
}

/// status, account, interval, last poll, expiry.
type PollRow = (String, Option<String>, i64, Option<i64>, i64);

/// One poll of the token endpoint: the account once approved, else the
/// RFC 8628 error to answer.
pub fn poll(conn: &Connection, device_code: &str) -> Result<Result<String, ErrorCode>, DbError> {
    let hash = hash_secret(device_code);
    let row: Option<PollRow> = conn
        .query_row(
            "SELECT status, account_id, interval_s, last_poll_ms, expires_at
             FROM device_codes WHERE code_hash = ?1",
            [&hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((status, account, interval_s, last_poll, expires_at)) = row else {
        return Ok(Err(ErrorCode::InvalidGrant));
    };
    let now = now_ms();
    if now >= expires_at {
        return Ok(Err(ErrorCode::ExpiredToken));
    }
    let too_soon = last_poll.is_some_and(|t| now - t < interval_s * 1000);
    // RFC 8628 §3.5: on slow_down the interval grows by 5 s for good.
    conn.execute(
        "UPDATE device_codes SET last_poll_ms = ?2, interval_s = interval_s + ?3 WHERE code_hash = ?1",
        params![hash, now, if too_soon && status == "pending" { 5 } else { 0 }],
    )?;
    Ok(match (status.as_str(), account) {
        ("approved", Some(account)) => {
            conn.execute(
                "UPDATE device_codes SET status = 'consumed' WHERE code_hash = ?1",
                [&hash],
            )?;
            Ok(account)
        }
        ("denied", _) => Err(ErrorCode::AccessDenied),
        ("pending", _) if too_soon => Err(ErrorCode::SlowDown),
        ("pending", _) => Err(ErrorCode::AuthorizationPending),
        _ => Err(ErrorCode::InvalidGrant),
    })
}

/// What the viewer decided on the verification page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Log the TV in.
    Approve,
    /// Refuse.
    Deny,
}

/// Records the viewer's decision for a pending user code. `false` if the
/// code is unknown, expired or already used.
pub fn decide(
    conn: &Connection,
    user_code: &str,
    account: &str,
    decision: Decision,
) -> Result<bool, DbError> {
    let status = match decision {
        Decision::Approve => "approved",
        Decision::Deny => "denied",
    };
    let changed = conn.execute(
        "UPDATE device_codes SET status = ?3, account_id = ?2
         WHERE user_code = ?1 AND status = 'pending' AND expires_at > ?4",
        params![user_code, account, status, now_ms()],
    )?;
    Ok(changed == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_readable() {
        let c = user_code();
        assert_eq!(c.len(), 9);
        assert!(
            c.chars()
                .all(|ch| ch == '-' || USER_CODE_ALPHABET.contains(&(ch as u8)))
        );
        assert_eq!(
            normalize_user_code(" bcdf ghjk ").as_deref(),
            Some("BCDF-GHJK")
        );
        assert_eq!(normalize_user_code("bcd"), None);
    }
}
