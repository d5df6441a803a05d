//! Failover: the daemon's `failover` bench binary (release, run by cargo
//! as a child process, since xtask does not link the daemon) kills the CDN
//! edge serving an encrypted title 20 times and reports how long the
//! switch to the other edge took and what it cost the viewer.

use anyhow::bail;

use crate::util::{cargo, output};

pub fn run() -> anyhow::Result<()> {
    println!("bench: failover when the serving edge dies (release, loopback, 20 runs)");
    let text = output(cargo().args(["bench", "--quiet", "-p", "ottboxd", "--bench", "failover"]))?;
    let mut rows = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["failover", what, stat, ms] if stat.ends_with("_ms") => {
                rows.push((what.to_owned(), stat.to_owned(), ms.parse::<f64>()?));
            }
            ["failover", "run", ..] => println!("  {line}"),
            _ => {}
        }
    }
    if rows.is_empty() {
        bail!("the failover bench printed no figures:\n{text}");
    }
    println!("{:<8} {:>12} {:>10}", "figure", "statistic", "ms");
    for (what, stat, ms) in &rows {
        println!("{what:<8} {stat:>12} {ms:>10.1}");
    }
    let stalls = rows
        .iter()
        .find(|(w, s, _)| w == "stall" && s == "max_ms")
        .map_or(f64::NAN, |r| r.2);
    let verdict = if stalls == 0.0 {
        "no stall in any run"
    } else {
        "stalled"
    };
    println!("with a 6 s buffer: {verdict} (target: no stall when the buffer holds ≥ 6 s)");
    Ok(())
}
