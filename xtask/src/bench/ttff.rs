//! Time to first frame: the daemon's `ttff` bench binary (release, run by
//! cargo as a child process, since xtask does not link the daemon) plays a
//! synthetic title encrypted over HLS and DASH, license included, and
//! `playbin3` the clear HLS of the same mezzanine, in the same run.
//!
//! The targets: ours ≤ playbin3's clear time (ratio ≤ 1), and a title
//! that predictive prefetch warmed ≤ 100 ms.

use anyhow::bail;

use crate::util::{cargo, output};

/// Play → first frame on a title predictive prefetch warmed, at most.
const PREFETCHED_TARGET_MS: f64 = 100.0;

pub fn run() -> anyhow::Result<()> {
    println!("bench: time to first frame (release, loopback, medians of 7 runs)");
    let text = output(cargo().args(["bench", "--quiet", "-p", "ottboxd", "--bench", "ttff"]))?;
    let mut medians = Vec::new();
    let mut ratios = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["ttff", what, "median_ms", ms] => medians.push((what.to_owned(), ms.parse::<f64>()?)),
            ["ttff", "ratio", what, r] => ratios.push((what.to_owned(), r.parse::<f64>()?)),
            _ => {}
        }
    }
    if medians.is_empty() || ratios.is_empty() {
        bail!("the ttff bench printed no figures:\n{text}");
    }
    println!("{:<28} {:>10}", "player", "ttff ms");
    for (what, ms) in &medians {
        println!("{what:<28} {ms:>10.1}");
    }
    if let Some((_, ms)) = medians.iter().find(|(w, _)| w.ends_with("-prefetched")) {
        let verdict = if *ms <= PREFETCHED_TARGET_MS {
            "target met"
        } else {
            "above target"
        };
        println!("prefetched: {ms:.1} ms ({verdict}: ≤ {PREFETCHED_TARGET_MS:.0} ms)");
    }
    for (what, r) in &ratios {
        let verdict = if *r <= 1.0 {
            "target met"
        } else {
            "above target"
        };
        println!("ratio {what} / playbin3-hls-clear: {r:.2}x ({verdict}: ≤ 1.00x)");
    }
    Ok(())
}
