//! Encoding the ladder: one ffmpeg run, every rung and the audio.
//!
//! Keyframes are forced every segment duration and scene-cut keyframes are
//! off, so every rung's segments start at the same instants: the player can
//! switch rungs at any segment boundary. Each rung is scaled to fit its box
//! and padded, keeping the picture's aspect.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use indicatif::{ProgressBar, ProgressStyle};

use super::probe::MediaInfo;
use super::{IngestError, IngestOptions, check_status};
use crate::config::{Config, Rung};
use crate::tools::{Tool, locate};

/// The encoded, not yet packaged, files.
#[derive(Debug, Clone)]
pub struct Encodes {
    /// One MP4 per rung, lowest first.
    pub video: Vec<(Rung, PathBuf)>,
    /// AAC stereo, one per audio stream of the input: (language, file).
    pub audio: Vec<(String, PathBuf)>,
    /// Segment duration in seconds.
    pub segment_seconds: u32,
}

/// Encodes `input` into `work`.
pub fn transcode(
    config: &Config,
    input: &Path,
    info: &MediaInfo,
    opts: &IngestOptions,
    work: &Path,
) -> Result<Encodes, IngestError> {
    let ffmpeg = locate(Tool::Ffmpeg, &config.tools)?;
    let ing = &config.ingest;
    let gop = (ing.fps * ing.segment_seconds).to_string();
    let duration = format!("{:.3}", info.duration_s);
    let mut cmd = Command::new(ffmpeg);
    cmd.args([
        "-hide_banner",
        "-nostdin",
        "-y",
        "-nostats",
        "-progress",
        "pipe:1",
        "-i",
    ])
    .arg(input);
    let mut video = Vec::new();
    for rung in &opts.ladder {
        let out = work.join(format!("{}.mp4", rung.name));
        let (w, h) = (rung.width, rung.height);
        cmd.args(["-map", "0:v:0", "-an", "-sn", "-dn", "-c:v", "libx264"])
            .args(["-preset", &opts.preset, "-profile:v", "high", "-pix_fmt", "yuv420p"])
            .args(["-r", &ing.fps.to_string(), "-g", &gop, "-keyint_min", &gop, "-sc_threshold", "0"])
            .args([
                "-force_key_frames",
                &format!("expr:gte(t,n_forced*{})", ing.segment_seconds),
            ])
            .args(["-b:v", &format!("{}k", rung.kbps)])
            .args(["-maxrate", &format!("{}k", rung.kbps * 11 / 10)])
            .args(["-bufsize", &format!("{}k", rung.kbps * 2)])
            .args([
                "-vf",
                &format!(
                    "scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1"
                ),
            ])
            // Every output needs its own -t, or the later ones never end.
            .args(["-t", &duration])
            .arg(&out);
        video.push((rung.clone(), out));
    }
    let mut audio = Vec::new();
    for (i, language) in info.audio_languages.iter().enumerate() {
        // Two streams in one language still get a file each.
        let out = work.join(format!("audio_{i}_{language}.mp4"));
        cmd.args(["-map", &format!("0:a:{i}"), "-vn", "-sn", "-dn"])
            .args(["-c:a", "aac", "-ac", "2", "-ar", "48000"])
            .args(["-b:a", &format!("{}k", ing.audio_kbps), "-t", &duration])
            .arg(&out);
        audio.push((language.clone(), out));
    }
    run_with_progress(cmd, info.duration_s, &opts.title)?;
    Ok(Encodes {
        video,
        audio,
        segment_seconds: ing.segment_seconds,
    })
}

/// Runs ffmpeg, turning its `-progress` reports into a progress bar (drawn
/// only when stderr is a terminal).
fn run_with_progress(mut cmd: Command, duration_s: f64, title: &str) -> Result<(), IngestError> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let bar = ProgressBar::new((duration_s * 1000.0) as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("encoding {title}"));
    // stderr is drained on a thread so that neither pipe can fill and stall ffmpeg.
    let mut stderr = child.stderr.take();
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = std::io::Read::read_to_end(s, &mut buf);
        }
        buf
    });
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(us) = line
                .strip_prefix("out_time_us=")
                .and_then(|v| v.parse::<u64>().ok())
            {
                bar.set_position(us / 1000);
            }
        }
    }
    let status = child.wait()?;
    let stderr = stderr_reader.join().unwrap_or_default();
    bar.finish_and_clear();
    check_status(
        "ffmpeg",
        &std::process::Output {
            status,
            stdout: Vec::new(),
            stderr,
        },
    )
}
