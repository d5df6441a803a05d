//! The seam between the UI and the daemon: what comes in, what goes out.
//!
//! The UI never talks to `ottboxd` directly. Everything the daemon tells it
//! arrives as an [`Update`]; everything the viewer asks for leaves as a
//! [`Command`]. Whoever wires the D-Bus proxies (see [`crate::daemon`])
//! translates between these enums and the bus, so the state machine in
//! [`crate::app`] can be driven and tested without a bus at all.
//!
//! Both enums are serde types, so the headless binary can replay updates from
//! a JSON file and print the commands it emits as JSON lines.

use ottbox_protocol::catalog::{Home, RowItem, TitleDetails, TitleList};
use serde::{Deserialize, Serialize};

/// Where the viewer is in device login (RFC 8628).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LoginState {
    /// No account on the box: the UI asks the daemon for a code.
    LoggedOut,
    /// A code to show while the viewer confirms it on a phone.
    ShowingCode {
        /// Short code the viewer types, e.g. `BCDF-GHJK`.
        user_code: String,
        /// Where to type it.
        verification_uri: String,
        /// The same URL with the code filled in; shown as a QR code.
        verification_uri_complete: String,
    },
    /// Logged in: the home screen can load.
    LoggedIn,
}

/// What the player is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayState {
    /// Frames are moving.
    Playing,
    /// Held by the viewer.
    Paused,
    /// Waiting for media.
    Buffering,
    /// Nothing is playing.
    #[default]
    Stopped,
    /// Playback failed; an [`Update::Error`] says why.
    Error,
}

/// Where the player is in an ad break.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdState {
    /// An ad is on screen now.
    pub in_ad: bool,
    /// Which ad of the break, from 1.
    pub index: u32,
    /// How many ads the break has.
    pub count: u32,
    /// Seconds until the ad ends.
    pub seconds_left: f64,
}

/// The player's status, as the daemon's `io.ottbox.Player1` properties give it.
///
/// The fields after `ad` came later: a JSON status without them reads
/// with their defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PlayerStatus {
    /// Playing, paused, ...
    pub state: PlayState,
    /// Title name, for the OSD.
    pub title: String,
    /// Position in seconds.
    pub position_s: f64,
    /// Running time in seconds (0 when unknown).
    pub duration_s: f64,
    /// Seconds of media buffered ahead of the position.
    pub buffer_s: f64,
    /// The rendition playing, e.g. `720p`.
    pub rendition: String,
    /// Its bitrate, bits per second.
    pub bitrate: u64,
    /// The ad break, if one is playing.
    pub ad: Option<AdState>,
    /// The title's id (`ml-1`); empty when unknown. A status for another
    /// title than the player screen's is not its own and is ignored.
    #[serde(default)]
    pub title_id: String,
    /// True for the muted preview behind the home hero: never the player
    /// screen's (a preview's late status must not open or close it).
    #[serde(default)]
    pub preview: bool,
    /// The title's audio languages (BCP 47: `en`, `fr`), manifest order.
    #[serde(default)]
    pub audio_languages: Vec<String>,
    /// The audio language playing.
    #[serde(default)]
    pub audio_language: String,
    /// The title's subtitle languages, manifest order.
    #[serde(default)]
    pub subtitle_languages: Vec<String>,
    /// The subtitle language shown, empty when subtitles are off.
    #[serde(default)]
    pub subtitles: String,
    /// The subtitle text on screen now (lines joined by `\n`), empty
    /// between cues: the OSD draws it over the picture.
    #[serde(default)]
    pub subtitle_text: String,
    /// The daemon's id of the playback this status is of (`Playback`;
    /// 0 when unknown): how the link tells a status of the playback it
    /// asked for from a late one of the playback before.
    #[serde(default)]
    pub playback: u64,
}

/// An error the viewer should see: a stable code and the daemon's sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// Stable code, e.g. `region_blocked` (see `ottbox_protocol::ErrorCode`).
    pub code: String,
    /// The daemon's sentence, shown when the UI has none of its own for the code.
    pub message: String,
}

impl ErrorReport {
    /// The sentence to put on screen: the UI's own words for codes a viewer
    /// commonly meets (short enough for a TV), the daemon's message otherwise.
    pub fn viewer_text(&self) -> &str {
        match self.code.as_str() {
            "region_blocked" => "Not available in your region",
            "not_entitled" => "This title is not in your plan",
            "invalid_token" => "Please sign in again",
            "not_found" => "This title is no longer available",
            "server_error" => "Something went wrong. Please try again",
            _ if !self.message.is_empty() => &self.message,
            _ => "Something went wrong",
        }
    }
}

