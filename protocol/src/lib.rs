//! Wire types shared by everything in ottbox.
//!
//! This crate owns the *shape* of what crosses process boundaries: the
//! headend's HTTP API (JSON via serde) and, later, the D-Bus interface
//! proxies. It does no I/O, so the box, the UI, the headend and the tests can
//! all depend on it without pulling in a runtime.

pub mod auth;
pub mod catalog;
pub mod device;
pub mod error;
pub mod license;
pub mod playback;

pub use error::{ApiError, ErrorCode};
