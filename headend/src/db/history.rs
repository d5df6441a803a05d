//! Viewing history: events from boxes, resume points, continue watching.

use ottbox_protocol::playback::{Event, EventKind};
use rusqlite::{Connection, OptionalExtension, params};

use super::DbError;

/// A title is finished once this share of it has been watched.
const FINISHED_SHARE: f64 = 0.95;

/// One entry of the Continue watching row.
#[derive(Debug, Clone, PartialEq)]
pub struct InProgress {
    /// The title.
    pub title_id: String,
    /// Where the viewer stopped, seconds.
    pub position_s: f64,
    /// The title's duration, seconds (0 if unknown).
    pub duration_s: f64,
}

/// Records a batch of events for `account`; returns (accepted, duplicates).
/// Replayed event ids are ignored, so boxes can retry freely. Resume
/// points follow the latest event by time, whatever order they arrive in.
pub fn record(
    conn: &mut Connection,
    account: &str,
    events: &[Event],
) -> Result<(u32, u32), DbError> {
    let tx = conn.transaction()?;
    let (mut accepted, mut duplicates) = (0, 0);
    for e in events {
        let kind = match e.kind {
            EventKind::Play => "play",
            EventKind::Progress => "progress",
            EventKind::Complete => "complete",
            EventKind::Search => "search",
        };
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO events (account_id, event_id, kind, at, title_id, position_s, query)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![account, e.id, kind, e.at, e.title_id, e.position_s, e.query],
        )?;
        if inserted == 0 {
            duplicates += 1;
            continue;
        }
        accepted += 1;
        let Some(title) = &e.title_id else { continue };
        let duration: f64 = tx
            .query_row(
                "SELECT COALESCE(a.duration_s, 0) FROM titles t LEFT JOIN assets a ON a.id = t.asset_id
                 WHERE t.id = ?1",
                [title],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0.0);
        let (position, completed) = match e.kind {
            EventKind::Complete => (duration, true),
            EventKind::Progress | EventKind::Play => {
                let p = e.position_s.unwrap_or(0.0);
                (p, duration > 0.0 && p >= duration * FINISHED_SHARE)
            }
            EventKind::Search => continue,
        };
        tx.execute(
            "INSERT INTO resume_points (account_id, title_id, position_s, completed, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(account_id, title_id) DO UPDATE SET
               position_s = excluded.position_s, completed = excluded.completed,
               updated_at = excluded.updated_at
             WHERE excluded.updated_at >= resume_points.updated_at",
            params![account, title, position, completed, e.at],
        )?;
    }
    tx.commit()?;
    Ok((accepted, duplicates))
}

/// Where `account` should resume `title` (0 if new or finished).
pub fn resume_point(conn: &Connection, account: &str, title: &str) -> Result<f64, DbError> {
    Ok(conn
        .query_row(
            "SELECT position_s FROM resume_points WHERE account_id = ?1 AND title_id = ?2 AND completed = 0",
            params![account, title],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0.0))
}

/// Titles started and not finished, most recent first.
pub fn continue_watching(
    conn: &Connection,
    account: &str,
    limit: usize,
) -> Result<Vec<InProgress>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.title_id, r.position_s, COALESCE(a.duration_s, 0)
         FROM resume_points r JOIN titles t ON t.id = r.title_id
         LEFT JOIN assets a ON a.id = t.asset_id
         WHERE r.account_id = ?1 AND r.completed = 0 AND r.position_s > 0
         ORDER BY r.updated_at DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![account, limit as i64], |r| {
            Ok(InProgress {
                title_id: r.get(0)?,
                position_s: r.get(1)?,
                duration_s: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Titles the account watched (played or finished), oldest first.
pub fn watched(conn: &Connection, account: &str) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT title_id FROM events WHERE account_id = ?1 AND title_id IS NOT NULL
         GROUP BY title_id ORDER BY max(at)",
    )?;
    let rows = stmt
        .query_map([account], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
