//! `ottbox-ui`: the on-screen UI.
//!
//! Screens, widgets, display backends and remote-control input arrive with
//! the UI issue; the Foundation issue only gives the crate its place.

/// The UI's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
