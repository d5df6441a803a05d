//! `cargo xtask test`: setup, then every check CI runs, stage by stage,
//! stopping at the first failure. Output passes through (with the caller's
//! `CARGO_TERM_COLOR`); nothing reads the terminal.

use std::process::Command;

use crate::util::{Stages, cargo, run as run_cmd};

/// Runs the stages and prints their timings, failing if one failed.
pub fn run() -> anyhow::Result<()> {
    let mut stages = Stages::default();
    let result = all(&mut stages);
    stages.summary();
    result
}

/// The colour choice for tools that do not read `CARGO_TERM_COLOR` (rustfmt
/// colours its diffs even into a CI log otherwise).
fn color() -> String {
    match std::env::var("CARGO_TERM_COLOR") {
        Ok(c) if ["always", "never", "auto"].contains(&c.as_str()) => c,
        _ if std::io::IsTerminal::is_terminal(&std::io::stdout()) => "auto".into(),
        _ => "never".into(),
    }
}

fn all(stages: &mut Stages) -> anyhow::Result<()> {
    stages.run("setup", crate::setup::run)?;
    stages.run("cargo fmt --check", || {
        run_cmd(cargo().args(["fmt", "--all", "--", "--check", "--color", &color()]))
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
    // Advisories are not checked here: they need the RustSec advisory
    // database from GitHub, which the build machines cannot reach (see
    // deny.toml). Licenses, bans and sources need only Cargo.lock.
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
    stages.run("yocto layer (oelint-adv, crate list)", yocto_layer)?;
    stages.run("cargo test", || {
        run_cmd(cargo().args(["test", "--workspace"]))
    })?;
    // The parsers of untrusted input, fed libFuzzer's inputs briefly: a
    // parser change that panics on a shallow input fails here.
    let fuzz = format!(
        "cargo fuzz replay ({} targets, {} inputs each)",
        crate::fuzz::TARGETS.len(),
        crate::fuzz::REPLAY_RUNS
    );
    stages.run(&fuzz, || crate::fuzz::run(crate::fuzz::Mode::Replay))?;
    // The box's real targets: both ARM builds, then the arm64 one booted.
    for arch in [crate::cross::Arch::Aarch64, crate::cross::Arch::Armv7] {
        stages.run(&format!("cross {}", arch.triple()), || {
            crate::cross::run(arch)
        })?;
    }
    stages.run("qemu smoke (aarch64 guest)", crate::qemu::run)
}

/// The Yocto layer cannot be built here (no bitbake, no Yocto checkout), so
/// CI checks what it can in seconds: the crate list matches Cargo.lock (a
/// stale one fails the image build at fetch time), and oelint-adv finds
/// nothing in any recipe, append or class. Its settings, and each
/// suppression with its reason, are in `yocto/meta-ottbox/.oelint.cfg`.
fn yocto_layer() -> anyhow::Result<()> {
    crate::yocto::check()?;
    let layer = crate::yocto::layer_dir();
    let files = crate::yocto::recipe_files(&layer)?;
    println!("oelint-adv: {} files", files.len());
    run_cmd(
        Command::new("python3")
            .args(["-m", "oelint_adv", "--quiet", "--relpaths"])
            .args(&files)
            .current_dir(&layer)
            .env("OELINT_CONFIG", layer.join(".oelint.cfg"))
            .stdin(std::process::Stdio::null()),
    )
}
