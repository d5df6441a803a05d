//! License server throughput: `wrk` with 64 connections on loopback, each
//! request a real grant (a valid token of an entitled account asking for a
//! real key of a real title).

use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::headend::{self, Server};
use crate::util::{Http, Scratch, output, run as run_cmd};

/// Connections wrk keeps open.
const CONNECTIONS: u32 = 64;
/// The target, requests per second.
const TARGET: f64 = 5000.0;

pub fn run() -> anyhow::Result<()> {
    let bin = headend::build(true)?;
    // Declared first, so removed last (after the server has stopped).
    let scratch = Scratch::new("license")?;
    let data = scratch.path().join("data");

    println!("bench: ingesting a 4 s clip (tiny ladder) into a scratch headend");
    let clip = scratch.path().join("clip.mp4");
    super::mezzanine(&clip, "320x180", 25, 4.0)?;
    run_cmd(
        headend::command(&bin, &data)
            .arg("ingest")
            .arg(&clip)
            .args(["--title", "bench", "--tiny"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null()),
    )?;
    run_cmd(
        headend::command(&bin, &data)
            .args(["account", "bench", "--entitle", "*"])
            .stdout(Stdio::null()),
    )?;
    let token = output(headend::command(&bin, &data).args(["token", "bench"]))?
        .trim()
        .to_owned();

    let server = Server::start(
        &bin,
        &data,
        "127.0.0.1:0",
        &scratch.path().join("headend.log"),
        "warn",
    )?;
    let http = Http::new();
    let mpd = http.get(&format!("{}/origin/bench/manifest.mpd", server.url))?;
    let kid = headend::first_kid(&mpd.text())?;
    let body = serde_json::json!({"kids": [B64.encode(kid)], "type": "temporary"});
    let url = format!("{}/api/v1/license", server.url);

    // Measure grants, not refusals: one request first.
    let reply = http.post_json(&url, Some(&token), &body)?;
    if reply.status != 200 || reply.json()["keys"].as_array().is_none_or(Vec::is_empty) {
        bail!(
            "the benchmark's request is not granted: {} {}",
            reply.status,
            reply.json()["error"]
        );
    }
    println!(
        "bench: POST {url} for kid {} as an entitled account: 200, key granted",
        hex::encode(kid)
    );

    let script = scratch.path().join("license.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\n\
             wrk.body = {}\n\
             wrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.headers[\"Authorization\"] = {}\n",
            lua_string(&body.to_string()),
            lua_string(&format!("Bearer {token}")),
        ),
    )?;
    let wrk = |duration: &str| -> anyhow::Result<String> {
        output(
            Command::new("wrk")
                .args(["-t2", &format!("-c{CONNECTIONS}"), &format!("-d{duration}")])
                .args(["--latency", "-s"])
                .arg(&script)
                .arg(&url),
        )
        .context("wrk failed (is it installed? `cargo xtask setup`)")
    };
    println!("bench: warm-up (2 s), then wrk -t2 -c{CONNECTIONS} -d10s --latency");
    wrk("2s")?;
    let report = wrk("10s")?;
    drop(server);
    for line in report.lines() {
        println!("  | {line}");
    }

    let rps: f64 = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .context("wrk printed no Requests/sec")?;
    let p99 = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(str::trim)
        .context("wrk printed no 99% latency")?;
    let p99_ms = millis(p99).with_context(|| format!("cannot read wrk's latency {p99:?}"))?;
    println!(
        "license: {rps:.0} req/s, p99 {p99_ms:.2} ms with {CONNECTIONS} connections \
         (target ≥ {TARGET:.0} req/s: {}) on {} cores shared by wrk and the server",
        if rps >= TARGET { "met" } else { "NOT met" },
        std::thread::available_parallelism()?
    );
    let non_2xx = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .map(|n| n.trim().parse::<u64>().unwrap_or(u64::MAX))
        .unwrap_or(0);
    println!("license: non-2xx responses: {non_2xx}");
    if let Some(errors) = report.lines().find(|l| l.contains("Socket errors")) {
        println!("license: {}", errors.trim());
    }
    if non_2xx > 0 {
        bail!("{non_2xx} license requests were not granted during the benchmark");
    }
    Ok(())
}

/// A Lua string literal.
fn lua_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// wrk's latency (`850.00us`, `5.12ms`, `1.02s`, `2.00m`) in milliseconds.
fn millis(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.trim().parse().ok()?;
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_latencies() {
        assert_eq!(millis("850.00us"), Some(0.85));
        assert_eq!(millis("5.12ms"), Some(5.12));
        assert_eq!(millis("1.02s"), Some(1020.0));
        assert_eq!(millis("7.3x"), None);
    }

    #[test]
    fn quotes_lua_strings() {
        assert_eq!(lua_string(r#"{"a":"b\c"}"#), r#""{\"a\":\"b\\c\"}""#);
    }
}
