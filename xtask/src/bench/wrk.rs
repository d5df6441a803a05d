//! Running `wrk` and reading its report.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use crate::util::output;

/// What a wrk run measured.
pub struct Report {
    /// Requests per second.
    pub rps: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Answers that were not 2xx or 3xx.
    pub non_2xx: u64,
    /// wrk's own text.
    pub text: String,
}

impl Report {
    /// Prints wrk's text, indented.
    pub fn print(&self) {
        for line in self.text.lines() {
            println!("  | {line}");
        }
    }
}

/// Runs `wrk -t2 -c<connections> -d<duration> --latency [-s script] url`.
pub fn run(script: &Path, url: &str, connections: u32, duration: &str) -> anyhow::Result<Report> {
    let text = output(
        Command::new("wrk")
            .args(["-t2", &format!("-c{connections}"), &format!("-d{duration}")])
            .args(["--latency", "-s"])
            .arg(script)
            .arg(url),
    )
    .context("wrk failed (is it installed? `cargo xtask setup`)")?;
    let rps: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .context("wrk printed no Requests/sec")?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(str::trim)
        .context("wrk printed no 99% latency")?;
    let p99_ms = millis(p99).with_context(|| format!("cannot read wrk's latency {p99:?}"))?;
    let non_2xx = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .map(|n| n.trim().parse::<u64>().unwrap_or(u64::MAX))
        .unwrap_or(0);
    Ok(Report {
        rps,
        p99_ms,
        non_2xx,
        text,
    })
}

/// A Lua string literal.
pub fn lua_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// wrk's latency (`850.00us`, `5.12ms`, `1.02s`, `2.00m`) in milliseconds.
fn millis(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.trim().parse().ok()?;
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_latencies() {
        assert_eq!(millis("850.00us"), Some(0.85));
        assert_eq!(millis("5.12ms"), Some(5.12));
        assert_eq!(millis("1.02s"), Some(1020.0));
        assert_eq!(millis("7.3x"), None);
    }

    #[test]
    fn quotes_lua_strings() {
        assert_eq!(lua_string(r#"{"a":"b\c"}"#), r#""{\"a\":\"b\\c\"}""#);
    }
}
