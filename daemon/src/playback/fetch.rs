//! Media downloads: manifests, init segments and media segments.
//!
//! One `reqwest` client (the headend client's, so the same roots and the
//! same pool of kept-alive connections) fetches everything. A download
//! reports how long it took, which is what ABR's throughput estimate
//! learns from, and fails with a [`FetchError`] that says what went wrong
//! in a way the engine can act on: a 404 is not retried, a 5xx or a
//! dropped connection is, a body shorter than promised is a truncated
//! segment and never reaches the demuxer.

use std::time::{Duration, Instant};

use url::Url;

use crate::net::describe;
use ottbox_formats::manifest::ByteRange;

/// Answers larger than this are refused: a hostile server must not fill
/// the box's memory. 64 MiB is several 4K segments.
const MAX_BODY: usize = 64 << 20;

/// Why a download failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No answer: refused, reset, DNS, TLS, or no bytes for too long.
    #[error("media.unreachable: {url}: {reason}")]
    Unreachable {
        /// What was fetched.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("media.http_status: {url}: HTTP {status}")]
    Status {
        /// What was fetched.
        url: String,
        /// The status.
        status: u16,
    },
    /// The body ended before its announced length.
    #[error("media.truncated: {url}: {got} of {expected} bytes")]
    Truncated {
        /// What was fetched.
        url: String,
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// The body is larger than [`MAX_BODY`].
    #[error("media.too_large: {url}: over {MAX_BODY} bytes")]
    TooLarge {
        /// What was fetched.
        url: String,
    },
}

impl FetchError {
    /// A stable code for logs and D-Bus errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "media.unreachable",
            Self::Status { .. } => "media.http_status",
            Self::Truncated { .. } => "media.truncated",
            Self::TooLarge { .. } => "media.too_large",
        }
    }

    /// Worth another try (maybe on another edge): a network failure, a
    /// server error or a cut body. A 4xx will not get better.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            _ => true,
        }
    }
}

/// A finished download.
#[derive(Debug, Clone)]
pub struct Download {
    /// The body.
    pub bytes: Vec<u8>,
    /// From sending the request to the last byte.
    pub elapsed: Duration,
    /// Served from memory (what prefetch fetched ahead), not the network.
    pub from_cache: bool,
}

/// Downloads media over a shared client.
#[derive(Debug, Clone)]
pub struct Fetcher {
    http: reqwest::Client,
}

impl Fetcher {
    /// Fetches over `http` (see [`crate::net::Headend::http`]).
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }

    /// GETs `url`, only `range` of it when given.
    pub async fn get(&self, url: &Url, range: Option<ByteRange>) -> Result<Download, FetchError> {
        let started = Instant::now();
        let unreachable = |e: reqwest::Error| FetchError::Unreachable {
            url: url.to_string(),
            reason: describe(&e),
        };
        let mut req = self.http.get(url.clone());
        if let Some(r) = range {
            req = req.header(reqwest::header::RANGE, r.http_header());
        }
        let mut resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let expected = resp.content_length();
        let mut bytes = Vec::with_capacity(expected.unwrap_or(0).min(MAX_BODY as u64) as usize);
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_BODY {
                        return Err(FetchError::TooLarge {
                            url: url.to_string(),
                        });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                // hyper reports a body cut short as an error; say so plainly.
                Err(e) => {
                    return Err(match expected {
                        Some(expected) if (bytes.len() as u64) < expected => {
                            FetchError::Truncated {
                                url: url.to_string(),
                                got: bytes.len() as u64,
                                expected,
                            }
                        }
                        _ => unreachable(e),
                    });
                }
            }
        }
        if let Some(expected) = expected.filter(|e| (bytes.len() as u64) < *e) {
            return Err(FetchError::Truncated {
                url: url.to_string(),
                got: bytes.len() as u64,
                expected,
            });
        }
        // A server that ignores Range sends the whole file with 200.
        if let Some(r) = range
            && status == reqwest::StatusCode::OK
            && bytes.len() as u64 > r.length
        {
            let start = usize::try_from(r.offset).unwrap_or(usize::MAX);
            let end = usize::try_from(r.offset + r.length).unwrap_or(usize::MAX);
            bytes = bytes
                .get(start..end.min(bytes.len()))
                .unwrap_or_default()
                .to_vec();
        }
        Ok(Download {
            bytes,
            elapsed: started.elapsed(),
            from_cache: false,
        })
    }
}
