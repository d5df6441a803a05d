//! `cargo xtask demo`: the headend with the sample catalog, and a tour that
//! shows it working: origin, license grants and refusals, one frame of an
//! encrypted title decrypted with a granted key and decoded, and the box
//! (`ottboxd` on D-Bus) signing in with a device code and showing home rows
//! and search results, then playing a title from the nearest nginx CDN
//! edge and, with that edge killed, from the next.
//!
//! Everything lives under `var/` in the workspace (gitignored): the
//! headend's data in `var/headend`, the demo's outputs and the headend's log
//! in `var/demo`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::headend::{self, Server};
use crate::util::{Http, output, root, run as run_cmd};

/// The demo account's password on the device-login page.
const DEMO_PASSWORD: &str = "demo";
/// The colour of `sample-0` (the sample catalog's palette starts with red).
const SAMPLE_0_RGB: [u8; 3] = [220, 40, 40];

/// The address the demo's edges fetch from the origin from: the one
/// proxy address the headend believes `X-Forwarded-For` from.
const EDGE_SOURCE: &str = "127.0.0.3";

/// A free loopback port (for an edge the headend must know in advance).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs the demo; with `once`, stops after the tour.
pub fn run(once: bool) -> anyhow::Result<()> {
    crate::setup::run()?;
    let bin = headend::build(false)?;
    let data = root().join("var/headend");
    let out = root().join("var/demo");
    std::fs::create_dir_all(&out)?;

    println!("\n== sample catalog (var/headend)");
    let shared = root().join("../shared/reco");
    let report = headend::command(&bin, &data)
        .arg("sample")
        .arg("--movies")
        .arg(shared.join("movies.csv"))
        .arg("--tags")
        .arg(shared.join("tags.csv"))
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run `ottbox-headend sample`")?;
    if !report.status.success() {
        bail!("`ottbox-headend sample` failed ({})", report.status);
    }
    for line in String::from_utf8_lossy(&report.stdout).lines() {
        println!("  {line}");
    }
    run_cmd(
        headend::command(&bin, &data)
            .args(["account", "demo", "--entitle", "*"])
            .args(["--email", "demo@ottbox.example"])
            .env("OTTBOX_ACCOUNT_PASSWORD", DEMO_PASSWORD)
            .stdout(Stdio::null()),
    )?;
    run_cmd(
        headend::command(&bin, &data)
            .args(["account", "basic"])
            .stdout(Stdio::null()),
    )?;
    println!("  accounts: demo (entitled to everything), basic (entitled to nothing)");
    let token = |account: &str| -> anyhow::Result<String> {
        Ok(
            output(headend::command(&bin, &data).args(["token", account]))?
                .trim()
                .to_owned(),
        )
    };
    let (demo_token, basic_token) = (token("demo")?, token("basic")?);

    println!("\n== headend");
    let listen = if TcpListener::bind("127.0.0.1:8080").is_ok() {
        "127.0.0.1:8080"
    } else {
        println!("  127.0.0.1:8080 is in use: taking a free port");
        "127.0.0.1:0"
    };
    // Two nginx CDN edges in front of the origin: eu-1 near this machine
    // (127.0.0.1 is in region eu), eu-2 the fallback. The headend lists
    // them in every playback session, nearest first.
    let edge_ports = [free_port()?, free_port()?];
    let config = out.join("headend.toml");
    std::fs::write(
        &config,
        format!(
            "# Written by `cargo xtask demo`.\n[proxy]\ntrusted = [\"{EDGE_SOURCE}/32\"]\n\n\
             [[edges]]\nname = \"eu-1\"\nurl = \"http://127.0.0.1:{}\"\nregions = [\"eu\"]\n\n\
             [[edges]]\nname = \"eu-2\"\nurl = \"http://127.0.0.1:{}\"\nregions = [\"us\"]\n",
            edge_ports[0], edge_ports[1]
        ),
    )?;
    let log = out.join("headend.log");
    let server = Server::start(
        &bin,
        &data,
        Some(&config),
        listen,
        &log,
        "ottbox_headend=info,tower_http=warn",
    )?;
    let mut edges = Vec::new();
    for (name, port) in ["eu-1", "eu-2"].into_iter().zip(edge_ports) {
        let edge = Server::start_edge(
            &bin,
            &data,
            name,
            &format!("127.0.0.1:{port}"),
            &server.url,
            EDGE_SOURCE,
            &out.join(format!("edge-{name}.log")),
        )?;
        println!("  CDN edge {name} (nginx) on {}", edge.url);
        edges.push(edge);
    }
    println!(
        "  listening on {} (log: {})",
        server.url,
        log.strip_prefix(root()).unwrap_or(&log).display()
    );

    let mut tour = Tour::default();
    if let Err(e) = tour.run(&server.url, &demo_token, &basic_token, &out) {
        tour.fail(format!("{e:#}"));
    }
    let mut kill_first_edge = || edges[0].stop();
    match crate::demo_box::tour(&server.url, DEMO_PASSWORD, &out, &mut kill_first_edge) {
        Ok(failed) => failed.into_iter().for_each(|f| tour.fail(f)),
        Err(e) => tour.fail(format!("the box: {e:#}")),
    }
    if tour.failed.is_empty() {
        println!("\ndemo: every step worked");
    } else {
        println!("\ndemo: {} step(s) FAILED:", tour.failed.len());
        for f in &tour.failed {
            println!("  - {f}");
        }
    }
    if !once {
        println!(
            "\nheadend running at {} (data in var/headend) — Ctrl-C to stop",
            server.url
        );
        println!(
            "  sign a device in at {}/device as demo@ottbox.example / {DEMO_PASSWORD}",
            server.url
        );
        server.wait()?;
    } else {
        drop(server);
    }
    if !tour.failed.is_empty() {
        bail!("demo: {} step(s) failed", tour.failed.len());
    }
    Ok(())
}

