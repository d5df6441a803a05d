//! License server throughput: wrk with 64 connections on loopback, asking
//! for a real key of a real title as an entitled account.

use std::process::Command;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::headend::{self, Server};
use crate::util::{output, root, run as run_cmd};

pub fn run() -> anyhow::Result<()> {
    let bin = headend::build(true)?;
    let dir = root().join("target/bench/license");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let data = dir.join("data");
    let mezz = dir.join("clip.mp4");
    run_cmd(
        Command::new(headend::ffmpeg()?)
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=320x180:r=25:d=4",
            ])
            .args(["-c:v", "libx264", "-preset", "ultrafast"])
            .arg(&mezz),
    )?;
    run_cmd(
        headend::command(&bin, &data)
            .arg("ingest")
            .arg(&mezz)
            .args(["--title", "bench", "--tiny"])
            .stdout(std::process::Stdio::null()),
    )?;
    run_cmd(
        headend::command(&bin, &data)
            .args(["account", "bench", "--entitle", "*"])
            .stdout(std::process::Stdio::null()),
    )?;
    let token = output(headend::command(&bin, &data).args(["token", "bench"]))?
        .trim()
        .to_owned();
    let mpd = std::fs::read_to_string(data.join("origin/bench/manifest.mpd"))?;
    let body =
        serde_json::json!({"kids": [B64.encode(headend::first_kid(&mpd)?)], "type": "temporary"})
            .to_string();

    let server = Server::start(&bin, &data, "127.0.0.1:0", true)?;
    let url = format!("{}/api/v1/license", server.url);
    // Measure grants, not refusals: check one first.
    let resp = reqwest::blocking::Client::new()
        .post(&url)
        .bearer_auth(&token)
        .body(body.clone())
        .send()?;
    if !resp.status().is_success() {
        bail!("the benchmark request is refused: {}", resp.text()?);
    }
    let script = dir.join("license.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = {body:?}\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\n"
        ),
    )?;
    let wrk = |secs: &str| -> anyhow::Result<String> {
        output(
            Command::new("wrk")
                .args(["-t2", "-c64", "-d", secs, "--latency", "-s"])
                .arg(&script)
                .arg(&url),
        )
    };
    wrk("2s")?; // warm-up
    let report = wrk("10s")?;
    let rps = report
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .map(str::trim)
        .context("wrk printed no Requests/sec")?;
    let p99 = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(str::trim)
        .context("wrk printed no 99% latency")?;
    let errors = report.lines().find(|l| l.contains("Non-2xx"));
    println!(
        "license benchmark ({} cores, wrk -t2 -c64 -d10s on loopback):",
        std::thread::available_parallelism()?
    );
    println!("  {rps} requests/s, p99 {p99} (target ≥ 5000 requests/s)");
    if let Some(line) = errors {
        bail!("some requests were refused: {}", line.trim());
    }
    Ok(())
}
