//! MPRIS (`org.mpris.MediaPlayer2` and `.Player`) at
//! `/org/mpris/MediaPlayer2`, under the name `org.mpris.MediaPlayer2.ottbox`.
//!
//! The desktop's standard media-player interface, so that generic tools
//! (`playerctl`, home-automation bridges, a phone app speaking MPRIS over
//! a D-Bus proxy) can see and drive what the box plays. It maps onto the
//! same [`Player`](crate::player::Player) as `io.ottbox.Player1`; MPRIS
//! counts time in microseconds.

use std::collections::HashMap;
use std::sync::Arc;

use ottbox_protocol::dbus::PlayState;
use tokio::sync::watch;
use zbus::interface;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, fdo};
use zbus::{ObjectPath, OwnedVariant, Variant};

use super::changed;
use crate::Core;
use crate::playback::status::Command;
use crate::player::PlayerStatus;

/// The object path MPRIS clients look at.
pub const MPRIS_PATH: &str = "/org/mpris/MediaPlayer2";
/// The bus name.
pub const MPRIS_NAME: &str = "org.mpris.MediaPlayer2.ottbox";

/// `org.mpris.MediaPlayer2`: who we are.
pub struct MprisRoot;

#[interface(name = "org.mpris.MediaPlayer2")]
impl MprisRoot {
    /// The box's UI is always in front: nothing to raise.
    fn raise(&self) {}

    /// The daemon is not quit by media keys.
    fn quit(&self) -> fdo::Result<()> {
        Err(fdo::Error::NotSupported(
            "ottboxd is a system service".into(),
        ))
    }

