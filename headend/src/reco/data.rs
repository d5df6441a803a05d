//! Interaction data: who watched what, when.

use std::collections::HashMap;
use std::path::Path;

/// One viewing event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    /// Dense user index.
    pub user: u32,
    /// Dense item index.
    pub item: u32,
    /// Unix seconds.
    pub time: i64,
    /// Explicit rating, when the source has one (MovieLens: 0.5..5).
    pub rating: f32,
}

/// Interactions with dense user and item indices.
#[derive(Debug, Clone, Default)]
pub struct Interactions {
    /// The events, in file order.
    pub events: Vec<Interaction>,
    /// External user ids by dense index.
    pub user_ids: Vec<String>,
    /// External item ids by dense index.
    pub item_ids: Vec<String>,
    user_index: HashMap<String, u32>,
    item_index: HashMap<String, u32>,
}

/// Why interaction data could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The CSV could not be read or parsed.
    #[error("cannot read ratings {path}: {source}")]
    Csv {
        /// The file.
        path: String,
        /// What went wrong.
        source: csv::Error,
    },
    /// A row has the wrong shape.
    #[error("ratings {path}, line {line}: {message}")]
    Row {
        /// The file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

impl Interactions {
    /// Dense index of a user id, assigning one if new.
    pub fn user(&mut self, id: &str) -> u32 {
        intern(&mut self.user_index, &mut self.user_ids, id)
    }

    /// Dense index of an item id, assigning one if new.
    pub fn item(&mut self, id: &str) -> u32 {
        intern(&mut self.item_index, &mut self.item_ids, id)
    }

    /// Number of distinct items.
    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }

    /// Number of distinct users.
    pub fn n_users(&self) -> usize {
        self.user_ids.len()
    }

    /// Reads a MovieLens-style `userId,movieId,rating,timestamp` CSV into
    /// `self` (so several files share one index space).
    pub fn read_csv(&mut self, path: &Path) -> Result<Vec<Interaction>, DataError> {
        let name = path.display().to_string();
        let mut reader = csv::Reader::from_path(path).map_err(|source| DataError::Csv {
            path: name.clone(),
            source,
        })?;
        let mut added = Vec::new();
        for (n, record) in reader.records().enumerate() {
            let line = n as u64 + 2;
            let record = record.map_err(|source| DataError::Csv {
                path: name.clone(),
                source,
            })?;
            let bad = |message: &str| DataError::Row {
                path: name.clone(),
                line,
                message: message.to_owned(),
            };
            if record.len() < 4 {
                return Err(bad("expected userId,movieId,rating,timestamp"));
            }
            let rating: f32 = record[2]
                .trim()
                .parse()
                .map_err(|_| bad("rating is not a number"))?;
            let time: i64 = record[3]
                .trim()
                .parse()
                .map_err(|_| bad("timestamp is not an integer"))?;
            let user = self.user(record[0].trim());
            let item = self.item(record[1].trim());
            let event = Interaction {
                user,
                item,
                time,
                rating,
            };
            self.events.push(event);
            added.push(event);
        }
        Ok(added)
    }
}

fn intern(index: &mut HashMap<String, u32>, ids: &mut Vec<String>, id: &str) -> u32 {
    if let Some(&i) = index.get(id) {
        return i;
    }
    let i = ids.len() as u32;
    ids.push(id.to_owned());
    index.insert(id.to_owned(), i);
    i
}

/// Each user's events sorted by time (ties by file order), indexed by user.
pub fn histories(n_users: usize, events: &[Interaction]) -> Vec<Vec<Interaction>> {
    let mut by_user = vec![Vec::new(); n_users];
    for e in events {
        by_user[e.user as usize].push(*e);
    }
    for h in &mut by_user {
        h.sort_by_key(|e| e.time);
    }
    by_user
}
