//! Running commands and timing stages.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// `cargo`, as the environment names it.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd`, failing with its description if it fails.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let what = describe(cmd);
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout.
pub fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let what = describe(cmd);
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn describe(cmd: &Command) -> String {
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    format!(
        "`{} {}`",
        cmd.get_program().to_string_lossy(),
        args.join(" ")
    )
}

/// Times named stages and prints a table of them.
#[derive(Default)]
pub struct Stages {
    done: Vec<(String, Duration, bool)>,
}

impl Stages {
    /// Runs one stage, printing its duration when it ends.
    pub fn run(
        &mut self,
        name: &str,
        f: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        println!("\n==> {name}");
        let started = Instant::now();
        let result = f();
        let took = started.elapsed();
        println!(
            "<== {name}: {} in {:.1} s",
            if result.is_ok() { "ok" } else { "FAILED" },
            took.as_secs_f64()
        );
        self.done.push((name.to_owned(), took, result.is_ok()));
        result
    }

    /// Prints every stage's time.
    pub fn summary(&self) {
        println!("\nstage timings:");
        for (name, took, ok) in &self.done {
            println!(
                "  {:<34} {:>8.1} s  {}",
                name,
                took.as_secs_f64(),
                if *ok { "ok" } else { "FAILED" }
            );
        }
        let total: Duration = self.done.iter().map(|d| d.1).sum();
        println!("  {:<34} {:>8.1} s", "total", total.as_secs_f64());
    }
}
