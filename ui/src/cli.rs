//! The `ottbox-ui` command line and what each mode wires together.
//!
//! ```text
//! ottbox-ui --headless DIR [--keys "down,down,ok" | --keys-file F] [--updates U.json] [--size 1920x1080]
//! ottbox-ui --headless DIR --bus-address ADDR --keys "until:Search,down,ok,shot:details" [--until-timeout 20]
//! ottbox-ui [--fbdev /dev/fb0 --fb-sysfs /sys/class/graphics/fb0] [--input-dir /dev/input]
//! ottbox-ui --simulator          (built with --features simulator)
//! ```
//!
//! `--headless` drives the UI with a scripted key feed and writes a PNG per
//! frame into DIR (and `NAME.png` for each `shot:NAME` step); updates from
//! the daemon side come from `--updates` (a JSON array of [`Update`]s), or,
//! without it and with `--bus-address` or `--session`, from the real
//! `ottboxd` on that bus (the end-to-end tests' mode: the script waits for
//! the daemon's answers with `until:`). Either way the commands the UI
//! sends are printed as JSON lines on stdout. The framebuffer and simulator modes show the
//! real UI, linked to ottboxd over D-Bus (system bus unless `--session` or
//! `--bus-address`); while the daemon is away they say "waiting for ottboxd".

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use embedded_graphics::prelude::*;

use crate::app::App;
use crate::daemon::{DaemonLink, Recorder, Replay};
use crate::dbus_link::{BusChoice, DbusLink};
use crate::display::DisplayError;
use crate::display::fbdev::FbDev;
use crate::display::headless::Headless;
use crate::event::Update;
use crate::input::Key;
use crate::input::evdev::EvdevInput;
use crate::input::script::{self, ScriptError};
use crate::runner::{self, RunError};
use crate::wake;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = "ottbox-ui", version, about = "The ottbox on-screen UI")]
pub struct Args {
    /// Render without a screen: write a PNG per frame into this directory.
    #[arg(long, value_name = "DIR")]
    pub headless: Option<PathBuf>,
    /// Keys to press, e.g. "down,down,ok,wait:1500"; against a daemon also
    /// until:TEXT and shot:NAME (headless).
    #[arg(long, conflicts_with = "keys_file")]
    pub keys: Option<String>,
    /// A file of keys, same syntax as --keys (headless).
    #[arg(long, value_name = "FILE")]
    pub keys_file: Option<PathBuf>,
    /// A JSON array of daemon updates to replay at start (headless; without
    /// it, --bus-address or --session runs against the real daemon).
    #[arg(long, value_name = "FILE")]
    pub updates: Option<PathBuf>,
    /// Seconds a script's until:TEXT waits for TEXT, and a shot:NAME for
    /// the daemon's answers, before the run fails (headless).
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub until_timeout: u64,
    /// Screen size for headless and simulator runs.
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    pub size: Size,
    /// The framebuffer device.
    #[arg(long, default_value = "/dev/fb0", env = "OTTBOX_UI_FBDEV")]
    pub fbdev: PathBuf,
    /// The framebuffer's sysfs directory (geometry).
    #[arg(
        long,
        default_value = "/sys/class/graphics/fb0",
        env = "OTTBOX_UI_FB_SYSFS"
    )]
    pub fb_sysfs: PathBuf,
    /// Where remote controls appear.
    #[arg(long, default_value = "/dev/input", env = "OTTBOX_UI_INPUT_DIR")]
    pub input_dir: PathBuf,
    /// Show the UI in an SDL2 window (needs the `simulator` feature).
    #[arg(long)]
    pub simulator: bool,
    /// Talk to ottboxd on the session bus (development).
    #[arg(long, conflicts_with = "bus_address")]
    pub session: bool,
    /// Talk to ottboxd on the bus at this address (tests).
    #[arg(long, env = "OTTBOX_BUS_ADDRESS")]
    pub bus_address: Option<String>,
}

impl Args {
    /// The bus the daemon is on: system unless told otherwise.
    pub fn bus(&self) -> BusChoice {
        match (&self.bus_address, self.session) {
            (Some(a), _) => BusChoice::Address(a.clone()),
            (None, true) => BusChoice::Session,
            (None, false) => BusChoice::System,
        }
    }
}

