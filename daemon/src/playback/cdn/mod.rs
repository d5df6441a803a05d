//! CDN edge selection: which edge the next request goes to.
//!
//! A playback session lists the title on several CDN edges, best first
//! ([`ottbox_protocol::playback::PlaybackSession::edges`]). The segment
//! fetcher asks [`EdgeSelector::select`] before every request and tells it
//! how the request went with [`EdgeSelector::report`]; the selector fails
//! over between edges without the player restarting anything. The module is
//! pure, like [`super::abr`]: no I/O and no clock of its own. Times come in
//! as arguments, so tests drive it through hours of failures in
//! microseconds.
//!
//! # Failover
//!
//! - A connection error, a timeout or an HTTP 5xx puts the edge **on
//!   hold**: it is not selected until the hold-down ends. The first hold is
//!   [`Policy::hold_down`]; each further failure without a success in
//!   between doubles it, up to [`Policy::max_hold_down`]. A success clears
//!   the count.
//! - An edge whose throughput is **far below** the others' is put on hold
//!   the same way. "Far below": each of its last [`Policy::min_samples`]
//!   samples is under [`Policy::slow_ratio`] (a quarter) of the reference,
//!   which is the best mean of as many recent samples among the other
//!   edges, or the edge's own mean over the samples before those (an edge
//!   that slowed to a tenth of what it gave a minute ago is as bad as a
//!   slow neighbour). Only samples younger than [`Policy::sample_window`]
//!   count, and without [`Policy::min_samples`] of them on both sides there
//!   is no verdict: one slow segment is noise.
//! - The selected edge is always the most preferred one not on hold, so
//!   when a hold-down ends the preferred edge is **tried again** by the next
//!   request; if it fails again it goes back on hold for twice as long.
//! - When every edge is on hold, the one whose hold ends first is used
//!   anyway: a request that may fail beats no request.
//!
//! # Content steering
//!
//! The preference order is the session's until a steering server says
//! otherwise: [`SteeringClient`] builds the steering request URL (pathway in
//! use, measured throughput, and the pathways that failed since the last
//! request), parses the [`SteeringManifest`] answer and says when to ask
//! again; [`EdgeSelector::apply_priority`] takes its priority list.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use ottboxd::playback::cdn::{EdgeSelector, Outcome, Policy};
//!
//! let t0 = Instant::now();
//! let mut cdn = EdgeSelector::new(["eu-1", "eu-2"], Policy::default()).expect("edges");
//! assert_eq!(cdn.select(t0).name, "eu-1");
//! cdn.report(0, Outcome::ConnectError, t0);
//! assert_eq!(cdn.select(t0).name, "eu-2"); // failed over
//! let later = t0 + Policy::default().hold_down + Duration::from_millis(1);
//! assert_eq!(cdn.select(later).name, "eu-1"); // tried again
//! ```

mod selector;
mod steering;

pub use ottbox_protocol::steering::{SteeringManifest, SteeringProtocol};
pub use selector::{EdgeSelector, Outcome, Policy, Selection, Verdict};
pub use steering::SteeringClient;

/// What the CDN module refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CdnError {
    /// A session with no edges.
    #[error("the playback session lists no CDN edge")]
    NoEdges,
    /// Two edges with one name (names are pathway IDs).
    #[error("the playback session lists CDN edge {0:?} twice")]
    DuplicateEdge(String),
    /// A steering server URL that is not an absolute http(s) URL.
    #[error("invalid content steering URL {url:?}: {why}")]
    SteeringUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The steering server's answer is not a steering manifest.
    #[error(transparent)]
    Steering(#[from] ottbox_protocol::steering::SteeringError),
}

impl CdnError {
    /// A stable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoEdges => "cdn_no_edges",
            Self::DuplicateEdge(_) => "cdn_duplicate_edge",
            Self::SteeringUrl { .. } => "cdn_steering_url",
            Self::Steering(e) => e.code(),
        }
    }
}
