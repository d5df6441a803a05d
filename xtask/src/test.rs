//! `cargo xtask test`: setup, then every check CI runs, stage by stage.

use crate::util::{Stages, cargo, run as run_cmd};

/// Runs the stages, stopping at the first failure; prints their timings.
pub fn run() -> anyhow::Result<()> {
    let mut stages = Stages::default();
    let result = all(&mut stages);
    stages.summary();
    result
}

fn all(stages: &mut Stages) -> anyhow::Result<()> {
    stages.run("setup", crate::setup::run)?;
    stages.run("cargo fmt --check", || {
        run_cmd(cargo().args(["fmt", "--all", "--", "--check"]))
    })?;
    stages.run("cargo clippy -D warnings", || {
        run_cmd(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // Advisories need the RustSec database from GitHub, which this
    // environment cannot reach; licenses, bans and sources are checked.
    stages.run("cargo deny (licenses bans sources)", || {
        run_cmd(cargo().args([
            "deny",
            "--log-level",
            "error",
            "check",
            "licenses",
            "bans",
            "sources",
        ]))
    })?;
    stages.run("cargo test", || {
        run_cmd(cargo().args(["test", "--workspace"]))
    })
}
