//! The box's content keys, by key id, in memory only.
//!
//! The license client puts the keys it is granted into a [`KeyRing`]; the
//! decryptor element looks them up by the KID each encrypted sample names.
//! A `KeyRing` is a cheap handle (an `Arc`): clone it, hand one clone to the
//! pipeline (see [`crate::media::decryptor::Decryptor::set_keyring`]) and
//! keep filling the other.
//!
//! ```
//! use ottboxd::media::keyring::{KeyRing, Kid};
//! let ring = KeyRing::new();
//! let kid = Kid([0x10; 16]);
//! ring.insert(kid, [0x42; 16]);
//! assert_eq!(ring.get(&kid), Some([0x42; 16]));
//! // Debug output names key ids, never keys.
//! assert!(!format!("{ring:?}").contains("42"));
//! ```
//!
//! Keys never leave memory: nothing here writes them anywhere, and no
//! formatting trait prints them.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// A 16-byte key id (KID), as in `tenc`, PSSH boxes and ClearKey licenses.
/// Displays as a UUID (`8-4-4-4-12` hex), the way manifests write it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(pub [u8; 16]);

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kid({self})")
    }
}

/// A 128-bit content key.
pub type ContentKey = [u8; 16];

/// Shared map from [`Kid`] to [`ContentKey`]. Cloning shares the map.
#[derive(Clone, Default)]
pub struct KeyRing {
    keys: Arc<RwLock<HashMap<Kid, ContentKey>>>,
}

impl KeyRing {
    /// An empty key ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the key for `kid`.
    pub fn insert(&self, kid: Kid, key: ContentKey) {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(kid, key);
    }

    /// The key for `kid`, if the license client has one.
    pub fn get(&self, kid: &Kid) -> Option<ContentKey> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(kid)
            .copied()
    }

    /// Forgets the key for `kid` (license expired or revoked).
    pub fn remove(&self, kid: &Kid) {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(kid);
    }

    /// Forgets every key (logout, end of session).
    pub fn clear(&self) {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The key ids held, sorted.
    pub fn kids(&self) -> Vec<Kid> {
        let mut kids: Vec<Kid> = self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        kids.sort();
        kids
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("kids", &self.kids())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_display_as_uuids() {
        let kid = Kid(*b"\x10\x77\xef\xec\xc0\xb2\x4d\x02\xac\xe3\x3c\x1e\x52\xe2\xfb\x4b");
        assert_eq!(kid.to_string(), "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b");
    }

    #[test]
    fn clones_share_keys_and_debug_hides_them() {
        let ring = KeyRing::new();
        let pipeline_side = ring.clone();
        let kid = Kid([1; 16]);
        ring.insert(kid, [0xee; 16]);
        assert_eq!(pipeline_side.get(&kid), Some([0xee; 16]));
        assert_eq!(pipeline_side.get(&Kid([2; 16])), None);
        let debug = format!("{pipeline_side:?}");
        assert!(debug.contains("01010101-0101"), "{debug}");
        assert!(!debug.to_lowercase().contains("ee"), "key leaked: {debug}");
        ring.remove(&kid);
        assert_eq!(pipeline_side.get(&kid), None);
        ring.insert(kid, [3; 16]);
        ring.clear();
        assert!(pipeline_side.kids().is_empty());
    }
}
