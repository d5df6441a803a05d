//! The real `ottboxd` binary on a test bus.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::bus::Bus;

/// The daemon binary. Cargo names it for the daemon package's own tests;
/// another package's tests (the whole-stack ones in `tests/`, which build
/// it first) find it in the profile directory their binary runs from.
fn ottboxd_bin() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_ottboxd") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary is in <target>/<profile>/deps")
        .join("ottboxd")
}

/// The real `ottboxd` binary on a bus.
pub struct Daemon {
    child: Option<Child>,
    /// Its `--state-dir`.
    pub state_dir: PathBuf,
    bus: String,
    headend: String,
    extra_env: Vec<(String, String)>,
}

impl Daemon {
    /// Starts it on `bus` against `headend`, keeping its state in
    /// `state_dir`, and waits until it owns its name.
    pub async fn start(bus: &Bus, headend: &str, state_dir: &Path) -> Self {
        Self::start_with(bus, headend, state_dir, &[]).await
    }

    /// [`Daemon::start`] with extra environment (`OTTBOX_*` settings).
    pub async fn start_with(
        bus: &Bus,
        headend: &str,
        state_dir: &Path,
        env: &[(&str, &str)],
    ) -> Self {
        let mut daemon = Self {
            child: None,
            state_dir: state_dir.to_owned(),
            bus: bus.address.clone(),
            headend: headend.to_owned(),
            extra_env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        daemon.spawn();
        daemon.wait_ready().await;
        daemon
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.state_dir.with_extension("log"))
            .expect("log file");
        let child = Command::new(ottboxd_bin())
            .args(["--bus-address", &self.bus, "--headend-url", &self.headend])
            .arg("--state-dir")
            .arg(&self.state_dir)
            .arg("--config")
            .arg(empty_config())
            .env("OTTBOX_LOG", "ottboxd=debug,info")
            .env("OTTBOX_CACHE_PROBE_INTERVAL_S", "0.2")
            .env("OTTBOX_EVENTS_MIN_BACKOFF_S", "0.1")
            .env("OTTBOX_EVENTS_MAX_BACKOFF_S", "0.5")
            // Off unless a test is about it: a prefetch round's requests
            // would mingle with the ones other tests count.
            .env("OTTBOX_PREFETCH_TITLES", "0")
            .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ottboxd");
        self.child = Some(child);
    }

    /// Waits until the daemon owns its name on the bus.
    pub async fn wait_ready(&mut self) {
        let conn = zbus::connection::Builder::address(self.bus.as_str())
            .build()
            .await
            .expect("bus");
        let dbus = zbus::fdo::DBusProxy::new(&conn).await.expect("dbus proxy");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let name = ottbox_protocol::dbus::SERVICE.try_into().expect("name");
            if dbus.name_has_owner(name).await.unwrap_or(false) {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().expect("wait"))
            {
                panic!(
                    "ottboxd exited with {status}; see {}",
                    self.log_path().display()
                );
            }
            assert!(Instant::now() < deadline, "ottboxd did not take its name");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Its log file (stderr), beside the state directory.
    pub fn log_path(&self) -> PathBuf {
        self.state_dir.with_extension("log")
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait: the clean shutdown path.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        child.wait().expect("wait")
    }

    /// Killed (SIGKILL) and started again on the same state: a crash
    /// and a reboot.
    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn();
        self.wait_ready().await;
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An empty config file, so no /etc/ottbox/ottboxd.toml on the test machine
/// leaks in.
fn empty_config() -> PathBuf {
    let path = std::env::temp_dir().join("ottboxd-test-empty.toml");
    if !path.exists() {
        let mut f = std::fs::File::create(&path).expect("config");
        f.write_all(b"# empty: defaults\n").expect("write");
    }
    path
}
