//! Password hashing with argon2id (PHC string format, salt included).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::DbError;

/// Hashes a password for storage.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// Whether `password` matches a stored hash.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Sets an account's e-mail and password.
pub fn set_credentials(
    conn: &Connection,
    account: &str,
    email: &str,
    password: &str,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE accounts SET email = ?2, password_hash = ?3 WHERE id = ?1",
        params![account, email.trim().to_lowercase(), hash(password)],
    )?;
    Ok(())
}

/// The account whose e-mail and password these are.
pub fn check_credentials(
    conn: &Connection,
    email: &str,
    password: &str,
) -> Result<Option<String>, DbError> {
    let row: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT id, password_hash FROM accounts WHERE email = ?1",
            [email.trim().to_lowercase()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(id, stored)| stored.filter(|s| verify(password, s)).map(|_| id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("hunter2");
        assert!(verify("hunter2", &a));
        assert!(!verify("hunter3", &a));
        assert_ne!(a, hash("hunter2"), "salted");
        assert!(!verify("x", "not a hash"));
    }
}