/// Everything the daemon side tells the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Update {
    /// The login state changed.
    Login {
        /// The new state.
        login: LoginState,
    },
    /// Home rows, live or from the daemon's offline cache.
    Home {
        /// The rows.
        home: Home,
        /// True when the rows are the saved copy because the headend is unreachable.
        offline: bool,
    },
    /// Results for a search query.
    SearchResults {
        /// The query they answer; results for an older query are dropped.
        query: String,
        /// Best first.
        results: TitleList,
    },
    /// A title's details and similar titles.
    Details {
        /// The title.
        details: TitleDetails,
        /// Titles like it.
        similar: TitleList,
    },
    /// The player's status changed.
    Player {
        /// The new status.
        status: PlayerStatus,
    },
    /// Something failed.
    Error {
        /// What, for the viewer.
        error: ErrorReport,
    },
    /// The next page of a home row, for a [`Command::LoadRowPage`].
    RowPage {
        /// The row, e.g. `recommended`.
        row_id: String,
        /// Tiles to append.
        items: Vec<RowItem>,
        /// Offset of the page after this one, if there is more.
        next_offset: Option<u32>,
    },
    /// The titles whose start the daemon holds ready (`Player1.Prefetched`):
    /// Play on them starts at once, so their tiles say so.
    Prefetched {
        /// Title ids, e.g. `ml-1`.
        title_ids: Vec<String>,
    },
    /// A poster fetched for a [`Command::FetchPoster`].
    Poster {
        /// The path that was asked for.
        path: String,
        /// The PNG bytes.
        png: Vec<u8>,
    },
    /// The daemon's current playback settings (at start, and when changed elsewhere).
    Settings {
        /// Rendition height cap, 0 for none.
        max_height: u32,
        /// The subtitle language, empty for none.
        subtitles: String,
        /// Preferred audio language, ISO 639-1.
        audio_language: String,
    },
    /// The D-Bus connection to `ottboxd` was lost (or never made).
    DaemonLost,
    /// `ottboxd` answers again.
    DaemonBack,
}

/// A rectangle in screen pixels, for telling the daemon where the preview
/// video goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenRect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Everything the UI asks the daemon to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Start device login (the daemon answers with `ShowingCode`).
    StartLogin,
    /// Log the box out.
    Logout,
    /// Load (or reload) the home rows.
    LoadHome,
    /// Search the catalog.
    Search {
        /// What the viewer typed so far.
        query: String,
    },
    /// Load a title's details and similar titles.
    LoadDetails {
        /// The title.
        title_id: String,
    },
    /// Play a title full screen.
    Play {
        /// The title.
        title_id: String,
        /// Where to start, seconds.
        from_s: f64,
    },
    /// Play a muted preview of a title in a window of the home screen.
    Preview {
        /// The title.
        title_id: String,
        /// Where the video goes.
        rect: ScreenRect,
    },
    /// Stop the preview.
    StopPreview,
    /// Pause playback.
    Pause,
    /// Resume playback.
    Resume,
    /// Jump to a position, seconds.
    Seek {
        /// The position.
        position_s: f64,
    },
    /// Stop playback.
    Stop,
    /// Cap the rendition height (0: no cap). The link keeps the cap and
    /// applies it to every playback (the daemon's lasts one playback).
    SetMaxResolution {
        /// Lines, e.g. 720.
        height: u32,
    },
    /// Subtitles in a language, or off. Asked for while nothing plays,
    /// the link applies it to the next title that has the language.
    SetSubtitles {
        /// One of the title's subtitle languages (`en`), or empty for off.
        language: String,
    },
    /// Preferred audio language, an ISO 639-1 code; like
    /// [`Command::SetSubtitles`], kept for the next title when nothing plays.
    SetAudioLanguage {
        /// E.g. `en`.
        language: String,
    },
    /// Load the next page of a home row (answered with [`Update::RowPage`]).
    LoadRowPage {
        /// The row.
        row_id: String,
        /// Where the page starts (the row's `next_offset`).
        offset: u32,
    },
    /// Fetch a poster PNG (answered with [`Update::Poster`]).
    FetchPoster {
        /// Headend path, e.g. `/api/v1/titles/ml-1/poster.png`.
        path: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_get_short_sentences_and_unknown_ones_keep_the_daemons() {
        let region = ErrorReport {
            code: "region_blocked".into(),
            message: "title ml-1 is not licensed in region XX".into(),
        };
        assert_eq!(region.viewer_text(), "Not available in your region");
        let other = ErrorReport {
            code: "disk_full".into(),
            message: "The box's storage is full".into(),
        };
        assert_eq!(other.viewer_text(), "The box's storage is full");
    }

    #[test]
    fn updates_and_commands_read_and_write_as_tagged_json() {
        let update: Update = serde_json::from_str(
            r#"{"type":"login","login":{"state":"showing_code","user_code":"BCDF-GHJK",
                "verification_uri":"http://h/device","verification_uri_complete":"http://h/device?c=1"}}"#,
        )
        .expect("parses");
        assert!(matches!(
            update,
            Update::Login { login: LoginState::ShowingCode { ref user_code, .. } } if user_code == "BCDF-GHJK"
        ));
        let json = serde_json::to_string(&Command::Search {
            query: "tit".into(),
        })
        .expect("json");
        assert_eq!(json, r#"{"type":"search","query":"tit"}"#);
    }
}
