//! Packaged assets: their renditions, sealed content keys and regions.

use rusqlite::{Connection, OptionalExtension, params};

use super::{DbError, now_unix};

/// A packaged asset as recorded after a successful ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// Asset id (the `--title` given to ingest).
    pub id: String,
    /// `cenc`, `cbcs` or `aes128`.
    pub scheme: String,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Multivariant HLS playlist, relative to the origin root.
    pub hls_path: String,
    /// DASH MPD, relative to the origin root (none for TS assets).
    pub dash_path: Option<String>,
}

/// One rendition of an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendition {
    /// Name, e.g. `720p` or `audio`.
    pub name: String,
    /// `video` or `audio`.
    pub kind: String,
    /// Width in pixels (video).
    pub width: Option<u32>,
    /// Height in pixels (video).
    pub height: Option<u32>,
    /// Peak bitrate in bit/s.
    pub bandwidth: u64,
    /// Label of the key that encrypts it.
    pub key_label: String,
}

/// A content key sealed under the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey {
    /// 16-byte key id.
    pub kid: [u8; 16],
    /// Key label (`ALL`, `SD`, `HD`).
    pub label: String,
    /// Nonce and ciphertext, as [`crate::keystore::MasterKey::seal`] made them.
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedKey")
            .field("kid", &hex::encode(self.kid))
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Records a published asset with everything that belongs to it, replacing
/// any earlier version of the same id, in one transaction.
pub fn replace(
    conn: &mut Connection,
    asset: &Asset,
    renditions: &[Rendition],
    keys: &[SealedKey],
    regions: &[String],
) -> Result<(), DbError> {
    let tx = conn.transaction()?;
    // Titles point at assets; keep those links across a re-ingest.
    tx.execute("DELETE FROM content_keys WHERE asset_id = ?1", [&asset.id])?;
    tx.execute("DELETE FROM renditions WHERE asset_id = ?1", [&asset.id])?;
    tx.execute("DELETE FROM asset_regions WHERE asset_id = ?1", [&asset.id])?;
    tx.execute(
        "INSERT INTO assets (id, scheme, duration_s, hls_path, dash_path, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET scheme = excluded.scheme,
           duration_s = excluded.duration_s, hls_path = excluded.hls_path,
           dash_path = excluded.dash_path, created_at = excluded.created_at",
        params![
            asset.id,
            asset.scheme,
            asset.duration_s,
            asset.hls_path,
            asset.dash_path,
            now_unix()
        ],
    )?;
    for r in renditions {
        tx.execute(
            "INSERT INTO renditions (asset_id, name, kind, width, height, bandwidth, key_label)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                asset.id,
                r.name,
                r.kind,
                r.width,
                r.height,
                r.bandwidth as i64,
                r.key_label
            ],
        )?;
    }
    for k in keys {
        tx.execute(
            "INSERT INTO content_keys (kid, asset_id, label, sealed) VALUES (?1, ?2, ?3, ?4)",
            params![&k.kid[..], asset.id, k.label, k.sealed],
        )?;
    }
    for region in regions {
        tx.execute(
            "INSERT OR IGNORE INTO asset_regions (asset_id, region) VALUES (?1, ?2)",
            params![asset.id, region],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Looks an asset up by id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Asset>, DbError> {
    Ok(conn
        .query_row(
            "SELECT id, scheme, duration_s, hls_path, dash_path FROM assets WHERE id = ?1",
            [id],
            |r| {
                Ok(Asset {
                    id: r.get(0)?,
                    scheme: r.get(1)?,
                    duration_s: r.get(2)?,
                    hls_path: r.get(3)?,
                    dash_path: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// All asset ids, sorted.
pub fn list_ids(conn: &Connection) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare("SELECT id FROM assets ORDER BY id")?;
    let ids = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// The renditions of an asset, video by ascending bandwidth, then audio.
pub fn renditions(conn: &Connection, asset: &str) -> Result<Vec<Rendition>, DbError> {
    let mut stmt = conn.prepare(
        "SELECT name, kind, width, height, bandwidth, key_label FROM renditions
         WHERE asset_id = ?1 ORDER BY kind DESC, bandwidth",
    )?;
    let rows = stmt
        .query_map([asset], |r| {
            Ok(Rendition {
                name: r.get(0)?,
                kind: r.get(1)?,
                width: r.get(2)?,
                height: r.get(3)?,
                bandwidth: r.get::<_, i64>(4)? as u64,
                key_label: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The sealed keys of an asset.
pub fn keys(conn: &Connection, asset: &str) -> Result<Vec<SealedKey>, DbError> {
    let mut stmt =
        conn.prepare("SELECT kid, label, sealed FROM content_keys WHERE asset_id = ?1")?;
    let rows = stmt
        .query_map([asset], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get(1)?, r.get(2)?))
        })?
        .map(|row| {
            let (kid, label, sealed) = row?;
            Ok::<_, rusqlite::Error>(SealedKey {
                kid: kid_array(&kid)?,
                label,
                sealed,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Finds the key with this id: which asset it belongs to, and the key.
pub fn key_by_kid(
    conn: &Connection,
    kid: &[u8; 16],
) -> Result<Option<(String, SealedKey)>, DbError> {
    let mut stmt =
        conn.prepare_cached("SELECT asset_id, label, sealed FROM content_keys WHERE kid = ?1")?;
    Ok(stmt
        .query_row([&kid[..]], |r| {
            Ok((
                r.get(0)?,
                SealedKey {
                    kid: *kid,
                    label: r.get(1)?,
                    sealed: r.get(2)?,
                },
            ))
        })
        .optional()?)
}

/// The regions an asset is licensed in.
pub fn regions(conn: &Connection, asset: &str) -> Result<Vec<String>, DbError> {
    let mut stmt = conn
        .prepare_cached("SELECT region FROM asset_regions WHERE asset_id = ?1 ORDER BY region")?;
    let rows = stmt
        .query_map([asset], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn kid_array(kid: &[u8]) -> Result<[u8; 16], rusqlite::Error> {
    kid.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(0, "kid".into(), rusqlite::types::Type::Blob)
    })
}
