//! Why a playback failed, with a stable code for logs and D-Bus.

use super::fetch::FetchError;
use super::license::LicenseError;
use crate::media::pipeline::PipelineError;

/// Why a playback failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlayError {
    /// A download failed for good.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] ottbox_formats::manifest::ManifestError),
    /// No keys.
    #[error(transparent)]
    License(#[from] LicenseError),
    /// GStreamer could not be set up.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The pipeline failed while playing (decrypt, decode).
    #[error("{code}: {message}")]
    Playing {
        /// The pipeline's code.
        code: String,
        /// What it said.
        message: String,
    },
    /// Content this box cannot play.
    #[error("media.unsupported: {0}")]
    Unsupported(String),
}

impl PlayError {
    /// A stable code for logs and D-Bus errors.
    pub fn code(&self) -> String {
        match self {
            Self::Fetch(e) => e.code().into(),
            Self::Manifest(e) => e.code().into(),
            Self::License(e) => e.code().into(),
            Self::Pipeline(e) => e.code().into(),
            Self::Playing { code, .. } => code.clone(),
            Self::Unsupported(_) => "media.unsupported".into(),
        }
    }
}
