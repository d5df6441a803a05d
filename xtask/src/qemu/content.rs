//! The QEMU box's own headend data: made on the host, served in the guest.
//!
//! Packaging needs ffmpeg and Shaka Packager, which are x86 binaries, so
//! the host's `ottbox-headend` makes the sample catalog (one short
//! encrypted title, the ad creatives, the MovieLens metadata) and a viewer's
//! account; the guest's cross-built `ottbox-headend` serves that data
//! directory (SQLite, keys and fMP4 are the same on every architecture).

use std::path::PathBuf;
use std::process::Stdio;

use crate::headend;
use crate::util::{run as run_cmd, target_dir};

/// The account the guest's box signs in to (`init.sh` names it too).
const ACCOUNT: &str = "viewer";

/// Makes the data directory once; returns it.
pub fn prepare() -> anyhow::Result<PathBuf> {
    let data = target_dir().join("qemu/headend");
    let done = data.join(".prepared");
    if done.exists() {
        return Ok(data);
    }
    let bin = headend::build(false)?;
    // One title of four seconds: under emulation every second of media
    // costs several of decoding.
    run_cmd(headend::sample(&bin, &data, 1, 4).stdout(Stdio::null()))?;
    run_cmd(
        headend::command(&bin, &data)
            .args(["account", ACCOUNT, "--entitle", "*"])
            .stdout(Stdio::null()),
    )?;
    std::fs::write(done, "")?;
    Ok(data)
}
