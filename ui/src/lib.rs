//! `ottbox-ui`: the on-screen UI of the ottbox set-top box.
//!
//! A remote steers it; it talks only to the daemon `ottboxd`, and draws with
//! `embedded-graphics` into a plain RGB buffer that a display backend copies
//! to the screen. The parts, from the inside out:
//!
//! - [`app::App`] — the state machine. Keys ([`input::Key`]) and daemon
//!   messages ([`event::Update`]) go in; commands for the daemon
//!   ([`event::Command`]) and damaged rectangles come out. No clock, no I/O:
//!   time is passed in with [`app::App::tick`].
//! - [`screens`] — activation (code + QR), home (hero + rows), details,
//!   search (on-screen keyboard), player OSD, settings, and the waiting and
//!   error states. Each describes itself as a [`scene::Scene`].
//! - [`scene`] — the retained list of what is on screen; diffing two scenes
//!   gives the damage ([`damage`]), so only changed regions are redrawn.
//! - [`widgets`] — tile, row, grid, keyboard, progress bar, text with
//!   ellipsis, poster image (PNG, decoded once, cached), QR code.
//! - [`display`] — backends: headless PNGs, the Linux framebuffer, and the
//!   SDL2 simulator behind the `simulator` feature.
//! - [`input`] — evdev remotes (the directory watched with inotify, so late
//!   plugs are seen at once) and scripted key feeds.
//! - [`daemon`] — the [`daemon::DaemonLink`] seam the D-Bus proxies plug into;
//!   [`runner`] — the event loops; [`cli`] — the binary's modes.
//!
//! Try it without a box:
//!
//! ```text
//! cargo run -p ottbox-ui -- --headless /tmp/shots --updates updates.json --keys "right,right,ok"
//! ```

pub mod app;
pub mod cli;
pub mod daemon;
pub mod damage;
pub mod dbus_link;
pub mod display;
pub mod event;
pub mod gate;
pub mod input;
pub mod runner;
pub mod scene;
pub mod screens;
pub mod theme;
pub mod wake;
pub mod widgets;

pub use app::App;
pub use event::{Command, Update};
pub use input::Key;

/// The UI's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
