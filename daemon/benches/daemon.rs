//! The daemon itself: start-up, a cached `Catalog1.Home` over D-Bus, and
//! what it costs the box while it sits idle at the home screen.
//!
//! The real release `ottboxd` binary runs on a private dbus-daemon against
//! an in-process headend holding a small MovieLens catalog (the end-to-end
//! tests' kit, `ottbox-testkit`), logged in by device code as a
//! viewer does. Each figure has a reference measured in the same run:
//!
//! - **start**: spawn → `io.ottbox.Daemon` owned (the bus's
//!   `NameOwnerChanged`, subscribed to before the spawn), logged in with
//!   home rows in the store, as at a reboot; beside the same for
//!   `dbus-send` taking a name (the cost of a process that does nothing
//!   but connect and `RequestName`);
//! - **home**: `Catalog1.Home` answered from the cache, beside
//!   `org.freedesktop.DBus.Peer.Ping` to the same daemon over the same
//!   connection (a bare round trip), the two alternating;
//! - **idle memory**: `VmRSS` and `Pss` (smaps_rollup) of the daemon
//!   logged in, idle at home, beside the dbus-daemon's;
//! - **idle wakeups**: context switches (voluntary + involuntary, summed
//!   over every thread) per second over an idle stretch, beside the
//!   dbus-daemon's.
//!
//! Prints `daemon <figure> <value>` lines (and `daemon thread ...` lines
//! naming the threads that woke). `cargo xtask bench daemon` builds it in
//! release and runs it.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::median;
use ottbox_protocol::dbus::{CATALOG_PATH, SERVICE};
use ottbox_testkit::{Bus, Headend, catalog_proxy, log_in};
use zbus::export::futures_core::Stream;

/// Timed starts of the daemon (and of the reference).
const STARTS: usize = 20;
/// `Home` calls (and as many pings).
const CALLS: usize = 1000;
/// Idle before measuring memory: the start-up refresh and login settle.
const SETTLE: Duration = Duration::from_secs(5);
/// The idle stretch over which wakeups are counted.
const IDLE: Duration = Duration::from_secs(10);
/// The name the reference process takes.
const REFERENCE_NAME: &str = "io.ottbox.BenchReference";

fn main() {
    common::run(bench());
}

