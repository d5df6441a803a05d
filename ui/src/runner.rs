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
//! repeatable and fast. Against a real daemon a script synchronises with
//! `until:TEXT` and `shot:NAME` instead ([`run_script_with`]).

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::app::App;
use crate::daemon::{DaemonLink, LinkError};
use crate::display::{Backend, DisplayError};
use crate::event::Update;
use crate::input::script::Step;
use crate::wake::{Event, EventSink};

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
    /// A script's `until:` text did not appear in time (code `until_timeout`).
    #[error(
        "until_timeout: `{text}` was not on screen after {timeout:?}; the screen shows {screen}"
    )]
    Until {
        /// The text waited for.
        text: String,
        /// How long it was waited for.
        timeout: Duration,
        /// What was on screen instead.
        screen: String,
    },
    /// The daemon was still answering when a `shot:` was due (code `shot_timeout`).
    #[error(
        "shot_timeout: the daemon was still answering after {timeout:?} when shot `{name}` was due"
    )]
    Shot {
        /// The shot's name.
        name: String,
        /// How long it was waited for.
        timeout: Duration,
    },
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

/// How a script run waits for the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptOptions {
    /// How long an `until:` waits for its text, and a `shot:` for the
    /// daemon to answer, before the run fails.
    pub timeout: Duration,
}

impl Default for ScriptOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(20),
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
    run_script_with(app, backend, steps, daemon, ScriptOptions::default())
}

/// [`run_script`] with a choice of timeouts.
///
/// The clock stays virtual against a real daemon too: `wait:` moves the
/// UI's timers (previews, the OSD hiding) and never sleeps, so the screens
/// a script sees do not depend on how fast the machine is. Real time
/// passes only in `until:` and `shot:`, which wait — on the event channel,
/// not by polling — for what the daemon sends.
pub fn run_script_with(
    app: &mut App,
    backend: &mut dyn Backend,
    steps: &[Step],
    daemon: &mut dyn DaemonLink,
    options: ScriptOptions,
) -> Result<(), RunError> {
    let (sink, events) = crate::wake::channel();
    daemon.start(sink)?;
    let mut now = Duration::ZERO;
    drain(app, daemon, &events);
    frame(app, backend)?;
    for step in steps {
        match step {
            Step::Key(key) => app.key(*key),
            Step::Wait(d) => {
                // Step through due timers in order, as real time would.
                let end = now + *d;
                while let Some(due) = app.next_deadline().filter(|due| *due <= end && *due > now) {
                    now = due;
                    app.tick(now);
                }
                now = end;
                app.tick(now);
            }
            Step::Until(text) => {
                let deadline = Instant::now() + options.timeout;
                loop {
                    drain(app, daemon, &events);
                    if app.scene().shows(text) {
                        break;
                    }
                    if !next_event(app, &events, deadline) {
                        return Err(RunError::Until {
                            text: text.clone(),
                            timeout: options.timeout,
                            screen: on_screen(app),
                        });
                    }
                }
            }
            Step::Shot(name) => {
                let deadline = Instant::now() + options.timeout;
                loop {
                    drain(app, daemon, &events);
                    // Every answer is in the channel once the link is not
                    // busy; taking them may ask for more (posters).
                    if !daemon.busy() {
                        drain(app, daemon, &events);
                        if !daemon.busy() {
                            break;
                        }
                    }
                    if !next_event(app, &events, deadline) {
                        return Err(RunError::Shot {
                            name: name.clone(),
                            timeout: options.timeout,
                        });
                    }
                }
                frame(app, backend)?;
                backend.screenshot(name)?;
            }
        }
        drain(app, daemon, &events);
        frame(app, backend)?;
    }
    Ok(())
}

/// Applies every event already queued, forwarding the commands they cause.
fn drain(app: &mut App, daemon: &mut dyn DaemonLink, events: &Receiver<Event>) {
    forward(app, daemon);
    while let Ok(event) = events.try_recv() {
        if let Event::Update(update) = event {
            app.update(*update);
        }
        forward(app, daemon);
    }
}

/// Waits for one event until `deadline` and applies it; false when time
/// is up or nothing more can come (the link is gone, or it said all it had).
fn next_event(app: &mut App, events: &Receiver<Event>, deadline: Instant) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return false;
    }
    match events.recv_timeout(left) {
        Ok(Event::Update(update)) => {
            app.update(*update);
            true
        }
        Ok(_) => true,
        Err(_) => false,
    }
}

/// The texts on screen, for an error that says what was there instead.
fn on_screen(app: &App) -> String {
    let texts = app.scene().texts();
    if texts.is_empty() {
        return "nothing readable".into();
    }
    texts
        .iter()
        .take(12)
        .map(|t| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
