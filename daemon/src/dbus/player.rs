//! `io.ottbox.Player1` at `/io/ottbox/Player`.
//!
//! Thin over [`crate::player::Player`]: arguments are checked here, the
//! player does the rest, and its status channel becomes the properties
//! (with `PropertiesChanged` from [`forward`]).

use std::collections::HashMap;
use std::sync::Arc;

use ottbox_protocol::dbus::{Error, PLAYER_PATH, PlayState};
use tokio::sync::watch;
use zbus::Connection;
use zbus::interface;
use zbus::object_server::InterfaceRef;

use super::{account_error, catalog_error, changed, headend_error, on_change};
use crate::Core;
use crate::playback::status::Command;
use crate::player::{PlayerError, PlayerStatus};

/// The interface object.
pub struct PlayerIface {
    core: Arc<Core>,
}

impl PlayerIface {
    /// Serves `core`'s player.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    fn status(&self) -> PlayerStatus {
        self.core.player.status()
    }
}

#[interface(name = "io.ottbox.Player1")]
impl PlayerIface {
    /// Returns the new playback's id (see `Playback`).
    async fn play(&self, title_id: &str, from_s: f64) -> Result<u64, Error> {
        self.core
            .player
            .play(title_id, from_s)
            .await
            .map_err(player_error)
    }

    async fn preview(
        &self,
        title_id: &str,
        x: i32,
        y: i32,
        width: i32,
        height: i32,
    ) -> Result<u64, Error> {
        if width <= 0 || height <= 0 || x < 0 || y < 0 {
            return Err(Error::InvalidArgument(format!(
                "a preview needs a rectangle on screen, not {width}x{height} at {x},{y}"
            )));
        }
        self.core
            .player
            .preview(title_id)
            .await
            .map_err(player_error)
    }

    async fn pause(&self) -> Result<(), Error> {
        self.core
            .player
            .command(Command::Pause)
            .map_err(player_error)
    }

    async fn resume(&self) -> Result<(), Error> {
        self.core
            .player
            .command(Command::Resume)
            .map_err(player_error)
    }

    async fn seek(&self, position_s: f64) -> Result<(), Error> {
        if !position_s.is_finite() || position_s < 0.0 {
            return Err(Error::InvalidArgument(
                "a position is a number of seconds ≥ 0".into(),
            ));
        }
        let duration = self.status().engine.duration_s;
        if duration > 0.0 && position_s > duration {
            return Err(Error::InvalidArgument(format!(
                "the title is {duration:.0} s long; cannot seek to {position_s:.0} s"
            )));
        }
        self.core
            .player
            .command(Command::Seek(position_s))
            .map_err(player_error)
    }

    async fn stop(&self) -> Result<(), Error> {
        self.core.player.stop().map_err(player_error)
    }

    async fn set_max_resolution(&self, width: u32, height: u32) -> Result<(), Error> {
        if (width == 0) != (height == 0) {
            return Err(Error::InvalidArgument(
                "give both width and height, or 0, 0 for no limit".into(),
            ));
        }
        self.core
            .player
            .command(Command::SetMaxHeight(height))
            .map_err(player_error)
    }

    async fn set_audio_language(&self, language: &str) -> Result<(), Error> {
        self.core
            .player
            .set_audio_language(language)
            .map_err(player_error)
    }

    async fn set_subtitles(&self, language: &str) -> Result<(), Error> {
        self.core
            .player
            .set_subtitles(language)
            .map_err(player_error)
    }

    #[zbus(out_args("width", "height", "rgb"))]
    async fn snapshot(&self) -> Result<(u32, u32, Vec<u8>), Error> {
        match self.core.player.snapshot().await.map_err(player_error)? {
            Some(f) => Ok((f.width, f.height, f.rgb)),
            None => Err(Error::NotSupported(
                "no picture yet, or the video sink keeps none".into(),
            )),
        }
    }

    #[zbus(property)]
    fn state(&self) -> PlayState {
        self.status().state
    }

