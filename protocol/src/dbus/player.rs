//! `io.ottbox.Player1`: playback control and state.
//!
//! `Play` opens a playback session on the headend first, so refusals
//! (`RegionBlocked`, `NotEntitled`) come back before any media is fetched.
//! Everything after that (manifest, license, segments, decoding) happens
//! while `State` is `loading`; a failure there ends in `error`, with the
//! stable code and sentence in `LastError` (`media.http_status: ...`,
//! `decrypt.no_key: ...`).

use std::collections::HashMap;

use zbus::{DeserializeDict, Type, proxy};

use super::Error;

super::closed_set::closed_set! {
    /// The values of `Player1.State`: where the one playback of the box is.
    #[derive(Default)]
    pub enum PlayState {
        /// Nothing plays (at start, after `Stop`).
        #[default]
        Stopped = "stopped",
        /// Manifest, license, first segments: no picture yet.
        Loading = "loading",
        /// The clock runs.
        Playing = "playing",
        /// The viewer paused.
        Paused = "paused",
        /// The buffer ran dry; the clock waits for data.
        Buffering = "buffering",
        /// Played to the end.
        Ended = "ended",
        /// Failed; `LastError` says why.
        Error = "error",
    }
}

impl PlayState {
    /// No playback is under way: stopped, ended or failed.
    pub fn is_over(self) -> bool {
        matches!(self, Self::Stopped | Self::Ended | Self::Error)
    }
}

/// Every `Player1` property at one moment, as one `GetAll` returns them:
/// how a client that draws the playback reads it (one round trip, no
/// proxy cache that may still hold an older playback's values). Each
/// field is the property of the same name in `PascalCase`, documented on
/// [`Player1Proxy`].
#[derive(Debug, Clone, Default, PartialEq, DeserializeDict, Type)]
#[zbus(signature = "a{sv}", rename_all = "PascalCase")]
#[allow(missing_docs)]
pub struct PlayerProperties {
    pub state: PlayState,
    pub playback: u64,
    pub title: String,
    pub position: f64,
    pub duration: f64,
    pub rendition: String,
    pub bitrate: u64,
    pub buffer: f64,
    pub decoder: String,
    pub edge: String,
    pub audio_languages: Vec<String>,
    pub audio_language: String,
    pub subtitle_languages: Vec<String>,
    pub subtitles: String,
    pub subtitle_text: String,
    pub last_error: String,
    pub ad_break: String,
    pub ad_index: u32,
    pub ad_count: u32,
    pub ad_remaining: f64,
    pub qoe: HashMap<String, f64>,
    pub prefetched: Vec<String>,
}

impl PlayerProperties {
    /// Reads them all from the daemon through `properties` (a
    /// `org.freedesktop.DBus.Properties` proxy on the player's object).
    pub async fn read(properties: &zbus::fdo::PropertiesProxy<'_>) -> zbus::Result<Self> {
        properties
            .inner()
            .call("GetAll", &("io.ottbox.Player1",))
            .await
    }
}

/// Play, pause, seek, stop.
#[proxy(
    interface = "io.ottbox.Player1",
    default_service = "io.ottbox.Daemon",
    default_path = "/io/ottbox/Player"
)]
pub trait Player1 {
    /// Plays `title_id` from `from_s` seconds (negative: from the saved
    /// resume point); returns the new playback's id (see `Playback`).
    fn play(&self, title_id: &str, from_s: f64) -> Result<u64, Error>;

    /// Pauses.
    fn pause(&self) -> Result<(), Error>;

    /// Resumes after a pause.
    fn resume(&self) -> Result<(), Error>;

    /// Moves to `position_s`.
    fn seek(&self, position_s: f64) -> Result<(), Error>;

    /// Stops and saves the resume point.
    fn stop(&self) -> Result<(), Error>;

    /// Plays `title_id` muted, at the lowest rung, in the screen rectangle
    /// (`x`, `y`, `width`, `height`): the auto-preview behind a focused
    /// tile. Stops on `Stop` or another `Play`/`Preview`. Returns the new
    /// playback's id.
    fn preview(
        &self,
        title_id: &str,
        x: i32,
        y: i32,
        width: i32,
        height: i32,
    ) -> Result<u64, Error>;

    /// Never fetch renditions larger than `width` × `height` (0, 0: only
    /// the display's size limits).
    fn set_max_resolution(&self, width: u32, height: u32) -> Result<(), Error>;

    /// Plays `language` (one of `AudioLanguages`) from here on, and in
    /// later titles that have it. `InvalidArgument` for a language the
    /// title lacks, `NotPlaying` when nothing plays.
    fn set_audio_language(&self, language: &str) -> Result<(), Error>;

