//! The streaming engine: what happens between Play and decoded frames.
//!
//! - HLS and DASH are parsed into one model of periods, tracks, renditions
//!   and segments by [`ottbox_formats::manifest`], a crate of its own so
//!   that the fuzz targets build without GStreamer or D-Bus;
//! - [`abr`]: the pure rendition chooser (no I/O, no clock), shared with the
//!   trace simulator;
//! - [`cdn`]: which CDN edge each request goes to: failover and content
//!   steering;
//! - [`cmcd`]: CTA-5004 client data on every media request;
//! - [`fetch`]: media downloads over the shared, kept-alive client;
//! - [`license`]: the ClearKey license client;
//! - [`route`]: each request to the edge the selector picks, with CMCD,
//!   failing over;
//! - [`selection`]: which tracks a playback plays (ladder, language,
//!   subtitles, keys);
//! - [`objects`]: answers held in memory, served in place of requests;
//! - [`warm`]: predictive prefetch's store of what Play needs before the
//!   first frame, and how it is filled;
//! - [`context`]: what every playback starts from ([`context::Engine`])
//!   and the opening steps it shares with prefetch;
//! - [`run`]: one playback's task and its loop, from the headend's
//!   playback session to frames, and the status it publishes;
//! - [`playing`]: what a playback plays, and a playback under way with
//!   its steps: opening, feeding a
//!   segment, seeking, switching language or quality;
//! - [`schedule`]: what to fetch next (pure, unit-tested);
//! - [`outage`]: riding out a network outage;
//! - [`clock`]: the playhead, start and stall decisions, their QoE;
//! - [`status`]: the commands a playback takes and the status it publishes;
//! - [`error`]: why a playback failed, with stable codes.

pub mod abr;
pub mod cdn;
pub mod clock;
pub mod cmcd;
pub mod context;
pub mod error;
pub mod fetch;
pub mod license;
pub mod objects;
pub mod outage;
pub mod playing;
pub mod route;
pub mod run;
pub mod schedule;
pub mod selection;
pub mod status;
pub mod warm;