/// `1280x720` → a size.
pub fn parse_size(text: &str) -> Result<Size, String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("`{text}` should be WIDTHxHEIGHT, e.g. 1920x1080"))?;
    let w: u32 = w
        .trim()
        .parse()
        .map_err(|_| format!("bad width in `{text}`"))?;
    let h: u32 = h
        .trim()
        .parse()
        .map_err(|_| format!("bad height in `{text}`"))?;
    if !(320..=7680).contains(&w) || !(240..=4320).contains(&h) {
        return Err(format!("`{text}` is not a TV screen size"));
    }
    Ok(Size::new(w, h))
}

/// Why the UI could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// An input file could not be read (code `read_failed`).
    #[error("read_failed: {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key script is wrong (code `bad_script`).
    #[error("bad_script: {0}")]
    Script(#[from] ScriptError),
    /// The updates file is not a JSON array of updates (code `bad_updates`).
    #[error("bad_updates: {path}: {source}")]
    Updates {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The display failed (code in the message).
    #[error(transparent)]
    Display(#[from] DisplayError),
    /// The event loop failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The mode asked for is not built in (code `not_built`).
    #[error("not_built: {0}")]
    NotBuilt(&'static str),
}

fn read(path: &PathBuf) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })
}

/// Runs the mode the arguments ask for.
pub fn run(args: Args) -> Result<(), CliError> {
    if let Some(dir) = &args.headless {
        return headless(&args, dir);
    }
    if args.simulator {
        return simulator(&args);
    }
    let mut backend = FbDev::open(&args.fbdev, &args.fb_sysfs)?;
    let mut app = App::new(backend.geometry().size);
    let (sink, events) = wake::channel();
    let keys = sink.clone();
    EvdevInput::new(&args.input_dir, Duration::from_secs(2))
        .start(Arc::new(move |key: Option<Key>| {
            keys.send(key.map_or(wake::Event::Tick, wake::Event::Key))
                .is_ok()
        }))
        .map_err(|source| CliError::Read {
            path: args.input_dir.clone(),
            source,
        })?;
    runner::run(
        &mut app,
        &mut backend,
        events,
        sink,
        &mut DbusLink::new(args.bus()),
    )?;
    Ok(())
}

fn headless(args: &Args, dir: &PathBuf) -> Result<(), CliError> {
    let script = match (&args.keys, &args.keys_file) {
        (Some(keys), _) => keys.clone(),
        (None, Some(file)) => read(file)?,
        (None, None) => String::new(),
    };
    let steps = script::parse(&script)?;
    let live = args.updates.is_none() && (args.bus_address.is_some() || args.session);
    let updates: Vec<Update> = match &args.updates {
        Some(path) => serde_json::from_str(&read(path)?).map_err(|source| CliError::Updates {
            path: path.clone(),
            source,
        })?,
        None => Vec::new(),
    };
    let mut backend = Headless::new(args.size, dir)?;
    let mut app = App::new(args.size);
    let mut daemon: Recorder<Box<dyn DaemonLink>> = Recorder::new(if live {
        Box::new(DbusLink::new(args.bus()))
    } else {
        Box::new(Replay::new(updates))
    });
    let options = runner::ScriptOptions {
        timeout: Duration::from_secs(args.until_timeout),
    };
    runner::run_script_with(&mut app, &mut backend, &steps, &mut daemon, options)?;
    for command in &daemon.sent {
        // Serializing our own enum cannot fail.
        if let Ok(line) = serde_json::to_string(command) {
            println!("{line}");
        }
    }
    Ok(())
}

#[cfg(feature = "simulator")]
fn simulator(args: &Args) -> Result<(), CliError> {
    crate::display::simulator::run(args.size)?;
    Ok(())
}

#[cfg(not(feature = "simulator"))]
fn simulator(_args: &Args) -> Result<(), CliError> {
    Err(CliError::NotBuilt(
        "the SDL2 simulator is not built in; rebuild with `cargo run -p ottbox-ui --features simulator -- --simulator` (needs libsdl2-dev)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_nonsense_is_refused() {
        assert_eq!(parse_size("1920x1080"), Ok(Size::new(1920, 1080)));
        assert!(parse_size("1920").is_err());
        assert!(parse_size("10x10").is_err());
        assert!(parse_size("axb").is_err());
    }
}
