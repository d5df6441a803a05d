//! `cargo xtask cross aarch64|armv7`: the box's binaries for ARM.
//!
//! Built with Debian's cross gcc as the linker and Debian's multiarch
//! GStreamer as the libraries, exactly what the box runs (bookworm's 1.22).
//! rustup cannot fetch other targets' standard libraries on these machines,
//! so the build uses Debian's `rustc-web`, which ships them
//! (`libstd-rust-web-dev:<arch>`); the linker per target is in
//! `.cargo/config.toml`.
//!
//! One wrinkle: GStreamer's and GLib's `-dev` packages are not
//! co-installable across architectures, and the host's tests need the
//! host's. So the target's copies are unpacked into
//! `target/cross/<arch>/dev` (their `.pc` files and `.so` links, pointed at
//! the target's runtime libraries that are installed as multiarch
//! packages) and that directory alone is put on pkg-config's path.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{output, run as run_cmd, target_dir};

/// The binaries that go on a box, with their packages: the daemon, its
/// command-line client and the UI.
pub const BOX_BINARIES: &[(&str, &str)] = &[
    ("ottboxd", "ottboxd"),
    ("ottboxd", "ottboxctl"),
    ("ottbox-ui", "ottbox-ui"),
];

/// The headend, for a QEMU box that has its own (no traffic leaves it).
pub const HEADEND_BINARY: (&str, &str) = ("ottbox-headend", "ottbox-headend");

/// The cargo profile for the box (size first; see the workspace Cargo.toml).
pub const PROFILE: &str = "release-box";

/// The target's development packages that the `-sys` crates' pkg-config
/// lookups need (only their `.pc` files and `.so` links are used).
const DEV_PACKAGES: [&str; 3] = [
    "libglib2.0-dev",
    "libgstreamer1.0-dev",
    "libgstreamer-plugins-base1.0-dev",
];

/// An ARM target of the box.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// 64-bit ARM (Cortex-A53 and up): most current boxes, QEMU's `virt`.
    Aarch64,
    /// 32-bit ARM with hard float: older and cheaper boxes.
    Armv7,
}

impl Arch {
    /// Rust's target triple.
    pub fn triple(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64-unknown-linux-gnu",
            Arch::Armv7 => "armv7-unknown-linux-gnueabihf",
        }
    }

    /// Debian's architecture name.
    pub fn debian(self) -> &'static str {
        match self {
            Arch::Aarch64 => "arm64",
            Arch::Armv7 => "armhf",
        }
    }

    /// The GNU triple: the multiarch library directory's name.
    pub fn gnu(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64-linux-gnu",
            Arch::Armv7 => "arm-linux-gnueabihf",
        }
    }
}

/// Sets up, builds, and prints the stripped size of each box binary.
pub fn run(arch: Arch) -> anyhow::Result<()> {
    let dir = build(arch, BOX_BINARIES)?;
    for (_, bin) in BOX_BINARIES {
        let size = std::fs::metadata(dir.join(bin))?.len();
        println!(
            "cross: {:<10} {bin:<10} {:>5.1} MB stripped",
            arch.triple().split('-').next().unwrap_or_default(),
            size as f64 / 1e6
        );
    }
    Ok(())
}

/// Builds `binaries` (package, binary) for `arch`; returns the directory
/// they are in.
pub fn build(arch: Arch, binaries: &[(&str, &str)]) -> anyhow::Result<PathBuf> {
    crate::setup::cross(arch.debian())?;
    let dev = unpack_dev(arch)?;
    let pkg_config_path = dev.join("pkgconfig");
    let mut cargo = Command::new("/usr/bin/cargo");
    cargo
        .args(["build", "--profile", PROFILE, "--target", arch.triple()])
        .args(binaries.iter().flat_map(|(package, _)| ["-p", package]))
        .args(binaries.iter().flat_map(|(_, bin)| ["--bin", bin]))
        .current_dir(crate::util::root())
        .env("CARGO_TARGET_DIR", target_dir())
        .env("RUSTC", "/usr/bin/rustc")
        // The host's rustup cargo may have set these for the xtask itself.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env("PKG_CONFIG_ALLOW_CROSS", "1")
        .env("PKG_CONFIG_LIBDIR", pkg_config_path);
    run_cmd(&mut cargo)?;
    Ok(target_dir().join(arch.triple()).join(PROFILE))
}

/// Unpacks the target's [`DEV_PACKAGES`] into `target/cross/<arch>/dev`
/// once; returns that directory.
fn unpack_dev(arch: Arch) -> anyhow::Result<PathBuf> {
    let base = target_dir().join("cross").join(arch.debian());
    let dev = base.join("dev");
    let done = dev.join(".unpacked");
    if done.exists() {
        return Ok(dev);
    }
    let debs = base.join("debs");
    let root = base.join("root");
    std::fs::create_dir_all(&debs)?;
    for package in DEV_PACKAGES {
        let deb = download(&format!("{package}:{}", arch.debian()), &debs)?;
        run_cmd(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    }
    let libdir = root.join("usr/lib").join(arch.gnu());
    let system = Path::new("/usr/lib").join(arch.gnu());
    std::fs::create_dir_all(dev.join("pkgconfig"))?;
    for entry in std::fs::read_dir(&libdir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_owned();
        if !name.to_string_lossy().ends_with(".so") || !path.is_symlink() {
            continue;
        }
        // `libgstvideo-1.0.so -> libgstvideo-1.0.so.0`, made absolute:
        // the real library is the installed multiarch runtime.
        let soname = std::fs::read_link(&path)?;
        let link = dev.join(&name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(system.join(soname), link)?;
    }
    for entry in std::fs::read_dir(libdir.join("pkgconfig"))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default();
        let text = rewrite_pc(&std::fs::read_to_string(&path)?, &dev);
        std::fs::write(dev.join("pkgconfig").join(name), text)?;
    }
    std::fs::write(&done, "")?;
    println!(
        "cross: unpacked {} into {}",
        DEV_PACKAGES.join(", "),
        dev.display()
    );
    Ok(dev)
}

/// Points a `.pc` file's `libdir` at `dev` and drops `Requires.private`:
/// the box links dynamically, and those packages' `.pc` files (orc, pcre,
/// libmount, ...) would otherwise all have to be unpacked too.
fn rewrite_pc(text: &str, dev: &Path) -> String {
    text.lines()
        .filter(|line| !line.starts_with("Requires.private:"))
        .map(|line| {
            if line.starts_with("libdir=") {
                format!("libdir={}\n", dev.display())
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

/// `apt-get download` of one package into `dir`; returns the `.deb`'s path.
pub fn download(package: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let name = package.split(':').next().unwrap_or(package);
    let find = || -> anyhow::Result<Option<PathBuf>> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            if file.starts_with(&format!("{name}_")) && file.ends_with(".deb") {
                return Ok(Some(path));
            }
        }
        Ok(None)
    };
    if let Some(deb) = find()? {
        return Ok(deb);
    }
    // apt's sandbox user may not write here; it then downloads as root,
    // with a warning that says so.
    output(
        Command::new("apt-get")
            .args(["download", "-qq", package])
            .current_dir(dir),
    )
    .with_context(|| format!("apt-get download {package}"))?;
    match find()? {
        Some(deb) => Ok(deb),
        None => bail!(
            "apt-get download {package} left no .deb in {}",
            dir.display()
        ),
    }
}
