//! `io.ottbox.Session1` at `/io/ottbox/Session`: device login and logout.

use std::sync::Arc;

use ottbox_protocol::dbus::{Error, LoginCode, LoginState, SESSION_PATH};
use tokio::sync::watch;
use zbus::object_server::SignalEmitter;
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
    async fn start_login(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<LoginCode, Error> {
        let code = self
            .core
            .account
            .start_login()
            .await
            .map_err(account_error)?;
        self.announce(&emitter).await;
        Ok(code)
    }

    async fn cancel_login(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), Error> {
        self.core.account.cancel_login();
        self.announce(&emitter).await;
        Ok(())
    }

    async fn logout(
        &self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), Error> {
        self.core.account.logout().await.map_err(account_error)?;
        self.announce(&emitter).await;
        Ok(())
    }

    #[zbus(property)]
    fn state(&self) -> LoginState {
        self.core.account.status().state
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

impl SessionIface {
    /// Emits the properties before a method's reply, so a caller's cached
    /// `State` is already right when the reply arrives (the bus keeps one
    /// sender's messages in order). The forwarder emits them again later;
    /// a repeated signal with the same value is harmless.
    async fn announce(&self, emitter: &SignalEmitter<'_>) {
        let _ = self.state_changed(emitter).await;
        let _ = self.user_code_changed(emitter).await;
        let _ = self.last_error_changed(emitter).await;
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
