//! The box's durable state, in sled.
//!
//! One tree per kind of data, so each can be wiped or migrated alone:
//!
//! | tree | key | value |
//! |---|---|---|
//! | `meta` | name | schema version, counters, the last bandwidth |
//! | `tokens` | `current` | the account's tokens (secret) |
//! | `home` | `view` | the last home rows from the headend |
//! | `details` | title id | details and similar titles, with fetch time |
//! | `posters` | title id | PNG bytes |
//! | `search` | normalised query | results, with fetch time (short TTL) |
//! | `resume` | title id | resume position, duration, when saved |
//! | `events` | sequence number (big-endian) | an event waiting to be sent |
//!
//! Durability: sled flushes on its own within [`FLUSH_EVERY_MS`] of a write
//! (and, as patched in `vendor/sled`, not at all while nothing is written); writes that
//! must survive a power cut at once (tokens, a queued event, a removal after
//! sending) call [`Store::flush`]. The directory is created 0700, so tokens
//! and history are readable by the daemon's user only.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Serialize, de::DeserializeOwned};

/// sled's page cache. Its default (1 GiB) is more than a box has; sled
/// then logs an error at every start, and the store is a few megabytes.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// The layout version this code reads and writes.
pub const SCHEMA_VERSION: u32 = 1;
/// sled's background flush interval: what a crash can lose at most.
pub const FLUSH_EVERY_MS: u64 = 500;

/// How long [`Store::open`] waits for the store's lock. A handle that was
/// just dropped can hold it a little longer: sled finishes its background
/// writes first (sled's own tests block on the lock for this reason). A
/// second daemon on the same store still fails, after this wait.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// A failure of the local store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled failed (I/O, corruption it could not repair).
    #[error("store_io: {0}")]
    Sled(#[from] sled::Error),
    /// The directory could not be created or protected.
    #[error("store_io: {0}")]
    Io(#[from] std::io::Error),
    /// The store was written by a newer daemon.
    #[error("store_too_new: schema {found} is newer than {SCHEMA_VERSION}; refusing to touch it")]
    TooNew {
        /// The version on disk.
        found: u32,
    },
}

/// The opened store; cheap to clone (sled handles are reference counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    /// `meta` tree.
    pub meta: sled::Tree,
    /// `tokens` tree.
    pub tokens: sled::Tree,
    /// `home` tree.
    pub home: sled::Tree,
    /// `details` tree.
    pub details: sled::Tree,
    /// `posters` tree.
    pub posters: sled::Tree,
    /// `search` tree.
    pub search: sled::Tree,
    /// `resume` tree.
    pub resume: sled::Tree,
    /// `events` tree.
    pub events: sled::Tree,
    /// `beacons` tree: ad tracking URLs not yet delivered.
    pub beacons: sled::Tree,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store in `dir` and brings it to
    /// [`SCHEMA_VERSION`].
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        create_private_dir(dir)?;
        let config = sled::Config::new()
            .path(dir.join("store"))
            .flush_every_ms(Some(FLUSH_EVERY_MS))
            .cache_capacity(CACHE_BYTES);
        let db = open_waiting_for_lock(&config)?;
        let tree = |name: &str| db.open_tree(name);
        let store = Self {
            meta: tree("meta")?,
            tokens: tree("tokens")?,
            home: tree("home")?,
            details: tree("details")?,
            posters: tree("posters")?,
            search: tree("search")?,
            resume: tree("resume")?,
            events: tree("events")?,
            beacons: tree("beacons")?,
            db,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Brings an older layout up to date. Version 0 is a fresh store.
    fn migrate(&self) -> Result<(), StoreError> {
        let found = self.get::<u32>(&self.meta, "schema_version").unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew { found });
        }
        // Each future step goes here: `if found < 2 { ... }`, oldest first.
        if found < SCHEMA_VERSION {
            self.put(&self.meta, "schema_version", &SCHEMA_VERSION)?;
            self.flush()?;
        }
        Ok(())
    }

    /// Writes everything to disk now.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// A fresh unique number, increasing across restarts.
    pub fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }

    /// Reads a JSON value; a missing or undecodable one is `None` (a cache
    /// entry from a corrupt write is as good as no entry).
    pub fn get<T: DeserializeOwned>(&self, tree: &sled::Tree, key: impl AsRef<[u8]>) -> Option<T> {
        let bytes = tree.get(key).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes a JSON value.
    pub fn put<T: Serialize>(
        &self,
        tree: &sled::Tree,
        key: impl AsRef<[u8]>,
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        tree.insert(key.as_ref(), bytes)?;
        Ok(())
    }

    /// Wipes what belongs to the signed-in viewer (logout).
    pub fn wipe_account(&self) -> Result<(), StoreError> {
        for tree in [
            &self.tokens,
            &self.home,
            &self.details,
            &self.search,
            &self.resume,
            &self.events,
        ] {
            tree.clear()?;
        }
        self.flush()
    }
}

/// Creates `dir` (and parents) and makes it 0700: the store holds tokens.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Seconds since the Unix epoch.
pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Opens `config`'s store, waiting up to [`LOCK_WAIT`] while its lock is
/// held (sled reports that as an I/O error whose message says so).
fn open_waiting_for_lock(config: &sled::Config) -> sled::Result<sled::Db> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_a_reopen_and_the_dir_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("state");
        {
            let store = Store::open(&state).expect("opens");
            store.put(&store.resume, "t1", &42.5f64).expect("put");
            store.flush().expect("flush");
        }
        let store = Store::open(&state).expect("reopens");
        assert_eq!(store.get::<f64>(&store.resume, "t1"), Some(42.5));
        let mode = std::fs::metadata(&state)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_store_whose_last_handle_is_still_closing_opens_once_it_has() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Store::open(dir.path()).expect("first");
        // Dropped a moment later, as a restart's old handle may be.
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        let second = Store::open(dir.path()).expect("open once the first has closed");
        closer.join().expect("closer");
        assert_eq!(
            second.get::<u32>(&second.meta, "schema_version"),
            Some(SCHEMA_VERSION)
        );
    }

    #[test]
    fn a_newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("opens");
            store
                .put(&store.meta, "schema_version", &99u32)
                .expect("put");
            store.put(&store.resume, "t1", &1.0f64).expect("put");
            store.flush().expect("flush");
        }
        let err = Store::open(dir.path()).expect_err("too new");
        assert!(matches!(err, StoreError::TooNew { found: 99 }), "{err}");
    }

    #[test]
    fn garbage_values_read_as_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("opens");
        store
            .home
            .insert("view", &b"{not json"[..])
            .expect("insert");
        assert_eq!(store.get::<serde_json::Value>(&store.home, "view"), None);
    }

    #[test]
    fn logout_wipes_the_viewer_but_keeps_the_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("opens");
        store.put(&store.tokens, "current", &"secret").expect("put");
        store.put(&store.resume, "t", &1.0f64).expect("put");
        store.wipe_account().expect("wipe");
        assert!(store.tokens.is_empty() && store.resume.is_empty());
        assert_eq!(
            store.get::<u32>(&store.meta, "schema_version"),
            Some(SCHEMA_VERSION)
        );
    }
}
