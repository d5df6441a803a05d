//! `io.ottbox.Player1` at `/io/ottbox/Player`.
//!
//! So far this opens the playback session on the headend, which is where
//! refusals come from (`RegionBlocked`, `NotEntitled`, before any media is
//! fetched), queues the `play` event and keeps the resume point on `Stop`.
//! The streaming engine (playback issue) fills in the media side: until
//! then a played title stays in `loading`.

use std::sync::Arc;

use ottbox_protocol::dbus::{Error, Tile};
use ottbox_protocol::playback::EventKind;
use zbus::interface;
use zbus::object_server::SignalEmitter;

use super::{account_error, headend_error};
use crate::Core;
use crate::catalog::resume;
use crate::events::Events;

/// The interface object.
pub struct PlayerIface {
    core: Arc<Core>,
    state: &'static str,
    title: Option<Tile>,
    position: f64,
    duration: f64,
}

impl PlayerIface {
    /// Serves `core`'s player.
    pub fn new(core: Arc<Core>) -> Self {
        Self {
            core,
            state: "stopped",
            title: None,
            position: 0.0,
            duration: 0.0,
        }
    }
}

#[interface(name = "io.ottbox.Player1")]
impl PlayerIface {
    async fn play(
        &mut self,
        title_id: &str,
        from_s: f64,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), Error> {
        if !from_s.is_finite() {
            return Err(Error::InvalidArgument(
                "the start position must be a number".into(),
            ));
        }
        let details = self
            .core
            .catalog
            .details(title_id)
            .await
            .map_err(super::catalog_error)?;
        let token = self
            .core
            .account
            .access_token()
            .await
            .map_err(account_error)?;
        let session = self
            .core
            .headend
            .playback(&token, title_id)
            .await
            .map_err(|e| headend_error(&e))?;
        let local = resume::get(&self.core.store, title_id).map(|r| r.position_s);
        let start = if from_s >= 0.0 {
            from_s
        } else {
            local.unwrap_or(session.resume_s)
        };
        if session.duration_s > 0.0 && start > session.duration_s {
            return Err(Error::InvalidArgument(format!(
                "{title_id} is {:.0} s long; cannot start at {start:.0} s",
                session.duration_s
            )));
        }
        self.position = start;
        self.duration = session.duration_s;
        self.title = Some(details.tile);
        self.state = "loading";
        let mut event = Events::event(EventKind::Play);
        event.title_id = Some(title_id.to_owned());
        event.position_s = Some(self.position);
        self.core
            .events
            .push(&event)
            .map_err(|e| Error::Storage(e.to_string()))?;
        self.notify(&emitter).await;
        Ok(())
    }

    async fn pause(&self) -> Result<(), Error> {
        Err(Error::NotSupported(
            "the streaming engine is not built yet".into(),
        ))
    }

    async fn resume(&self) -> Result<(), Error> {
        Err(Error::NotSupported(
            "the streaming engine is not built yet".into(),
        ))
    }

    async fn seek(&mut self, position_s: f64) -> Result<(), Error> {
        if !position_s.is_finite() || position_s < 0.0 {
            return Err(Error::InvalidArgument(
                "a position is a number of seconds ≥ 0".into(),
            ));
        }
        Err(Error::NotSupported(
            "the streaming engine is not built yet".into(),
        ))
    }

    async fn stop(
        &mut self,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<(), Error> {
        if let Some(tile) = &self.title {
            resume::save(&self.core.store, tile, self.position, self.duration)
                .and_then(|()| self.core.store.flush())
                .map_err(|e| Error::Storage(e.to_string()))?;
            let mut event = Events::event(EventKind::Progress);
            event.title_id = Some(tile.id.clone());
            event.position_s = Some(self.position);
            self.core
                .events
                .push(&event)
                .map_err(|e| Error::Storage(e.to_string()))?;
        }
        self.state = "stopped";
        self.notify(&emitter).await;
        Ok(())
    }

    #[zbus(property)]
    fn state(&self) -> String {
        self.state.to_owned()
    }

    #[zbus(property)]
    fn title(&self) -> String {
        self.title
            .as_ref()
            .map(|t| t.id.clone())
            .unwrap_or_default()
    }

    #[zbus(property)]
    fn position(&self) -> f64 {
        self.position
    }

    #[zbus(property)]
    fn duration(&self) -> f64 {
        self.duration
    }
}

impl PlayerIface {
    async fn notify(&self, emitter: &SignalEmitter<'_>) {
        let _ = self.state_changed(emitter).await;
        let _ = self.title_changed(emitter).await;
        let _ = self.position_changed(emitter).await;
        let _ = self.duration_changed(emitter).await;
    }
}
