//! The headend binary, built and run as a child process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

use crate::util::{cargo, root, run as run_cmd};

/// Builds `ottbox-headend` (release for benchmarks) and returns its path.
pub fn build(release: bool) -> anyhow::Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args(["build", "--quiet", "-p", "ottbox-headend"]);
    if release {
        cmd.arg("--release");
    }
    run_cmd(&mut cmd)?;
    Ok(root()
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join("ottbox-headend"))
}

/// A headend command line over a data directory.
pub fn command(bin: &Path, data_dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir").arg(data_dir).current_dir(root());
    cmd
}

/// A running `ottbox-headend serve`; killed when dropped.
pub struct Server {
    child: Child,
    /// `http://ip:port`.
    pub url: String,
}

impl Server {
    /// Starts the server on `listen` and waits until it listens.
    pub fn start(bin: &Path, data_dir: &Path, listen: &str, quiet: bool) -> anyhow::Result<Self> {
        let mut child = command(bin, data_dir)
            .args(["serve", "--listen", listen])
            .env(
                "RUST_LOG",
                if quiet { "warn" } else { "ottbox_headend=info" },
            )
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start the headend")?;
        let mut line = String::new();
        let stdout = child.stdout.take().context("headend stdout")?;
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            bail!("the headend did not start (is {listen} in use?)");
        };
        Ok(Self {
            url: url.to_owned(),
            child,
        })
    }

    /// Waits for the server to exit by itself (Ctrl-C reaches it too).
    pub fn wait(mut self) -> anyhow::Result<()> {
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first, for a clean shutdown; then make sure.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first `cenc:default_KID` of an MPD, as 16 bytes.
pub fn first_kid(mpd: &str) -> anyhow::Result<[u8; 16]> {
    let uuid = mpd
        .split("cenc:default_KID=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the MPD has no default_KID")?;
    let bytes = hex::decode(uuid.replace('-', ""))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("default_KID is not 16 bytes"))
}

/// The wheel's ffmpeg.
pub fn ffmpeg() -> anyhow::Result<PathBuf> {
    let dir = crate::setup::wheel_dir().context("run `cargo xtask setup` first")?;
    Ok(Path::new(&dir).join("ffmpeg-linux-x64"))
}
