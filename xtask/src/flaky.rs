//! `cargo xtask flaky`: runs the test suite again and again, optionally on
//! a loaded machine, and prints which tests ever failed.
//!
//! A test that fails one run in twenty blocks a landing one time in twenty;
//! one run of the suite cannot find it. This runs `cargo test` (the whole
//! workspace, or what the arguments after `--` pick) `--runs` times, with
//! `--load` keeping every core busy beside it as a parallel build would,
//! and tallies each test's outcome from libtest's `test NAME ... ok|FAILED`
//! lines. It is too long for the normal CI run; its last result is in the
//! README.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;

use crate::util::{cargo, describe};

/// What one test did over all runs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    runs: u32,
    failures: u32,
}

/// Runs the suite `runs` times and prints the table; fails if any test
/// failed once.
pub fn run(runs: u32, load: bool, cargo_args: &[String]) -> anyhow::Result<()> {
    crate::setup::run()?;
    // Build first, unloaded and outside the count: a compile error is not
    // a flaky test.
    crate::util::run(
        cargo()
            .args(["test", "--no-run"])
            .args(test_args(cargo_args)),
    )?;
    let _load = load.then(Load::start);
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for n in 1..=runs {
        let started = Instant::now();
        let outcomes = run_once(cargo_args)?;
        let failed = outcomes.iter().filter(|(_, ok)| !ok).count();
        println!(
            "flaky: run {n}/{runs}: {} tests, {failed} failed, {:.0} s",
            outcomes.len(),
            started.elapsed().as_secs_f64()
        );
        for (test, ok) in outcomes {
            let tally = tallies.entry(test).or_default();
            tally.runs += 1;
            tally.failures += u32::from(!ok);
        }
    }
    print!("{}", table(&tallies, runs, load));
    let failures: u32 = tallies.values().map(|t| t.failures).sum();
    anyhow::ensure!(failures == 0, "{failures} failures over {runs} runs");
    Ok(())
}

/// `cargo test`'s arguments: the workspace unless the caller picked.
fn test_args(cargo_args: &[String]) -> Vec<String> {
    if cargo_args.is_empty() {
        vec!["--workspace".into()]
    } else {
        cargo_args.to_vec()
    }
}

/// One `cargo test --no-fail-fast`, its output passed through; each test
/// named `binary::test`, with whether it passed.
fn run_once(cargo_args: &[String]) -> anyhow::Result<Vec<(String, bool)>> {
    let (reader, writer) = std::io::pipe()?;
    let mut cmd = cargo();
    cmd.args(["test", "--no-fail-fast"])
        .args(test_args(cargo_args))
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    let what = describe(&cmd);
    let mut child = cmd.spawn().with_context(|| format!("starting {what}"))?;
    // The pipe's last writer is the child's: reading ends when it exits.
    drop(cmd);
    let mut parser = Parser::default();
    for line in BufReader::new(reader).lines() {
        let line = line?;
        println!("{line}");
        parser.line(&line);
    }
    child.wait()?;
    Ok(parser.outcomes)
}

/// Reads libtest's output as it comes.
#[derive(Debug, Default)]
struct Parser {
    /// The test binary running now, e.g. `playback` or `ottboxd`.
    binary: String,
    outcomes: Vec<(String, bool)>,
}

impl Parser {
    fn line(&mut self, line: &str) {
        let line = line.trim();
        // `Running tests/playback.rs (target/debug/deps/playback-0123abcd)`
        if let Some(rest) = line.strip_prefix("Running ") {
            let binary = rest
                .rsplit('/')
                .next()
                .unwrap_or(rest)
                .trim_end_matches(')');
            self.binary = binary
                .rsplit_once('-')
                .map_or(binary, |(name, _hash)| name)
                .to_owned();
            return;
        }
        if let Some(krate) = line.strip_prefix("Doc-tests ") {
            self.binary = format!("doc-{krate}");
            return;
        }
        // `test name ... ok`, `test name ... FAILED`; not `ignored`, and not
        // the `test result:` summary.
        let Some(rest) = line.strip_prefix("test ") else {
            return;
        };
        let Some((name, outcome)) = rest.rsplit_once(" ... ") else {
            return;
        };
        let ok = match outcome {
            "ok" => true,
            "FAILED" => false,
            _ => return,
        };
        self.outcomes.push((format!("{}::{name}", self.binary), ok));
    }
}

/// The result: one row per test binary, then one per test that failed.
fn table(tallies: &BTreeMap<String, Tally>, runs: u32, load: bool) -> String {
    let mut binaries: BTreeMap<&str, (usize, Tally)> = BTreeMap::new();
    for (test, tally) in tallies {
        let binary = test.split_once("::").map_or(test.as_str(), |(b, _)| b);
        let row = binaries.entry(binary).or_default();
        row.0 += 1;
        row.1.runs += tally.runs;
        row.1.failures += tally.failures;
    }
    let mut out = format!(
        "\nflaky: {runs} runs of the suite{}\n\n| test binary | tests | test runs | failures |\n|---|---|---|---|\n",
        if load {
            ", every core loaded beside it"
        } else {
            ""
        }
    );
    for (binary, (tests, tally)) in &binaries {
        out.push_str(&format!(
            "| {binary} | {tests} | {} | {} |\n",
            tally.runs, tally.failures
        ));
    }
    let failed: Vec<_> = tallies.iter().filter(|(_, t)| t.failures > 0).collect();
    if failed.is_empty() {
        out.push_str("\nno test failed\n");
    } else {
        out.push_str("\n| test that failed | runs | failures |\n|---|---|---|\n");
        for (test, tally) in failed {
            out.push_str(&format!(
                "| {test} | {} | {} |\n",
                tally.runs, tally.failures
            ));
        }
    }
    out
}

/// A busy loop on every core until dropped: the load of a parallel build
/// beside the tests, without needing one.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0_u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005));
                    }
                })
            })
            .collect();
        println!("flaky: loading {cores} cores");
        Self { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_named_by_binary_and_ignored_tests_are_not_counted() {
        let mut p = Parser::default();
        for line in [
            "     Running unittests src/lib.rs (target/debug/deps/ottboxd-0123abcd)",
            "test outbox::tests::a ... ok",
            "     Running tests/playback.rs (target/debug/deps/playback-89ef)",
            "test ads_play ... FAILED",
            "test slow ... ignored",
            "test result: FAILED. 1 passed; 1 failed",
        ] {
            p.line(line);
        }
        assert_eq!(
            p.outcomes,
            [
                ("ottboxd::outbox::tests::a".to_owned(), true),
                ("playback::ads_play".to_owned(), false)
            ]
        );
    }

    #[test]
    fn the_table_names_each_failing_test() {
        let mut t = BTreeMap::new();
        t.insert(
            "a::x".to_owned(),
            Tally {
                runs: 3,
                failures: 0,
            },
        );
        t.insert(
            "a::y".to_owned(),
            Tally {
                runs: 3,
                failures: 1,
            },
        );
        let out = table(&t, 3, true);
        assert!(out.contains("| a | 2 | 6 | 1 |"), "{out}");
        assert!(out.contains("| a::y | 3 | 1 |"), "{out}");
        assert!(!out.contains("| a::x |"), "{out}");
    }
}