    #[zbus(property)]
    fn can_quit(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn can_raise(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn has_track_list(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn identity(&self) -> String {
        "ottbox".into()
    }

    #[zbus(property)]
    fn supported_uri_schemes(&self) -> Vec<String> {
        Vec::new()
    }

    #[zbus(property)]
    fn supported_mime_types(&self) -> Vec<String> {
        Vec::new()
    }
}

/// `org.mpris.MediaPlayer2.Player`: transport controls.
pub struct MprisPlayer {
    core: Arc<Core>,
}

impl MprisPlayer {
    /// Serves `core`'s player.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    fn status(&self) -> PlayerStatus {
        self.core.player.status()
    }

    fn send(&self, command: Command) -> fdo::Result<()> {
        self.core
            .player
            .command(command)
            .map_err(|e| fdo::Error::Failed(e.to_string()))
    }
}

#[interface(name = "org.mpris.MediaPlayer2.Player")]
impl MprisPlayer {
    fn next(&self) {}

    fn previous(&self) {}

    fn pause(&self) -> fdo::Result<()> {
        self.send(Command::Pause)
    }

    fn play_pause(&self) -> fdo::Result<()> {
        if self.status().state == PlayState::Paused {
            self.send(Command::Resume)
        } else {
            self.send(Command::Pause)
        }
    }

    fn stop(&self) -> fdo::Result<()> {
        self.core
            .player
            .stop()
            .map_err(|e| fdo::Error::Failed(e.to_string()))
    }

    fn play(&self) -> fdo::Result<()> {
        self.send(Command::Resume)
    }

    /// Moves by `offset` microseconds.
    async fn seek(
        &self,
        offset: i64,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> fdo::Result<()> {
        let s = self.status().engine;
        let target = (s.position_s + offset as f64 / 1e6).clamp(0.0, s.duration_s.max(0.0));
        self.send(Command::Seek(target))?;
        let _ = Self::seeked(&emitter, (target * 1e6) as i64).await;
        Ok(())
    }

    /// Moves to `position` microseconds of `track_id` (ignored if it is
    /// not the current track, as the specification says).
    async fn set_position(
        &self,
        track_id: ObjectPath<'_>,
        position: i64,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> fdo::Result<()> {
        let status = self.status();
        if track_id.as_str() != track_path(&status.title_id) || position < 0 {
            return Ok(());
        }
        let target = position as f64 / 1e6;
        if status.engine.duration_s > 0.0 && target > status.engine.duration_s {
            return Ok(());
        }
        self.send(Command::Seek(target))?;
        let _ = Self::seeked(&emitter, position).await;
        Ok(())
    }

    fn open_uri(&self, _uri: &str) -> fdo::Result<()> {
        Err(fdo::Error::NotSupported(
            "titles are played by id through io.ottbox.Player1".into(),
        ))
    }

    /// After a seek: the new position, microseconds.
    #[zbus(signal)]
    async fn seeked(emitter: &SignalEmitter<'_>, position: i64) -> zbus::Result<()>;

    #[zbus(property)]
    fn playback_status(&self) -> String {
        match self.status().state {
            PlayState::Playing | PlayState::Loading | PlayState::Buffering => "Playing",
            PlayState::Paused => "Paused",
            PlayState::Stopped | PlayState::Ended | PlayState::Error => "Stopped",
        }
        .into()
    }

    #[zbus(property)]
    fn rate(&self) -> f64 {
        1.0
    }

    #[zbus(property)]
    fn minimum_rate(&self) -> f64 {
        1.0
    }

    #[zbus(property)]
    fn maximum_rate(&self) -> f64 {
        1.0
    }

    #[zbus(property)]
    fn volume(&self) -> f64 {
        1.0
    }

    #[zbus(property)]
    fn metadata(&self) -> HashMap<String, OwnedVariant> {
        let s = self.status();
        let mut m = HashMap::new();
        if s.title_id.is_empty() {
            return m;
        }
        let path = track_path(&s.title_id);
        if let Ok(p) = ObjectPath::try_from(path.as_str())
            && let Ok(v) = OwnedVariant::try_from(Variant::from(p))
        {
            m.insert("mpris:trackid".into(), v);
        }
        if let Ok(v) = OwnedVariant::try_from(Variant::from((s.engine.duration_s * 1e6) as i64)) {
            m.insert("mpris:length".into(), v);
        }
        if let Ok(v) = OwnedVariant::try_from(Variant::from(s.title_id.clone())) {
            m.insert("xesam:title".into(), v);
        }
        m
    }

    /// Microseconds. Not signalled (MPRIS clients poll it).
    #[zbus(property(emits_changed_signal = "false"))]
    fn position(&self) -> i64 {
        (self.status().engine.position_s * 1e6) as i64
    }

    #[zbus(property)]
    fn can_go_next(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn can_go_previous(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn can_play(&self) -> bool {
        !self.status().title_id.is_empty()
    }

    #[zbus(property)]
    fn can_pause(&self) -> bool {
        true
    }

    /// Not during an ad: [`Player::command`](crate::player::Player::command)
    /// refuses a seek until it ends, and MPRIS clients grey out their
    /// seek bar on this.
    #[zbus(property)]
    fn can_seek(&self) -> bool {
        let s = self.status();
        !s.title_id.is_empty() && s.ad.is_none()
    }

    #[zbus(property)]
    fn can_control(&self) -> bool {
        true
    }
}

/// The MPRIS track id of a title: an object path, so the id is hex-encoded
/// (title ids may hold characters a path may not).
fn track_path(title_id: &str) -> String {
    format!("/io/ottbox/title/t{}", hex::encode(title_id))
}

/// Emits `PropertiesChanged` for PlaybackStatus, Metadata, CanPlay and
/// CanSeek when they change.
pub(super) fn forward(
    conn: Connection,
    mut status: watch::Receiver<PlayerStatus>,
    mut shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut last = status.borrow().clone();
        while changed(&mut status, &mut shutdown).await {
            let now = status.borrow_and_update().clone();
            if now.state == last.state
                && now.title_id == last.title_id
                && now.engine.duration_s == last.engine.duration_s
                && now.ad.is_some() == last.ad.is_some()
            {
                continue;
            }
            let Ok(iface) = conn
                .object_server()
                .interface::<_, MprisPlayer>(MPRIS_PATH)
                .await
            else {
                return;
            };
            let emitter = iface.signal_emitter();
            let me = iface.get().await;
            let _ = me.playback_status_changed(emitter).await;
            let _ = me.metadata_changed(emitter).await;
            let _ = me.can_play_changed(emitter).await;
            let _ = me.can_seek_changed(emitter).await;
            last = now;
        }
    });
}
