//! `cargo xtask`: project automation.
//!
//! - `setup`: installs what the project needs on Debian 12 (idempotent).
//! - `test`: setup, then fmt, clippy, cargo deny, the Yocto layer lint and every test.
//! - `demo`: setup, the sample catalog, the headend, and a tour of it.
//! - `bench ingest|license`: performance figures.
//! - `abr-sim`: the trace-driven ABR comparison (ours against four baselines).
//! - `yocto-crates [--check]`: the Yocto layer's crate list from Cargo.lock.
//! - `cross aarch64|armv7`: the box's binaries for ARM, with their sizes.
//! - `qemu`: boots the arm64 box in QEMU and runs the smoke scenario.
//! - `flaky [--runs N] [--load]`: the tests again and again; which ever failed.
//!
//! `main` only parses arguments and dispatches; each command lives in its
//! own module.

use clap::{Parser, Subcommand};

mod abr_sim;
// A test only: no import circles in the daemon or the UI.
mod bench;
#[cfg(test)]
mod circles;
mod cross;
mod demo;
mod demo_box;
mod flaky;
mod fuzz;
mod headend;
mod png;
mod qemu;
mod setup;
mod test;
mod util;
mod yocto;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "ottbox project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install system packages, the packager wheel and Rust tools (idempotent).
    Setup,
    /// Set up, then run fmt, clippy, cargo deny, the Yocto layer lint and every test.
    Test,
    /// Set up, build the sample catalog, start the headend and show it working.
    Demo {
        /// Stop the headend after the tour; exit 0 only if every step worked.
        #[arg(long)]
        once: bool,
    },
    /// Print performance figures.
    Bench {
        #[command(subcommand)]
        what: bench::Bench,
    },
    /// Play the box's ABR and four baselines over network traces; print QoE.
    AbrSim {
        /// Directory of `*.tsv` traces (default: ../shared/abr/traces beside
        /// the workspace, else daemon/tests/data/abr/traces).
        #[arg(long)]
        traces: Option<std::path::PathBuf>,
    },
    /// Write the Yocto layer's crate list (ottbox-crates.inc) from Cargo.lock.
    YoctoCrates {
        /// Write nothing; fail, naming the first difference, if the file
        /// does not match Cargo.lock.
        #[arg(long)]
        check: bool,
    },
    /// Build ottboxd, ottboxctl and ottbox-ui for an ARM box (release-box
    /// profile) and print their stripped sizes.
    Cross {
        #[arg(value_enum)]
        arch: cross::Arch,
    },
    /// Boot the arm64 box in QEMU and run the smoke scenario in the guest.
    Qemu,
    /// Run the tests again and again (on a loaded machine with --load) and
    /// print which ever failed: too long for CI.
    Flaky {
        /// How many runs of the suite.
        #[arg(long, default_value_t = 10)]
        runs: u32,
        /// Keep every core busy beside the tests.
        #[arg(long)]
        load: bool,
        /// `cargo test` arguments instead of `--workspace`, e.g. `-- -p
        /// ottboxd --test playback`.
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// Explore: run every cargo-fuzz target of the box's parsers (ottbox-formats) with a random
    /// seed for a while (`cargo xtask test` replays a fixed seed instead).
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        /// Replay what `cargo xtask test` runs instead: a fixed seed and
        /// number of inputs.
        #[arg(long)]
        replay: bool,
    },
}

fn main() {
    let result = match Cli::parse().command {
        Command::Setup => setup::run(),
        Command::Test => test::run(),
        Command::Demo { once } => demo::run(once),
        Command::Bench { what } => bench::run(what),
        Command::AbrSim { traces } => abr_sim::run(traces),
        Command::YoctoCrates { check } => yocto::run(check),
        Command::Cross { arch } => cross::run(arch),
        Command::Qemu => qemu::run(),
        Command::Flaky {
            runs,
            load,
            cargo_args,
        } => flaky::run(runs, load, &cargo_args),
        Command::Fuzz { seconds, replay } => {
            let mode = if replay {
                fuzz::Mode::Replay
            } else {
                fuzz::Mode::Explore { seconds }
            };
            setup::run().and_then(|()| fuzz::run(mode))
        }
    };
    // The error chain, without a backtrace: these are messages for people.
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
