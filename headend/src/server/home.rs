//! The home screen: `GET /api/v1/home` and pages of one row,
//! `GET /api/v1/home/rows/{id}?offset=&limit=`.
//!
//! Rows, in order: Continue watching (titles started and not finished, with
//! progress), Recommended for you (item-kNN on the viewer's history;
//! popularity for a new viewer), Because you watched (the last title's
//! neighbours), Trending, and genre rows. Titles the viewer already watched
//! never appear in the recommendation rows.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use ottbox_protocol::ErrorCode;
use ottbox_protocol::catalog::{Home, Row, RowItem};
use rusqlite::Connection;
use serde::Deserialize;

use super::AppState;
use super::bearer::{authenticate, check_session};
use super::error::HttpError;
use crate::db::history;

/// Genres that get a row of their own, in display order.
const GENRE_ROWS: &[&str] = &[
    "Comedy",
    "Drama",
    "Action",
    "Thriller",
    "Animation",
    "Sci-Fi",
    "Romance",
    "Documentary",
];
/// Tiles per row unless asked otherwise.
const DEFAULT_ITEMS: usize = 20;
/// Most tiles one page may have.
const MAX_ITEMS: usize = 100;

/// The home routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/home", get(home))
        .route("/api/v1/home/rows/{id}", get(one_row))
}

#[derive(Deserialize)]
struct HomeParams {
    items: Option<usize>,
}

#[derive(Deserialize)]
struct PageParams {
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn home(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<HomeParams>,
) -> Result<axum::response::Response, HttpError> {
    let claims = authenticate(&state, &headers)?;
    let items = params.items.unwrap_or(DEFAULT_ITEMS).clamp(1, MAX_ITEMS);
    let body = super::blocking(state, move |state, conn| {
        // The session is checked on every request, cached rows or not, so
        // a logout takes effect at once.
        check_session(conn, &claims)?;
        let ticket = match state.home_cache.get(&claims.sub, items) {
            Ok(body) => return Ok(body),
            Err(ticket) => ticket,
        };
        let home = build_home(state, conn, &claims.sub, items)?;
        let body = super::to_bytes(&home)?;
        state
            .home_cache
            .put(&claims.sub, ticket, items, body.clone());
        Ok(body)
    })
    .await?;
    Ok(super::json_bytes(body))
}

/// Every row of `account`'s home screen, `items` tiles each.
fn build_home(
    state: &AppState,
    conn: &Connection,
    account: &str,
    items: usize,
) -> Result<Home, HttpError> {
    let ctx = Context::new(state, conn, account)?;
    let mut ids = vec!["continue".to_owned(), "recommended".to_owned()];
    if let Some(last) = ctx.watched.last() {
        ids.push(format!("because:{last}"));
    }
    ids.push("trending".to_owned());
    ids.extend(GENRE_ROWS.iter().map(|g| format!("genre:{g}")));
    let mut rows = Vec::new();
    for id in ids {
        if let Some(row) = ctx.row(&id, 0, items)?
            && !row.items.is_empty()
        {
            rows.push(row);
        }
    }
    Ok(Home { rows })
}

async fn one_row(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(page): Query<PageParams>,
) -> Result<Json<Row>, HttpError> {
    let claims = authenticate(&state, &headers)?;
    let offset = page.offset.unwrap_or(0).min(10_000);
    let limit = page.limit.unwrap_or(DEFAULT_ITEMS).clamp(1, MAX_ITEMS);
    super::blocking(state, move |state, conn| {
        check_session(conn, &claims)?;
        Context::new(state, conn, &claims.sub)?
            .row(&id, offset, limit)?
            .ok_or_else(|| HttpError::from_code(ErrorCode::NotFound, "no such row"))
    })
    .await
    .map(Json)
}

/// What building rows for one viewer needs.
struct Context<'a> {
    state: &'a AppState,
    conn: &'a Connection,
    account: &'a str,
    /// Titles the viewer watched, oldest first.
    watched: Vec<String>,
}

impl<'a> Context<'a> {
    fn new(state: &'a AppState, conn: &'a Connection, account: &'a str) -> Result<Self, HttpError> {
        Ok(Self {
            watched: history::watched(conn, account)?,
            state,
            conn,
            account,
        })
    }

    /// Row `id`, items `offset..offset + limit`; `None` for an unknown id.
    fn row(&self, id: &str, offset: usize, limit: usize) -> Result<Option<Row>, HttpError> {
        let want = offset + limit + 1; // one more, to know whether there is a next page
        let reco = self.state.reco();
        let (title, ids): (String, Vec<String>) = match id.split_once(':') {
            None if id == "continue" => return self.continue_row(offset, limit).map(Some),
            None if id == "recommended" && !self.watched.is_empty() => (
                "Recommended for you".into(),
                reco.for_viewer(&self.watched, want),
            ),
            None if id == "recommended" => ("Popular on ottbox".into(), reco.popular(&[], want)),
            None if id == "trending" => ("Trending now".into(), reco.popular(&[], want)),
            Some(("because", title_id)) => {
                let Some(seed) = self.state.title(self.conn, title_id)? else {
                    return Ok(None);
                };
                (
                    format!("Because you watched {}", seed.name),
                    reco.similar(title_id, &self.watched, want),
                )
            }
            Some(("genre", genre)) if GENRE_ROWS.contains(&genre) => {
                (genre.to_owned(), reco.popular_in(genre, want))
            }
            _ => return Ok(None),
        };
        let mut items = Vec::new();
        for title_id in ids.iter().skip(offset).take(limit) {
            if let Some(t) = self.state.title(self.conn, title_id)? {
                items.push(RowItem {
                    title: t,
                    progress: None,
                    resume_s: None,
                });
            }
        }
        Ok(Some(Row {
            id: id.to_owned(),
            title,
            items,
            next_offset: (ids.len() > offset + limit).then_some((offset + limit) as u32),
        }))
    }

    fn continue_row(&self, offset: usize, limit: usize) -> Result<Row, HttpError> {
        let started = history::continue_watching(self.conn, self.account, offset + limit + 1)?;
        let mut items = Vec::new();
        for p in started.iter().skip(offset).take(limit) {
            if let Some(t) = self.state.title(self.conn, &p.title_id)? {
                let progress = (p.duration_s > 0.0)
                    .then(|| (p.position_s / p.duration_s).clamp(0.0, 1.0) as f32);
                items.push(RowItem {
                    title: t,
                    progress,
                    resume_s: Some(p.position_s),
                });
            }
        }
        Ok(Row {
            id: "continue".into(),
            title: "Continue watching".into(),
            items,
            next_offset: (started.len() > offset + limit).then_some((offset + limit) as u32),
        })
    }
}
