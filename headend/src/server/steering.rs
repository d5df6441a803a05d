//! The content steering server: `GET /api/v1/steering/{title}/{hls|dash}`.
//!
//! A box playing a title asks here, every TTL, which CDN edge to fetch
//! from (see [`ottbox_protocol::steering`] for the exchange). The answer
//! ranks the configured edges, pathway ID = edge name:
//!
//! 1. edges that accept connections before edges that do not (the headend
//!    probes each edge with a TCP connect, at most once a second per edge);
//! 2. edges the box has not reported failing (the `ottbox_failed`
//!    parameter) before those it has;
//! 3. edges serving the viewer's region (from the client address, as for
//!    playback sessions: `X-Forwarded-For` only from trusted proxies)
//!    before the others;
//! 4. configuration order.
//!
//! Nothing is dropped from the list: when every edge looks bad, the box
//! still has somewhere to try. The throughput the box reports is logged
//! (a real CDN switch would weigh it; a ranking from two loopback edges
//! would only be noise). The answer is per viewer, so it is never cached
//! (`Cache-Control: no-store`).
//!
//! Design: the box applies the answer to its session's `edges` list (see
//! [`ottbox_protocol::playback::PlaybackSession::steering`]) rather than the
//! origin rewriting every multivariant playlist and MPD into one variant
//! set per edge: the manifests stay byte-identical on every edge (so they
//! cache), and the box already knows each edge's manifest URL.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ottbox_protocol::ErrorCode;
use ottbox_protocol::steering::{
    FAILED_PARAM, STEERING_PREFIX, SteeringManifest, SteeringProtocol, steering_path,
};

use super::AppState;
use super::error::HttpError;
use crate::config::EdgeConfig;

/// Seconds a steering answer holds before the box asks again.
pub const STEERING_TTL_S: u64 = 10;
/// How long one probe of an edge is believed.
const PROBE_TTL: Duration = Duration::from_secs(1);
/// How long a TCP connect to an edge may take before it counts as down.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// The steering routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        &format!("{STEERING_PREFIX}/{{title}}/{{protocol}}"),
        get(steer),
    )
}

/// Which edges accept connections, as last probed.
#[derive(Debug, Default)]
pub struct EdgeHealth {
    probes: Mutex<HashMap<String, (Instant, bool)>>,
}

impl EdgeHealth {
    /// Whether each edge (by name) accepts TCP connections now; probes
    /// older than a second are made again, all at once.
    pub async fn check(&self, edges: &[EdgeConfig]) -> HashMap<String, bool> {
        let now = Instant::now();
        let stale: Vec<&EdgeConfig> = {
            let probes = self.probes.lock().unwrap_or_else(|e| e.into_inner());
            edges
                .iter()
                .filter(|e| {
                    probes
                        .get(&e.name)
                        .is_none_or(|(at, _)| now.duration_since(*at) > PROBE_TTL)
                })
                .collect()
        };
        let mut tasks = tokio::task::JoinSet::new();
        for edge in stale {
            let (name, authority) = (edge.name.clone(), authority(&edge.url));
            tasks.spawn(async move {
                let up = match authority {
                    Some(a) => matches!(
                        tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(a))
                            .await,
                        Ok(Ok(_))
                    ),
                    None => false,
                };
                (name, up)
            });
        }
        let fresh = tasks.join_all().await;
        let mut probes = self.probes.lock().unwrap_or_else(|e| e.into_inner());
        for (name, up) in fresh {
            if !up {
                tracing::info!(edge = %name, "CDN edge does not accept connections");
            }
            probes.insert(name, (now, up));
        }
        edges
            .iter()
            .map(|e| {
                let up = probes.get(&e.name).is_some_and(|(_, up)| *up);
                (e.name.clone(), up)
            })
            .collect()
    }
}

/// `host:port` of a base URL (the scheme's port when none is given).
fn authority(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let auth = rest.split('/').next().filter(|a| !a.is_empty())?;
    let has_port = match auth.rfind(']') {
        Some(end) => auth[end..].contains(':'),
        None => auth.contains(':'),
    };
    Some(if has_port {
        auth.to_owned()
    } else {
        let port = if scheme == "https" { 443 } else { 80 };
        format!("{auth}:{port}")
    })
}

