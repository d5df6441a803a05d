//! The recommender the API serves from: the item-kNN model fitted on what
//! the community watched (imported views) plus what accounts watched here.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use super::itemknn::{ItemKnn, Params, popular};
use crate::db::DbError;

/// A fitted model with the mapping between title ids and model indices.
#[derive(Debug, Clone)]
pub struct Recommender {
    model: ItemKnn,
    titles: Vec<String>,
    index: HashMap<String, u32>,
    /// Views per title, by model index.
    views: Vec<f32>,
}

impl Recommender {
    /// Fits the model on the database's community views and account events.
    pub fn build(conn: &Connection, params: Params) -> Result<Self, DbError> {
        let mut stmt = conn.prepare(
            "SELECT 'c:' || viewer, title_id FROM community_views
             UNION ALL
             SELECT DISTINCT 'a:' || account_id, title_id FROM events
             WHERE title_id IS NOT NULL AND kind IN ('play', 'complete')",
        )?;
        let mut titles: Vec<String> = Vec::new();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut viewers: HashMap<String, Vec<u32>> = HashMap::new();
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (viewer, title) = row?;
            let next = titles.len() as u32;
            let i = *index.entry(title.clone()).or_insert_with(|| {
                titles.push(title);
                next
            });
            viewers.entry(viewer).or_default().push(i);
        }
        let users: Vec<Vec<u32>> = viewers.into_values().collect();
        let mut views = vec![0.0_f32; titles.len()];
        for items in &users {
            for &i in items {
                views[i as usize] += 1.0;
            }
        }
        Ok(Self {
            model: ItemKnn::fit(titles.len(), &users, params),
            titles,
            index,
            views,
        })
    }

    fn ids(&self, items: Vec<u32>) -> Vec<String> {
        items.into_iter().map(|i| self.titles[i as usize].clone()).collect()
    }

    fn indices<'a>(&self, ids: impl IntoIterator<Item = &'a String>) -> Vec<u32> {
        ids.into_iter().filter_map(|id| self.index.get(id).copied()).collect()
    }

    /// The `n` best titles for a viewer who watched `watched`, never one of
    /// those; popular titles when the history says nothing.
    pub fn for_viewer(&self, watched: &[String], n: usize) -> Vec<String> {
        let history = self.indices(watched);
        if history.is_empty() {
            return self.popular(watched, n);
        }
        self.ids(self.model.recommend(&history, n))
    }

    /// The titles most watched together with `title`.
    pub fn similar(&self, title: &str, exclude: &[String], n: usize) -> Vec<String> {
        let Some(&i) = self.index.get(title) else {
            return Vec::new();
        };
        let skip: HashSet<u32> = self.indices(exclude).into_iter().collect();
        let items = self
            .model
            .neighbours(i)
            .iter()
            .map(|(j, _)| *j)
            .filter(|j| !skip.contains(j))
            .take(n)
            .collect();
        self.ids(items)
    }

    /// The most watched titles, skipping `exclude`.
    pub fn popular(&self, exclude: &[String], n: usize) -> Vec<String> {
        self.ids(popular(&self.views, &self.indices(exclude), n))
    }

    /// The most watched titles among `candidates`, best first.
    pub fn rank_by_views(&self, candidates: &mut [String]) {
        let views = |id: &String| self.index.get(id).map_or(0.0, |&i| self.views[i as usize]);
        candidates.sort_by(|a, b| views(b).total_cmp(&views(a)).then(a.cmp(b)));
    }
}
