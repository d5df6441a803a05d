//! Ingest: a mezzanine file becomes a published, encrypted, adaptive title.
//!
//! 1. [`probe`]: ffprobe checks the input is media with a video stream in a
//!    codec we accept, and reads its duration.
//! 2. [`transcode`]: one ffmpeg run encodes every rung of the ladder (H.264,
//!    keyframes aligned on segment boundaries) and AAC stereo, with a
//!    progress bar.
//! 3. [`package`]: Shaka Packager cuts CMAF fMP4 segments, writes HLS and
//!    DASH manifests and encrypts with Common Encryption (`cenc` or `cbcs`)
//!    under fresh raw keys; or, for the legacy `aes128` scheme, ffmpeg's HLS
//!    muxer writes MPEG-TS segments encrypted whole.
//! 4. [`publish`]: all of it was built in a staging directory; it is renamed
//!    into the origin, then recorded in the database with its sealed keys.
//!    Any failure before that point leaves nothing behind.

use std::path::{Path, PathBuf};

use crate::config::{Config, Rung, Scheme};
use crate::db::{Db, DbError, assets};
use crate::keystore::{ContentKey, MasterKey};
use crate::tools::ToolMissing;

pub mod package;
pub mod probe;
pub mod publish;
pub mod transcode;

/// Why an ingest failed. Nothing is published when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The title id cannot be used (it becomes a directory name).
    #[error("invalid title id {0:?}: use 1 to 64 characters of a-z, 0-9, '-' and '_'")]
    InvalidTitle(String),
    /// A subtitle language that is not a BCP 47 tag (it becomes a
    /// directory name and a manifest attribute).
    #[error("invalid subtitle language {0:?}: use letters, digits and '-' (en, pt-BR)")]
    InvalidLanguage(String),
    /// The input file does not exist.
    #[error("input file {0} does not exist")]
    InputMissing(PathBuf),
    /// The input is not a media file ffprobe can read.
    #[error("input file {path} is not readable media: {detail}")]
    NotMedia {
        /// The file.
        path: PathBuf,
        /// What ffprobe said.
        detail: String,
    },
    /// The input has no video stream.
    #[error("input file {0} has no video stream")]
    NoVideo(PathBuf),
    /// The input's video codec is not one we transcode from.
    #[error("input video codec {0:?} is not supported")]
    UnsupportedCodec(String),
    /// A tool is not installed.
    #[error(transparent)]
    ToolMissing(#[from] ToolMissing),
    /// The disk filled up.
    #[error("disk full while ingesting: {0}")]
    DiskFull(String),
    /// A tool failed.
    #[error("{tool} failed ({status}): {stderr_tail}")]
    ToolFailed {
        /// Which tool.
        tool: &'static str,
        /// Its exit status.
        status: String,
        /// The last lines it printed.
        stderr_tail: String,
    },
    /// A file operation failed.
    #[error("ingest I/O error: {0}")]
    Io(std::io::Error),
    /// The database refused the new title.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<std::io::Error> for IngestError {
    fn from(e: std::io::Error) -> Self {
        // ENOSPC: say "disk full", which is what an operator needs to know.
        if e.raw_os_error() == Some(28) {
            Self::DiskFull(e.to_string())
        } else {
            Self::Io(e)
        }
    }
}

/// What to make of one input.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Asset id; also the directory name on the origin.
    pub title: String,
    /// Encryption scheme.
    pub scheme: Scheme,
    /// Separate keys for SD and HD rungs.
    pub split_sd_hd_keys: bool,
    /// The video ladder.
    pub ladder: Vec<Rung>,
    /// Regions the title is licensed in.
    pub regions: Vec<String>,
    /// x264 preset.
    pub preset: String,
    /// WebVTT subtitle files: (BCP 47 language, file), packaged as
    /// segmented WebVTT beside the media (CMAF titles only).
    pub subtitles: Vec<(String, PathBuf)>,
}

impl IngestOptions {
    /// Options from the config's defaults for `title`.
    pub fn from_config(config: &Config, title: &str) -> Self {
        Self {
            title: title.to_owned(),
            scheme: config.ingest.scheme,
            split_sd_hd_keys: config.ingest.split_sd_hd_keys,
            ladder: config.ingest.ladder.clone(),
            regions: config.ingest.regions.clone(),
            preset: config.ingest.x264_preset.clone(),
            subtitles: Vec::new(),
        }
    }
}

/// A content key and the renditions it encrypts.
#[derive(Debug, Clone)]
pub struct KeyPlan {
    /// `ALL`, `SD` or `HD`.
    pub label: &'static str,
    /// The key.
    pub key: ContentKey,
}

