//! License server throughput: `wrk` with 64 connections on loopback, each
//! request a real grant (a valid token of an entitled account asking for a
//! real key of a real title).

use std::process::Stdio;

use anyhow::bail;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::headend;
use crate::util::{Http, Scratch, run as run_cmd};

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
    let token = super::entitled_token(&bin, &data)?;

    let server = super::quiet_server(&bin, &data, scratch.path())?;
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
            super::wrk::lua_string(&body.to_string()),
            super::wrk::lua_string(&format!("Bearer {token}")),
        ),
    )?;
    println!("bench: warm-up (2 s), then wrk -t2 -c{CONNECTIONS} -d10s --latency");
    super::wrk::run(&script, &url, CONNECTIONS, "2s")?;
    let report = super::wrk::run(&script, &url, CONNECTIONS, "10s")?;
    drop(server);
    report.print();
    let (rps, p99_ms, non_2xx) = (report.rps, report.p99_ms, report.non_2xx);
    println!(
        "license: {rps:.0} req/s, p99 {p99_ms:.2} ms with {CONNECTIONS} connections \
         (target ≥ {TARGET:.0} req/s: {}) on {} cores shared by wrk and the server",
        if rps >= TARGET { "met" } else { "NOT met" },
        std::thread::available_parallelism()?
    );
    println!("license: non-2xx responses: {non_2xx}");
    if non_2xx > 0 {
        bail!("{non_2xx} license requests were not granted during the benchmark");
    }
    Ok(())
}
