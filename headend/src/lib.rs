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
//!   headers, ETags) and the ClearKey license server, which releases keys
//!   only to valid tokens of entitled accounts in licensed regions.
//! - [`db`]: SQLite storage with migrations in code.
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
pub mod link;
pub mod poster;
pub mod reco;
pub mod region;
pub mod sample;
pub mod search;
pub mod server;
pub mod tls;
pub mod tokens;
pub mod tools;
