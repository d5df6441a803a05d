//! The shipped D-Bus policy (`dist/io.ottbox.Daemon.conf`) on a real
//! dbus-daemon: members of the allowed group may call the daemon, others
//! are refused by the bus itself, and nobody else may own the name.
//!
//! The policy names the user and group `ottbox`; here the daemon runs as
//! root, so the test substitutes `root` for the user and `nogroup` (the
//! primary group of `nobody`) for the group, then runs callers as
//! `nobody` (allowed) and `daemon` (not in the group) with `setpriv`.

use std::process::Command;

use ottbox_testkit::{Bus, Daemon, Headend};

fn policy() -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dist/io.ottbox.Daemon.conf"
    ))
    .expect("policy file");
    let start = text.find("<policy").expect("a policy element");
    let end = text.rfind("</busconfig>").expect("busconfig end");
    text[start..end]
        .replace("user=\"ottbox\"", "user=\"root\"")
        .replace("group=\"ottbox\"", "group=\"nogroup\"")
}

fn as_user(
    user: &str,
    group: &str,
    bus: &Bus,
    program: &str,
    args: &[&str],
) -> std::process::Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={user}"),
            &format!("--regid={group}"),
            "--clear-groups",
            program,
        ])
        .args(args)
        .env("OTTBOX_BUS_ADDRESS", &bus.address)
        .output()
        .expect("setpriv (util-linux)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_group_may_call_and_only_the_daemon_user_may_own() {
    if !nix_is_root() {
        eprintln!("skipped: needs root to run callers as other users");
        return;
    }
    let headend = Headend::builder().start().await;
    let bus = Bus::start(&policy());
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = Daemon::start(&bus, &headend.url(), &dir.path().join("state")).await;
    let ctl = env!("CARGO_BIN_EXE_ottboxctl");

    let allowed = as_user("nobody", "nogroup", &bus, ctl, &["--json", "status"]);
    let out = String::from_utf8_lossy(&allowed.stdout);
    assert!(
        allowed.status.success(),
        "group member refused: {out} {}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    assert!(out.contains("\"login\":\"logged_out\""), "{out}");

    let refused = as_user("daemon", "daemon", &bus, ctl, &["status"]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "a stranger got through");
    assert!(err.contains("AccessDenied"), "refused by the bus: {err}");

    // Someone else cannot take the daemon's name.
    let state = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(
        state.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod");
    let impostor = as_user(
        "nobody",
        "nogroup",
        &bus,
        env!("CARGO_BIN_EXE_ottboxd"),
        &[
            "--bus-address",
            &bus.address,
            "--state-dir",
            &state.path().join("s").to_string_lossy(),
        ],
    );
    assert!(!impostor.status.success());
    let err = String::from_utf8_lossy(&impostor.stderr);
    assert!(
        err.contains("AccessDenied") || err.contains("not allowed to own"),
        "{err}"
    );
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
