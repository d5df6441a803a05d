//! SQLite storage: one database file, migrations in code, a connection pool.
//!
//! SQLite is the embedded default: no server to run, and WAL mode lets the
//! license server read while an ingest writes. Each concern has its own
//! submodule of queries; the schema lives here, in [`MIGRATIONS`], so that
//! one place says what the database looks like.

use std::path::Path;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite_migration::{M, Migrations};

pub mod accounts;
pub mod assets;
pub mod catalog;
pub mod devices;
pub mod history;

/// A pooled connection.
pub type Conn = r2d2::PooledConnection<SqliteConnectionManager>;

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite refused a statement.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No connection could be had from the pool.
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The directory holding the database could not be created.
    #[error("cannot create database directory: {0}")]
    Io(#[from] std::io::Error),
}

/// The schema, one step per release. Never edit a shipped step: add one.
const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
    -- A packaged, encrypted media asset on the origin.
    CREATE TABLE assets (
        id          TEXT PRIMARY KEY,
        scheme      TEXT NOT NULL,           -- cenc | cbcs | aes128
        duration_s  REAL NOT NULL,
        hls_path    TEXT NOT NULL,           -- relative to the origin root
        dash_path   TEXT,                    -- none for aes128 (TS) assets
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE renditions (
        asset_id    TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        kind        TEXT NOT NULL,           -- video | audio
        width       INTEGER,
        height      INTEGER,
        bandwidth   INTEGER NOT NULL,        -- bit/s
        key_label   TEXT NOT NULL,           -- which content key encrypts it
        PRIMARY KEY (asset_id, name)
    );
    -- Content keys, sealed under the master key (see keystore.rs).
    CREATE TABLE content_keys (
        kid         BLOB PRIMARY KEY,        -- 16 bytes
        asset_id    TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        label       TEXT NOT NULL,           -- e.g. ALL, SD, HD
        sealed      BLOB NOT NULL
    );
    CREATE INDEX content_keys_asset ON content_keys(asset_id);
    CREATE TABLE asset_regions (
        asset_id    TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
        region      TEXT NOT NULL,
        PRIMARY KEY (asset_id, region)
    );
    -- Catalog titles (MovieLens metadata), each played from one asset.
    CREATE TABLE titles (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        year        INTEGER,
        genres      TEXT NOT NULL DEFAULT '',   -- '|' separated
        synopsis    TEXT NOT NULL DEFAULT '',
        asset_id    TEXT REFERENCES assets(id) ON DELETE SET NULL
    );
    CREATE INDEX titles_asset ON titles(asset_id);
    CREATE TABLE title_tags (
        title_id    TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        tag         TEXT NOT NULL,
        PRIMARY KEY (title_id, tag)
    );
    CREATE TABLE accounts (
        id          TEXT PRIMARY KEY,
        ad_free     INTEGER NOT NULL DEFAULT 0,
        created_at  INTEGER NOT NULL
    );
    -- scope: '*' (everything), an asset id or a title id.
    CREATE TABLE entitlements (
        account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        scope       TEXT NOT NULL,
        PRIMARY KEY (account_id, scope)
    );
    "#,
    ),
    // Full-text search over the catalog (see search.rs). Contentless would
    // save space, but keeping the text lets snippets and re-ranking read it.
    M::up(
        r#"
    CREATE VIRTUAL TABLE title_search USING fts5(
        title_id UNINDEXED, name, tags, genres, synopsis,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE VIRTUAL TABLE title_search_vocab USING fts5vocab(title_search, 'row');
    "#,
    ),
    // Device login (RFC 8628) and sessions with rotating refresh tokens.
    // Device codes and refresh tokens are stored as SHA-256 hashes only.
    M::up(
        r#"
    ALTER TABLE accounts ADD COLUMN email TEXT;
    ALTER TABLE accounts ADD COLUMN password_hash TEXT;
    CREATE UNIQUE INDEX accounts_email ON accounts(email);
    CREATE TABLE device_codes (
        code_hash   BLOB PRIMARY KEY,
        user_code   TEXT NOT NULL UNIQUE,
        client_id   TEXT NOT NULL,
        status      TEXT NOT NULL,           -- pending | approved | denied | consumed
        account_id  TEXT REFERENCES accounts(id) ON DELETE CASCADE,
        interval_s  INTEGER NOT NULL,
        last_poll_ms INTEGER,
        expires_at  INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        id          TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        client_id   TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        revoked     INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE refresh_tokens (
        token_hash  BLOB PRIMARY KEY,
        session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        status      TEXT NOT NULL,           -- active | rotated
        expires_at  INTEGER NOT NULL
    );
    CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
    "#,
    ),
    // Viewing history: events as boxes sent them (idempotent by id), and
    // the resume point each account has per title.
    M::up(
        r#"
    CREATE TABLE events (
        account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        event_id    TEXT NOT NULL,
        kind        TEXT NOT NULL,
        at          INTEGER NOT NULL,
        title_id    TEXT REFERENCES titles(id) ON DELETE CASCADE,
        position_s  REAL,
        query       TEXT,
        PRIMARY KEY (account_id, event_id)
    );
    CREATE INDEX events_title ON events(title_id, at);
    CREATE TABLE resume_points (
        account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        title_id    TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        position_s  REAL NOT NULL,
        completed   INTEGER NOT NULL DEFAULT 0,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (account_id, title_id)
    );
    "#,
    ),
    // What the wider audience watched (imported, e.g. MovieLens ratings):
    // the collaborative signal for recommendations and popularity.
    M::up(
        r#"
    CREATE TABLE community_views (
        viewer      TEXT NOT NULL,
        title_id    TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        at          INTEGER NOT NULL,
        PRIMARY KEY (viewer, title_id)
    );
    "#,
    ),
    // Ads: one ad session per playback session, and the tracking beacons
    // boxes fire (impression, quartiles, complete, error), in arrival order.
    M::up(
        r#"
    CREATE TABLE ad_sessions (
        id          TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        title_id    TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE ad_events (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id  TEXT NOT NULL REFERENCES ad_sessions(id) ON DELETE CASCADE,
        break_id    TEXT NOT NULL,
        ad_id       TEXT NOT NULL,
        event       TEXT NOT NULL,
        error_code  TEXT,
        at_ms       INTEGER NOT NULL
    );
    CREATE INDEX ad_events_session ON ad_events(session_id, seq);
    "#,
    ),
    M::up(
        r#"
    CREATE TABLE devices (
        serial      TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        fingerprint TEXT NOT NULL UNIQUE,
        enrolled_at INTEGER NOT NULL,
        revoked_at  INTEGER
    );
    "#,
    ),
    // Cast, in billing order, and a `cast` column in the search index. An
    // FTS5 table cannot gain a column, so the index is made anew and
    // refilled from the catalog (no title has cast yet).
    M::up(
        r#"
    CREATE TABLE title_cast (
        title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name     TEXT NOT NULL,
        PRIMARY KEY (title_id, position)
    );
    DROP TABLE title_search_vocab;
    DROP TABLE title_search;
    CREATE VIRTUAL TABLE title_search USING fts5(
        title_id UNINDEXED, name, tags, genres, synopsis, cast,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE VIRTUAL TABLE title_search_vocab USING fts5vocab(title_search, 'row');
    INSERT INTO title_search (title_id, name, tags, genres, synopsis, cast)
      SELECT t.id, t.name,
             COALESCE((SELECT group_concat(tag, ' ') FROM title_tags g WHERE g.title_id = t.id), ''),
             replace(t.genres, '|', ' '), t.synopsis, ''
      FROM titles t;
    "#,
    ),
    // Beacons carry the id the box gave them (the VAST `[CACHEBUSTING]`
    // macro): a resend after a lost reply is recorded once. Beacons from
    // before, or from players that leave the macro alone, have none and
    // are all kept (NULLs are distinct in a unique index).
    M::up(
        r#"
    ALTER TABLE ad_events ADD COLUMN beacon_id TEXT;
    CREATE UNIQUE INDEX ad_events_once ON ad_events(session_id, beacon_id);
    "#,
    ),
];

/// How many migrations there were before cast was added (for the test of
/// that migration).
#[cfg(test)]
const BEFORE_CAST: usize = 7;

/// A pool of connections to the headend database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: r2d2::Pool<SqliteConnectionManager>,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and migrates it to
    /// the current schema.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            // WAL: readers never wait for the writer. busy_timeout: writers
            // from two processes (an ingest beside the server) queue up.
            c.execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )
        });
        let pool = r2d2::Pool::builder().max_size(8).build(manager)?;
        let mut conn = pool.get()?;
        Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
        Ok(Self { pool })
    }

    /// A connection from the pool.
    pub fn conn(&self) -> Result<Conn, DbError> {
        Ok(self.pool.get()?)
    }
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        Migrations::from_slice(MIGRATIONS)
            .validate()
            .expect("migrations apply to an empty database");
    }

    #[test]
    fn a_catalog_indexed_before_cast_existed_is_still_found_after_the_migration() {
        let mut conn = rusqlite::Connection::open_in_memory().expect("db");
        let migrations = Migrations::from_slice(MIGRATIONS);
        migrations
            .to_version(&mut conn, BEFORE_CAST)
            .expect("the schema before cast");
        conn.execute_batch(
            "INSERT INTO titles (id, name, genres) VALUES ('ml-1', 'Toy Story', 'Animation');
             INSERT INTO title_tags (title_id, tag) VALUES ('ml-1', 'pixar');
             INSERT INTO title_search (title_id, name, tags, genres, synopsis)
               VALUES ('ml-1', 'Toy Story', 'pixar', 'Animation', '');",
        )
        .expect("a catalog");
        migrations.to_latest(&mut conn).expect("migrates");
        let found: String = conn
            .query_row(
                "SELECT title_id FROM title_search WHERE title_search MATCH 'pixar'",
                [],
                |r| r.get(0),
            )
            .expect("still indexed");
        assert_eq!(found, "ml-1");
    }

    #[test]
    fn reopening_keeps_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        {
            let db = Db::open(&path).expect("open");
            accounts::create(&db.conn().expect("conn"), "alice", false).expect("insert");
        }
        let db = Db::open(&path).expect("reopen");
        assert!(accounts::exists(&db.conn().expect("conn"), "alice").expect("query"));
    }
}
