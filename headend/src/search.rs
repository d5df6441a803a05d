//! Catalog search: SQLite FTS5, with prefix matching for an on-screen
//! keyboard and typo tolerance.
//!
//! The index (`title_search`, see the migrations in [`crate::db`]) holds each
//! title's name, tags, genres, synopsis and cast. A query is turned into an FTS5
//! expression term by term:
//!
//! - every term is a prefix (`"netw"*`), because a viewer typing on a remote
//!   stops half-way through words ("soc netw" finds "The Social Network");
//! - a term that prefixes nothing in the index is replaced by the indexed
//!   words closest to it (edit distance with transpositions, one edit for
//!   short words, two for long ones, same first letter), so "socail" still
//!   finds "social";
//! - terms are ANDed; results are ranked by BM25 with the name weighing most.
//!
//! The vocabulary (from the `fts5vocab` table) is kept in memory, sorted, so
//! prefix checks are a binary search and corrections a short scan.
//! User input never reaches FTS5 syntax: terms are reduced to letters and
//! digits and quoted.

use std::sync::RwLock;

use rusqlite::Connection;

use crate::db::DbError;

/// Most terms a query may have; the rest are ignored.
const MAX_TERMS: usize = 8;
/// Longest term kept, in characters.
const MAX_TERM_CHARS: usize = 32;
/// Corrections tried per misspelt term.
const MAX_CORRECTIONS: usize = 4;

/// The in-memory side of the search index.
#[derive(Debug, Default)]
pub struct SearchIndex {
    /// Indexed words with the number of titles holding each, sorted by word.
    vocab: RwLock<Vec<(String, i64)>>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The title.
    pub title_id: String,
    /// BM25 rank; lower is better.
    pub rank: f64,
}

impl SearchIndex {
    /// Loads the vocabulary of the current index.
    pub fn load(conn: &Connection) -> Result<Self, DbError> {
        let index = Self::default();
        index.reload(conn)?;
        Ok(index)
    }

    /// Re-reads the vocabulary (after [`rebuild`]).
    pub fn reload(&self, conn: &Connection) -> Result<(), DbError> {
        let mut stmt = conn.prepare("SELECT term, doc FROM title_search_vocab ORDER BY term")?;
        let vocab = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        *self.vocab.write().unwrap_or_else(|e| e.into_inner()) = vocab;
        Ok(())
    }

