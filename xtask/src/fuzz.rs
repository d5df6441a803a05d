//! `cargo xtask fuzz`: every cargo-fuzz target in `daemon/fuzz`, briefly.
//!
//! The targets feed the daemon's parsers of untrusted input (manifests,
//! `sidx`, sample encryption, ad plans, WebVTT) with libFuzzer's inputs.
//! The default 10 s each finds the shallow panics a parser change brings;
//! longer runs are `cargo xtask fuzz --seconds 600`. Not a CI stage yet:
//! the sanitizer build of the daemon's dependencies alone takes most of
//! the time CI has left. The machine's toolchain is stable; cargo-fuzz's
//! nightly flags are allowed by `RUSTC_BOOTSTRAP=1` (see
//! `daemon/fuzz/README.md`).

use std::path::PathBuf;

use anyhow::Context;

use crate::util::{cargo, root, run as run_cmd};

/// The targets, as `daemon/fuzz/Cargo.toml` names them.
const TARGETS: [&str; 6] = ["hls", "dash", "sidx", "sample_encryption", "vmap", "webvtt"];

/// Runs every target for `seconds` seconds; a crash fails, naming the
/// target and the artifact it left.
pub fn run(seconds: u32) -> anyhow::Result<()> {
    crate::setup::cargo_tool("cargo-fuzz", "fuzz")?;
    let dir: PathBuf = root().join("daemon/fuzz");
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
            format!("fuzz target {target} failed: see daemon/fuzz/artifacts/{target}/")
        })?;
    }
    Ok(())
}
