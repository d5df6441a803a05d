//! `io.ottbox.Catalog1` at `/io/ottbox/Catalog`: home rows, search,
//! details, similar titles, posters.

use std::sync::Arc;

use ottbox_protocol::dbus::{CATALOG_PATH, Details, Error, HomeView, Tile};
use tokio::sync::watch;
use zbus::object_server::{InterfaceRef, SignalEmitter};
use zbus::{Connection, interface};

use super::{catalog_error, changed, on_change};
use crate::Core;

/// The interface object.
pub struct CatalogIface {
    core: Arc<Core>,
}

impl CatalogIface {
    /// Serves `core`'s catalog.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }
}

#[interface(name = "io.ottbox.Catalog1")]
impl CatalogIface {
    async fn home(&self) -> Result<HomeView, Error> {
        self.core.catalog.home().await.map_err(catalog_error)
    }

    async fn search(&self, query: &str) -> Result<Vec<Tile>, Error> {
        self.core.catalog.search(query).await.map_err(catalog_error)
    }

    async fn details(&self, title_id: &str) -> Result<Details, Error> {
        self.core
            .catalog
            .details(title_id)
            .await
            .map_err(catalog_error)
    }

    async fn similar(&self, title_id: &str) -> Result<Vec<Tile>, Error> {
        self.core
            .catalog
            .similar(title_id)
            .await
            .map_err(catalog_error)
    }

    async fn poster(&self, title_id: &str) -> Result<Vec<u8>, Error> {
        self.core
            .catalog
            .poster(title_id)
            .await
            .map_err(catalog_error)
    }

    /// The home rows changed; call `Home` again.
    #[zbus(signal)]
    async fn rows_changed(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(property)]
    fn offline(&self) -> bool {
        *self.core.catalog.offline().borrow()
    }
}

/// Emits `PropertiesChanged` for `Offline` and `RowsChanged` for new rows.
pub(super) fn forward(
    conn: Connection,
    offline: watch::Receiver<bool>,
    mut rows: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
) {
    on_change(
        conn.clone(),
        CATALOG_PATH,
        offline,
        shutdown.clone(),
        |iface: InterfaceRef<CatalogIface>| async move {
            let _ = iface
                .get()
                .await
                .offline_changed(iface.signal_emitter())
                .await;
        },
    );
    let mut stop = shutdown;
    tokio::spawn(async move {
        while changed(&mut rows, &mut stop).await {
            let Ok(emitter) = SignalEmitter::new(&conn, CATALOG_PATH) else {
                return;
            };
            let _ = CatalogIface::rows_changed(&emitter).await;
        }
    });
}
