//! Resume points kept on the box, merged into the server's Continue
//! watching row.
//!
//! The player saves a position every few seconds and on stop; each entry
//! remembers when it was saved. When the home rows arrive from the headend,
//! local entries saved *after* that fetch are newer than what the server
//! knows and win; older ones yield to the server's row ("latest wins").

use ottbox_protocol::dbus::{HomeRow, Tile};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError, now_s};

/// The id of the Continue watching row.
pub const CONTINUE_ROW: &str = "continue";
/// Near the end counts as finished: no resume point is kept.
const FINISHED_SHARE: f64 = 0.95;

/// One saved position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    /// The tile to show (name, poster, genres) for a title the server's row
    /// does not have yet.
    pub tile: Tile,
    /// Seconds in.
    pub position_s: f64,
    /// Running time, seconds (0 unknown).
    pub duration_s: f64,
    /// When saved, Unix seconds.
    pub saved_at: i64,
}

/// Saves a position for `tile`; a position at the very end removes it.
pub fn save(
    store: &Store,
    tile: &Tile,
    position_s: f64,
    duration_s: f64,
) -> Result<(), StoreError> {
    if duration_s > 0.0 && position_s >= duration_s * FINISHED_SHARE {
        store.resume.remove(tile.id.as_bytes())?;
        return Ok(());
    }
    let entry = Resume {
        tile: tile.clone(),
        position_s: position_s.max(0.0),
        duration_s,
        saved_at: now_s(),
    };
    store.put(&store.resume, &tile.id, &entry)
}

/// The saved position of `title_id`, if any.
pub fn get(store: &Store, title_id: &str) -> Option<Resume> {
    store.get(&store.resume, title_id)
}

/// Where Play starts `title_id` when asked for its resume point: the
/// box's own position if it has one, else the server's `server_s`.
pub fn start_at(store: &Store, title_id: &str, server_s: f64) -> f64 {
    get(store, title_id).map_or(server_s, |r| r.position_s)
}

/// Merges local positions saved at or after `known_until` (what the
/// server's rows already reflect) into `rows`, putting Continue watching
/// first.
pub fn merge(store: &Store, rows: &mut Vec<HomeRow>, known_until: i64) {
    let mut local: Vec<Resume> = store
        .resume
        .iter()
        .filter_map(|e| e.ok())
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .filter(|r: &Resume| r.saved_at >= known_until)
        .collect();
    if local.is_empty() {
        return;
    }
    local.sort_by_key(|r| std::cmp::Reverse(r.saved_at));
    let index = match rows.iter().position(|r| r.id == CONTINUE_ROW) {
        Some(i) => i,
        None => {
            rows.insert(
                0,
                HomeRow {
                    id: CONTINUE_ROW.into(),
                    title: "Continue watching".into(),
                    tiles: Vec::new(),
                },
            );
            0
        }
    };
    let row = &mut rows[index];
    for r in local.iter().rev() {
        row.tiles.retain(|t| t.id != r.tile.id);
        let progress = if r.duration_s > 0.0 {
            (r.position_s / r.duration_s).clamp(0.0, 1.0)
        } else {
            0.0
        };
        row.tiles.insert(
            0,
            Tile {
                progress,
                resume_s: r.position_s,
                ..r.tile.clone()
            },
        );
    }
    let row = rows.remove(index);
    rows.insert(0, row);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(id: &str) -> Tile {
        Tile {
            id: id.into(),
            name: id.to_uppercase(),
            year: 2000,
            genres: vec![],
            poster: String::new(),
            progress: -1.0,
            resume_s: 0.0,
        }
    }

    #[test]
    fn newer_local_positions_win_and_lead_the_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let mut rows = vec![
            HomeRow {
                id: "trending".into(),
                title: "Trending".into(),
                tiles: vec![tile("x")],
            },
            HomeRow {
                id: CONTINUE_ROW.into(),
                title: "Continue watching".into(),
                tiles: vec![
                    Tile {
                        resume_s: 10.0,
                        progress: 0.1,
                        ..tile("a")
                    },
                    tile("b"),
                ],
            },
        ];
        save(&store, &tile("a"), 50.0, 100.0).expect("save");
        save(&store, &tile("new"), 5.0, 100.0).expect("save");
        merge(&store, &mut rows, now_s() - 1);
        assert_eq!(rows[0].id, CONTINUE_ROW);
        let a = rows[0].tiles.iter().find(|t| t.id == "a").expect("a kept");
        assert_eq!(a.resume_s, 50.0);
        assert!((a.progress - 0.5).abs() < 1e-9);
        assert!(rows[0].tiles.iter().any(|t| t.id == "new"));
        assert_eq!(rows[0].tiles.iter().filter(|t| t.id == "a").count(), 1);
    }

    #[test]
    fn older_local_positions_yield_and_the_end_clears() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        save(&store, &tile("a"), 50.0, 100.0).expect("save");
        let mut rows = vec![];
        merge(&store, &mut rows, now_s() + 10);
        assert!(rows.is_empty(), "a fetch after the save knows better");
        save(&store, &tile("a"), 99.0, 100.0).expect("save");
        assert!(get(&store, "a").is_none(), "finished titles leave the row");
    }
}
