//! The daemon on D-Bus: `io.ottbox.Daemon`, one file per interface.
//!
//! The interface structs are thin: they check arguments, call the core
//! modules (account, catalog, ...) and map errors to `io.ottbox.Error.*`.
//! State changes flow the other way through watch channels: [`forward`]
//! tasks turn them into `PropertiesChanged` and `RowsChanged` signals, so
//! the core never needs to know about the bus.

mod catalog;
pub mod mpris;
mod player;
mod session;

use std::sync::Arc;

use ottbox_protocol::ErrorCode;
use ottbox_protocol::dbus::{CATALOG_PATH, Error, PLAYER_PATH, SERVICE, SESSION_PATH};
use tokio::sync::watch;
use zbus::Connection;

use crate::Core;
use crate::account::AccountError;
use crate::catalog::CatalogError;
use crate::config::{BusConfig, BusKind};
use crate::net::HeadendError;

pub use catalog::CatalogIface;
pub use player::PlayerIface;
pub use session::SessionIface;

/// Connects to the configured bus, serves the interfaces and takes the
/// well-known name (last, so callers never see a half-served daemon).
pub async fn serve(bus: &BusConfig, core: Arc<Core>) -> Result<Connection, zbus::Error> {
    let builder = match (bus.kind, &bus.address) {
        (BusKind::System, _) => zbus::connection::Builder::system(),
        (BusKind::Session, _) => zbus::connection::Builder::session(),
        (BusKind::Address, Some(address)) => zbus::connection::Builder::address(address.as_str()),
        (BusKind::Address, None) => {
            return Err(zbus::Error::Address(
                "bus.kind = \"address\" needs bus.address".into(),
            ));
        }
    };
    builder
        .serve_at(SESSION_PATH, SessionIface::new(core.clone()))
        .serve_at(CATALOG_PATH, CatalogIface::new(core.clone()))
        .serve_at(PLAYER_PATH, PlayerIface::new(core.clone()))
        .serve_at(mpris::MPRIS_PATH, mpris::MprisRoot)
        .serve_at(mpris::MPRIS_PATH, mpris::MprisPlayer::new(core))
        .name(mpris::MPRIS_NAME)
        .name(SERVICE)
        .build()
        .await
}

/// Spawns the tasks that turn core state changes into D-Bus signals.
pub fn forward(conn: &Connection, core: &Core, shutdown: watch::Receiver<bool>) {
    session::forward(conn.clone(), core.account.subscribe(), shutdown.clone());
    catalog::forward(
        conn.clone(),
        core.catalog.offline(),
        core.catalog.rows_changed(),
        shutdown.clone(),
    );
    player::forward(conn.clone(), core.player.subscribe(), shutdown.clone());
    player::forward_prefetched(
        conn.clone(),
        core.player.warm().subscribe(),
        shutdown.clone(),
    );
    mpris::forward(conn.clone(), core.player.subscribe(), shutdown);
}

/// Waits for the next change of `rx`, or returns false at shutdown.
async fn changed<T>(rx: &mut watch::Receiver<T>, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        r = rx.changed() => r.is_ok(),
        _ = shutdown.changed() => false,
    }
}

/// After every change of `rx`, until shutdown, runs `emit` on the
/// interface served at `path`: how a watched value becomes a change signal
/// (`emit` calls the property's generated `*_changed`).
fn on_change<I, T, F, Fut>(
    conn: Connection,
    path: &'static str,
    mut rx: watch::Receiver<T>,
    mut shutdown: watch::Receiver<bool>,
    emit: F,
) where
    I: zbus::object_server::Interface,
    T: Send + Sync + 'static,
    F: Fn(zbus::object_server::InterfaceRef<I>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        while changed(&mut rx, &mut shutdown).await {
            let Ok(iface) = conn.object_server().interface::<_, I>(path).await else {
                return;
            };
            emit(iface).await;
        }
    });
}

/// The D-Bus error for a headend refusal.
fn headend_error(e: &HeadendError) -> Error {
    let text = e.to_string();
    match e.code() {
        _ if e.is_unreachable() => Error::Offline(text),
        Some(ErrorCode::RegionBlocked) => {
            Error::RegionBlocked("Not available in your region".into())
        }
        Some(ErrorCode::NotEntitled) => {
            Error::NotEntitled("Your subscription does not include this title".into())
        }
        Some(ErrorCode::NotFound) => Error::NotFound(text),
        Some(ErrorCode::InvalidToken) => Error::NotLoggedIn(text),
        Some(ErrorCode::InvalidRequest) => Error::InvalidArgument(text),
        _ => Error::Headend(text),
    }
}

fn account_error(e: AccountError) -> Error {
    match e {
        AccountError::NotLoggedIn => Error::NotLoggedIn("Sign in on this box first".into()),
        AccountError::Headend(h) => headend_error(&h),
        AccountError::Store(s) => Error::Storage(s.to_string()),
    }
}

fn catalog_error(e: CatalogError) -> Error {
    match e {
        CatalogError::Offline => Error::Offline(
            "The service cannot be reached and nothing is saved on this box for it".into(),
        ),
        CatalogError::Account(a) => account_error(a),
        CatalogError::Headend(h) => headend_error(&h),
        CatalogError::Store(s) => Error::Storage(s.to_string()),
        CatalogError::InvalidArgument(m) => Error::InvalidArgument(m),
    }
}
