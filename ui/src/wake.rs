//! What wakes the UI: one channel for every source.
//!
//! A key from a remote ([`crate::input`]), an update from the daemon
//! ([`crate::daemon`]) and a timer tick all arrive as an [`Event`] on one
//! channel, which the loops in [`crate::runner`] block on. Sources hold an
//! [`EventSink`]; this module depends on neither side, so inputs, the
//! daemon link and the loops do not import each other.

use std::sync::mpsc::{self, Receiver, Sender};

use crate::event::Update;
use crate::input::Key;

/// Something that wakes the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A key was pressed.
    Key(Key),
    /// The daemon said something (boxed: updates carry whole rows).
    Update(Box<Update>),
    /// Nothing but a wake-up (input scanners use it to notice the UI quit).
    Tick,
    /// Stop the UI.
    Quit,
}

/// Where event sources send [`Event`]s.
pub type EventSink = Sender<Event>;

/// A channel for events: give the sender to inputs and the daemon link.
pub fn channel() -> (EventSink, Receiver<Event>) {
    mpsc::channel()
}
