//! `cargo xtask abr-sim [--traces DIR]`: the trace-driven ABR comparison.
//!
//! Builds and runs the daemon's `ottbox-abr-sim` (release: robust MPC
//! searches 7 776 plans per chunk), which plays the product's chooser and
//! the four baselines over every trace and prints a table. xtask does not
//! link the daemon (it must build before the GStreamer dev packages are
//! installed), so this goes through `cargo run`, after setup has installed
//! what the daemon needs to build.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::util::{cargo, root, run as run_cmd};

/// The shared evaluation data, beside the workspace.
fn shared_traces() -> PathBuf {
    root().join("../shared/abr/traces")
}

/// The copy the daemon's tests use, for checkouts without the shared data.
fn bundled_traces() -> PathBuf {
    root().join("daemon/tests/data/abr/traces")
}

/// Runs the simulation over `traces` (default: `../shared/abr/traces`
/// beside the workspace, else the copy in `daemon/tests/data/abr`).
pub fn run(traces: Option<PathBuf>) -> anyhow::Result<()> {
    let traces = match traces {
        // Relative to where the user typed it, not to the workspace root
        // that cargo runs in.
        Some(dir) => std::path::absolute(&dir)
            .with_context(|| format!("cannot resolve {}", dir.display()))?,
        None if shared_traces().is_dir() => shared_traces(),
        None => bundled_traces(),
    };
    if !traces.is_dir() {
        bail!("no traces directory at {}", traces.display());
    }
    crate::setup::run()?;
    run_cmd(
        cargo()
            .args([
                "run",
                "--release",
                "-q",
                "-p",
                "ottboxd",
                "--bin",
                "ottbox-abr-sim",
            ])
            .arg("--")
            .arg("--traces")
            .arg(clean(&traces)),
    )
}

/// `a/b/../c` as `a/c`, for a readable command line.
fn clean(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}
