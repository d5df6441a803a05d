//! Ingest speed: a 10 s 1080p25 mezzanine through the default ladder (four
//! H.264 rungs 240p..1080p + AAC, packaged and encrypted), and the tiny
//! ladder for reference.

use std::process::Command;
use std::time::Instant;

use crate::headend;
use crate::util::{root, run as run_cmd};

const SECONDS: f64 = 10.0;

pub fn run() -> anyhow::Result<()> {
    let bin = headend::build(true)?;
    let dir = root().join("target/bench/ingest");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mezz = dir.join("mezzanine-1080p.mp4");
    run_cmd(
        Command::new(headend::ffmpeg()?)
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=1920x1080:r=25",
            ])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
            .args([
                "-t",
                &SECONDS.to_string(),
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-crf",
                "18",
            ])
            .args(["-c:a", "aac", "-ac", "2"])
            .arg(&mezz),
    )?;
    println!(
        "ingest benchmark: {SECONDS} s of 1080p25 media, {} cores",
        std::thread::available_parallelism()?
    );
    for (ladder, extra) in [
        ("default (240p, 480p, 720p, 1080p + AAC)", None),
        ("tiny (144p, 288p, 720p + AAC)", Some("--tiny")),
    ] {
        let data = dir.join("data");
        let _ = std::fs::remove_dir_all(&data);
        let mut cmd = headend::command(&bin, &data);
        cmd.arg("ingest")
            .arg(&mezz)
            .args(["--title", "bench"])
            .stdout(std::process::Stdio::null());
        if let Some(flag) = extra {
            cmd.arg(flag);
        }
        let started = Instant::now();
        run_cmd(&mut cmd)?;
        let took = started.elapsed().as_secs_f64();
        println!(
            "  ingest, {ladder}: {took:.1} s = {:.2}x real time",
            SECONDS / took
        );
    }
    Ok(())
}