    /// Searches; returns at most `limit` hits, best first.
    pub fn search(
        &self,
        conn: &Connection,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Hit>, DbError> {
        let Some(expr) = self.expression(query) else {
            return Ok(Vec::new());
        };
        let mut stmt = conn.prepare_cached(
            "SELECT title_id, bm25(title_search, 0.0, 10.0, 4.0, 2.0, 1.0, 4.0) AS r
             FROM title_search WHERE title_search MATCH ?1 ORDER BY r LIMIT ?2",
        )?;
        collect_hits(&mut stmt, rusqlite::params![expr, limit as i64])
    }

    /// Titles most like `title_id` by tags and genres: the title's own
    /// words, ORed, ranked by BM25 (rarer shared words count more).
    pub fn similar(
        &self,
        conn: &Connection,
        title_id: &str,
        limit: usize,
    ) -> Result<Vec<Hit>, DbError> {
        let words: Option<(String, String)> = conn
            .query_row(
                "SELECT tags, genres FROM title_search WHERE title_id = ?1",
                [title_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let Some((tags, genres)) = words else {
            return Ok(Vec::new());
        };
        let mut terms = terms(&format!("{tags} {genres}"), 64);
        terms.sort();
        terms.dedup();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let expr = terms
            .iter()
            .map(|t| quote(t))
            .collect::<Vec<_>>()
            .join(" OR ");
        let mut stmt = conn.prepare_cached(
            "SELECT title_id, bm25(title_search, 0.0, 0.0, 3.0, 1.0, 0.5, 0.0) AS r
             FROM title_search WHERE title_search MATCH ?1 AND title_id != ?2
             ORDER BY r LIMIT ?3",
        )?;
        collect_hits(&mut stmt, rusqlite::params![expr, title_id, limit as i64])
    }

    /// The FTS5 expression for a viewer's query, or `None` if nothing in it
    /// can match.
    fn expression(&self, query: &str) -> Option<String> {
        let vocab = self.vocab.read().unwrap_or_else(|e| e.into_inner());
        let parts: Vec<String> = terms(query, MAX_TERMS)
            .iter()
            .filter_map(|term| {
                if has_prefix(&vocab, term) {
                    return Some(format!("{}*", quote(term)));
                }
                let fixes = corrections(&vocab, term);
                (!fixes.is_empty()).then(|| {
                    let alts: Vec<String> = fixes.iter().map(|f| quote(f)).collect();
                    format!("({})", alts.join(" OR "))
                })
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }
}

/// Runs a `(title_id, rank)` query into hits.
fn collect_hits(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<Hit>, DbError> {
    let hits = stmt
        .query_map(params, |r| {
            Ok(Hit {
                title_id: r.get(0)?,
                rank: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(hits)
}

/// Rebuilds the index from the catalog tables.
pub fn rebuild(conn: &Connection) -> Result<(), DbError> {
    conn.execute_batch(
        "BEGIN;
         DELETE FROM title_search;
         INSERT INTO title_search (title_id, name, tags, genres, synopsis, cast)
           SELECT t.id, t.name,
                  COALESCE((SELECT group_concat(tag, ' ') FROM title_tags g WHERE g.title_id = t.id), ''),
                  replace(t.genres, '|', ' '),
                  t.synopsis,
                  COALESCE((SELECT group_concat(name, ' ') FROM
                              (SELECT name FROM title_cast c WHERE c.title_id = t.id ORDER BY position)), '')
           FROM titles t;
         INSERT INTO title_search (title_search) VALUES ('optimize');
         COMMIT;",
    )?;
    Ok(())
}

/// A query as search sees it: its terms, lower-case, space-separated. Two
/// queries with the same normal form give the same results, which makes it
/// the key of the search cache.
pub fn normalise(query: &str) -> String {
    terms(query, MAX_TERMS).join(" ")
}

/// Lower-case words of letters and digits, at most `max` of them.
fn terms(text: &str, max: usize) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(max)
        .map(|w| w.to_lowercase().chars().take(MAX_TERM_CHARS).collect())
        .collect()
}

/// A term as an FTS5 string (terms hold no quotes, but be safe).
fn quote(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

fn has_prefix(vocab: &[(String, i64)], term: &str) -> bool {
    let i = vocab.partition_point(|(w, _)| w.as_str() < term);
    vocab.get(i).is_some_and(|(w, _)| w.starts_with(term))
}

/// Indexed words within the allowed edit distance of `term`, comparing with
/// whole words and with word prefixes of the same length (the viewer may
/// still be typing), closest and most common first.
fn corrections(vocab: &[(String, i64)], term: &str) -> Vec<String> {
    let len = term.chars().count();
    let max_edits = match len {
        0..=3 => return Vec::new(),
        4..=6 => 1,
        _ => 2,
    };
    // Viewers rarely get the first letter wrong: compare only with words
    // that share it (or that start with the first two letters swapped),
    // which keeps a correction to a few hundred comparisons.
    let mut chars = term.chars();
    let (first, second) = (chars.next(), chars.next());
    let mut found: Vec<(usize, i64, &str)> = vocab
        .iter()
        .filter(|(word, _)| {
            let mut w = word.chars();
            let (a, b) = (w.next(), w.next());
            a == first || (a == second && b == first)
        })
        .filter_map(|(word, docs)| {
            let wlen = word.chars().count();
            if wlen + max_edits < len {
                return None;
            }
            // Optimal string alignment: edits plus adjacent transpositions.
            let whole = strsim::osa_distance(term, word);
            let prefix_end = word.char_indices().nth(len).map_or(word.len(), |(i, _)| i);
            let partial = strsim::osa_distance(term, &word[..prefix_end]);
            let d = whole.min(partial);
            (d <= max_edits).then_some((d, *docs, word.as_str()))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    found
        .into_iter()
        .take(MAX_CORRECTIONS)
        .map(|(_, _, w)| w.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(words: &[&str]) -> SearchIndex {
        let mut v: Vec<(String, i64)> = words.iter().map(|w| ((*w).to_owned(), 1)).collect();
        v.sort();
        SearchIndex {
            vocab: RwLock::new(v),
        }
    }

    #[test]
    fn prefixes_and_typos_become_fts_expressions() {
        let idx = vocab(&["network", "social", "the", "star", "wars"]);
        assert_eq!(
            idx.expression("Soc netw").as_deref(),
            Some("\"soc\"* AND \"netw\"*")
        );
        assert_eq!(idx.expression("socail").as_deref(), Some("(\"social\")"));
        assert_eq!(
            idx.expression("sta warz").as_deref(),
            Some("\"sta\"* AND (\"wars\")")
        );
        // Too short to correct safely: dropped rather than guessed.
        assert_eq!(idx.expression("star wrs").as_deref(), Some("\"star\"*"));
        assert_eq!(idx.expression("zzzzzz"), None);
        assert_eq!(idx.expression("  \"*(OR) NEAR "), None);
    }

    #[test]
    fn special_characters_never_reach_fts() {
        let idx = vocab(&["or", "near"]);
        let e = idx.expression("\"or\" NEAR(* -^").expect("some");
        assert_eq!(e, "\"or\"* AND \"near\"*");
    }
}
