//! The box part of `cargo xtask demo`: a private dbus-daemon, `ottboxd`
//! on it against the demo's headend, and `ottboxctl` driving it the way the
//! UI does: device login (the demo plays the viewer confirming the code on
//! the headend's page, with the same form post a phone's browser sends),
//! then the home rows and a search, through D-Bus.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::util::{cargo, root, run as run_cmd, target_dir};

/// The demo viewer, as `cargo xtask demo` creates it.
const EMAIL: &str = "demo@ottbox.example";

/// Processes killed when dropped.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Builds the box binaries and runs the box tour; returns what failed.
/// `kill_edge` takes the nearest CDN edge down, between two plays.
pub fn tour(
    headend_url: &str,
    password: &str,
    out: &Path,
    kill_edge: &mut dyn FnMut(),
) -> anyhow::Result<Vec<String>> {
    println!("\n== the box: ottboxd on a private D-Bus, driven by ottboxctl");
    run_cmd(cargo().args(["build", "--quiet", "-p", "ottboxd", "--bins"]))?;
    let bin = |name: &str| target_dir().join("debug").join(name);
    let mut procs = Procs(Vec::new());

    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1", "--nopidfile"])
        .stdout(Stdio::piped())
        .spawn()
        .context("dbus-daemon (apt-get install dbus)")?;
    let mut address = String::new();
    BufReader::new(bus.stdout.take().context("dbus-daemon stdout")?).read_line(&mut address)?;
    procs.0.push(bus);
    let address = address.trim().to_owned();

    let state = out.join("box");
    let _ = std::fs::remove_dir_all(&state);
    let log = std::fs::File::create(out.join("ottboxd.log"))?;
    let mut ottboxd = Command::new(bin("ottboxd"));
    // With no screen (a server, CI), pictures and sound go to fakesinks
    // that keep time as a screen would; on a desktop a window opens.
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        ottboxd
            .env("OTTBOX_PLAYER_VIDEO_SINK", "fakesink sync=true")
            .env("OTTBOX_PLAYER_AUDIO_SINK", "fakesink sync=true");
    }
    procs.0.push(
        ottboxd
            .args(["--bus-address", &address, "--headend-url", headend_url])
            .arg("--state-dir")
            .arg(&state)
            .arg("--config")
            .arg(root().join("daemon/dist/ottboxd.toml"))
            .stderr(log)
            .spawn()
            .context("starting ottboxd")?,
    );
    let ctl = |args: &[&str]| -> Command {
        let mut c = Command::new(bin("ottboxctl"));
        c.args(["--bus-address", &address]).args(args);
        c
    };
    wait_for_daemon(&ctl)?;
    println!(
        "  ottboxd is up (state in {}, log var/demo/ottboxd.log)",
        rel(&state)
    );

    // Login: ottboxctl prints the code, then waits for the confirmation.
    let mut login = ctl(&["--json", "login", "--timeout", "60"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(login.stdout.take().context("ottboxctl stdout")?).lines();
    let code: serde_json::Value = serde_json::from_str(&lines.next().context("no login code")??)?;
    let user_code = code["user_code"].as_str().unwrap_or_default().to_owned();
    let page = code["verification_uri"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    println!("  TV shows: open {page} and enter {user_code}");
    // Posted to the headend the demo started (its public URL may name
    // another port when 8080 was taken).
    let confirmed = ureq::post(format!("{headend_url}/device")).send_form([
        ("user_code", user_code.as_str()),
        ("email", EMAIL),
        ("password", password),
        ("action", "approve"),
    ]);
    println!(
        "  the viewer confirms on the phone: {}",
        confirmed
            .as_ref()
            .map_or_else(|e| e.to_string(), |r| r.status().to_string())
    );
    let status = login.wait()?;
    let mut failed = Vec::new();
    if status.success() {
        println!("  Session1.State = logged_in");
    } else {
        failed.push("the box did not complete the device login".to_owned());
    }

    let home = crate::util::output(&mut ctl(&["home"]))?;
    let rows: Vec<&str> = home.lines().filter(|l| !l.starts_with(' ')).collect();
    println!("  Catalog1.Home: {} rows: {}", rows.len(), rows.join(" · "));
    if rows.len() < 3 {
        failed.push(format!("home has {} rows", rows.len()));
    }
    let found = crate::util::output(&mut ctl(&["search", "soc netw"]))?;
    let first = found
        .lines()
        .next()
        .unwrap_or("(nothing)")
        .trim()
        .to_owned();
    println!("  Catalog1.Search(\"soc netw\") → {first}");
    if !first.contains("Social Network") {
        failed.push(format!("search for \"soc netw\" gave {first}"));
    }

    // Play: the first title of the search, decrypted and decoded to the
    // end, from the nearest edge; then again with that edge dead.
    let id = first.split_whitespace().next().unwrap_or("ml-1").to_owned();
    for (label, want_edge) in [("", "eu-1"), (" with edge eu-1 killed", "eu-2")] {
        if want_edge == "eu-2" {
            kill_edge();
        }
        println!("  Player1.Play({id}){label}, waiting for the end:");
        let played = ctl(&["--json", "play", &id, "--from", "0", "--wait", "60"]).output()?;
        let v: serde_json::Value =
            serde_json::from_slice(&played.stdout).unwrap_or(serde_json::Value::Null);
        let q = |k: &str| v["qoe"][k].as_f64().unwrap_or(-1.0);
        println!(
            "    {} at {:.1} s; {} from edge {} via {}; first frame {:.0} ms, {} rebuffers",
            v["state"].as_str().unwrap_or("?"),
            v["position_s"].as_f64().unwrap_or_default(),
            v["rendition"].as_str().unwrap_or("?"),
            v["edge"].as_str().unwrap_or("?"),
            v["decoder"].as_str().unwrap_or("?"),
            q("time_to_first_frame_ms"),
            q("rebuffers"),
        );
        let breaks: Vec<&str> = v["ad_breaks_seen"]
            .as_array()
            .map(|a| a.iter().filter_map(|b| b.as_str()).collect())
            .unwrap_or_default();
        println!(
            "    ad breaks played around it (client-side, VAST beacons queued): {}",
            if breaks.is_empty() {
                "none".to_owned()
            } else {
                breaks.join(", ")
            }
        );
        if breaks.is_empty() {
            failed.push(format!("{id}{label}: no ad break played"));
        }
        if !played.status.success() || v["state"] != "ended" {
            failed.push(format!(
                "playing {id}{label}: {}",
                String::from_utf8_lossy(&played.stderr).trim()
            ));
        } else if v["edge"] != want_edge {
            failed.push(format!(
                "{id}{label} came from {} ({want_edge} expected)",
                v["edge"]
            ));
        }
    }
    Ok(failed)
}

fn wait_for_daemon(ctl: &dyn Fn(&[&str]) -> Command) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ok = ctl(&["status"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("ottboxd did not come up; see var/demo/ottboxd.log")
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .map(PathBuf::from)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}
