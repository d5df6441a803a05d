//! The recommender the API serves from: the item-kNN model fitted on what
//! the community watched (imported views) plus what accounts watched here.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use super::itemknn::{ItemKnn, Params};
use crate::db::DbError;

/// A fitted model with the mapping between title ids and model indices.
#[derive(Debug, Clone)]
pub struct Recommender {
    model: ItemKnn,
    titles: Vec<String>,
    index: HashMap<String, u32>,
    /// Every title the model knows, most viewed first (model indices).
    by_views: Vec<u32>,
    /// Views per title, by model index.
    views: Vec<u32>,
    /// Per genre, its titles, most viewed first (model indices).
    by_genre: HashMap<String, Vec<u32>>,
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
        // Titles nobody watched yet still belong in genre rows, last.
        let mut genres_of: Vec<(u32, String)> = Vec::new();
        let mut all = conn.prepare("SELECT id, genres FROM titles")?;
        for row in all.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (title, genres) = row?;
            let next = titles.len() as u32;
            let i = *index.entry(title.clone()).or_insert_with(|| {
                titles.push(title);
                next
            });
            genres_of.push((i, genres));
        }
        let users: Vec<Vec<u32>> = viewers.into_values().collect();
        let mut views = vec![0_u32; titles.len()];
        for items in &users {
            for &i in items {
                views[i as usize] += 1;
            }
        }
        let most_viewed =
            |list: &mut Vec<u32>| list.sort_by_key(|&i| (std::cmp::Reverse(views[i as usize]), i));
        let mut by_views: Vec<u32> = (0..titles.len() as u32).collect();
        most_viewed(&mut by_views);
        let mut by_genre: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, genres) in genres_of {
            for g in genres.split('|').filter(|g| !g.is_empty()) {
                by_genre.entry(g.to_owned()).or_default().push(i);
            }
        }
        by_genre.values_mut().for_each(most_viewed);
        Ok(Self {
            model: ItemKnn::fit(titles.len(), &users, params),
            titles,
            index,
            by_views,
            by_genre,
            views,
        })
    }

    fn ids(&self, items: Vec<u32>) -> Vec<String> {
        items
            .into_iter()
            .map(|i| self.titles[i as usize].clone())
            .collect()
    }

    fn indices<'a>(&self, ids: impl IntoIterator<Item = &'a String>) -> Vec<u32> {
        ids.into_iter()
            .filter_map(|id| self.index.get(id).copied())
            .collect()
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
        let skip: HashSet<u32> = self.indices(exclude).into_iter().collect();
        let items = self
            .by_views
            .iter()
            .copied()
            .filter(|i| !skip.contains(i))
            .take(n)
            .collect();
        self.ids(items)
    }

    /// How many viewers watched `title`.
    pub fn views(&self, title: &str) -> u32 {
        self.index.get(title).map_or(0, |&i| self.views[i as usize])
    }

    /// The most watched titles of a genre.
    pub fn popular_in(&self, genre: &str, n: usize) -> Vec<String> {
        let items = self
            .by_genre
            .get(genre)
            .map(|l| l.iter().copied().take(n).collect());
        self.ids(items.unwrap_or_default())
    }
}
