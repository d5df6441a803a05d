//! `cargo xtask bench ...`: performance figures of the release build.

use std::path::Path;
use std::process::Command;

use clap::Subcommand;

use crate::util::run as run_cmd;

mod api;
mod daemon;
mod decrypt;
mod failover;
mod ingest;
mod license;
mod table;
mod ttff;
mod ui;
mod wrk;

/// What to measure.
#[derive(Subcommand)]
pub enum Bench {
    /// Ingest speed of the default ladder (and the tiny one), as a multiple
    /// of real time.
    Ingest,
    /// License grants per second and p99 latency with 64 connections (wrk).
    License,
    /// Home and search requests/s and p99 latency with 200 connections (wrk).
    Api,
    /// The box's CENC decryptor (cenc, cbcs) in MB/s beside `openssl speed`.
    Decrypt,
    /// Play → first decoded frame, encrypted HLS and DASH, beside
    /// `playbin3` on the clear stream.
    Ttff,
    /// The serving CDN edge killed mid-title, 20 times: switch time, the
    /// download time lost and stall time.
    Failover,
    /// ottboxd on a private bus: start → name owned (beside `dbus-send`
    /// taking a name), a cached `Catalog1.Home` (beside `Peer.Ping`), idle
    /// RSS/PSS and wakeups per second (beside the dbus-daemon's).
    Daemon,
    /// ottbox-ui headless: key press → frame ready over a browsing tour
    /// (beside a full repaint), framebuffer writes, the binary's peak RSS.
    Ui,
}

/// Runs one benchmark.
pub fn run(what: Bench) -> anyhow::Result<()> {
    crate::setup::run()?;
    match what {
        Bench::Ingest => ingest::run(),
        Bench::License => license::run(),
        Bench::Api => api::run(),
        Bench::Decrypt => decrypt::run(),
        Bench::Ttff => ttff::run(),
        Bench::Failover => failover::run(),
        Bench::Daemon => daemon::run(),
        Bench::Ui => ui::run(),
    }
}

/// Makes a synthetic mezzanine with the wheel's ffmpeg: `testsrc2` video
/// (H.264, high quality) and a `sine` tone (AAC stereo). Written beside and
/// renamed, so an interrupted run leaves no half file.
fn mezzanine(path: &Path, size: &str, fps: u32, seconds: f64) -> anyhow::Result<()> {
    let partial = path.with_extension("partial.mp4");
    run_cmd(
        Command::new(crate::headend::ffmpeg()?)
            .args(["-v", "error", "-y", "-nostdin"])
            .args(["-f", "lavfi", "-i", &format!("testsrc2=s={size}:r={fps}")])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
            .args(["-t", &seconds.to_string()])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18"])
            .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2"])
            .arg(&partial),
    )?;
    std::fs::rename(&partial, path)?;
    Ok(())
}

/// Creates the account `bench`, entitled to everything; returns its token.
fn entitled_token(bin: &Path, data: &Path) -> anyhow::Result<String> {
    run_cmd(
        crate::headend::command(bin, data)
            .args(["account", "bench", "--entitle", "*"])
            .stdout(std::process::Stdio::null()),
    )?;
    Ok(
        crate::util::output(crate::headend::command(bin, data).args(["token", "bench"]))?
            .trim()
            .to_owned(),
    )
}

/// Starts the headend on a free port, logging warnings only (into `dir`).
fn quiet_server(bin: &Path, data: &Path, dir: &Path) -> anyhow::Result<crate::headend::Server> {
    crate::headend::Server::start(
        bin,
        data,
        None,
        "127.0.0.1:0",
        &dir.join("headend.log"),
        "warn",
    )
}