/// The tour's checks; failures are collected so every step is shown.
#[derive(Default)]
struct Tour {
    failed: Vec<String>,
}

impl Tour {
    fn fail(&mut self, what: String) {
        println!("  FAILED: {what}");
        self.failed.push(what);
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(what());
        }
    }

    fn run(&mut self, url: &str, demo: &str, basic: &str, out: &Path) -> anyhow::Result<()> {
        let http = Http::new();

        println!("\n== origin");
        for asset in ["sample-0", "sample-1"] {
            for (kind, file, want) in [
                ("HLS ", "master.m3u8", "mpegurl"),
                ("DASH", "manifest.mpd", "dash+xml"),
            ] {
                let link = format!("{url}/origin/{asset}/{file}");
                let reply = http.get(&link)?;
                println!(
                    "  {kind} {link:<52} {} {}",
                    reply.status, reply.content_type
                );
                self.check(
                    reply.status == 200 && reply.content_type.contains(want),
                    || format!("{link}: {} {}", reply.status, reply.content_type),
                );
            }
        }

        println!("\n== search (typed on a remote, with a typo)");
        let reply = http.get(&format!("{url}/api/v1/search?q=godfathr&limit=3"))?;
        let body = reply.json();
        let names: Vec<String> = body["results"]
            .as_array()
            .map(|titles| {
                titles
                    .iter()
                    .map(|t| format!("{} ({})", t["name"].as_str().unwrap_or("?"), t["year"]))
                    .collect()
            })
            .unwrap_or_default();
        println!("  \"godfathr\" → {}", names.join("; "));
        self.check(reply.status == 200 && !names.is_empty(), || {
            format!("search: {} {}", reply.status, reply.text())
        });

        let mpd = http.get(&format!("{url}/origin/sample-0/manifest.mpd"))?;
        let kid = headend::first_kid(&mpd.text())?;
        println!(
            "\n== license: POST /api/v1/license for sample-0's key id {} (from its MPD)",
            hex::encode(kid)
        );
        let license_url = format!("{url}/api/v1/license");
        let request = serde_json::json!({"kids": [B64.encode(kid)], "type": "temporary"});
        let reply = http.post_json(&license_url, Some(demo), &request)?;
        let body = reply.json();
        let key = body["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|k| k["kid"].as_str() == Some(B64.encode(kid).as_str()))
            .and_then(|k| k["k"].as_str())
            .and_then(|k| B64.decode(k).ok())
            .filter(|k| k.len() == 16);
        match &key {
            // The key itself is a secret: never printed.
            Some(_) => println!(
                "  demo  (entitled)       → {}: key granted for kid {}",
                reply.status,
                hex::encode(kid)
            ),
            None => self.fail(format!(
                "demo was not granted the key: {} {}",
                reply.status,
                body["error"].as_str().unwrap_or("no key in the answer")
            )),
        }
        for (who, token, want) in [
            ("basic (not entitled)  ", basic, "not_entitled"),
            ("a bad token           ", "v1.not-a.token", "invalid_token"),
        ] {
            let reply = http.post_json(&license_url, Some(token), &request)?;
            let code = reply.json()["error"].as_str().unwrap_or("?").to_owned();
            println!(
                "  {who} → {}: {code} (refused, as it should be)",
                reply.status
            );
            self.check(code == want, || {
                format!(
                    "{}: expected {want}, got {} {code}",
                    who.trim(),
                    reply.status
                )
            });
        }

        let Some(key) = key else {
            bail!("no key, so no frame to decrypt");
        };
        self.frame(&http, url, &key, out)
    }

    /// Fetches the lowest video rendition's init segment and second media
    /// segment of sample-0, decrypts and decodes one frame with ffmpeg.
    fn frame(&mut self, http: &Http, url: &str, key: &[u8], out: &Path) -> anyhow::Result<()> {
        let master_url = format!("{url}/origin/sample-0/master.m3u8");
        let master = http.get(&master_url)?.text();
        let (variant, resolution) =
            lowest_variant(&master).context("the HLS master playlist lists no variant")?;
        let media_url = resolve(&master_url, &variant);
        let media = http.get(&media_url)?.text();
        let init = media
            .lines()
            .find_map(|l| l.strip_prefix("#EXT-X-MAP:"))
            .and_then(|attrs| attrs.split("URI=\"").nth(1))
            .and_then(|rest| rest.split('"').next())
            .context("the media playlist has no EXT-X-MAP")?;
        let segment = media
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .nth(1)
            .context("the media playlist has fewer than 2 segments")?;
        println!("\n== one frame of sample-0: lowest rendition ({resolution}), {init} + {segment}");
        let mut bytes = http.get(&resolve(&media_url, init))?.body;
        let init_len = bytes.len();
        bytes.extend(http.get(&resolve(&media_url, segment))?.body);
        let mp4 = out.join("sample-0-segment.mp4");
        std::fs::write(&mp4, &bytes)?;
        println!(
            "  fetched {init_len} + {} bytes → {}",
            bytes.len() - init_len,
            rel(&mp4)
        );

        // The key goes to ffmpeg only, never into a message.
        let decoded = Command::new(headend::ffmpeg()?)
            .args(["-v", "error", "-decryption_key", &hex::encode(key), "-i"])
            .arg(&mp4)
            .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdin(Stdio::null())
            .output()
            .context("cannot run ffmpeg")?;
        if !decoded.status.success() {
            bail!(
                "ffmpeg could not decrypt and decode the segment ({}): {}",
                decoded.status,
                String::from_utf8_lossy(&decoded.stderr).trim()
            );
        }
        let (width, height) = resolution
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
            .context("the variant has no RESOLUTION")?;
        let rgb = decoded.stdout;
        if rgb.len() != (width * height * 3) as usize {
            bail!(
                "ffmpeg decoded {} bytes, not one {width}x{height} RGB frame",
                rgb.len()
            );
        }
        let png = out.join("sample-0.png");
        std::fs::write(&png, crate::png::encode_rgb(width, height, &rgb))?;
        let [r, g, b] = [rgb[0], rgb[1], rgb[2]];
        let close = [r, g, b]
            .iter()
            .zip(SAMPLE_0_RGB)
            .all(|(&have, want)| have.abs_diff(want) <= 24);
        println!(
            "  decrypted + decoded → {}; corner pixel rgb({r}, {g}, {b}){}",
            rel(&png),
            if close {
                " = sample-0's red: decryption worked"
            } else {
                ""
            }
        );
        self.check(close, || {
            format!("corner pixel rgb({r}, {g}, {b}) is not sample-0's colour {SAMPLE_0_RGB:?}")
        });
        Ok(())
    }
}

