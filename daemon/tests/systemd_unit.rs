//! The shipped systemd unit (`dist/ottboxd.service`): `systemd-analyze
//! verify` finds nothing wrong with it, and `systemd-analyze security`
//! rates its exposure at 2.0 or better (the bar; lower is safer).

use std::process::Command;

/// The unit with `ExecStart` pointing at the binary just built, in a
/// directory of its own (verify checks that the command exists).
fn unit_dir() -> tempfile::TempDir {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/dist/ottboxd.service"))
            .expect("unit file");
    let text = text.replace("/usr/bin/ottboxd", env!("CARGO_BIN_EXE_ottboxd"));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ottboxd.service"), text).expect("write unit");
    dir
}

fn analyze(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(dir.join("ottboxd.service"))
        .output()
        .expect("systemd-analyze (apt-get install systemd)")
}

#[test]
fn the_unit_verifies_clean() {
    let dir = unit_dir();
    let out = analyze(dir.path(), &["verify", "--man=no"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Warnings about other units of the machine are not ours.
    let ours: Vec<&str> = text.lines().filter(|l| l.contains("ottboxd")).collect();
    assert!(out.status.success() && ours.is_empty(), "{text}");
}

#[test]
fn the_unit_exposure_is_at_most_two() {
    let dir = unit_dir();
    let out = analyze(dir.path(), &["security", "--offline=yes", "--no-pager"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for ottboxd.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(level <= 2.0, "exposure {level} > 2.0:\n{text}");
}
