//! `ottboxd`: the box's service.
//!
//! This crate grows one module per concern (config, D-Bus interfaces,
//! account, store, catalog, events, net, playback, media), as
//! `ARCHITECTURE.md` lays out. The Foundation issue only gives it a place in
//! the workspace; the daemon-core and playback issues fill it.

/// The daemon's version, as reported on D-Bus and in logs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
