//! Catalog titles, their tags and their cast.

use rusqlite::{Connection, params};

use super::DbError;

/// A catalog title to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTitle {
    /// Title id, e.g. `ml-1`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Release year.
    pub year: Option<u16>,
    /// Genres, `|` separated.
    pub genres: String,
    /// Synopsis.
    pub synopsis: String,
    /// The asset that plays it.
    pub asset_id: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
}

/// Inserts or updates titles and replaces their tags, in one transaction.
pub fn upsert(conn: &mut Connection, titles: &[NewTitle]) -> Result<(), DbError> {
    let tx = conn.transaction()?;
    {
        let mut title = tx.prepare(
            "INSERT INTO titles (id, name, year, genres, synopsis, asset_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, year = excluded.year,
               genres = excluded.genres, synopsis = excluded.synopsis, asset_id = excluded.asset_id",
        )?;
        let mut clear = tx.prepare("DELETE FROM title_tags WHERE title_id = ?1")?;
        let mut tag =
            tx.prepare("INSERT OR IGNORE INTO title_tags (title_id, tag) VALUES (?1, ?2)")?;
        for t in titles {
            title.execute(params![
                t.id, t.name, t.year, t.genres, t.synopsis, t.asset_id
            ])?;
            clear.execute([&t.id])?;
            for g in &t.tags {
                tag.execute(params![t.id, g])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// Replaces the cast of each title given (names in billing order). Titles
/// not in the catalog are skipped; returns how many were given cast.
pub fn replace_cast(
    conn: &mut Connection,
    cast: &[(String, Vec<String>)],
) -> Result<usize, DbError> {
    let tx = conn.transaction()?;
    let mut done = 0;
    {
        let mut known = tx.prepare("SELECT 1 FROM titles WHERE id = ?1")?;
        let mut clear = tx.prepare("DELETE FROM title_cast WHERE title_id = ?1")?;
        let mut add =
            tx.prepare("INSERT INTO title_cast (title_id, position, name) VALUES (?1, ?2, ?3)")?;
        for (title_id, names) in cast {
            if !known.exists([title_id])? {
                continue;
            }
            clear.execute([title_id])?;
            for (position, name) in names.iter().enumerate() {
                add.execute(params![title_id, position as i64, name])?;
            }
            done += 1;
        }
    }
    tx.commit()?;
    Ok(done)
}

/// Number of catalog titles.
pub fn count(conn: &Connection) -> Result<u64, DbError> {
    Ok(conn.query_row("SELECT count(*) FROM titles", [], |r| r.get::<_, i64>(0))? as u64)
}
