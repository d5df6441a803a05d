//! What a running playback is told, and what it tells.
//!
//! The viewer's [`Command`]s go in; its [`Status`] (state, position,
//! rendition, buffer, languages, QoE) comes out on a watch channel, which
//! the player and the D-Bus layer turn into properties and signals.

use ottbox_protocol::dbus::PlayState;

/// What the viewer asks of a running playback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Stop the clock; keep buffering.
    Pause,
    /// Start the clock again.
    Resume,
    /// Play from this position, seconds.
    Seek(f64),
    /// Never fetch above this many lines (0: no cap).
    SetMaxHeight(u32),
    /// The viewer chose another audio language ([`AUDIO_LANGUAGE_KEY`](super::selection::AUDIO_LANGUAGE_KEY)):
    /// play it from here if the title has it.
    AudioLanguageChanged,
    /// The viewer turned subtitles on, off or to another language
    /// ([`SUBTITLES_KEY`](super::selection::SUBTITLES_KEY)).
    SubtitlesChanged,
}

/// The title's languages and what is on screen of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tracks {
    /// Audio languages (BCP 47), in manifest order.
    pub audio_languages: Vec<String>,
    /// The one playing.
    pub audio_language: String,
    /// Subtitle languages, in manifest order.
    pub subtitle_languages: Vec<String>,
    /// The one shown, empty when subtitles are off.
    pub subtitles: String,
    /// The subtitle text on screen now, lines joined by `\n`.
    pub subtitle_text: String,
}

/// Quality of experience of one playback.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Qoe {
    /// Play (or seek) to the first decoded frame, milliseconds.
    pub time_to_first_frame_ms: Option<f64>,
    /// Times the buffer ran dry after the start.
    pub rebuffers: u32,
    /// Seconds spent rebuffering.
    pub rebuffer_s: f64,
    /// Rendition switches after the first segment.
    pub switches: u32,
    /// Mean bitrate of the video fetched, weighted by media time, bit/s.
    pub average_bitrate: f64,
    /// Frames the sink dropped as late.
    pub dropped_frames: u64,
    /// Times the media moved to another CDN edge.
    pub edge_switches: u32,
    /// The longest a download took from its first failed request to its
    /// arrival from another edge, milliseconds (0 without such a failover).
    pub edge_switch_ms: f64,
    /// Requests this playback did not make because predictive prefetch
    /// had the answer in memory (the license, manifests, segments).
    pub prefetched: u32,
}

/// What the engine publishes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    /// Where it is (never `Stopped`: that is the player's, between
    /// playbacks).
    pub state: PlayState,
    /// Playhead, seconds.
    pub position_s: f64,
    /// Running time, seconds.
    pub duration_s: f64,
    /// The video rendition being fetched, `WIDTHxHEIGHT`.
    pub rendition: String,
    /// Its declared bitrate, bit/s.
    pub bitrate: u64,
    /// Seconds buffered ahead of the playhead.
    pub buffer_s: f64,
    /// The video decoder element.
    pub decoder: String,
    /// The CDN edge the next request goes to.
    pub edge: String,
    /// Languages and subtitles.
    pub tracks: Tracks,
    /// Why it failed: (code, message).
    pub error: Option<(String, String)>,
    /// QoE so far.
    pub qoe: Qoe,
}
