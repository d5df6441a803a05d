//! Remote-control input: the [`Key`]s the UI understands and where they come from.
//!
//! A set-top box is steered by an IR remote. The kernel's rc-core turns IR
//! into ordinary input events (`KEY_UP`, `KEY_OK`, `KEY_BACK`, digits, ...),
//! which [`evdev`] reads from `/dev/input`. Tests and screenshots use a
//! [`script`]ed feed instead, and the SDL simulator maps the PC keyboard.
//! Every source ends in the same small [`Key`] enum, so the state machine
//! never knows which one it is listening to.

pub mod evdev;
pub mod script;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Where a source sends what it reads: a key, or `None` for a wake-up
/// with no key (a scanner's way to notice the UI has quit). It answers
/// false once the UI is gone. The wiring ([`crate::cli`]) makes these
/// [`crate::wake::Event`]s; sources know nothing of the event loop.
pub type KeySink = Arc<dyn Fn(Option<Key>) -> bool + Send + Sync>;

/// One key press, whatever sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Key {
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// OK / select / enter.
    Ok,
    /// Back: leave the screen, or delete a character while typing.
    Back,
    /// Home: straight to the home screen.
    Home,
    /// Play/pause.
    PlayPause,
    /// A digit key, 0..=9.
    Digit(u8),
    /// A character typed on a real keyboard (the simulator).
    Char(char),
}
