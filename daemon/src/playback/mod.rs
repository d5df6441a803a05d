//! The streaming engine: what happens between Play and decoded frames.
//!
//! - [`manifest`]: HLS and DASH parsed into one model of periods, tracks,
//!   renditions and segments;
//! - [`abr`]: the pure rendition chooser (no I/O, no clock), shared with the
//!   trace simulator.

pub mod abr;
pub mod cdn;
pub mod manifest;
