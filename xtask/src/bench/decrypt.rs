//! Decryptor speed: the daemon's pure CENC decryption (its `decrypt` bench
//! binary, built in release and run by cargo as a child process, since
//! xtask does not link the daemon) beside `openssl speed` at the same
//! buffer sizes. Both count CPU time, so a busy machine shifts both alike.
//!
//! The target is ≥ 50 % of OpenSSL for `cenc` (vs AES-128-CTR) and for
//! full-block `cbcs` (vs AES-128-CBC decryption); the 1:9 pattern is shown
//! as sample bytes per second, what a video pipeline actually needs.

use std::collections::BTreeMap;

use anyhow::{Context, bail};

use crate::util::{cargo, output};

/// Buffer sizes in bytes: a small frame and a large one.
const SIZES: [usize; 2] = [16384, 65536];
/// The share of OpenSSL's speed we aim for.
const TARGET: f64 = 0.5;

pub fn run() -> anyhow::Result<()> {
    let sizes: Vec<String> = SIZES.iter().map(usize::to_string).collect();
    println!(
        "bench: ottboxd decrypt (release), sizes {}",
        sizes.join(", ")
    );
    let ours = output(
        cargo()
            .args([
                "bench", "--quiet", "-p", "ottboxd", "--bench", "decrypt", "--",
            ])
            .args(&sizes),
    )?;
    // "decrypt <mode> <bytes> <MB/s>"
    let mut measured: BTreeMap<(String, usize), f64> = BTreeMap::new();
    for line in ours.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["decrypt", mode, size, mbs] = words[..] {
            measured.insert((mode.to_owned(), size.parse()?), mbs.parse()?);
        }
    }
    if measured.is_empty() {
        bail!("the decrypt bench printed no figures:\n{ours}");
    }

    println!(
        "{:<10} {:>7} {:>12} {:>22} {:>9}",
        "mode", "bytes", "ottbox MB/s", "openssl MB/s", "ratio"
    );
    let mut below = Vec::new();
    for size in SIZES {
        for (mode, cipher, decrypt) in [
            ("cenc", "aes-128-ctr", false),
            ("cbcs-full", "aes-128-cbc", true),
            ("cbcs-1:9", "aes-128-cbc", true),
        ] {
            let ours = *measured
                .get(&(mode.to_owned(), size))
                .with_context(|| format!("no figure for {mode} at {size} bytes"))?;
            let theirs = openssl_speed(cipher, decrypt, size)?;
            let ratio = ours / theirs;
            println!(
                "{mode:<10} {size:>7} {ours:>12.1} {:>22} {ratio:>8.2}x",
                format!("{theirs:.1} ({cipher}{})", if decrypt { " -d" } else { "" })
            );
            if mode != "cbcs-1:9" && ratio < TARGET {
                below.push(format!("{mode} at {size} bytes: {ratio:.2}x"));
            }
        }
    }
    if below.is_empty() {
        println!("bench: target met (≥ {:.0} % of openssl)", TARGET * 100.0);
    } else {
        println!(
            "bench: below the {:.0} % target: {}",
            TARGET * 100.0,
            below.join(", ")
        );
    }
    Ok(())
}

/// `openssl speed -evp <cipher>` at one buffer size, in MB/s (10^6 B/s).
fn openssl_speed(cipher: &str, decrypt: bool, size: usize) -> anyhow::Result<f64> {
    let mut cmd = std::process::Command::new("openssl");
    cmd.args(["speed", "-mr", "-seconds", "2", "-bytes", &size.to_string()]);
    if decrypt {
        cmd.arg("-decrypt");
    }
    let text = output(cmd.args(["-evp", cipher]))?;
    // Machine-readable result: "+F:<n>:<name>:<bytes per second>".
    let bytes_per_s: f64 = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("+F:"))
        .and_then(|l| l.rsplit(':').next())
        .with_context(|| format!("no +F line in openssl speed output:\n{text}"))?
        .trim()
        .parse()?;
    Ok(bytes_per_s / 1e6)
}
