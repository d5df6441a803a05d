//! Helpers for ottbox's end-to-end tests: starting the real processes
//! (headend, nginx edges, dbus-daemon, ottboxd, UI) on free loopback ports
//! and tearing them down. The tests themselves live in `tests/tests/`; the
//! headend, bus and daemon come from `ottbox-testkit`; this crate adds what
//! a test across the whole stack needs on top:
//!
//! - [`binary`]: the workspace's binaries (`ottboxd`, `ottbox-ui`), built
//!   when stale — cargo only builds binaries for their own package's tests;
//! - [`golden`]: tolerant comparison of screenshots with committed PNGs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

pub mod golden;

/// The binaries the end-to-end tests run: (package, binary).
const BINARIES: [(&str, &str); 2] = [("ottboxd", "ottboxd"), ("ottbox-ui", "ottbox-ui")];

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// The path of the workspace binary `name` (one of `ottboxd`, `ottbox-ui`)
/// in the profile directory the running test was built into.
///
/// Cargo builds a package's binaries for that package's integration tests
/// only, so `cargo test -p ottbox-e2e` would otherwise run whatever old
/// binary lies there, or none. When a binary is missing or older than a
/// source it is built from, one `cargo build` brings them all up to date
/// (once per test process); under `cargo test --workspace` they are fresh
/// already and nothing is built.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let dir = profile_dir();
    BUILT.get_or_init(|| {
        let sources = [
            "protocol",
            "daemon/src",
            "daemon/Cargo.toml",
            "ui/src",
            "ui/Cargo.toml",
            "Cargo.lock",
        ];
        let newest_source = sources
            .iter()
            .filter_map(|p| newest(&workspace().join(p)))
            .max();
        let stale = BINARIES.iter().any(|(_, bin)| {
            let built = std::fs::metadata(dir.join(bin)).and_then(|m| m.modified());
            match (built, newest_source) {
                (Ok(built), Some(source)) => built < source,
                (Ok(_), None) => false,
                (Err(_), _) => true,
            }
        });
        if stale {
            build(&dir);
        }
    });
    dir.join(name)
}

/// `target/debug` (or the profile's directory): the test binary runs from
/// its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary is in <target>/<profile>/deps")
        .to_owned()
}

fn build(dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.current_dir(workspace()).arg("build");
    let target = dir.parent().expect("the target directory");
    command.arg("--target-dir").arg(target);
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    for (package, bin) in BINARIES {
        command.args(["-p", package, "--bin", bin]);
    }
    let status = command.status().expect("cargo build");
    assert!(status.success(), "building the binaries failed: {status}");
}

/// The newest modification time of `path` or of a file below it.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| newest(&e.path()))
        .max()
}
