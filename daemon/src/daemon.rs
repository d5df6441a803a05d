//! Running the daemon: arguments, logging, the services, systemd, shutdown.
//!
//! Start-up order matters to callers: the store opens (and migrates), the
//! background tasks start, the interfaces are served and only then is the
//! bus name taken and systemd told `READY=1`. On SIGTERM or SIGINT every
//! task is told to stop through one watch channel and the store is flushed,
//! so a clean stop loses nothing; a crash loses at most sled's flush
//! interval of cache (never a queued event or tokens: those are synced).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::sync::watch;

use crate::config::{BusKind, Config};
use crate::{Core, dbus};

/// `ottboxd` command line; each flag overrides the config file and the
/// environment.
#[derive(Debug, Parser)]
#[command(name = "ottboxd", version, about = "The ottbox set-top-box daemon")]
pub struct Args {
    /// Config file (default /etc/ottbox/ottboxd.toml, if present).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Serve on the session bus (development).
    #[arg(long, conflicts_with = "bus_address")]
    pub session: bool,
    /// Serve on the bus at this address (tests: a private dbus-daemon).
    #[arg(long)]
    pub bus_address: Option<String>,
    /// State directory (sled store).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Headend base URL.
    #[arg(long)]
    pub headend_url: Option<String>,
}

impl Args {
    /// The config with these flags applied.
    pub fn config(&self) -> anyhow::Result<Config> {
        let (mut config, warnings) = Config::load(self.config.as_deref(), std::env::vars())?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        if self.session {
            config.bus.kind = BusKind::Session;
        }
        if let Some(address) = &self.bus_address {
            config.bus.kind = BusKind::Address;
            config.bus.address = Some(address.clone());
        }
        if let Some(dir) = &self.state_dir {
            config.state_dir = dir.clone();
        }
        if let Some(url) = &self.headend_url {
            config.headend.url = url.clone();
        }
        Ok(config)
    }
}

/// Logs to journald when started by systemd with the journal, else to
/// stderr. `OTTBOX_LOG` (or `RUST_LOG`) sets the filter.
pub fn init_logging() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_env("OTTBOX_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let journald = std::env::var_os("JOURNAL_STREAM").and_then(|_| tracing_journald::layer().ok());
    let registry = tracing_subscriber::registry().with(filter);
    match journald {
        Some(layer) => registry.with(layer).init(),
        None => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    // Colours only for a person at a terminal, not in log files.
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            )
            .init(),
    }
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(args: Args) -> anyhow::Result<()> {
    // Before anything can tell a caller we are up: a SIGTERM that arrives
    // right after the name is taken must take the clean path, not the
    // default action (exit without flushing the store).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let config = args.config()?;
    let core = Core::open(&config)
        .with_context(|| format!("opening the state in {}", config.state_dir.display()))?;
    let (stop, shutdown) = watch::channel(false);

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(core.account.clone().run_refresher(shutdown.clone()));
    tasks.spawn(core.catalog.clone().run_prober(shutdown.clone()));
    tasks.spawn(core.events.clone().run_sender(
        core.account.clone(),
        core.headend.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(core.beacons.clone().run_sender(shutdown.clone()));
    tasks.spawn(core.prefetcher.clone().run(shutdown.clone()));

    let conn = dbus::serve(&config.bus, core.clone())
        .await
        .context("serving io.ottbox.Daemon on D-Bus")?;
    dbus::forward(&conn, &core, shutdown.clone());
    // Find out at once whether the headend is there, so the first Home
    // already knows if it is offline, and the cache is warm for it.
    let catalog = core.catalog.clone();
    tokio::spawn(async move {
        if let Err(e) = catalog.refresh_home().await {
            tracing::info!(error = %e, "home rows not refreshed at start");
        }
    });
    tracing::info!(version = crate::VERSION, bus = ?config.bus.kind, "ottboxd ready");
    notify(&[sd_notify::NotifyState::Ready]);

    let watchdog = watchdog_interval();
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            // Pinged from the main loop: if the runtime wedges, systemd
            // restarts the daemon.
            () = tokio::time::sleep(watchdog.unwrap_or(Duration::from_secs(3600))) => {
                if watchdog.is_some() {
                    notify(&[sd_notify::NotifyState::Watchdog]);
                }
            }
        }
    }
    tracing::info!("stopping");
    notify(&[sd_notify::NotifyState::Stopping]);
    let _ = stop.send(true);
    drop(conn);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    core.store.flush()?;
    Ok(())
}

fn notify(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, state) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// Half the watchdog timeout systemd set, if it set one.
fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0u64;
    sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec / 2))
}