    /// The playback the other properties describe.
    #[zbus(property)]
    fn playback(&self) -> u64 {
        self.status().playback
    }

    #[zbus(property)]
    fn title(&self) -> String {
        self.status().title_id
    }

    #[zbus(property)]
    fn position(&self) -> f64 {
        self.status().engine.position_s
    }

    #[zbus(property)]
    fn duration(&self) -> f64 {
        self.status().engine.duration_s
    }

    #[zbus(property)]
    fn rendition(&self) -> String {
        self.status().engine.rendition
    }

    #[zbus(property)]
    fn bitrate(&self) -> u64 {
        self.status().engine.bitrate
    }

    #[zbus(property)]
    fn buffer(&self) -> f64 {
        self.status().engine.buffer_s
    }

    #[zbus(property)]
    fn decoder(&self) -> String {
        self.status().engine.decoder
    }

    /// The CDN edge media comes from.
    #[zbus(property)]
    fn edge(&self) -> String {
        self.status().engine.edge
    }

    #[zbus(property)]
    fn audio_languages(&self) -> Vec<String> {
        self.status().engine.tracks.audio_languages
    }

    #[zbus(property)]
    fn audio_language(&self) -> String {
        self.status().engine.tracks.audio_language
    }

    #[zbus(property)]
    fn subtitle_languages(&self) -> Vec<String> {
        self.status().engine.tracks.subtitle_languages
    }

    #[zbus(property)]
    fn subtitles(&self) -> String {
        self.status().engine.tracks.subtitles
    }

    #[zbus(property)]
    fn subtitle_text(&self) -> String {
        self.status().engine.tracks.subtitle_text
    }

    #[zbus(property)]
    fn last_error(&self) -> String {
        self.status().last_error()
    }

    #[zbus(property)]
    fn ad_break(&self) -> String {
        self.status().ad.map(|a| a.break_id).unwrap_or_default()
    }

    #[zbus(property)]
    fn ad_index(&self) -> u32 {
        self.status().ad.map_or(0, |a| a.index)
    }

    #[zbus(property)]
    fn ad_count(&self) -> u32 {
        self.status().ad.map_or(0, |a| a.count)
    }

    #[zbus(property)]
    fn ad_remaining(&self) -> f64 {
        self.status().ad.map_or(0.0, |a| a.remaining_s)
    }

    #[zbus(property)]
    fn qoe(&self) -> HashMap<String, f64> {
        let q = self.status().qoe();
        HashMap::from([
            (
                "time_to_first_frame_ms".to_owned(),
                q.time_to_first_frame_ms.unwrap_or(-1.0),
            ),
            ("rebuffers".to_owned(), f64::from(q.rebuffers)),
            ("rebuffer_s".to_owned(), q.rebuffer_s),
            ("switches".to_owned(), f64::from(q.switches)),
            ("average_bitrate".to_owned(), q.average_bitrate),
            ("dropped_frames".to_owned(), q.dropped_frames as f64),
            ("edge_switches".to_owned(), f64::from(q.edge_switches)),
            ("edge_switch_ms".to_owned(), q.edge_switch_ms),
            ("prefetched".to_owned(), f64::from(q.prefetched)),
        ])
    }

    /// Titles that Play would start from what predictive prefetch holds.
    #[zbus(property)]
    fn prefetched(&self) -> Vec<String> {
        self.core.player.warm().titles()
    }
}

fn player_error(e: PlayerError) -> Error {
    match e {
        PlayerError::Catalog(c) => catalog_error(c),
        PlayerError::Account(a) => account_error(a),
        PlayerError::Headend(h) => headend_error(&h),
        PlayerError::Store(s) => Error::Storage(s.to_string()),
        PlayerError::InvalidArgument(m) => Error::InvalidArgument(m),
        PlayerError::NotPlaying => Error::NotSupported("nothing is playing".into()),
        PlayerError::AdPlaying(m) => Error::AdPlaying(m),
    }
}

