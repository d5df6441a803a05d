//! The headend's HTTP face.
//!
//! One axum router: the origin under `/origin/` and the API under `/api/v1/`.
//! Every error leaves as JSON with a stable code (see [`error`]); request
//! bodies are capped so an oversized request costs nothing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use ottbox_protocol::catalog::TitleSummary;

use crate::config::Config;
use crate::db::Db;
use crate::keystore::MasterKey;
use crate::reco::service::Recommender;
use crate::region::RegionMap;
use crate::search::SearchIndex;
use crate::tokens::TokenIssuer;

pub mod ads;
pub mod bearer;
pub mod cache;
pub mod catalog;
pub mod device_auth;
pub mod device_page;
pub mod error;
pub mod home;
pub mod license;
pub mod oauth;
pub mod openapi;
pub mod origin;
pub mod playback;
pub mod steering;

/// Everything a request handler may need, shared by all of them.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Opens sealed content keys.
    pub master: MasterKey,
    /// Verifies access tokens.
    pub tokens: TokenIssuer,
    /// Client address → region.
    pub regions: RegionMap,
    /// The catalog search index.
    pub search: SearchIndex,
    /// The recommender, rebuilt by [`AppState::refresh_catalog`].
    reco: std::sync::RwLock<Arc<Recommender>>,
    /// Every title's summary, so rows and results need no query per tile;
    /// reloaded by [`AppState::refresh_catalog`].
    titles: std::sync::RwLock<Arc<HashMap<String, TitleSummary>>>,
    /// Serialised search answers by normalised query.
    pub search_cache: cache::SearchCache,
    /// Serialised home answers by account.
    pub home_cache: cache::HomeCache,
    /// Signs enrolled boxes' client certificates.
    pub device_ca: crate::devices::DeviceCa,
    /// Which CDN edges accept connections (for content steering).
    pub edge_health: steering::EdgeHealth,
    /// The configuration it was built from.
    pub config: Config,
}

impl AppState {
    /// Opens the database and secrets that `config` names, creating the
    /// secrets on first use.
    pub fn open(config: Config) -> anyhow::Result<Self> {
        let db = Db::open(&config.db_path())?;
        let master = MasterKey::load_or_create(&config.master_key_path())?;
        let secret = crate::keystore::load_or_create_secret(&config.token_secret_path(), 32)?;
        let search = SearchIndex::load(&*db.conn()?)?;
        let device_ca = crate::devices::DeviceCa::load_or_create(&config.tls_dir())?;
        let reco = std::sync::RwLock::new(Arc::new(Recommender::build(
            &*db.conn()?,
            Default::default(),
        )?));
        let titles = std::sync::RwLock::new(Arc::new(title_map(&*db.conn()?)?));
        Ok(Self {
            reco,
            titles,
            search,
            search_cache: Default::default(),
            device_ca,
            edge_health: Default::default(),
            home_cache: Default::default(),
            db,
            master,
            tokens: TokenIssuer::new(&secret),
            regions: RegionMap::new(&config.regions, &config.proxy),
            config,
        })
    }
}

impl AppState {
    /// The region of the client behind `peer`, believing `X-Forwarded-For`
    /// only from trusted edges (see [`RegionMap::client_addr`]).
    pub fn client_region(
        &self,
        peer: SocketAddr,
        headers: &axum::http::HeaderMap,
    ) -> Option<String> {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let client = self.regions.client_addr(peer.ip(), forwarded);
        self.regions.region_of(client).map(str::to_owned)
    }

    /// The current recommender.
    pub fn reco(&self) -> Arc<Recommender> {
        self.reco.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reloads the title cache and refits the recommender on the database
    /// as it is now, after an import (blocking: call it off the runtime).
    pub fn refresh_catalog(&self) -> Result<(), crate::db::DbError> {
        let conn = self.db.conn()?;
        let fresh = Arc::new(Recommender::build(&conn, Default::default())?);
        *self.reco.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        *self.titles.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(title_map(&conn)?);
        self.search_cache.clear();
        self.home_cache.clear();
        Ok(())
    }

    /// A title's summary: from the cache, else (a title added since) from
    /// the database.
    pub fn title(
        &self,
        conn: &rusqlite::Connection,
        id: &str,
    ) -> Result<Option<TitleSummary>, error::HttpError> {
        let cached = self
            .titles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned();
        match cached {
            Some(t) => Ok(Some(t)),
            None => catalog::summary(conn, id),
        }
    }
}

fn title_map(
    conn: &rusqlite::Connection,
) -> Result<HashMap<String, TitleSummary>, crate::db::DbError> {
    Ok(catalog::all_summaries(conn)?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect())
}

/// The whole router.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .nest("/origin", origin::routes(state.config.origin_dir()))
        .merge(license::routes())
        .merge(catalog::routes())
        .merge(oauth::routes())
        .merge(playback::routes())
        .merge(steering::routes())
        .merge(home::routes())
        .merge(openapi::routes())
        .merge(ads::routes())
        .merge(device_page::routes())
        .merge(device_auth::routes())
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serves HTTPS on `listener` with `tls` until `shutdown` completes.
pub async fn serve_tls(
    state: Arc<AppState>,
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
    });
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls);
    let acceptor =
        device_auth::DeviceAcceptor::new(axum_server::tls_rustls::RustlsAcceptor::new(config));
    axum_server::from_tcp(listener)
        .acceptor(acceptor)
        .handle(handle)
        .serve(router(state).into_make_service_with_connect_info::<SocketAddr>())
        .await
}

/// A JSON response from bytes serialised earlier (the response caches).
pub(crate) fn json_bytes(body: axum::body::Bytes) -> axum::response::Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Serialises `value` for a cache; a failure (impossible for these plain
/// types) is an internal error rather than a panic.
pub(crate) fn to_bytes(
    value: &impl serde::Serialize,
) -> Result<axum::body::Bytes, error::HttpError> {
    serde_json::to_vec(value)
        .map(axum::body::Bytes::from)
        .map_err(error::HttpError::internal)
}

/// Runs database work off the async runtime, with a pooled connection.
pub(crate) async fn blocking<T: Send + 'static>(
    state: Arc<AppState>,
    work: impl FnOnce(&AppState, &rusqlite::Connection) -> Result<T, error::HttpError> + Send + 'static,
) -> Result<T, error::HttpError> {
    blocking_mut(state, move |state, conn| work(state, conn)).await
}

/// [`blocking`] for work that needs a mutable connection (transactions).
pub(crate) async fn blocking_mut<T: Send + 'static>(
    state: Arc<AppState>,
    work: impl FnOnce(&AppState, &mut rusqlite::Connection) -> Result<T, error::HttpError>
    + Send
    + 'static,
) -> Result<T, error::HttpError> {
    tokio::task::spawn_blocking(move || {
        let mut conn = state.db.conn()?;
        work(&state, &mut conn)
    })
    .await
    .map_err(error::HttpError::internal)?
}

/// Serves until `shutdown` completes. Returns the bound address through
/// `bound` as soon as the socket listens (port 0 picks a free port).
pub async fn serve(
    state: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // Without TCP_NODELAY a response whose headers and body go out in two
    // writes (every file from the origin) waits for the client's delayed
    // ACK: 40 ms per playlist or segment on loopback.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