async fn bench() {
    let headend = Headend::builder().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let state_dir = dir.path().join("box");
    let config = dir.path().join("ottboxd.toml");
    std::fs::write(&config, "# empty: defaults\n").expect("config");
    let conn = bus.connect().await;
    let dbus = zbus::fdo::DBusProxy::new(&conn).await.expect("dbus proxy");

    let url = headend.url();
    let log = dir.path().join("ottboxd.log");
    let ottboxd = || {
        let mut cmd = Command::new(ottboxd_binary());
        cmd.args(["--bus-address", &bus.address, "--headend-url", &url])
            .arg("--state-dir")
            .arg(&state_dir)
            .arg("--config")
            .arg(&config)
            .env("OTTBOX_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file(&log));
        cmd
    };

    // The first start, on an empty state directory; then logged in and
    // home rows fetched once, as the UI does after login.
    let (first_ms, daemon) = time_to_name(&dbus, SERVICE, ottboxd()).await;
    println!("daemon first_start_ms {first_ms:.2}");
    log_in(&conn, &headend).await;
    let catalog = catalog_proxy(&conn).await;
    let home = catalog.home().await.expect("Home");
    assert!(!home.rows.is_empty(), "home has rows");

    // Idle at home.
    let pid = pid_of(&dbus, SERVICE).await;
    let bus_pid = pid_of(&dbus, "org.freedesktop.DBus").await;
    tokio::time::sleep(SETTLE).await;
    for (who, pid) in [("daemon", pid), ("bus", bus_pid)] {
        let (rss, pss) = memory_kb(pid);
        println!("daemon {who}_rss_kb {rss}");
        println!("daemon {who}_pss_kb {pss}");
    }
    // Where the daemon's RSS is: heap and stacks (anonymous) against the
    // pages of the binary and its libraries (file).
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    for (key, name) in [("RssAnon:", "anon"), ("RssFile:", "file")] {
        if let Some(kb) = status.lines().find_map(|l| l.strip_prefix(key)) {
            println!(
                "daemon daemon_rss_{name}_kb {}",
                kb.trim().trim_end_matches("kB").trim()
            );
        }
    }
    if let Some(path) = std::env::var_os("OTTBOX_BENCH_SMAPS") {
        std::fs::copy(format!("/proc/{pid}/smaps"), path).expect("smaps copied");
    }
    let before = [switches(pid), switches(bus_pid)];
    tokio::time::sleep(IDLE).await;
    let after = [switches(pid), switches(bus_pid)];
    let secs = IDLE.as_secs_f64();
    for (who, (b, a)) in ["daemon", "bus"].iter().zip(before.iter().zip(&after)) {
        let mut total = 0;
        let mut by_name: HashMap<&str, u64> = HashMap::new();
        for (tid, (name, n)) in a {
            let woke = n - b.get(tid).map_or(0, |(_, m)| *m);
            total += woke;
            *by_name.entry(name.as_str()).or_default() += woke;
        }
        println!("daemon {who}_wakeups_per_s {:.2}", total as f64 / secs);
        println!("daemon {who}_threads {}", a.len());
        let mut by_name: Vec<_> = by_name.into_iter().filter(|(_, n)| *n > 0).collect();
        by_name.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
        for (name, n) in by_name {
            println!(
                "daemon thread {who} {} {:.2}",
                name.replace(' ', "_"),
                n as f64 / secs
            );
        }
    }

    // Home from the cache, alternating with a bare round trip.
    let peer = zbus::fdo::PeerProxy::builder(&conn)
        .destination(SERVICE)
        .path(CATALOG_PATH)
        .build()
        .await
        .expect("Peer proxy");
    let (mut homes, mut pings) = (Vec::with_capacity(CALLS), Vec::with_capacity(CALLS));
    for _ in 0..CALLS {
        let t = Instant::now();
        peer.ping().await.expect("Ping");
        pings.push(ms(t));
        let t = Instant::now();
        let view = catalog.home().await.expect("Home");
        homes.push(ms(t));
        assert!(!view.offline, "Home answered online, from the cache");
    }
    for (what, v) in [("home", &mut homes), ("ping", &mut pings)] {
        println!("daemon {what}_p50_ms {:.3}", percentile(v, 0.50));
        println!("daemon {what}_p99_ms {:.3}", percentile(v, 0.99));
    }
    println!("daemon home_rows {}", home.rows.len());
    println!(
        "daemon home_tiles {}",
        home.rows.iter().map(|r| r.tiles.len()).sum::<usize>()
    );
    let (rss, _) = memory_kb(pid);
    println!("daemon daemon_rss_after_calls_kb {rss}");

    // Starts, as at a reboot: logged in, rows in the store.
    daemon.stop(&log);
    let reference = || {
        let mut cmd = Command::new("dbus-send");
        cmd.arg(format!("--bus={}", bus.address))
            .args(["--dest=org.freedesktop.DBus", "--type=method_call"])
            .args(["--print-reply", "/org/freedesktop/DBus"])
            .arg("org.freedesktop.DBus.RequestName")
            .arg(format!("string:{REFERENCE_NAME}"))
            .arg("uint32:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    };
    let (mut starts, mut refs) = (Vec::new(), Vec::new());
    for _ in 0..STARTS {
        let (ms, daemon) = time_to_name(&dbus, SERVICE, ottboxd()).await;
        starts.push(ms);
        daemon.stop(&log);
        let (ms, mut sender) = time_to_name(&dbus, REFERENCE_NAME, reference()).await;
        refs.push(ms);
        let status = sender.0.take().expect("running").wait().expect("wait");
        assert!(status.success(), "dbus-send: {status}");
    }
    for (what, v) in [("start", &mut starts), ("start_ref", &mut refs)] {
        let max = v.iter().copied().fold(0.0, f64::max);
        println!("daemon {what}_median_ms {:.2}", median(v));
        println!("daemon {what}_max_ms {max:.2}");
    }
}

/// Spawns `cmd` and returns the milliseconds until `name` has an owner,
/// watching `NameOwnerChanged` from before the spawn.
async fn time_to_name(
    dbus: &zbus::fdo::DBusProxy<'_>,
    name: &str,
    mut cmd: Command,
) -> (f64, Running) {
    let mut changes = dbus
        .receive_name_owner_changed_with_args(&[(0, name)])
        .await
        .expect("NameOwnerChanged");
    let t = Instant::now();
    let child = Running(Some(cmd.spawn().expect("spawn")));
    let owned = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(signal) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut changes).poll_next(cx)).await
        {
            if signal.args().expect("args").new_owner().is_some() {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(owned, Ok(true), "{name} owned within 30 s");
    (ms(t), child)
}

/// A child process, killed if still running when dropped (a failed bench
/// leaves no daemon behind).
struct Running(Option<Child>);

impl Running {
    /// SIGTERM, and a clean exit.
    fn stop(mut self, log: &Path) {
        let mut child = self.0.take().expect("running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let status = child.wait().expect("wait");
        assert!(
            status.success(),
            "ottboxd stopped with {status}; see {}",
            log.display()
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The daemon measured: `$OTTBOX_BENCH_OTTBOXD` if set (a binary built
/// elsewhere: another profile, an older commit), else this build's.
fn ottboxd_binary() -> PathBuf {
    std::env::var_os("OTTBOX_BENCH_OTTBOXD").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_ottboxd")),
        PathBuf::from,
    )
}

/// `path` opened for appending.
fn log_file(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("log")
}

/// The process owning `name` on the bus.
async fn pid_of(dbus: &zbus::fdo::DBusProxy<'_>, name: &str) -> u32 {
    let name: zbus::names::BusName<'_> = name.try_into().expect("bus name");
    dbus.get_connection_unix_process_id(name)
        .await
        .expect("GetConnectionUnixProcessID")
}

/// `VmRSS` and `Pss` of `pid`, in kB.
fn memory_kb(pid: u32) -> (u64, u64) {
    let field = |file: &str, key: &str| {
        let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).expect(file);
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{key} in /proc/{pid}/{file}"))
    };
    (field("status", "VmRSS:"), field("smaps_rollup", "Pss:"))
}

/// Context switches so far of each thread of `pid`: tid → (name, count).
fn switches(pid: u32) -> HashMap<u32, (String, u64)> {
    let mut out = HashMap::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks");
    for task in tasks.flatten() {
        let Ok(tid) = task.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A thread may end between the listing and the read.
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let count = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        out.insert(
            tid,
            (
                name.trim().to_owned(),
                count("voluntary_ctxt_switches:") + count("nonvoluntary_ctxt_switches:"),
            ),
        );
    }
    out
}

/// The `q` quantile of `v` (sorted in place), nearest rank.
fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = (q * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
