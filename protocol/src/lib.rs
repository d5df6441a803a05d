//! Wire types shared by everything in ottbox.
//!
//! This crate owns the *shape* of what crosses process boundaries: the
//! headend's HTTP API (JSON via serde) and, behind the `dbus` feature, the
//! D-Bus interfaces of `ottboxd` as zbus proxies with their types and error
//! names. It does no I/O of its own, so the box, the UI, the headend and the
//! tests can all depend on it.

pub mod auth;
pub mod catalog;
#[cfg(feature = "dbus")]
pub mod dbus;
pub mod device;
pub mod error;
pub mod license;
pub mod playback;
pub mod steering;

pub use error::{ApiError, ErrorCode};
