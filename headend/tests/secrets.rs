//! Secrets stay secret: the real `ottbox-headend serve` binary, logging at
//! its most verbose, grants a license and never writes a key to its log.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ottbox_headend::config::Config;
use ottbox_headend::server::AppState;
use ottbox_protocol::license::LicenseRequest;

#[tokio::test]
async fn keys_never_reach_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (keys, token) = {
        let state = AppState::open(Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        })
        .expect("state");
        let keys = common::add_asset(&state, "film", &["SD", "HD"], &["eu"]);
        (keys, common::add_account(&state, "alice", &["*"]))
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_ottbox-headend"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("headend starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("reads");
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .expect("announces its address")
        .to_owned();

    let resp = reqwest::Client::new()
        .post(format!("{addr}/api/v1/license"))
        .bearer_auth(&token)
        .json(&LicenseRequest {
            kids: keys.iter().map(|k| B64.encode(k.kid)).collect(),
            session_type: "temporary".into(),
        })
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let _ = resp.bytes().await;

    // SIGTERM: a clean shutdown flushes the log.
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    let out = child.wait_with_output().expect("exits");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("license granted"),
        "the log is verbose enough to matter:\n{log}"
    );
    for key in &keys {
        for form in [
            hex::encode(key.key),
            B64.encode(key.key),
            format!("{:?}", key.key),
        ] {
            assert!(!log.contains(&form), "key material in the log");
        }
    }
    assert!(!log.contains(&token), "bearer token in the log");
}
