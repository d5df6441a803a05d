//! `ottbox-abr-sim`: plays the product's ABR and four baselines over
//! throughput traces and prints their QoE (see
//! `ottboxd::playback::abr::sim`). `cargo xtask abr-sim` runs it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Parser;
use ottboxd::playback::abr::sim::{self, Trace, Video};

/// Trace-driven ABR simulation (the Pensieve/MPC model).
#[derive(Parser)]
#[command(name = "ottbox-abr-sim", version)]
struct Args {
    /// Directory of `*.tsv` throughput traces (`seconds<TAB>Mbit/s`).
    #[arg(long)]
    traces: PathBuf,
    /// The chunk-size table; default: `pensieve-video-chunks.csv` beside
    /// the traces directory.
    #[arg(long)]
    video: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let video_path = args.video.clone().unwrap_or_else(|| {
        args.traces
            .parent()
            .unwrap_or(Path::new("."))
            .join("pensieve-video-chunks.csv")
    });
    let video = Video::parse(&read(&video_path)?)
        .with_context(|| format!("in {}", video_path.display()))?;
    let traces = load_traces(&args.traces)?;
    println!(
        "{} traces from {}, video {} ({} chunks)\n",
        traces.len(),
        args.traces.display(),
        video_path.display(),
        video.chunks.len()
    );
    print!("{}", sim::run(&video, &traces, &sim::contenders()));
    Ok(())
}

/// Every `*.tsv` in `dir`, by name.
fn load_traces(dir: &Path) -> anyhow::Result<Vec<Trace>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list traces in {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("no *.tsv traces in {}", dir.display());
    }
    paths
        .iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(Trace::parse(&name, &read(path)?)?)
        })
        .collect()
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}
