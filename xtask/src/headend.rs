//! The headend binary, built and run as a child process.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::util::{cargo, root, run as run_cmd, target_dir};

/// Builds `ottbox-headend` (release for benchmarks, debug for the demo:
/// faster to build) and returns the binary's path.
pub fn build(release: bool) -> anyhow::Result<PathBuf> {
    let profile = if release { "release" } else { "debug" };
    println!("build: ottbox-headend ({profile})");
    let mut cmd = cargo();
    cmd.args(["build", "--quiet", "-p", "ottbox-headend"]);
    if release {
        cmd.arg("--release");
    }
    run_cmd(&mut cmd)?;
    Ok(target_dir().join(profile).join("ottbox-headend"))
}

/// A headend command line over a data directory, run from the workspace
/// root (so that the default `../shared/reco` paths resolve).
pub fn command(bin: &Path, data_dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir")
        .arg(data_dir)
        .current_dir(root())
        .stdin(Stdio::null());
    cmd
}

/// `ottbox-headend sample` of `videos` synthetic titles of `seconds` each,
/// with the MovieLens catalog and views (from `../shared/reco`, or
/// `$OTTBOX_RECO_DIR`: a worktree has no `../shared`).
pub fn sample(bin: &Path, data_dir: &Path, videos: u32, seconds: u32) -> Command {
    let reco = std::env::var_os("OTTBOX_RECO_DIR")
        .map_or_else(|| root().join("../shared/reco"), PathBuf::from);
    let mut cmd = command(bin, data_dir);
    cmd.args(["sample", "--videos", &videos.to_string()])
        .args(["--seconds", &seconds.to_string()])
        .arg("--movies")
        .arg(reco.join("movies.csv"))
        .arg("--tags")
        .arg(reco.join("tags.csv"))
        .arg("--ratings")
        .arg(reco.join("ratings.csv"));
    cmd
}

/// A running `ottbox-headend serve`. Stopped (SIGTERM, then SIGKILL) when
/// dropped; and, through the parent-death signal, also when xtask itself is
/// killed, so it is never left orphaned.
pub struct Server {
    child: Child,
    /// `http://ip:port`.
    pub url: String,
}

impl Server {
    /// Starts the server on `listen` (with the config file `config`, if
    /// any), its log (at `log_level`) going to `log`, and waits until it
    /// prints where it listens.
    pub fn start(
        bin: &Path,
        data_dir: &Path,
        config: Option<&Path>,
        listen: &str,
        log: &Path,
        log_level: &str,
    ) -> anyhow::Result<Self> {
        let mut args = vec!["serve", "--listen", listen];
        let config = config.map(|c| c.to_string_lossy().into_owned());
        if let Some(c) = &config {
            args.extend(["--config", c.as_str()]);
        }
        Self::spawn(bin, data_dir, &args, log, log_level, "listening on ")
    }

    /// Starts `ottbox-headend edge`: an nginx CDN edge called `name` on
    /// `listen` in front of `origin`, connecting from `proxy_bind`.
    pub fn start_edge(
        bin: &Path,
        data_dir: &Path,
        name: &str,
        listen: &str,
        origin: &str,
        proxy_bind: &str,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let args = [
            "edge",
            "--name",
            name,
            "--listen",
            listen,
            "--origin",
            origin,
            "--proxy-bind",
            proxy_bind,
        ];
        let ready = format!("edge {name} on ");
        Self::spawn(bin, data_dir, &args, log, "warn", &ready)
    }

    /// Runs `bin args...` and waits for its first stdout line, which must
    /// be `ready` followed by its URL.
    fn spawn(
        bin: &Path,
        data_dir: &Path,
        args: &[&str],
        log: &Path,
        log_level: &str,
        ready: &str,
    ) -> anyhow::Result<Self> {
        // `setpriv --pdeathsig` (util-linux) makes the kernel send SIGTERM
        // to the server when we die, whatever kills us.
        let mut cmd = if Path::new("/usr/bin/setpriv").exists() {
            let mut cmd = Command::new("/usr/bin/setpriv");
            cmd.args(["--pdeathsig", "TERM", "--"]).arg(bin);
            cmd
        } else {
            Command::new(bin)
        };
        let mut child = cmd
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .current_dir(root())
            .env("RUST_LOG", log_level)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(log).with_context(|| format!("cannot create {}", log.display()))?)
            .spawn()
            .context("cannot start the headend")?;
        let stdout = child.stdout.take().context("headend stdout")?;
        // Read the first line in a thread (the server may hang or die), then
        // keep draining stdout there so the server never writes to a closed
        // pipe.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for line in lines.map_while(Result::ok) {
                println!("headend: {line}");
                let _ = std::io::stdout().flush();
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(60));
        let url = match first {
            Ok(Some(Ok(line))) => line.trim().strip_prefix(ready).map(str::to_owned),
            _ => None,
        };
        let Some(url) = url else {
            stop(&mut child);
            let log_text = std::fs::read_to_string(log).unwrap_or_default();
            bail!(
                "`ottbox-headend {}` did not start; its log ({}):\n{}",
                args.join(" "),
                log.display(),
                log_text.trim()
            );
        };
        Ok(Self { child, url })
    }

    /// Stops it now (SIGTERM), as a failing machine would go away.
    pub fn stop(&mut self) {
        stop(&mut self.child);
    }

    /// Waits for the server to exit by itself (Ctrl-C reaches it too: it is
    /// in our process group).
    pub fn wait(mut self) -> anyhow::Result<()> {
        let status = self.child.wait()?;
        println!("headend stopped ({status})");
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// SIGTERM first, for a clean shutdown; SIGKILL if still running after 5 s.
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .arg(child.id().to_string())
        .stderr(Stdio::null())
        .status();
    for _ in 0..250 {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The first `cenc:default_KID` of an MPD (UUID form), as 16 bytes.
pub fn first_kid(mpd: &str) -> anyhow::Result<[u8; 16]> {
    let uuid = mpd
        .split("cenc:default_KID=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the MPD has no cenc:default_KID")?;
    let bytes = hex::decode(uuid.replace('-', "")).context("default_KID is not hex")?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("default_KID is not 16 bytes"))
}

/// The wheel's ffmpeg.
pub fn ffmpeg() -> anyhow::Result<PathBuf> {
    let dir = crate::setup::wheel_dir().context("ffmpeg is missing: run `cargo xtask setup`")?;
    Ok(Path::new(&dir).join("ffmpeg-linux-x64"))
}
