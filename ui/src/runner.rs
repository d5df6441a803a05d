//! Event loops that connect an [`App`] to a display, inputs and the daemon.
//!
//! Everything that can wake the UI — a key from a remote, an update from the
//! daemon — arrives as an [`Event`] on one channel. [`run`] blocks on that
//! channel until the next event or the app's next timer
//! ([`App::next_deadline`]), never polling; after each event it forwards
//! the app's commands, draws the damage and presents it.
//!
//! [`run_script`] is the same loop for headless runs, with a virtual clock:
//! a script's `wait:MS` advances time instead of sleeping, so runs are
//! repeatable and fast.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::app::App;
use crate::daemon::{DaemonLink, LinkError};
use crate::display::{Backend, DisplayError};
use crate::event::Update;
use crate::input::Key;
use crate::input::script::Step;

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

/// The event loop failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The display failed.
    #[error(transparent)]
    Display(#[from] DisplayError),
    /// The daemon link could not start.
    #[error(transparent)]
    Link(#[from] LinkError),
}

/// A channel for events: give the sender to inputs and the daemon link.
pub fn channel() -> (EventSink, Receiver<Event>) {
    mpsc::channel()
}

/// Sends the app's commands; a failing link means the daemon is gone.
fn forward(app: &mut App, daemon: &mut dyn DaemonLink) {
    let commands = app.take_commands();
    for command in commands {
        if daemon.send(command).is_err() {
            if app.screen() != crate::app::ScreenKind::Waiting {
                app.update(Update::DaemonLost);
            }
            // The rest would fail the same way.
            break;
        }
    }
}

fn frame(app: &mut App, backend: &mut dyn Backend) -> Result<(), DisplayError> {
    let Ok(damage) = app.draw(backend.canvas());
    backend.present(&damage)
}

/// Runs the UI until a [`Event::Quit`] or until every event sender is gone.
pub fn run(
    app: &mut App,
    backend: &mut dyn Backend,
    events: Receiver<Event>,
    sink: EventSink,
    daemon: &mut dyn DaemonLink,
) -> Result<(), RunError> {
    let start = Instant::now();
    daemon.start(sink)?;
    loop {
        app.tick(start.elapsed());
        forward(app, daemon);
        frame(app, backend)?;
        let event = match app.next_deadline() {
            Some(deadline) => match events.recv_timeout(deadline.saturating_sub(start.elapsed())) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            },
            None => match events.recv() {
                Ok(event) => event,
                Err(_) => return Ok(()),
            },
        };
        app.tick(start.elapsed());
        match event {
            Event::Key(key) => app.key(key),
            Event::Update(update) => app.update(*update),
            Event::Tick => {}
            Event::Quit => return Ok(()),
        }
    }
}

/// Runs `steps` against the app with a virtual clock, presenting a frame
/// after each step that changed the screen. Updates the daemon link sends
/// (at start, or in answer to commands) are applied before the next step.
pub fn run_script(
    app: &mut App,
    backend: &mut dyn Backend,
    steps: &[Step],
    daemon: &mut dyn DaemonLink,
) -> Result<(), RunError> {
    let (sink, events) = channel();
    daemon.start(sink)?;
    let mut now = Duration::ZERO;
    let drain = |app: &mut App, daemon: &mut dyn DaemonLink| {
        forward(app, daemon);
        while let Ok(event) = events.try_recv() {
            if let Event::Update(update) = event {
                app.update(*update);
            }
            forward(app, daemon);
        }
    };
    drain(app, daemon);
    frame(app, backend)?;
    for step in steps {
        match *step {
            Step::Key(key) => app.key(key),
            Step::Wait(d) => {
                // Step through due timers in order, as real time would.
                let end = now + d;
                while let Some(due) = app.next_deadline().filter(|due| *due <= end && *due > now) {
                    now = due;
                    app.tick(now);
                }
                now = end;
                app.tick(now);
            }
        }
        drain(app, daemon);
        frame(app, backend)?;
    }
    Ok(())
}
