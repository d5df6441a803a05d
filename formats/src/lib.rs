//! What the box reads from the network before anything else touches it:
//! every parser of untrusted input, pure (no I/O, no clock, no GStreamer,
//! no D-Bus), so that each is tested and fuzzed on its own.
//!
//! - [`manifest`]: HLS and DASH (with `sidx` and `pssh` boxes) read into
//!   one model of periods, tracks, renditions and segments;
//! - [`cenc`]: Common Encryption (`cenc`, `cbcs`) sample decryption and the
//!   subsample maps that come with each sample;
//! - [`ad_plan`]: the VMAP 1.0 ad plan with its inline VAST 4 ads;
//! - [`subtitles`]: segmented WebVTT cues and the text on screen at an
//!   instant.
//!
//! `ottboxd` does the fetching and the playing; this crate only says what
//! the bytes mean, or which stable error code they earn (`manifest.*`,
//! `cenc.*`, `ads.*`, `subtitles.*`). Its cargo-fuzz targets live in
//! `formats/fuzz` and run briefly in `cargo xtask test`.

pub mod ad_plan;
pub mod cenc;
pub mod manifest;
pub mod subtitles;
