//! Ingest speed: a 10 s 1080p25 mezzanine through the default ladder (four
//! H.264 rungs 240p..1080p + AAC, packaged as CMAF HLS + DASH and
//! encrypted), and through the tiny ladder for reference.

use std::process::Stdio;
use std::time::Instant;

use crate::headend;
use crate::util::{Scratch, run as run_cmd, target_dir};

/// Length of the mezzanine.
const SECONDS: f64 = 10.0;

pub fn run() -> anyhow::Result<()> {
    let bin = headend::build(true)?;
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let mezz = dir.join("mezzanine-1080p25-10s.mp4");
    if !mezz.exists() {
        println!("bench: making {}", mezz.display());
        super::mezzanine(&mezz, "1920x1080", 25, SECONDS)?;
    }
    println!(
        "bench: {SECONDS:.1} s of 1080p25 H.264 + AAC, {} cores",
        std::thread::available_parallelism()?
    );
    for (ladder, tiny) in [
        ("default ladder (4 rungs 240p..1080p + AAC)", false),
        ("tiny ladder (3 rungs 144p..720p + AAC)", true),
    ] {
        let data = Scratch::new("ingest")?;
        let mut cmd = headend::command(&bin, data.path());
        cmd.arg("ingest")
            .arg(&mezz)
            .args(["--title", "bench"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        if tiny {
            cmd.arg("--tiny");
        }
        let started = Instant::now();
        run_cmd(&mut cmd)?;
        let took = started.elapsed().as_secs_f64();
        println!(
            "ingest: {ladder}, {SECONDS:.1} s of media in {took:.1} s = {:.2}× real time{}",
            SECONDS / took,
            if tiny { " (for reference)" } else { "" }
        );
    }
    Ok(())
}