    /// Shows subtitles in `language` (one of `SubtitleLanguages`), or none
    /// for `""`, from here on and in later titles that have it.
    fn set_subtitles(&self, language: &str) -> Result<(), Error>;

    /// The picture on screen as RGB: (width, height, width × height × 3
    /// bytes). `NotSupported` when the sink keeps no picture.
    fn snapshot(&self) -> Result<(u32, u32, Vec<u8>), Error>;

    /// Where the playback is.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<PlayState>;

    /// The playback the other properties describe: the id `Play` or
    /// `Preview` returned (0 before the first). Ids are never reused, so a
    /// client tells a status of its playback from a late one of the
    /// playback before. It changes before the other properties do.
    #[zbus(property)]
    fn playback(&self) -> zbus::Result<u64>;

    /// The title playing (or last played), else empty.
    #[zbus(property)]
    fn title(&self) -> zbus::Result<String>;

    /// Position in seconds.
    #[zbus(property)]
    fn position(&self) -> zbus::Result<f64>;

    /// Duration in seconds (0 unknown).
    #[zbus(property)]
    fn duration(&self) -> zbus::Result<f64>;

    /// The video rendition fetched now, `WIDTHxHEIGHT` (empty when idle).
    #[zbus(property)]
    fn rendition(&self) -> zbus::Result<String>;

    /// Its declared bitrate, bit/s.
    #[zbus(property)]
    fn bitrate(&self) -> zbus::Result<u64>;

    /// Seconds buffered ahead of the playhead.
    #[zbus(property)]
    fn buffer(&self) -> zbus::Result<f64>;

    /// The video decoder element (`v4l2h264dec`, `avdec_h264`, ...).
    #[zbus(property)]
    fn decoder(&self) -> zbus::Result<String>;

    /// The CDN edge media comes from (`eu-1`); it changes on a failover.
    #[zbus(property)]
    fn edge(&self) -> zbus::Result<String>;

    /// The title's audio languages (BCP 47: `en`, `fr`), manifest order.
    #[zbus(property)]
    fn audio_languages(&self) -> zbus::Result<Vec<String>>;

    /// The audio language playing.
    #[zbus(property)]
    fn audio_language(&self) -> zbus::Result<String>;

    /// The title's WebVTT subtitle languages, manifest order.
    #[zbus(property)]
    fn subtitle_languages(&self) -> zbus::Result<Vec<String>>;

    /// The subtitle language shown, empty when subtitles are off.
    #[zbus(property)]
    fn subtitles(&self) -> zbus::Result<String>;

    /// The subtitle text on screen now (lines joined by `\n`), for the UI
    /// to draw over the picture; empty between cues.
    #[zbus(property)]
    fn subtitle_text(&self) -> zbus::Result<String>;

    /// Why the last playback failed: `code: sentence`, else empty.
    #[zbus(property)]
    fn last_error(&self) -> zbus::Result<String>;

    /// The ad break on screen (`preroll`, `midroll-1`, `postroll`), or
    /// empty when no ad plays. `Position` and `Duration` stay the title's
    /// during an ad.
    #[zbus(property)]
    fn ad_break(&self) -> zbus::Result<String>;

    /// The ad's place in its break, from 1 (0 when no ad plays).
    #[zbus(property)]
    fn ad_index(&self) -> zbus::Result<u32>;

    /// Ads in the break on screen (0 when no ad plays).
    #[zbus(property)]
    fn ad_count(&self) -> zbus::Result<u32>;

    /// Seconds until the ad on screen ends.
    #[zbus(property)]
    fn ad_remaining(&self) -> zbus::Result<f64>;

    /// QoE of the current (or last) playback: `time_to_first_frame_ms`,
    /// `rebuffers`, `rebuffer_s`, `switches`, `average_bitrate`,
    /// `dropped_frames`, `edge_switches` (moves to another CDN edge),
    /// `edge_switch_ms` (the longest a download took from a failed request
    /// to its arrival from the next edge), `prefetched` (requests answered
    /// from what predictive prefetch held), each a number (time to first
    /// frame is -1 until there is one).
    #[zbus(property)]
    fn qoe(&self) -> zbus::Result<std::collections::HashMap<String, f64>>;

    /// Titles that Play would start from memory: predictive prefetch
    /// fetched their session, manifest, license and first segments while
    /// the box was idle.
    #[zbus(property)]
    fn prefetched(&self) -> zbus::Result<Vec<String>>;
}
