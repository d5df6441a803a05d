//! The seam to `ottboxd`: a [`DaemonLink`] carries [`Command`]s out and
//! [`Update`]s in.
//!
//! The real one is [`crate::dbus_link::DbusLink`] (proxies for
//! `io.ottbox.Session1`, `Catalog1`, `Player1` from `ottbox-protocol`): its
//! `start` subscribes to the daemon's signals and property changes and sends
//! each as an [`Event::Update`] into the sink (plus [`Update::DaemonLost`] /
//! [`Update::DaemonBack`] as the name owner comes and goes); its `send`
//! turns a command into a method call. Two more links exist:
//!
//! - [`Disconnected`]: no daemon; the UI shows "waiting for ottboxd";
//! - [`Replay`]: replays a fixed list of updates and records the commands
//!   (headless runs, tests).
//!
//! [`Recorder`] wraps any link and keeps a copy of the commands sent (a
//! headless run against the real daemon prints them, as a replayed one does).

use crate::event::{Command, Update};
use crate::wake::{Event, EventSink};

/// The link failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The UI's event loop is gone (code `ui_closed`).
    #[error("ui_closed: the UI's event queue is closed")]
    Closed,
    /// The bus refused or failed a call (code `bus`).
    #[error("bus: {0}")]
    Bus(String),
}

/// A connection to the daemon, whatever carries it.
pub trait DaemonLink {
    /// Starts delivering updates into `sink` (on the link's own threads or
    /// tasks; this call must not block for long).
    fn start(&mut self, sink: EventSink) -> Result<(), LinkError>;
    /// Sends a command. Errors are reported to the viewer as the daemon
    /// being unreachable, never as a crash.
    fn send(&mut self, command: Command) -> Result<(), LinkError>;
    /// True while commands sent are still being carried out: their answers
    /// are not all in the sink yet. A link that answers asynchronously
    /// sends an [`Event::Tick`] when it stops being busy, so that a runner
    /// waiting for quiet (a script's `shot:`) wakes up. Links that answer at
    /// once are never busy.
    fn busy(&self) -> bool {
        false
    }
}

impl<L: DaemonLink + ?Sized> DaemonLink for Box<L> {
    fn start(&mut self, sink: EventSink) -> Result<(), LinkError> {
        (**self).start(sink)
    }

    fn send(&mut self, command: Command) -> Result<(), LinkError> {
        (**self).send(command)
    }

    fn busy(&self) -> bool {
        (**self).busy()
    }
}

/// Any link, with a record of the commands sent through it.
#[derive(Debug)]
pub struct Recorder<L> {
    inner: L,
    /// Commands sent, oldest first.
    pub sent: Vec<Command>,
}

impl<L> Recorder<L> {
    /// Records what goes through `inner`.
    pub fn new(inner: L) -> Self {
        Self {
            inner,
            sent: Vec::new(),
        }
    }
}

impl<L: DaemonLink> DaemonLink for Recorder<L> {
    fn start(&mut self, sink: EventSink) -> Result<(), LinkError> {
        self.inner.start(sink)
    }

    fn send(&mut self, command: Command) -> Result<(), LinkError> {
        self.sent.push(command.clone());
        self.inner.send(command)
    }

    fn busy(&self) -> bool {
        self.inner.busy()
    }
}

/// No daemon at all.
#[derive(Debug, Default)]
pub struct Disconnected;

impl DaemonLink for Disconnected {
    fn start(&mut self, sink: EventSink) -> Result<(), LinkError> {
        sink.send(Event::Update(Box::new(Update::DaemonLost)))
            .map_err(|_| LinkError::Closed)
    }

    fn send(&mut self, _command: Command) -> Result<(), LinkError> {
        Err(LinkError::Bus("ottboxd is not connected".into()))
    }
}

/// Replays updates given up front and records every command sent.
#[derive(Debug, Default)]
pub struct Replay {
    updates: Vec<Update>,
    /// Commands sent, oldest first.
    pub sent: Vec<Command>,
}

impl Replay {
    /// A link that delivers `updates`, in order, when started.
    pub fn new(updates: Vec<Update>) -> Self {
        Self {
            updates,
            sent: Vec::new(),
        }
    }
}

impl DaemonLink for Replay {
    fn start(&mut self, sink: EventSink) -> Result<(), LinkError> {
        for update in self.updates.drain(..) {
            sink.send(Event::Update(Box::new(update)))
                .map_err(|_| LinkError::Closed)?;
        }
        Ok(())
    }

    fn send(&mut self, command: Command) -> Result<(), LinkError> {
        self.sent.push(command);
        Ok(())
    }
}