/// The URI and resolution of the lowest-bandwidth variant of an HLS master
/// playlist.
fn lowest_variant(master: &str) -> Option<(String, String)> {
    let mut best: Option<(u64, String, String)> = None;
    let mut lines = master.lines();
    while let Some(line) = lines.next() {
        let Some(attrs) = line.strip_prefix("#EXT-X-STREAM-INF:") else {
            continue;
        };
        // Quoted values may hold commas, but never start a `KEY=` fragment.
        let attr = |name: &str| {
            attrs
                .split(',')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        };
        let bandwidth = attr("BANDWIDTH")
            .and_then(|b| b.parse().ok())
            .unwrap_or(u64::MAX);
        let resolution = attr("RESOLUTION").unwrap_or("?").to_owned();
        let uri = lines
            .by_ref()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))?;
        if best.as_ref().is_none_or(|(b, _, _)| bandwidth < *b) {
            best = Some((bandwidth, uri.to_owned(), resolution));
        }
    }
    best.map(|(_, uri, resolution)| (uri, resolution))
}

/// `uri` relative to the playlist at `base`.
fn resolve(base: &str, uri: &str) -> String {
    if uri.contains("://") {
        return uri.to_owned();
    }
    if uri.starts_with('/') {
        let authority_end = base
            .find("://")
            .and_then(|s| base[s + 3..].find('/').map(|i| s + 3 + i))
            .unwrap_or(base.len());
        return format!("{}{uri}", &base[..authority_end]);
    }
    match base.rfind('/') {
        Some(i) => format!("{}/{uri}", &base[..i]),
        None => uri.to_owned(),
    }
}

/// A path relative to the workspace root, for messages.
fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_lowest_variant() {
        let master = "#EXTM3U\n\
            #EXT-X-STREAM-INF:BANDWIDTH=571533,AVERAGE-BANDWIDTH=1,CODECS=\"avc1.640015,mp4a.40.2\",RESOLUTION=512x288\n\
            video_288p.m3u8\n\
            #EXT-X-STREAM-INF:BANDWIDTH=301977,AVERAGE-BANDWIDTH=9999999,CODECS=\"avc1.64000c,mp4a.40.2\",RESOLUTION=256x144\n\
            video_144p.m3u8\n";
        assert_eq!(
            lowest_variant(master),
            Some(("video_144p.m3u8".into(), "256x144".into()))
        );
    }

    #[test]
    fn resolves_relative_uris() {
        let base = "http://h:1/origin/a/master.m3u8";
        assert_eq!(resolve(base, "v/1.m4s"), "http://h:1/origin/a/v/1.m4s");
        assert_eq!(resolve(base, "/x"), "http://h:1/x");
        assert_eq!(resolve(base, "http://o/y"), "http://o/y");
    }
}
