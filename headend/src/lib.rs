//! `ottbox-headend`: the reference backend of ottbox.
//!
//! It does what an OTT operator's cloud does, small enough to run on a
//! laptop beside the box:
//!
//! - [`ingest`]: a mezzanine file becomes an adaptive ladder (ffmpeg), packaged
//!   as CMAF with HLS and DASH manifests and encrypted with Common Encryption
//!   (Shaka Packager with raw keys), published atomically to the origin.
//! - [`keystore`]: per-asset content keys, sealed at rest under a master key.
//! - [`server`]: the HTTP face: the origin (byte ranges, MIME types, cache
//!   headers, ETags), the ClearKey license server (keys only for valid
//!   tokens of entitled accounts in licensed regions), device login
//!   (RFC 8628), catalog, search, recommendations, playback sessions with
//!   CDN steering, viewing events, ads (VMAP/VAST and beacons).
//! - [`db`]: SQLite storage with migrations in code; [`auth`], [`tokens`],
//!   [`devices`]: accounts, bearer tokens, the device CA; [`search`],
//!   [`reco`]: full-text search and recommendations; [`ads`]: ad plans.
//! - [`cdn_edge`]: nginx caching edges in front of the origin; [`tls`]:
//!   the development PKI.
//! - [`sample`], [`poster`], [`tools`]: the demo catalog, posters, and the
//!   packaging tools' whereabouts.
//!
//! The binary `ottbox-headend` only parses arguments and calls into here.

pub mod ads;
pub mod auth;
pub mod cdn_edge;
pub mod config;
pub mod db;
pub mod devices;
pub mod ingest;
pub mod keystore;
pub mod poster;
pub mod reco;
pub mod region;
pub mod sample;
pub mod search;
pub mod server;
pub mod tls;
pub mod tokens;
pub mod tools;
