//! What can go wrong reading a manifest, each with a stable code.
//!
//! The codes (`manifest.malformed`, ...) are what the daemon reports on
//! D-Bus and in QoE events; they never change once shipped. The messages are
//! for people and may be reworded.

/// Which kind of document an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// An HLS playlist (multivariant or media).
    Hls,
    /// A DASH MPD.
    Dash,
    /// An ISO BMFF box (`sidx`, `pssh`).
    Bmff,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Hls => "HLS playlist",
            Self::Dash => "DASH MPD",
            Self::Bmff => "ISO BMFF box",
        })
    }
}

/// Why a manifest (or a segment index) could not be turned into the model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The document is larger than the parser accepts.
    #[error("the {format} is {size} bytes, more than the {limit} bytes accepted")]
    TooLarge {
        /// What was being read.
        format: Format,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The document does not parse (bad syntax, not UTF-8, wrong kind).
    #[error("the {format} is malformed: {detail}")]
    Malformed {
        /// What was being read.
        format: Format,
        /// What is wrong, for people.
        detail: String,
    },
    /// A required attribute is absent.
    #[error("the {format} has a {element} without {attribute}")]
    MissingAttribute {
        /// What was being read.
        format: Format,
        /// The element or tag.
        element: &'static str,
        /// The attribute it lacks.
        attribute: &'static str,
    },
    /// An attribute has a value that cannot be used (zero timescale,
    /// negative duration, a byte range that ends before it starts...).
    #[error("the {format} has an invalid {what}: {value:?}")]
    InvalidValue {
        /// What was being read.
        format: Format,
        /// Which attribute.
        what: &'static str,
        /// Its value as written.
        value: String,
    },
    /// The presentation describes more segments than the box keeps in memory.
    #[error("the manifest describes more than {limit} segments")]
    TooManySegments {
        /// The cap.
        limit: usize,
    },
    /// A URL in the document does not resolve against its base.
    #[error("the {format} has a URL that does not resolve: {url:?}")]
    BadUrl {
        /// What was being read.
        format: Format,
        /// The URL as written.
        url: String,
    },
    /// Valid, but a feature the box does not play (live DASH, an unknown
    /// encryption method, hierarchical segment indexes...).
    #[error("the {format} uses something not supported: {feature}")]
    Unsupported {
        /// What was being read.
        format: Format,
        /// The feature, for people.
        feature: String,
    },
    /// Bytes were supplied for a playlist or index that nothing waits for.
    #[error("nothing in the presentation waits for {url}")]
    NotPending {
        /// The URL supplied.
        url: String,
    },
}

impl ManifestError {
    /// The stable, machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "manifest.too_large",
            Self::Malformed { .. } => "manifest.malformed",
            Self::MissingAttribute { .. } => "manifest.missing_attribute",
            Self::InvalidValue { .. } => "manifest.invalid_value",
            Self::TooManySegments { .. } => "manifest.too_many_segments",
            Self::BadUrl { .. } => "manifest.bad_url",
            Self::Unsupported { .. } => "manifest.unsupported",
            Self::NotPending { .. } => "manifest.not_pending",
        }
    }

    pub(super) fn malformed(format: Format, detail: impl Into<String>) -> Self {
        Self::Malformed {
            format,
            detail: detail.into(),
        }
    }

    pub(super) fn invalid(format: Format, what: &'static str, value: impl Into<String>) -> Self {
        Self::InvalidValue {
            format,
            what,
            value: value.into(),
        }
    }

    pub(super) fn unsupported(format: Format, feature: impl Into<String>) -> Self {
        Self::Unsupported {
            format,
            feature: feature.into(),
        }
    }
}
