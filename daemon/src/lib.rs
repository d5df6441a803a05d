//! `ottboxd`: the box's service.
//!
//! One module per concern, as `ARCHITECTURE.md` lays out:
//! - [`playback`]: the streaming engine (manifests, ABR, scheduling,
//!   licenses, ads, QoE);
//! - [`media`]: the GStreamer side (pipeline, the CENC decryptor element,
//!   decoder ranking, sinks).

pub mod media;
pub mod playback;

/// The daemon's version, as reported on D-Bus and in logs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
