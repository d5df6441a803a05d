//! `cargo xtask demo`: the headend with the sample catalog, and a tour.
//!
//! Everything lives under `var/` in the workspace (gitignored): the
//! headend's data in `var/headend`, the demo's outputs in `var/demo`.

use std::process::Command;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::blocking::Client;

use crate::headend::{self, Server};
use crate::util::{output, root, run as run_cmd};

const DEMO_PASSWORD: &str = "demo";

/// Runs the demo; with `once`, exits after the tour.
pub fn run(once: bool) -> anyhow::Result<()> {
    crate::setup::run()?;
    let bin = headend::build(false)?;
    let data = root().join("var/headend");
    let out = root().join("var/demo");
    std::fs::create_dir_all(&out)?;
    let shared = root().join("../shared/reco");

    println!("\n== sample catalog");
    run_cmd(
        headend::command(&bin, &data)
            .arg("sample")
            .arg("--movies")
            .arg(shared.join("movies.csv"))
            .arg("--tags")
            .arg(shared.join("tags.csv")),
    )?;
    run_cmd(
        headend::command(&bin, &data)
            .args([
                "account",
                "demo",
                "--entitle",
                "*",
                "--email",
                "demo@ottbox.example",
            ])
            .env("OTTBOX_ACCOUNT_PASSWORD", DEMO_PASSWORD)
            .stdout(std::process::Stdio::null()),
    )?;
    run_cmd(
        headend::command(&bin, &data)
            .args(["account", "basic"])
            .stdout(std::process::Stdio::null()),
    )?;

    let server = Server::start(&bin, &data, "127.0.0.1:8080", false)
        .or_else(|_| Server::start(&bin, &data, "127.0.0.1:0", false))?;
    let token = |account: &str| -> anyhow::Result<String> {
        Ok(
            output(headend::command(&bin, &data).args(["token", account]))?
                .trim()
                .to_owned(),
        )
    };
    let result = tour(&server.url, &token("demo")?, &token("basic")?, &data, &out);
    match (&result, once) {
        (Err(e), _) => println!("\ndemo FAILED: {e:#}"),
        (Ok(()), true) => println!("\ndemo: every step worked"),
        (Ok(()), false) => {
            println!(
                "\nheadend running at {} (data in var/headend) — Ctrl-C to stop",
                server.url
            );
            println!(
                "sign in a device at {}/device as demo@ottbox.example / {DEMO_PASSWORD}",
                server.url
            );
            return server.wait();
        }
    }
    result
}

fn tour(
    url: &str,
    demo: &str,
    basic: &str,
    data: &std::path::Path,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let client = Client::new();

    println!("\n== search (as typed on a remote: \"soc netw\", and a typo: \"godfathr\")");
    for q in ["soc netw", "godfathr"] {
        let v: serde_json::Value = client
            .get(format!("{url}/api/v1/search"))
            .query(&[("q", q), ("limit", "3")])
            .send()?
            .json()?;
        let names: Vec<String> = v["results"]
            .as_array()
            .context("search results")?
            .iter()
            .map(|t| format!("{} ({})", t["name"].as_str().unwrap_or("?"), t["year"]))
            .collect();
        println!("  {q:>10} → {}", names.join("; "));
    }

    println!("\n== origin");
    for (asset, file) in [
        ("sample-0", "master.m3u8"),
        ("sample-0", "manifest.mpd"),
        ("sample-1", "master.m3u8"),
    ] {
        let resp = client.get(format!("{url}/origin/{asset}/{file}")).send()?;
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        println!("  {url}/origin/{asset}/{file}  {}  {ctype}", resp.status());
        if !resp.status().is_success() {
            bail!("the origin does not serve {asset}/{file}");
        }
    }

    println!("\n== license (W3C ClearKey)");
    let mpd = client
        .get(format!("{url}/origin/sample-0/manifest.mpd"))
        .send()?
        .text()?;
    let kid = headend::first_kid(&mpd)?;
    let request = serde_json::json!({"kids": [B64.encode(kid)], "type": "temporary"});
    let ask = |token: &str, from: Option<&str>| -> anyhow::Result<(u16, serde_json::Value)> {
        let mut builder = Client::builder();
        if let Some(ip) = from {
            builder = builder.local_address(ip.parse::<std::net::IpAddr>()?);
        }
        let resp = builder
            .build()?
            .post(format!("{url}/api/v1/license"))
            .bearer_auth(token)
            .json(&request)
            .send()?;
        Ok((resp.status().as_u16(), resp.json()?))
    };
    let (status, body) = ask(demo, None)?;
    let key_b64 = body["keys"][0]["k"]
        .as_str()
        .context("no key granted to demo")?
        .to_owned();
    println!(
        "  demo (entitled, region eu)      → {status}: key granted for kid {}",
        hex::encode(kid)
    );
    for (who, token, from) in [
        ("basic (not entitled)           ", basic, None),
        ("demo from 127.0.0.2 (region us)", demo, Some("127.0.0.2")),
        ("a forged token                 ", "v1.forged.token", None),
    ] {
        let (status, body) = ask(token, from)?;
        println!(
            "  {who} → {status}: {}",
            body["error"].as_str().unwrap_or("?")
        );
    }

    println!("\n== decrypt and decode one frame of sample-0 (720p, segment 2)");
    let mut media = client
        .get(format!("{url}/origin/sample-0/video_720p/init.mp4"))
        .send()?
        .bytes()?
        .to_vec();
    media.extend(
        client
            .get(format!("{url}/origin/sample-0/video_720p/2.m4s"))
            .send()?
            .bytes()?,
    );
    let seg = out.join("sample-0-segment.mp4");
    std::fs::write(&seg, &media)?;
    let key = hex::encode(B64.decode(key_b64)?);
    let png = out.join("sample-0.jpg");
    run_cmd(
        Command::new(headend::ffmpeg()?)
            .args(["-v", "error", "-y", "-decryption_key", &key, "-i"])
            .arg(&seg)
            .args(["-frames:v", "1"])
            .arg(&png),
    )?;
    let rgb = Command::new(headend::ffmpeg()?)
        .args(["-v", "error", "-decryption_key", &key, "-i"])
        .arg(&seg)
        .args([
            "-frames:v",
            "1",
            "-vf",
            "crop=8:8:0:0",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()?
        .stdout;
    let corner = rgb.get(..3).context("no frame decoded")?;
    println!(
        "  frame written to {}; its corner is rgb({}, {}, {}): sample-0 is red",
        png.display(),
        corner[0],
        corner[1],
        corner[2]
    );
    let _ = data;
    Ok(())
}
