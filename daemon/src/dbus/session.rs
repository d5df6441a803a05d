//! `io.ottbox.Session1` at `/io/ottbox/Session`: device login and logout.

use std::sync::Arc;

use ottbox_protocol::dbus::{Error, LoginCode, SESSION_PATH};
use tokio::sync::watch;
use zbus::{Connection, interface};

use super::{account_error, changed};
use crate::Core;
use crate::account::LoginStatus;

/// The interface object.
pub struct SessionIface {
    core: Arc<Core>,
}

impl SessionIface {
    /// Serves `core`'s account.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }
}

#[interface(name = "io.ottbox.Session1")]
impl SessionIface {
    async fn start_login(&self) -> Result<LoginCode, Error> {
        self.core.account.start_login().await.map_err(account_error)
    }

    async fn cancel_login(&self) -> Result<(), Error> {
        self.core.account.cancel_login();
        Ok(())
    }

    async fn logout(&self) -> Result<(), Error> {
        self.core.account.logout().await.map_err(account_error)
    }

    #[zbus(property)]
    fn state(&self) -> String {
        self.core.account.status().state.as_str().to_owned()
    }

    #[zbus(property)]
    fn user_code(&self) -> String {
        self.core.account.status().user_code
    }

    #[zbus(property)]
    fn last_error(&self) -> String {
        self.core.account.status().last_error
    }
}

/// Emits `PropertiesChanged` for every change of the login status.
pub(super) fn forward(
    conn: Connection,
    mut status: watch::Receiver<LoginStatus>,
    mut shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        while changed(&mut status, &mut shutdown).await {
            let Ok(iface) = conn
                .object_server()
                .interface::<_, SessionIface>(SESSION_PATH)
                .await
            else {
                return;
            };
            let emitter = iface.signal_emitter();
            let me = iface.get().await;
            let _ = me.state_changed(emitter).await;
            let _ = me.user_code_changed(emitter).await;
            let _ = me.last_error_changed(emitter).await;
        }
    });
}
