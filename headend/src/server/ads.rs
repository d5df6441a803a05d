//! Ad plans and beacons over HTTP.
//!
//! - `GET /api/v1/ads/vmap/{session}`: the VMAP plan of a playback session
//!   (empty for ad-free accounts). The session id is a random 128-bit
//!   capability handed out with the playback session, as ad servers do,
//!   so players need no bearer token here.
//! - `GET /api/v1/ads/track?s=&b=&ad=&e=[&code=][&cb=]`: a tracking
//!   beacon. `cb` is the beacon's id (the VAST `[CACHEBUSTING]` macro as
//!   the player filled it): a beacon sent again with the same id, because
//!   the reply to the first was lost, is answered as delivered and recorded
//!   once.
//! - `GET /api/v1/ads/events/{session}`: the beacons received, in order
//!   (for operators and tests).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use ottbox_protocol::ErrorCode;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::HttpError;
use crate::ads::{self, Ad, Break, Offset};
use crate::db::{DbError, assets};

/// The ad routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/ads/vmap/{session}", get(vmap))
        .route("/api/v1/ads/track", get(track))
        .route("/api/v1/ads/events/{session}", get(events))
}

/// Opens an ad session for a playback session; returns its plan URL, or
/// `None` when ads are off.
pub fn open_session(
    state: &AppState,
    conn: &Connection,
    account: &str,
    title: &str,
) -> Result<Option<String>, DbError> {
    if !state.config.ads.enabled {
        return Ok(None);
    }
    let id = hex::encode(rand::random::<[u8; 16]>());
    conn.execute(
        "INSERT INTO ad_sessions (id, account_id, title_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, account, title, crate::db::now_unix()],
    )?;
    Ok(Some(format!(
        "{}/api/v1/ads/vmap/{id}",
        state.config.public_url
    )))
}

