//! The ClearKey license server, `POST /api/v1/license`.
//!
//! Keys are released only when every check passes, in this order, each with
//! its own stable code:
//!
//! 1. a valid bearer token of an existing account, else `invalid_token`;
//! 2. a well-formed W3C ClearKey request, else `invalid_request`;
//! 3. every key id known, else `unknown_key`;
//! 4. the account entitled to the asset the keys belong to, else `not_entitled`;
//! 5. the client's region among the asset's licensed regions, else
//!    `region_blocked`.
//!
//! Keys are unsealed only after all checks pass, and never logged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ottbox_protocol::ErrorCode;
use ottbox_protocol::license::{Jwk, LICENSE_PATH, LicenseRequest, LicenseResponse};

use super::AppState;
use super::bearer::{authenticate, check_session};
use super::device_auth::{PeerDevice, require_device};
use super::error::HttpError;
use crate::db::{accounts, assets};
use crate::keystore::ContentKey;
use crate::tokens::Claims;

/// Raw-key endpoint for legacy HLS AES-128 playlists, whose `EXT-X-KEY` URI
/// points here. Same checks as the ClearKey endpoint; the answer is the 16
/// key bytes, as RFC 8216 requires.
pub const HLS_KEY_PATH: &str = "/api/v1/license/hls/{kid}";

/// Most key ids one request may ask for (a title has a handful).
const MAX_KIDS: usize = 32;

/// The license routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(LICENSE_PATH, post(license))
        .route(HLS_KEY_PATH, get(hls_key))
}

async fn license(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    device: Option<Extension<PeerDevice>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<LicenseResponse>, HttpError> {
    let body = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::from_code(
                ErrorCode::PayloadTooLarge,
                "license request body is too large",
            )
        } else {
            HttpError::from_code(ErrorCode::InvalidRequest, format!("cannot read body: {e}"))
        }
    })?;
    let account = authenticate(&state, &headers)?;
    let (kids, session_type) = parse_request(&body)?;
    let keys = grant_async(state, peer, device, &headers, account, kids).await?;
    let keys = keys
        .iter()
        .map(|key| Jwk {
            kty: "oct".into(),
            kid: B64.encode(key.kid),
            k: B64.encode(key.key),
        })
        .collect();
    Ok(Json(LicenseResponse { keys, session_type }))
}

async fn hls_key(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(kid): Path<String>,
    device: Option<Extension<PeerDevice>>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, HttpError> {
    let account = authenticate(&state, &headers)?;
    let kid = decode_kid(&kid)?;
    let keys = grant_async(state, peer, device, &headers, account, vec![kid]).await?;
    let key = keys.first().map(|k| k.key.to_vec()).unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        key,
    ))
}

/// Works out the client's region and runs [`grant`] off the async runtime.
async fn grant_async(
    state: Arc<AppState>,
    peer: SocketAddr,
    device: Option<Extension<PeerDevice>>,
    headers: &HeaderMap,
    claims: Claims,
    kids: Vec<[u8; 16]>,
) -> Result<Vec<ContentKey>, HttpError> {
    let region = state.client_region(peer, headers);
    let device = device.map(|Extension(d)| d);
    tokio::task::spawn_blocking(move || {
        grant(&state, &claims, device.as_ref(), &kids, region.as_deref())
    })
    .await
    .map_err(HttpError::internal)?
}

/// Parses and validates the ClearKey request: its key ids and session type.
fn parse_request(body: &[u8]) -> Result<(Vec<[u8; 16]>, String), HttpError> {
    let invalid = |m: String| HttpError::from_code(ErrorCode::InvalidRequest, m);
    let req: LicenseRequest = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("license request is not ClearKey JSON: {e}")))?;
    if req.session_type != "temporary" {
        return Err(invalid(format!(
            "session type {:?} is not offered; use \"temporary\"",
            req.session_type
        )));
    }
    if req.kids.is_empty() || req.kids.len() > MAX_KIDS {
        return Err(invalid(format!("ask for 1 to {MAX_KIDS} key ids")));
    }
    let kids = req
        .kids
        .iter()
        .map(|kid| decode_kid(kid))
        .collect::<Result<_, _>>()?;
    Ok((kids, req.session_type))
}

/// Decodes a base64url key id (padding tolerated) of 16 bytes.
fn decode_kid(kid: &str) -> Result<[u8; 16], HttpError> {
    B64.decode(kid.trim_end_matches('='))
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .ok_or_else(|| {
            HttpError::from_code(
                ErrorCode::InvalidRequest,
                "each key id must be 16 bytes in base64url",
            )
        })
}

/// Runs the checks that need the database and unseals the keys.
fn grant(
    state: &AppState,
    claims: &Claims,
    device: Option<&PeerDevice>,
    kids: &[[u8; 16]],
    region: Option<&str>,
) -> Result<Vec<ContentKey>, HttpError> {
    let conn = state.db.conn()?;
    check_session(&conn, claims)?;
    require_device(state, &conn, device)?;
    let account = claims.sub.as_str();
    let mut found = Vec::with_capacity(kids.len());
    for kid in kids {
        let (asset, sealed) = assets::key_by_kid(&conn, kid)?.ok_or_else(|| {
            HttpError::from_code(
                ErrorCode::UnknownKey,
                format!("key id {} is not known", B64.encode(kid)),
            )
        })?;
        found.push((asset, sealed));
    }
    let mut checked: Vec<&str> = Vec::new();
    for (asset, _) in &found {
        if checked.contains(&asset.as_str()) {
            continue;
        }
        if !accounts::is_entitled_to_asset(&conn, account, asset)? {
            tracing::info!(account, asset, "license refused: not_entitled");
            return Err(HttpError::from_code(
                ErrorCode::NotEntitled,
                "your subscription does not include this title",
            ));
        }
        let licensed = assets::regions(&conn, asset)?;
        if !region.is_some_and(|r| licensed.iter().any(|l| l == r)) {
            tracing::info!(account, asset, region, "license refused: region_blocked");
            return Err(HttpError::from_code(
                ErrorCode::RegionBlocked,
                "this title is not available in your region",
            ));
        }
        checked.push(asset);
    }
    let keys = found
        .iter()
        .map(|(_, sealed)| state.master.open(&sealed.kid, &sealed.sealed))
        .collect::<Result<Vec<_>, _>>()
        .map_err(HttpError::internal)?;
    tracing::debug!(account, keys = keys.len(), "license granted");
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parsing_rejects_bad_kids() {
        let ok = format!(
            r#"{{"kids":["{}"],"type":"temporary"}}"#,
            B64.encode([7u8; 16])
        );
        assert_eq!(
            parse_request(ok.as_bytes()).expect("valid").0,
            vec![[7u8; 16]]
        );
        for bad in [
            "",
            "{",
            r#"{"kids":[]}"#,
            r#"{"kids":["short"]}"#,
            r#"{"kids":"notalist"}"#,
            r#"{"kids":["AAAAAAAAAAAAAAAAAAAAAA"],"type":"persistent-license"}"#,
        ] {
            assert!(parse_request(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
