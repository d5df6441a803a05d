//! Playback sessions (`POST /api/v1/playback/{title}`) and viewing events
//! (`POST /api/v1/events`).
//!
//! A playback session is refused with `not_entitled` or `region_blocked`
//! before the box fetches any media; when granted it lists the title's
//! manifests on every CDN edge, those near the viewer's region first.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Extension, Json, Router};
use ottbox_protocol::ErrorCode;
use ottbox_protocol::license::LICENSE_PATH;
use ottbox_protocol::playback::{
    Edge, EventBatch, EventKind, EventReceipt, PlaybackSession, SteeringUrls,
};
use ottbox_protocol::steering::{SteeringProtocol, steering_path};
use rusqlite::OptionalExtension;

use super::AppState;
use super::bearer::{authenticate, check_session};
use super::device_auth::{PeerDevice, require_device};
use super::error::HttpError;
use crate::db::{DbError, accounts, assets, history};

/// Most events one batch may carry.
const MAX_EVENTS: usize = 500;

/// The playback and event routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/playback/{title}", post(session))
        .route("/api/v1/events", post(events))
}

async fn session(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(title): Path<String>,
    device: Option<Extension<PeerDevice>>,
    headers: HeaderMap,
) -> Result<Json<PlaybackSession>, HttpError> {
    let claims = authenticate(&state, &headers)?;
    let region = state.client_region(peer, &headers);
    super::blocking(state, move |state, conn| {
        check_session(conn, &claims)?;
        require_device(state, conn, device.as_ref().map(|Extension(d)| d))?;
        let account = claims.sub.as_str();
        let asset_id: Option<Option<String>> = conn
            .query_row("SELECT asset_id FROM titles WHERE id = ?1", [&title], |r| {
                r.get(0)
            })
            .optional()
            .map_err(DbError::from)?;
        let asset = asset_id
            .ok_or_else(|| HttpError::from_code(ErrorCode::NotFound, "no such title"))?
            .and_then(|id| assets::get(conn, &id).transpose())
            .transpose()?
            .ok_or_else(|| {
                HttpError::from_code(ErrorCode::NotFound, "this title has no video yet")
            })?;
        if !accounts::is_entitled_to_asset(conn, account, &asset.id)? {
            return Err(HttpError::from_code(
                ErrorCode::NotEntitled,
                "your subscription does not include this title",
            ));
        }
        let licensed = assets::regions(conn, &asset.id)?;
        if !region
            .as_deref()
            .is_some_and(|r| licensed.iter().any(|l| l == r))
        {
            return Err(HttpError::from_code(
                ErrorCode::RegionBlocked,
                "this title is not available in your region",
            ));
        }
        let resume_s = history::resume_point(conn, account, &title)?;
        let ad_plan_url = super::ads::open_session(state, conn, account, &title)?;
        // Steering only means something with edges to choose between.
        let steering = (!state.config.edges.is_empty()).then(|| {
            let base = state.config.public_url.trim_end_matches('/');
            SteeringUrls {
                hls_url: format!("{base}{}", steering_path(&title, SteeringProtocol::Hls)),
                dash_url: format!("{base}{}", steering_path(&title, SteeringProtocol::Dash)),
            }
        });
        Ok(PlaybackSession {
            steering,
            edges: edges(state, region.as_deref(), &asset),
            license_url: format!("{}{LICENSE_PATH}", state.config.public_url),
            title_id: title,
            asset_id: asset.id,
            scheme: asset.scheme,
            duration_s: asset.duration_s,
            resume_s,
            ad_plan_url,
        })
    })
    .await
    .map(Json)
}

/// The title's manifests on every edge: those serving the viewer's region
/// first, in configuration order. Without edges, the origin itself.
fn edges(state: &AppState, region: Option<&str>, asset: &assets::Asset) -> Vec<Edge> {
    let on = |name: &str, base: &str| Edge {
        name: name.to_owned(),
        hls_url: format!("{base}/origin/{}", asset.hls_path),
        dash_url: asset
            .dash_path
            .as_ref()
            .map(|d| format!("{base}/origin/{d}")),
    };
    if state.config.edges.is_empty() {
        return vec![on("origin", &state.config.public_url)];
    }
    let mut ranked: Vec<&crate::config::EdgeConfig> = state.config.edges.iter().collect();
    // A stable sort keeps configuration order within each group.
    ranked.sort_by_key(|e| !region.is_some_and(|r| e.regions.iter().any(|er| er == r)));
    ranked
        .iter()
        .map(|e| on(&e.name, e.url.trim_end_matches('/')))
        .collect()
}

async fn events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Json<EventBatch>, JsonRejection>,
) -> Result<Json<EventReceipt>, HttpError> {
    let claims = authenticate(&state, &headers)?;
    let Json(batch) =
        body.map_err(|e| HttpError::from_code(ErrorCode::InvalidRequest, e.body_text()))?;
    validate(&batch)?;
    super::blocking_mut(state, move |state, conn| {
        check_session(conn, &claims)?;
        for e in &batch.events {
            if let Some(t) = &e.title_id {
                let known = conn
                    .query_row("SELECT 1 FROM titles WHERE id = ?1", [t], |_| Ok(()))
                    .optional()
                    .map_err(DbError::from)?
                    .is_some();
                if !known {
                    return Err(HttpError::from_code(
                        ErrorCode::NotFound,
                        format!("event {}: no such title {t:?}", e.id),
                    ));
                }
            }
        }
        let (accepted, duplicates) = history::record(conn, &claims.sub, &batch.events)?;
        // Continue watching and the recommendations follow the history.
        state.home_cache.invalidate(&claims.sub);
        Ok(EventReceipt {
            accepted,
            duplicates,
        })
    })
    .await
    .map(Json)
}

fn validate(batch: &EventBatch) -> Result<(), HttpError> {
    let bad = |m: String| Err(HttpError::from_code(ErrorCode::InvalidRequest, m));
    if batch.events.len() > MAX_EVENTS {
        return bad(format!("at most {MAX_EVENTS} events per batch"));
    }
    for e in &batch.events {
        if e.id.is_empty() || e.id.len() > 64 {
            return bad("event ids are 1 to 64 characters".into());
        }
        let needs_title = !matches!(e.kind, EventKind::Search);
        if needs_title != e.title_id.is_some() {
            return bad(format!(
                "event {}: title_id is required for play, progress and complete only",
                e.id
            ));
        }
        if e.position_s.is_some_and(|p| !p.is_finite() || p < 0.0) {
            return bad(format!(
                "event {}: position_s must be a finite number ≥ 0",
                e.id
            ));
        }
        if e.query.as_ref().is_some_and(|q| q.len() > 256) {
            return bad(format!("event {}: query longer than 256 bytes", e.id));
        }
    }
    Ok(())
}