async fn vmap(
    State(state): State<Arc<AppState>>,
    Path(session): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    let xml = super::blocking(state, move |state, conn| {
        let row: Option<(String, bool, f64)> = conn
            .query_row(
                "SELECT s.title_id, a.ad_free, COALESCE(x.duration_s, 0)
                 FROM ad_sessions s JOIN accounts a ON a.id = s.account_id
                 JOIN titles t ON t.id = s.title_id LEFT JOIN assets x ON x.id = t.asset_id
                 WHERE s.id = ?1",
                [&session],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(DbError::from)?;
        let (_, ad_free, duration) = row.ok_or_else(unknown_session)?;
        if ad_free {
            return Ok(ads::vmap(&[]));
        }
        Ok(ads::vmap(&plan(state, conn, &session, duration)?))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        xml,
    ))
}

/// Pre-roll, mid-rolls at the configured cue points, post-roll; creatives
/// dealt in turn from the configured list (those that exist).
fn plan(
    state: &AppState,
    conn: &Connection,
    session: &str,
    duration: f64,
) -> Result<Vec<Break>, HttpError> {
    let cfg = &state.config.ads;
    let mut creatives = Vec::new();
    for id in &cfg.creatives {
        if let Some(a) = assets::get(conn, id)? {
            creatives.push(a);
        }
    }
    if creatives.is_empty() {
        return Ok(Vec::new());
    }
    let base = &state.config.public_url;
    let tracking_base = if cfg.tracking_url.is_empty() {
        base
    } else {
        &cfg.tracking_url
    };
    let mut next = 0;
    let mut take = |break_id: &str, n: usize| -> Vec<Ad> {
        (0..n)
            .map(|_| {
                let a = &creatives[next % creatives.len()];
                next += 1;
                Ad {
                    id: a.id.clone(),
                    duration_s: a.duration_s,
                    hls_url: format!("{base}/origin/{}", a.hls_path),
                    dash_url: a.dash_path.as_ref().map(|d| format!("{base}/origin/{d}")),
                    tracking: format!(
                        "{tracking_base}/api/v1/ads/track?s={session}&b={break_id}&ad={}",
                        a.id
                    ),
                }
            })
            .collect()
    };
    let mut breaks = vec![Break {
        ads: take("preroll", 1),
        id: "preroll".into(),
        offset: Offset::Start,
    }];
    for (i, share) in cfg.midrolls.iter().enumerate() {
        let at = duration * share.clamp(0.0, 1.0);
        if at > 0.0 && at < duration {
            let id = format!("midroll-{}", i + 1);
            breaks.push(Break {
                ads: take(&id, cfg.midroll_pod.max(1)),
                id,
                offset: Offset::At(at),
            });
        }
    }
    breaks.push(Break {
        ads: take("postroll", 1),
        id: "postroll".into(),
        offset: Offset::End,
    });
    Ok(breaks)
}

#[derive(Deserialize)]
struct Beacon {
    s: String,
    b: String,
    ad: String,
    e: String,
    code: Option<String>,
    cb: Option<String>,
}

impl Beacon {
    /// The id the player gave this beacon, if it filled the macro in.
    fn id(&self) -> Option<&str> {
        self.cb.as_deref().filter(|cb| *cb != "[CACHEBUSTING]")
    }
}

async fn track(
    State(state): State<Arc<AppState>>,
    Query(beacon): Query<Beacon>,
) -> Result<StatusCode, HttpError> {
    let known = ads::TRACKING_EVENTS.contains(&beacon.e.as_str())
        || beacon.e == "impression"
        || beacon.e == "error";
    if !known
        || beacon.b.len() > 32
        || beacon.ad.len() > 64
        || beacon.code.as_ref().is_some_and(|c| c.len() > 16)
        || beacon.cb.as_ref().is_some_and(|c| c.len() > 32)
    {
        return Err(HttpError::from_code(
            ErrorCode::InvalidRequest,
            "not a beacon this server sent",
        ));
    }
    super::blocking(state, move |_, conn| {
        let session: Option<String> = conn
            .query_row(
                "SELECT id FROM ad_sessions WHERE id = ?1",
                [&beacon.s],
                |r| r.get(0),
            )
            .optional()
            .map_err(DbError::from)?;
        if session.is_none() {
            return Err(unknown_session());
        }
        // A beacon id seen before in this session is a resend: already
        // counted, and answered as delivered so the player stops sending.
        conn.execute(
            "INSERT OR IGNORE INTO ad_events
               (session_id, break_id, ad_id, event, error_code, at_ms, beacon_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                beacon.s,
                beacon.b,
                beacon.ad,
                beacon.e,
                beacon.code,
                now_ms(),
                beacon.id()
            ],
        )
        .map_err(DbError::from)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// One recorded beacon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconRecord {
    /// The break.
    pub break_id: String,
    /// The ad.
    pub ad_id: String,
    /// `impression`, `start`, ..., `complete`, `error`.
    pub event: String,
    /// The VAST error code, for `error`.
    pub error_code: Option<String>,
    /// When it arrived, Unix milliseconds.
    pub at_ms: i64,
}

async fn events(
    State(state): State<Arc<AppState>>,
    Path(session): Path<String>,
) -> Result<Json<Vec<BeaconRecord>>, HttpError> {
    super::blocking(state, move |_, conn| {
        let mut stmt = conn
            .prepare("SELECT break_id, ad_id, event, error_code, at_ms FROM ad_events WHERE session_id = ?1 ORDER BY seq")
            .map_err(DbError::from)?;
        let rows = stmt
            .query_map([&session], |r| {
                Ok(BeaconRecord {
                    break_id: r.get(0)?,
                    ad_id: r.get(1)?,
                    event: r.get(2)?,
                    error_code: r.get(3)?,
                    at_ms: r.get(4)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(DbError::from)?;
        Ok(rows)
    })
    .await
    .map(Json)
}

fn unknown_session() -> HttpError {
    HttpError::from_code(ErrorCode::NotFound, "no such ad session")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
