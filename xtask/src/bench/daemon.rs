//! The daemon itself: the daemon's `daemon` bench binary (run by
//! cargo as a child process, since xtask does not link the daemon) starts
//! the real `ottboxd` on a private dbus-daemon, logged in to an
//! in-process headend, and measures start → name owned, a cached
//! `Catalog1.Home` over D-Bus, idle memory and idle wakeups, each beside a
//! reference from the same run.
//!
//! Targets (issue 5): start ≤ 100 ms, Home p99 ≤ 5 ms, idle RSS ≤ 15 MB
//! (MiB, as the kernel counts), idle wakeups ≈ 0 (nothing polls).
//!
//! The daemon measured is the `release-box` build, what a box runs
//! (`OTTBOX_BENCH_OTTBOXD=<binary>` measures another: `release`, an older
//! commit); the harness itself is a `release` bench binary.

use super::table::{Figures, Row, print};
use crate::util::{cargo, output, run as run_cmd};

/// Wakeups per second that still count as "≈ 0": a stray timer a minute.
const IDLE_WAKEUPS: f64 = 0.1;

pub fn run() -> anyhow::Result<()> {
    // What a box runs: the `release-box` profile (opt-level "s", fat LTO),
    // unless another build is named.
    let binary = match std::env::var_os("OTTBOX_BENCH_OTTBOXD") {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            let profile = crate::cross::PROFILE;
            run_cmd(
                cargo()
                    .args(["build", "--quiet", "--profile", profile])
                    .args(["-p", "ottboxd", "--bin", "ottboxd"]),
            )?;
            crate::util::target_dir().join(profile).join("ottboxd")
        }
    };
    let what = binary.display();
    println!(
        "bench: ottboxd ({what}) on a private bus (loopback, logged in; \
         20 starts, 1000 Home calls, 10 s idle)"
    );
    let text = output(
        cargo()
            .args(["bench", "--quiet", "-p", "ottboxd", "--bench", "daemon"])
            .env("OTTBOX_BENCH_OTTBOXD", &binary),
    )?;
    let figures = Figures::parse("daemon", text)?;
    let threads: Vec<String> = figures
        .text()
        .lines()
        .filter_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["daemon", "thread", "daemon", name, rate] => Some(format!("{name} {rate}/s")),
                _ => None,
            },
        )
        .collect();
    let get = |key: &str| figures.get(key);
    let mib = |kb: f64| kb / 1024.0;
    let rows = [
        Row {
            figure: "start → name owned, median",
            value: format!("{:.1} ms", get("start_median_ms")?),
            target: Some((get("start_median_ms")? <= 100.0, "≤ 100 ms")),
            reference: format!(
                "dbus-send takes a name {:.1} ms",
                get("start_ref_median_ms")?
            ),
            ratio: get("start_median_ms")? / get("start_ref_median_ms")?,
        },
        Row {
            figure: "start → name owned, max",
            value: format!("{:.1} ms", get("start_max_ms")?),
            target: Some((get("start_max_ms")? <= 100.0, "≤ 100 ms")),
            reference: format!("dbus-send max {:.1} ms", get("start_ref_max_ms")?),
            ratio: get("start_max_ms")? / get("start_ref_max_ms")?,
        },
        Row {
            figure: "Catalog1.Home (cache) p50",
            value: format!("{:.3} ms", get("home_p50_ms")?),
            target: None,
            reference: format!("Peer.Ping p50 {:.3} ms", get("ping_p50_ms")?),
            ratio: get("home_p50_ms")? / get("ping_p50_ms")?,
        },
        Row {
            figure: "Catalog1.Home (cache) p99",
            value: format!("{:.3} ms", get("home_p99_ms")?),
            target: Some((get("home_p99_ms")? <= 5.0, "≤ 5 ms")),
            reference: format!("Peer.Ping p99 {:.3} ms", get("ping_p99_ms")?),
            ratio: get("home_p99_ms")? / get("ping_p99_ms")?,
        },
        Row {
            figure: "idle RSS",
            value: format!("{:.1} MiB", mib(get("daemon_rss_kb")?)),
            target: Some((mib(get("daemon_rss_kb")?) <= 15.0, "≤ 15 MiB")),
            reference: format!("dbus-daemon {:.1} MiB", mib(get("bus_rss_kb")?)),
            ratio: get("daemon_rss_kb")? / get("bus_rss_kb")?,
        },
        Row {
            figure: "idle PSS",
            value: format!("{:.1} MiB", mib(get("daemon_pss_kb")?)),
            target: None,
            reference: format!("dbus-daemon {:.1} MiB", mib(get("bus_pss_kb")?)),
            ratio: get("daemon_pss_kb")? / get("bus_pss_kb")?,
        },
        Row {
            figure: "idle wakeups",
            value: format!("{:.1} /s", get("daemon_wakeups_per_s")?),
            target: Some((get("daemon_wakeups_per_s")? <= IDLE_WAKEUPS, "≈ 0 /s")),
            reference: format!("dbus-daemon {:.1} /s", get("bus_wakeups_per_s")?),
            ratio: get("daemon_wakeups_per_s")? / get("bus_wakeups_per_s")?,
        },
    ];
    print("ottboxd", &rows);
    println!(
        "first start (empty state dir) {:.1} ms; home: {} rows, {} tiles; \
         RSS after the 1000 calls {:.1} MiB; {} threads idle",
        get("first_start_ms")?,
        get("home_rows")?,
        get("home_tiles")?,
        mib(get("daemon_rss_after_calls_kb")?),
        get("daemon_threads")?
    );
    println!(
        "idle RSS by kind: {:.1} MiB anonymous (heap, stacks), {:.1} MiB file \
         (the binary's and libraries' pages, shared and reclaimable)",
        mib(get("daemon_rss_anon_kb")?),
        mib(get("daemon_rss_file_kb")?)
    );
    if !threads.is_empty() {
        println!("idle wakeups by thread: {}", threads.join(", "));
    }
    Ok(())
}