/// The edges in steering order (see the module docs).
pub fn rank(
    edges: &[EdgeConfig],
    region: Option<&str>,
    failed: &[&str],
    up: &HashMap<String, bool>,
) -> Vec<String> {
    let mut ranked: Vec<&EdgeConfig> = edges.iter().collect();
    // A stable sort keeps configuration order among equals.
    ranked.sort_by_key(|e| {
        let down = !up.get(&e.name).copied().unwrap_or(false);
        let reported = failed.contains(&e.name.as_str());
        let far = !region.is_some_and(|r| e.regions.iter().any(|er| er == r));
        (down, reported, far)
    });
    ranked.into_iter().map(|e| e.name.clone()).collect()
}

async fn steer(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((title, protocol)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let protocol = match protocol.as_str() {
        "hls" => SteeringProtocol::Hls,
        "dash" => SteeringProtocol::Dash,
        _ => {
            return Err(HttpError::from_code(
                ErrorCode::NotFound,
                "steering is served for hls and dash",
            ));
        }
    };
    let region = state.client_region(peer, &headers);
    let id = title.clone();
    let known = super::blocking(state.clone(), move |state, conn| {
        Ok(state.title(conn, &id)?.is_some())
    })
    .await?;
    if !known {
        return Err(HttpError::from_code(ErrorCode::NotFound, "no such title"));
    }
    let failed: Vec<&str> = params
        .get(FAILED_PARAM)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let edges = &state.config.edges;
    let priority = if edges.is_empty() {
        vec!["origin".to_owned()]
    } else {
        let up = state.edge_health.check(edges).await;
        rank(edges, region.as_deref(), &failed, &up)
    };
    tracing::debug!(
        %title,
        region = region.as_deref().unwrap_or("-"),
        pathway = params.get(protocol.pathway_param()).map_or("-", String::as_str),
        throughput_bps = params.get(protocol.throughput_param()).map_or("-", String::as_str),
        failed = %failed.join(","),
        priority = %priority.join(","),
        "steering"
    );
    let reload = format!(
        "{}{}",
        state.config.public_url.trim_end_matches('/'),
        steering_path(&title, protocol)
    );
    let manifest = SteeringManifest::new(protocol, STEERING_TTL_S, Some(reload), priority);
    let mut resp = Json(manifest).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(name: &str, region: &str) -> EdgeConfig {
        EdgeConfig {
            name: name.into(),
            url: format!("http://127.0.0.1:1/{name}"),
            regions: vec![region.into()],
        }
    }

    fn all_up(edges: &[EdgeConfig]) -> HashMap<String, bool> {
        edges.iter().map(|e| (e.name.clone(), true)).collect()
    }

    #[test]
    fn region_then_reports_then_health() {
        let edges = [edge("us-1", "us"), edge("eu-1", "eu"), edge("eu-2", "eu")];
        let up = all_up(&edges);
        assert_eq!(rank(&edges, Some("eu"), &[], &up), ["eu-1", "eu-2", "us-1"]);
        assert_eq!(rank(&edges, Some("us"), &[], &up), ["us-1", "eu-1", "eu-2"]);
        assert_eq!(rank(&edges, None, &[], &up), ["us-1", "eu-1", "eu-2"]);
        assert_eq!(
            rank(&edges, Some("eu"), &["eu-1"], &up),
            ["eu-2", "us-1", "eu-1"]
        );
        let mut down = up.clone();
        down.insert("eu-2".into(), false);
        assert_eq!(
            rank(&edges, Some("eu"), &["eu-1"], &down),
            ["us-1", "eu-1", "eu-2"],
            "a down edge goes below one the box merely reported"
        );
    }

    #[test]
    fn authorities_of_edge_urls() {
        assert_eq!(
            authority("http://127.0.0.1:9/").as_deref(),
            Some("127.0.0.1:9")
        );
        assert_eq!(
            authority("https://cdn.example").as_deref(),
            Some("cdn.example:443")
        );
        assert_eq!(authority("http://[::1]:8/x").as_deref(), Some("[::1]:8"));
        assert_eq!(authority("http://[::1]/x").as_deref(), Some("[::1]:80"));
        assert_eq!(authority("nonsense"), None);
    }
}
