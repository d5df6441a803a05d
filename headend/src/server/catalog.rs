//! Catalog endpoints: search, title details, similar titles.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use ottbox_protocol::ErrorCode;
use ottbox_protocol::catalog::{TitleDetails, TitleList, TitleSummary};
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;

use super::AppState;
use super::error::HttpError;

/// Most results one page may have.
const MAX_LIMIT: usize = 100;
/// Search hits re-ranked with popularity.
const RERANK_POOL: usize = 50;
/// Weight of ln(1 + views) against BM25 in search ranking.
const POPULARITY_WEIGHT: f64 = 1.0;
/// Longest query accepted, in bytes.
const MAX_QUERY_BYTES: usize = 256;

/// The catalog routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/search", get(search))
        .route("/api/v1/titles/{id}", get(details))
        .route("/api/v1/titles/{id}/similar", get(similar))
        .route("/api/v1/titles/{id}/poster.png", get(poster))
}

#[derive(Deserialize)]
struct SearchParams {
    q: String,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct LimitParams {
    limit: Option<usize>,
}

async fn search(
    State(state): State<Arc<AppState>>,
    Query(params): Query<SearchParams>,
) -> Result<axum::response::Response, HttpError> {
    if params.q.len() > MAX_QUERY_BYTES {
        return Err(HttpError::from_code(
            ErrorCode::InvalidRequest,
            format!("search query is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let limit = params.limit.unwrap_or(20).clamp(1, MAX_LIMIT);
    // A repeated query is answered from memory, on the async thread: no
    // blocking-pool hop, no connection, no FTS5.
    let key = crate::search::normalise(&params.q);
    if let Some(body) = state.search_cache.get(&key, limit) {
        return Ok(super::json_bytes(body));
    }
    let body = super::blocking(state, move |state, conn| {
        let mut hits = state
            .search
            .search(conn, &params.q, RERANK_POOL.max(limit))?;
        // Text relevance first, popularity as the tie-breaker that makes
        // "godfathr" mean The Godfather rather than Tokyo Godfathers.
        let reco = state.reco();
        let score = |h: &crate::search::Hit| {
            -h.rank + POPULARITY_WEIGHT * f64::from(reco.views(&h.title_id)).ln_1p()
        };
        hits.sort_by(|a, b| score(b).total_cmp(&score(a)));
        let results = summaries(
            state,
            conn,
            hits.iter().take(limit).map(|h| h.title_id.as_str()),
        )?;
        let body = super::to_bytes(&TitleList { results })?;
        state.search_cache.put(key, limit, body.clone());
        Ok(body)
    })
    .await?;
    Ok(super::json_bytes(body))
}

async fn similar(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(params): Query<LimitParams>,
) -> Result<Json<TitleList>, HttpError> {
    let limit = params.limit.unwrap_or(10).clamp(1, MAX_LIMIT);
    super::blocking(state, move |state, conn| {
        if state.title(conn, &id)?.is_none() {
            return Err(unknown_title());
        }
        let hits = state.search.similar(conn, &id, limit)?;
        summaries(state, conn, hits.iter().map(|h| h.title_id.as_str()))
    })
    .await
    .map(|results| Json(TitleList { results }))
}

async fn details(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<TitleDetails>, HttpError> {
    super::blocking(state, move |_, conn| {
        let summary = summary(conn, &id)?.ok_or_else(unknown_title)?;
        let (synopsis, asset_id, duration_s) = conn
            .query_row(
                "SELECT t.synopsis, t.asset_id, a.duration_s FROM titles t
                 LEFT JOIN assets a ON a.id = t.asset_id WHERE t.id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(crate::db::DbError::from)?;
        let mut stmt = conn
            .prepare_cached("SELECT tag FROM title_tags WHERE title_id = ?1 ORDER BY tag")
            .map_err(crate::db::DbError::from)?;
        let tags = stmt
            .query_map([&id], |r| r.get(0))
            .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
            .map_err(crate::db::DbError::from)?;
        let mut stmt = conn
            .prepare_cached("SELECT name FROM title_cast WHERE title_id = ?1 ORDER BY position")
            .map_err(crate::db::DbError::from)?;
        let cast = stmt
            .query_map([&id], |r| r.get(0))
            .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
            .map_err(crate::db::DbError::from)?;
        Ok(TitleDetails {
            age_rating: age_rating(&summary.genres).to_owned(),
            summary,
            synopsis,
            tags,
            cast,
            asset_id,
            duration_s,
        })
    })
    .await
    .map(Json)
}

/// An age rating from genres: MovieLens has none, so the sample catalog
/// derives a conservative one.
fn age_rating(genres: &[String]) -> &'static str {
    let has = |g: &str| genres.iter().any(|x| x == g);
    if has("Horror") || has("Film-Noir") {
        "16"
    } else if has("Thriller") || has("Crime") || has("War") || has("Action") {
        "12"
    } else {
        "All"
    }
}

async fn poster(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<impl axum::response::IntoResponse, HttpError> {
    let png = super::blocking(state, move |_, conn| {
        let t = summary(conn, &id)?.ok_or_else(unknown_title)?;
        Ok(crate::poster::render(&t.name, t.year, &t.genres))
    })
    .await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/png"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        png,
    ))
}

fn unknown_title() -> HttpError {
    HttpError::from_code(ErrorCode::NotFound, "no such title")
}

/// Reads one title's summary from the database (the cache in
/// [`AppState::title`] is what handlers use).
pub(super) fn summary(conn: &Connection, id: &str) -> Result<Option<TitleSummary>, HttpError> {
    let mut stmt = conn
        .prepare_cached("SELECT id, name, year, genres FROM titles WHERE id = ?1")
        .map_err(crate::db::DbError::from)?;
    Ok(stmt
        .query_row([id], summary_row)
        .optional()
        .map_err(crate::db::DbError::from)?)
}

/// Every title's summary, for the in-memory cache.
pub(super) fn all_summaries(conn: &Connection) -> Result<Vec<TitleSummary>, crate::db::DbError> {
    let mut stmt = conn.prepare("SELECT id, name, year, genres FROM titles")?;
    let rows = stmt.query_map([], summary_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TitleSummary> {
    let id: String = r.get(0)?;
    let genres: String = r.get(3)?;
    Ok(TitleSummary {
        poster: format!("/api/v1/titles/{id}/poster.png"),
        id,
        name: r.get(1)?,
        year: r.get(2)?,
        genres: genres
            .split('|')
            .filter(|g| !g.is_empty() && *g != "(no genres listed)")
            .map(str::to_owned)
            .collect(),
    })
}

fn summaries<'a>(
    state: &AppState,
    conn: &Connection,
    ids: impl Iterator<Item = &'a str>,
) -> Result<Vec<TitleSummary>, HttpError> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(s) = state.title(conn, id)? {
            out.push(s);
        }
    }
    Ok(out)
}