/// Emits `PropertiesChanged` for `Prefetched` when a title is warmed or
/// the warm titles are forgotten.
pub(super) fn forward_prefetched(
    conn: Connection,
    warm: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
) {
    on_change(
        conn,
        PLAYER_PATH,
        warm,
        shutdown,
        |iface: InterfaceRef<PlayerIface>| async move {
            let _ = iface
                .get()
                .await
                .prefetched_changed(iface.signal_emitter())
                .await;
        },
    );
}

/// Emits `PropertiesChanged` for the player's properties that changed.
pub(super) fn forward(
    conn: Connection,
    mut status: watch::Receiver<PlayerStatus>,
    mut shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut last = status.borrow().clone();
        while changed(&mut status, &mut shutdown).await {
            let now = status.borrow_and_update().clone();
            let Ok(iface) = conn
                .object_server()
                .interface::<_, PlayerIface>(PLAYER_PATH)
                .await
            else {
                return;
            };
            let emitter = iface.signal_emitter();
            let me = iface.get().await;
            // The id first: a client that sees it change knows that what
            // follows is the new playback's.
            if now.playback != last.playback {
                let _ = me.playback_changed(emitter).await;
            }
            if now.state != last.state {
                let _ = me.state_changed(emitter).await;
            }
            if now.title_id != last.title_id {
                let _ = me.title_changed(emitter).await;
            }
            let (a, b) = (&now.engine, &last.engine);
            // Position moves continuously; signal it in whole steps (a
            // progress bar needs no more), and on every seek or stop.
            if (a.position_s - b.position_s).abs() >= 1.0 || now.state != last.state {
                let _ = me.position_changed(emitter).await;
            }
            if a.duration_s != b.duration_s {
                let _ = me.duration_changed(emitter).await;
            }
            if a.rendition != b.rendition {
                let _ = me.rendition_changed(emitter).await;
            }
            if a.bitrate != b.bitrate {
                let _ = me.bitrate_changed(emitter).await;
            }
            if (a.buffer_s - b.buffer_s).abs() >= 1.0 {
                let _ = me.buffer_changed(emitter).await;
            }
            if a.decoder != b.decoder {
                let _ = me.decoder_changed(emitter).await;
            }
            if a.edge != b.edge {
                let _ = me.edge_changed(emitter).await;
            }
            let (t, u) = (&a.tracks, &b.tracks);
            if t.audio_languages != u.audio_languages {
                let _ = me.audio_languages_changed(emitter).await;
            }
            if t.audio_language != u.audio_language {
                let _ = me.audio_language_changed(emitter).await;
            }
            if t.subtitle_languages != u.subtitle_languages {
                let _ = me.subtitle_languages_changed(emitter).await;
            }
            if t.subtitles != u.subtitles {
                let _ = me.subtitles_changed(emitter).await;
            }
            if t.subtitle_text != u.subtitle_text {
                let _ = me.subtitle_text_changed(emitter).await;
            }
            if a.error != b.error {
                let _ = me.last_error_changed(emitter).await;
            }
            if a.qoe != b.qoe {
                let _ = me.qoe_changed(emitter).await;
            }
            let (x, y) = (now.ad.as_ref(), last.ad.as_ref());
            if x.map(|a| (&a.break_id, a.index)) != y.map(|a| (&a.break_id, a.index)) {
                let _ = me.ad_break_changed(emitter).await;
                let _ = me.ad_index_changed(emitter).await;
                let _ = me.ad_count_changed(emitter).await;
            }
            // Whole seconds are enough for a countdown.
            let left = |a: Option<&crate::player::AdStatus>| a.map(|a| a.remaining_s.ceil());
            if left(x) != left(y) {
                let _ = me.ad_remaining_changed(emitter).await;
            }
            drop(me);
            // Only remember what was signalled, so slow drifts add up.
            if (a.position_s - b.position_s).abs() < 1.0 && now.state == last.state {
                let kept = last.engine.position_s;
                last = now;
                last.engine.position_s = kept;
            } else {
                last = now;
            }
        }
    });
}
