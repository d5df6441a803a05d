//! `io.ottbox.Player1`: playback control and state.
//!
//! `Play` opens a playback session on the headend first, so refusals
//! (`RegionBlocked`, `NotEntitled`) come back before any media is fetched.

use zbus::proxy;

use super::Error;

/// Play, pause, seek, stop.
#[proxy(
    interface = "io.ottbox.Player1",
    default_service = "io.ottbox.Daemon",
    default_path = "/io/ottbox/Player"
)]
pub trait Player1 {
    /// Plays `title_id` from `from_s` seconds (negative: from the saved
    /// resume point).
    fn play(&self, title_id: &str, from_s: f64) -> Result<(), Error>;

    /// Pauses.
    fn pause(&self) -> Result<(), Error>;

    /// Resumes after a pause.
    fn resume(&self) -> Result<(), Error>;

    /// Moves to `position_s`.
    fn seek(&self, position_s: f64) -> Result<(), Error>;

    /// Stops and saves the resume point.
    fn stop(&self) -> Result<(), Error>;

    /// `stopped`, `loading`, `playing`, `paused`, `buffering` or `error`.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<String>;

    /// The title playing (or last played), else empty.
    #[zbus(property)]
    fn title(&self) -> zbus::Result<String>;

    /// Position in seconds.
    #[zbus(property)]
    fn position(&self) -> zbus::Result<f64>;

    /// Duration in seconds (0 unknown).
    #[zbus(property)]
    fn duration(&self) -> zbus::Result<f64>;
}
