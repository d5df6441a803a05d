//! `cargo xtask bench ...`: performance figures, printed, never pass/fail.

use clap::Subcommand;

mod ingest;
mod license;

/// What to measure.
#[derive(Subcommand)]
pub enum Bench {
    /// Ingest speed of the default ladder, as a multiple of real time.
    Ingest,
    /// License requests/s and p99 latency with 64 concurrent clients (wrk).
    License,
}

/// Runs one benchmark.
pub fn run(what: Bench) -> anyhow::Result<()> {
    crate::setup::run()?;
    match what {
        Bench::Ingest => ingest::run(),
        Bench::License => license::run(),
    }
}
