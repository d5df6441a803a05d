//! Content keys and the master key that seals them at rest.
//!
//! Every asset gets fresh random 16-byte content keys (one, or one for SD and
//! one for HD rungs) and key ids. The database never holds a key in clear:
//! each is sealed with AES-256-GCM under the master key, with the key id as
//! associated data, so a sealed key copied onto another key id fails to open.
//! The master key lives in its own file, mode 0600, created on first use.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

/// Why a key could not be created, sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The master key file could not be read or written.
    #[error("master key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The master key file exists but does not hold a key.
    #[error("master key file {0} is corrupt (expected 32 bytes)")]
    CorruptMaster(String),
    /// The master key file can be read by others.
    #[error("master key file {0} is readable by group or others; chmod 600 it")]
    InsecureMaster(String),
    /// A sealed key did not open: wrong master key, wrong key id, or damage.
    #[error("a sealed content key failed authentication")]
    Unseal,
}

/// A 16-byte content key. Debug output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ContentKey {
    /// Key id (KID), as written into the media.
    pub kid: [u8; 16],
    /// The AES-128 key.
    pub key: [u8; 16],
}

impl ContentKey {
    /// A fresh random key with a fresh random key id.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut kid = [0u8; 16];
        let mut key = [0u8; 16];
        rng.fill_bytes(&mut kid);
        rng.fill_bytes(&mut key);
        Self { kid, key }
    }
}

impl std::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentKey")
            .field("kid", &hex::encode(self.kid))
            .finish_non_exhaustive()
    }
}

/// The master key. Debug output never shows it.
pub struct MasterKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// Loads the master key from `path`, creating it (mode 0600) if absent.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let bytes = load_or_create_secret(path, 32)?;
        let cipher = Aes256Gcm::new_from_slice(&bytes)
            .map_err(|_| KeyError::CorruptMaster(path.display().to_string()))?;
        Ok(Self { cipher })
    }

    /// Seals a content key: `nonce (12 bytes) || ciphertext+tag`.
    pub fn seal(&self, key: &ContentKey) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &key.key,
                    aad: &key.kid,
                },
            )
            .expect("AES-GCM encryption of 16 bytes cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    /// Opens a key sealed by [`MasterKey::seal`] for key id `kid`.
    pub fn open(&self, kid: &[u8; 16], sealed: &[u8]) -> Result<ContentKey, KeyError> {
        if sealed.len() < 12 {
            return Err(KeyError::Unseal);
        }
        let (nonce, ct) = sealed.split_at(12);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: kid })
            .map_err(|_| KeyError::Unseal)?;
        let key: [u8; 16] = pt.as_slice().try_into().map_err(|_| KeyError::Unseal)?;
        Ok(ContentKey { kid: *kid, key })
    }
}

/// Reads a secret of `len` random bytes from `path`, creating the file with
/// mode 0600 (and its directory) if it does not exist. Refuses a file that
/// others can read: a secret that leaked is not a secret.
pub fn load_or_create_secret(path: &Path, len: usize) -> Result<Vec<u8>, KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(KeyError::InsecureMaster(path.display().to_string()));
            }
            if bytes.len() != len {
                return Err(KeyError::CorruptMaster(path.display().to_string()));
            }
            Ok(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut bytes = vec![0u8; len];
            rand::rng().fill_bytes(&mut bytes);
            // create_new: two processes racing to create it cannot both win.
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
            match created {
                Ok(mut f) => {
                    f.write_all(&bytes).map_err(io)?;
                    f.sync_all().map_err(io)?;
                    Ok(bytes)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_secret(path, len)
                }
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_binds_the_kid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let master = MasterKey::load_or_create(&dir.path().join("m.key")).expect("master");
        let key = ContentKey::generate();
        let sealed = master.seal(&key);
        assert!(!sealed.windows(16).any(|w| w == key.key), "key in clear");
        assert_eq!(master.open(&key.kid, &sealed).expect("opens"), key);
        let other = ContentKey::generate();
        assert!(master.open(&other.kid, &sealed).is_err());
    }

    #[test]
    fn master_key_file_is_private_and_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.key");
        let a = load_or_create_secret(&path, 32).expect("create");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create_secret(&path, 32).expect("reload"), a);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            load_or_create_secret(&path, 32),
            Err(KeyError::InsecureMaster(_))
        ));
    }

    #[test]
    fn debug_never_shows_keys() {
        let key = ContentKey::generate();
        assert!(!format!("{key:?}").contains(&hex::encode(key.key)));
    }
}
