//! `ottbox-testkit`: what the end-to-end tests start, shared by every
//! crate's tests and benches (a dev-dependency only).
//!
//! - [`Headend`]: a real headend in process on a loopback port, built
//!   with [`Headend::builder`]: real encrypted media ([`MEDIA`]), real
//!   nginx CDN edges in front of its origin, emulated network links
//!   ([`Link`]) in front of those;
//! - [`Bus`]: a private dbus-daemon, and proxies on it;
//! - [`Daemon`]: the real `ottboxd` binary on that bus; [`Viewer`]: one
//!   playing a title, and what playback tests look at;
//! - [`eventually`]: waiting on a condition with a deadline.
//!
//! Everything here panics on failure, with a message that says what was
//! being set up: these are test fixtures.

mod bus;
mod daemon;
mod headend;
mod link;
mod media;
mod viewer;
mod wait;

pub use bus::{Bus, catalog_proxy, log_in, player_proxy, session_proxy};
pub use daemon::Daemon;
pub use headend::{Builder, DEFAULT_EDGES, EDGE_SOURCE, EMAIL, Headend, PASSWORD};
pub use link::Link;
pub use media::{AD_ASSET, LONG_MEDIA, LONG_MEDIA_S, LONG_MEDIA_SUBTITLES, MEDIA, ads, beacons};
pub use viewer::{
    Viewer, close_to, corner, playerctl, playing_hls, start_box, start_box_with, wait_state,
};
pub use wait::eventually;
