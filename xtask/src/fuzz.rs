//! `cargo xtask fuzz`: every cargo-fuzz target in `formats/fuzz`.
//!
//! The targets feed the box's parsers of untrusted input (manifests,
//! `sidx`, sample encryption, ad plans, WebVTT, all in `ottbox-formats`)
//! with libFuzzer's inputs. There are two ways to run them:
//!
//! - [`Mode::Replay`], what `cargo xtask test` runs: a fixed seed and a
//!   fixed number of inputs, grown from the committed seeds in
//!   `formats/fuzz/seeds/<target>/` into a fresh corpus. Every machine
//!   tries the same inputs, so a red CI run means the change broke a
//!   parser, never that the dice found an old bug that day.
//! - [`Mode::Explore`], `cargo xtask fuzz --seconds 600`: a random seed
//!   for as long as asked, growing `formats/fuzz/corpus/`. This is how new
//!   bugs are found; each one becomes a unit test beside the parser and a
//!   file in `seeds/`, so that the replay keeps checking it.
//!
//! The parsers live in a crate without GStreamer or D-Bus so that the
//! sanitizer build stays small. The machine's toolchain is stable;
//! cargo-fuzz's nightly flags are allowed by `RUSTC_BOOTSTRAP=1` (see
//! `formats/fuzz/README.md`).

use anyhow::Context;

use crate::util::{cargo, root, run as run_cmd};

/// The targets, as `formats/fuzz/Cargo.toml` names them.
pub const TARGETS: [&str; 6] = ["hls", "dash", "sidx", "sample_encryption", "vmap", "webvtt"];

/// How many inputs the replay runs per target: a few seconds each.
pub const REPLAY_RUNS: u32 = 20_000;

/// The replay's libFuzzer seed.
const REPLAY_SEED: u32 = 1;

/// How a fuzz run picks its inputs.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// The same inputs on every machine: [`REPLAY_RUNS`] from the seeds.
    Replay,
    /// A random seed for this many seconds per target.
    Explore { seconds: u32 },
}

/// Runs every target; a crash fails, naming the target and the artifact
/// it left.
pub fn run(mode: Mode) -> anyhow::Result<()> {
    crate::setup::cargo_tool("cargo-fuzz", "fuzz")?;
    let dir = root().join("formats/fuzz");
    for target in TARGETS {
        let seeds = dir.join("seeds").join(target);
        let (corpus, limit, seed) = match mode {
            Mode::Replay => {
                println!("fuzz: {target}, {REPLAY_RUNS} inputs from seed {REPLAY_SEED}");
                // The replay grows a corpus of its own, emptied first: one
                // left from an earlier run would change what it tries.
                let corpus = dir.join("target/replay-corpus").join(target);
                match std::fs::remove_dir_all(&corpus) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(e).context("emptying the replay corpus");
                    }
                    _ => {}
                }
                (
                    corpus,
                    format!("-runs={REPLAY_RUNS}"),
                    format!("-seed={REPLAY_SEED}"),
                )
            }
            Mode::Explore { seconds } => {
                println!("fuzz: {target} for {seconds} s");
                let corpus = dir.join("corpus").join(target);
                (
                    corpus,
                    format!("-max_total_time={seconds}"),
                    "-seed=0".into(),
                )
            }
        };
        std::fs::create_dir_all(&corpus)?;
        run_cmd(
            cargo()
                .current_dir(&dir)
                .env("RUSTC_BOOTSTRAP", "1")
                .args(["fuzz", "run", target])
                .arg(&corpus)
                .arg(&seeds)
                .args(["--", &limit, &seed])
                // A parser that needs more than this on one input is a bug.
                .args(["-rss_limit_mb=2048", "-timeout=10", "-print_final_stats=1"]),
        )
        .with_context(|| {
            format!("fuzz target {target} failed: see formats/fuzz/artifacts/{target}/")
        })?;
    }
    Ok(())
}
