//! `cargo xtask qemu`: boots the box's real arm64 binaries on an emulated
//! Cortex-A53 and runs the smoke scenario in the guest.
//!
//! The image is a Debian arm64 kernel and an initramfs ([`image`]) that
//! also holds a cross-built headend with its data ([`content`]); PID 1 is
//! `init.sh`, which plays the smoke steps and powers off: the bus, the
//! daemon under its D-Bus policy, a box with no network and no config,
//! then the headend, device login, home rows, and an encrypted title
//! played through GStreamer to the end. The guest has
//! no network device at all (`-nic none`): nothing it does can leave it.
//! The host reads the serial console line by line, timestamps what the
//! guest reports, and prints PASS or FAIL with the failing step, boot
//! time, smoke time and the daemon's resident memory.
//!
//! qemu-user cannot be used for this on these machines (it hangs on the
//! first thread); system emulation can (`../shared/PLATFORM-NOTES.md`).

mod content;
mod image;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cross::Arch;

/// The whole run must end in this time, or it is a failure (a hung guest).
const TIMEOUT: Duration = Duration::from_secs(600);

/// Builds the image, boots it, and reports.
pub fn run() -> anyhow::Result<()> {
    crate::setup::run()?;
    crate::setup::qemu()?;
    let mut binaries = crate::cross::BOX_BINARIES.to_vec();
    binaries.push(crate::cross::HEADEND_BINARY);
    let bins = crate::cross::build(Arch::Aarch64, &binaries)?;
    let data = content::prepare()?;
    let image = image::build(&bins, &data)?;
    let report = boot(&image)?;
    report.print();
    if !report.passed {
        bail!("QEMU smoke scenario failed");
    }
    Ok(())
}

/// What the guest reported.
#[derive(Default)]
struct Report {
    /// Host seconds from QEMU's start to the guest's init.
    init_s: Option<f64>,
    /// Host seconds from QEMU's start to ottboxd answering on the bus.
    ready_s: Option<f64>,
    /// Host seconds from QEMU's start to the last smoke step.
    done_s: Option<f64>,
    /// ottboxd's resident set, in kB, after playing.
    rss_kb: Option<u64>,
    /// Time to first frame of the encrypted title, in ms (guest clock).
    ttff_ms: Option<f64>,
    /// Steps that passed, in order.
    steps: Vec<String>,
    /// The failing step and why.
    failed: Option<String>,
    /// The guest said `SMOKE RESULT PASS`.
    passed: bool,
}

impl Report {
    /// Folds one console line in.
    fn line(&mut self, line: &str, at: f64) {
        let Some(rest) = line.trim_end().strip_prefix("SMOKE ") else {
            return;
        };
        if let Some(mark) = rest.strip_prefix("MARK ") {
            match mark.split_whitespace().next() {
                Some("init") => self.init_s = Some(at),
                Some("ready") => self.ready_s = Some(at),
                Some("done") => self.done_s = Some(at),
                _ => {}
            }
        } else if let Some(step) = rest.strip_prefix("PASS ") {
            self.steps.push(step.to_owned());
        } else if let Some(why) = rest.strip_prefix("FAIL ") {
            self.failed = Some(why.to_owned());
        } else if let Some(kb) = rest.strip_prefix("RSS ") {
            self.rss_kb = kb.trim().parse().ok();
        } else if let Some(ms) = rest.strip_prefix("TTFF ") {
            self.ttff_ms = ms.trim().parse().ok();
        } else if rest == "RESULT PASS" {
            self.passed = self.failed.is_none();
        }
    }

    fn print(&self) {
        let secs = |s: Option<f64>| s.map_or("-".to_owned(), |s| format!("{s:.1} s"));
        println!("qemu: {} steps passed", self.steps.len());
        println!("qemu: boot (QEMU start to init)     {}", secs(self.init_s));
        println!(
            "qemu: boot to ready (ottboxd on bus) {}",
            secs(self.ready_s)
        );
        let smoke = self.init_s.zip(self.done_s).map(|(a, b)| b - a);
        println!("qemu: smoke (init to last step)     {}", secs(smoke));
        match self.rss_kb {
            Some(kb) => println!(
                "qemu: ottboxd RSS                   {:.1} MB",
                kb as f64 / 1024.0
            ),
            None => println!("qemu: ottboxd RSS                   -"),
        }
        match self.ttff_ms {
            Some(ms) => println!("qemu: time to first frame (emulated) {ms:.0} ms"),
            None => println!("qemu: time to first frame (emulated) -"),
        }
        match (&self.failed, self.passed) {
            (Some(why), _) => println!("qemu: FAIL {why}"),
            (None, true) => println!("qemu: PASS"),
            (None, false) => println!("qemu: FAIL the guest stopped before the end"),
        }
    }
}

/// Boots `image` and collects the guest's report from its console.
fn boot(image: &image::Image) -> anyhow::Result<Report> {
    let mut qemu = Command::new("qemu-system-aarch64");
    qemu.args([
        "-M",
        "virt",
        "-cpu",
        "cortex-a53",
        "-smp",
        "2",
        "-m",
        "1024",
    ])
    .args(["-nographic", "-nic", "none", "-no-reboot"])
    .arg("-kernel")
    .arg(&image.kernel)
    .arg("-initrd")
    .arg(&image.initrd)
    .args(["-append", "console=ttyAMA0 rdinit=/init panic=-1 quiet"])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    let started = Instant::now();
    let mut child = qemu.spawn().context("cannot start qemu-system-aarch64")?;
    let Some(stdout) = child.stdout.take() else {
        bail!("qemu's console is not piped");
    };
    // Lines arrive on a thread so that the wait below can time out.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut report = Report::default();
    loop {
        let left = TIMEOUT.saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                println!("guest: {line}");
                report.line(&line, started.elapsed().as_secs_f64());
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                report.failed = Some(format!("timeout: no power-off within {TIMEOUT:?}"));
                break;
            }
        }
    }
    let status = child.wait()?;
    if !status.success() && report.failed.is_none() {
        report.failed = Some(format!("qemu-system-aarch64 exited with {status}"));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_console_gives_timings_and_a_failing_one_names_its_step() {
        let mut ok = Report::default();
        for (at, line) in [
            (1.0, "SMOKE MARK init 0.9"),
            (2.0, "SMOKE PASS no network"),
            (3.5, "SMOKE MARK ready 3.4"),
            (4.0, "SMOKE RSS 12345"),
            (4.5, "SMOKE TTFF 128.7"),
            (5.0, "SMOKE MARK done 4.9"),
            (5.1, "SMOKE RESULT PASS"),
        ] {
            ok.line(line, at);
        }
        assert!(ok.passed);
        assert_eq!(
            (ok.init_s, ok.ready_s, ok.done_s),
            (Some(1.0), Some(3.5), Some(5.0))
        );
        assert_eq!(ok.rss_kb, Some(12345));
        assert_eq!(ok.ttff_ms, Some(128.7));

        let mut bad = Report::default();
        bad.line("SMOKE FAIL dbus-daemon up: no socket", 2.0);
        bad.line("SMOKE RESULT PASS", 3.0);
        assert!(!bad.passed, "a failed step is never overruled");
        assert_eq!(bad.failed.as_deref(), Some("dbus-daemon up: no socket"));
    }
}
