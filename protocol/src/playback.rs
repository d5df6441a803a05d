//! Playback sessions and viewing events.
//!
//! `POST /api/v1/playback/{title}` answers with everything the box needs to
//! start: manifest URLs on CDN edges (best first), the license URL and the
//! resume point; or a refusal (`not_entitled`, `region_blocked`) before any
//! media is fetched. Boxes report what viewers do with
//! `POST /api/v1/events`; events carry their own ids, so a box can retry
//! without double counting.

use serde::{Deserialize, Serialize};

/// Where to fetch a title from, and how to unlock it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybackSession {
    /// The catalog title.
    pub title_id: String,
    /// The media asset.
    pub asset_id: String,
    /// `cenc`, `cbcs` or `aes128`.
    pub scheme: String,
    /// Running time in seconds.
    pub duration_s: f64,
    /// CDN edges, best first: try them in order.
    pub edges: Vec<Edge>,
    /// ClearKey license endpoint (W3C JSON).
    pub license_url: String,
    /// Where to resume, in seconds (0 to start from the beginning).
    pub resume_s: f64,
    /// VMAP ad break plan, if the account sees ads.
    pub ad_plan_url: Option<String>,
    /// The content steering server for this title (see
    /// [`crate::steering`]), when the headend has CDN edges. Its pathway IDs
    /// are the names in [`PlaybackSession::edges`]: the box reorders that
    /// list by the server's answers. Absent from older headends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steering: Option<SteeringUrls>,
}

/// Where a title's steering manifests are, one URL per protocol (the
/// answers differ only in the name of the priority key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SteeringUrls {
    /// Asked with `_HLS_pathway` / `_HLS_throughput`.
    pub hls_url: String,
    /// Asked with `_DASH_pathway` / `_DASH_throughput`.
    pub dash_url: String,
}

/// One CDN edge and the title's manifests on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// Edge name, e.g. `eu-1`.
    pub name: String,
    /// Multivariant HLS playlist URL.
    pub hls_url: String,
    /// DASH MPD URL, when the title has one.
    pub dash_url: Option<String>,
}

/// What a viewer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Playback started.
    Play,
    /// Periodic position report.
    Progress,
    /// Watched to the end.
    Complete,
    /// A search was made.
    Search,
}

/// One viewing event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique per box and event (a UUID): retries reuse it.
    pub id: String,
    /// What happened.
    pub kind: EventKind,
    /// When, Unix seconds.
    pub at: i64,
    /// The title, for play, progress and complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_id: Option<String>,
    /// Position in seconds, for progress and complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_s: Option<f64>,
    /// The query, for search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// `POST /api/v1/events` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    /// The events, oldest first.
    pub events: Vec<Event>,
}

/// `POST /api/v1/events` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventReceipt {
    /// Events recorded now.
    pub accepted: u32,
    /// Events already recorded earlier (retries).
    pub duplicates: u32,
}