/// Ingests `input` as `opts.title`, publishing it on the origin.
pub fn ingest(
    config: &Config,
    db: &Db,
    master: &MasterKey,
    input: &Path,
    opts: &IngestOptions,
) -> Result<assets::Asset, IngestError> {
    validate_title(&opts.title)?;
    for (language, file) in &opts.subtitles {
        let tag = !language.is_empty()
            && language.len() <= 35
            && language
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !tag {
            return Err(IngestError::InvalidLanguage(language.clone()));
        }
        if !file.is_file() {
            return Err(IngestError::InputMissing(file.clone()));
        }
    }
    if !input.is_file() {
        return Err(IngestError::InputMissing(input.to_owned()));
    }
    let info = probe::probe(config, input)?;
    let stage = publish::Staging::new(&config.staging_dir(), &opts.title)?;

    let encodes = transcode::transcode(config, input, &info, opts, &stage.work())?;
    let keys = plan_keys(opts);
    let packaged = match opts.scheme {
        Scheme::Cenc | Scheme::Cbcs | Scheme::Clear => {
            package::cmaf(config, &encodes, &keys, opts, &stage.out())?
        }
        Scheme::Aes128 => package::hls_aes128(config, &encodes, &keys[0].key, opts, &stage.out())?,
    };
    let asset = assets::Asset {
        id: opts.title.clone(),
        scheme: opts.scheme.as_str().to_owned(),
        duration_s: info.duration_s,
        hls_path: format!("{}/{}", opts.title, packaged.hls),
        dash_path: packaged.dash.map(|d| format!("{}/{d}", opts.title)),
    };
    let sealed: Vec<assets::SealedKey> = keys
        .iter()
        .map(|k| assets::SealedKey {
            kid: k.key.kid,
            label: k.label.to_owned(),
            sealed: master.seal(&k.key),
        })
        .collect();
    stage.publish(
        &config.origin_dir(),
        |conn_db| {
            let mut conn = conn_db.conn()?;
            assets::replace(
                &mut conn,
                &asset,
                &packaged.renditions,
                &sealed,
                &opts.regions,
            )
        },
        db,
    )?;
    Ok(asset)
}

/// Title ids become directory names: keep them boring.
pub fn validate_title(title: &str) -> Result<(), IngestError> {
    let ok = (1..=64).contains(&title.len())
        && title
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !title.starts_with(['-', '_']);
    if ok {
        Ok(())
    } else {
        Err(IngestError::InvalidTitle(title.to_owned()))
    }
}

fn plan_keys(opts: &IngestOptions) -> Vec<KeyPlan> {
    if opts.scheme == Scheme::Clear {
        return Vec::new();
    }
    let split = opts.split_sd_hd_keys
        && opts.scheme != Scheme::Aes128
        && opts.ladder.iter().any(Rung::is_hd);
    if split {
        vec![
            KeyPlan {
                label: "SD",
                key: ContentKey::generate(),
            },
            KeyPlan {
                label: "HD",
                key: ContentKey::generate(),
            },
        ]
    } else {
        vec![KeyPlan {
            label: "ALL",
            key: ContentKey::generate(),
        }]
    }
}

/// The key label for a video rung (audio uses [`audio_label`]).
pub fn rung_label(keys: &[KeyPlan], rung: &Rung) -> &'static str {
    if keys.is_empty() {
        "NONE"
    } else if keys.len() == 2 {
        if rung.is_hd() { "HD" } else { "SD" }
    } else {
        "ALL"
    }
}

/// Audio is SD content: it takes the SD key when keys are split.
pub fn audio_label(keys: &[KeyPlan]) -> &'static str {
    match keys.len() {
        0 => "NONE",
        2 => "SD",
        _ => "ALL",
    }
}

/// The last lines of a tool's stderr, for error messages.
pub(crate) fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(4)..].join(" | ")
}

/// Turns a finished tool run into an error if it failed.
pub(crate) fn check_status(
    tool: &'static str,
    out: &std::process::Output,
) -> Result<(), IngestError> {
    if out.status.success() {
        return Ok(());
    }
    let stderr_tail = tail(&out.stderr);
    // ffmpeg reports ENOSPC as such; Shaka Packager only suspects it.
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No space left on device") || stderr.contains("running out of disk space") {
        return Err(IngestError::DiskFull(stderr_tail));
    }
    Err(IngestError::ToolFailed {
        tool,
        status: out.status.to_string(),
        stderr_tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_ids_are_path_safe() {
        for ok in ["sample-0", "big_buck_bunny", "a"] {
            assert!(validate_title(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "a/b", "Caps", "-x", ".hidden", &"x".repeat(65)] {
            assert!(validate_title(bad).is_err(), "{bad}");
        }
    }
}
