//! `cargo xtask fuzz`: every cargo-fuzz target in `formats/fuzz`, briefly.
//!
//! The targets feed the box's parsers of untrusted input (manifests,
//! `sidx`, sample encryption, ad plans, WebVTT, all in `ottbox-formats`)
//! with libFuzzer's inputs. `cargo xtask test` runs each for
//! [`CI_SECONDS`], which finds the shallow panics a parser change brings;
//! longer runs are `cargo xtask fuzz --seconds 600`. The parsers live in a
//! crate without GStreamer or D-Bus so that the sanitizer build stays
//! small. The machine's toolchain is stable; cargo-fuzz's nightly flags are
//! allowed by `RUSTC_BOOTSTRAP=1` (see `formats/fuzz/README.md`).

use std::path::PathBuf;

use anyhow::Context;

use crate::util::{cargo, root, run as run_cmd};

/// The targets, as `formats/fuzz/Cargo.toml` names them.
pub const TARGETS: [&str; 6] = ["hls", "dash", "sidx", "sample_encryption", "vmap", "webvtt"];

/// How long `cargo xtask test` runs each target.
pub const CI_SECONDS: u32 = 5;

/// Runs every target for `seconds` seconds; a crash fails, naming the
/// target and the artifact it left.
pub fn run(seconds: u32) -> anyhow::Result<()> {
    crate::setup::cargo_tool("cargo-fuzz", "fuzz")?;
    let dir: PathBuf = root().join("formats/fuzz");
    for target in TARGETS {
        println!("fuzz: {target} for {seconds} s");
        run_cmd(
            cargo()
                .current_dir(&dir)
                .env("RUSTC_BOOTSTRAP", "1")
                .args(["fuzz", "run", target, "--"])
                .arg(format!("-max_total_time={seconds}"))
                // A parser that needs more than this on one input is a bug.
                .args(["-rss_limit_mb=2048", "-timeout=10", "-print_final_stats=1"]),
        )
        .with_context(|| {
            format!("fuzz target {target} failed: see formats/fuzz/artifacts/{target}/")
        })?;
    }
    Ok(())
}
