//! Running commands, timing stages, and a small HTTP client for loopback.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Cargo's target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        })
        .unwrap_or_else(|| root().join("target"))
}

/// `cargo` (the one that runs us), in the workspace root, never interactive.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root()).stdin(Stdio::null());
    cmd
}

/// Runs `cmd` with its output passed through, failing if it fails.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let what = describe(cmd);
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout; on failure, the error has its stderr.
pub fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let what = describe(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `cmd` runs and exits 0 (its output is discarded).
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A command line as the user would type it, for messages.
pub fn describe(cmd: &Command) -> String {
    // `cargo`, not the toolchain's full path to it.
    let program = std::path::Path::new(cmd.get_program());
    let name = program.file_name().unwrap_or(program.as_os_str());
    let mut words = vec![name.to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    format!("`{}`", words.join(" "))
}

/// Times named stages and prints a table of them.
#[derive(Default)]
pub struct Stages {
    done: Vec<(String, Duration, bool)>,
}

impl Stages {
    /// Runs one stage, printing its wall time when it ends.
    pub fn run(
        &mut self,
        name: &str,
        f: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        println!("\n==> {name}");
        let started = Instant::now();
        let result = f();
        let took = started.elapsed();
        println!(
            "<== {name}: {} in {:.1} s{}",
            if result.is_ok() { "ok" } else { "FAILED" },
            took.as_secs_f64(),
            disk_free()
                .map(|f| format!(", {f} free on disk"))
                .unwrap_or_default()
        );
        self.done.push((name.to_owned(), took, result.is_ok()));
        result
    }

    /// Prints every stage's time, and the total.
    pub fn summary(&self) {
        println!("\n{:<36} {:>9}  result", "stage", "seconds");
        for (name, took, ok) in &self.done {
            println!(
                "{:<36} {:>9.1}  {}",
                name,
                took.as_secs_f64(),
                if *ok { "ok" } else { "FAILED" }
            );
        }
        let total: Duration = self.done.iter().map(|d| d.1).sum();
        println!("{:<36} {:>9.1}", "total", total.as_secs_f64());
    }
}

/// An HTTP response, whole.
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `Content-Type`, or `-`.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A plain-HTTP client for talking to our own servers on loopback. Error
/// statuses are answers, not errors.
pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    /// A client with a 30 s timeout per request.
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self { agent }
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> anyhow::Result<Reply> {
        let resp = self
            .agent
            .get(url)
            .call()
            .with_context(|| format!("GET {url}"))?;
        Self::reply(resp)
    }

    /// `POST url` with a JSON body and, if given, a bearer token.
    pub fn post_json(
        &self,
        url: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> anyhow::Result<Reply> {
        let mut req = self
            .agent
            .post(url)
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        let resp = req
            .send(body.to_string())
            .with_context(|| format!("POST {url}"))?;
        Self::reply(resp)
    }

    fn reply(mut resp: ureq::http::Response<ureq::Body>) -> anyhow::Result<Reply> {
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_vec()?;
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }
}

/// A scratch directory under `target/bench/`, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh, empty `target/bench/<name>-<pid>`.
    pub fn new(name: &str) -> anyhow::Result<Self> {
        let dir = target_dir()
            .join("bench")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Free space on the disk that holds the working directory, as `df` prints
/// it (a CI run once failed only because the disk filled up).
fn disk_free() -> Option<String> {
    let out = Command::new("df").args(["-Ph", "."]).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)
        .map(str::to_owned)
}
