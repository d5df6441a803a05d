//! Content steering: which CDN pathway a player should fetch from, decided
//! by a steering server and reloaded as the player plays.
//!
//! Two specifications, one idea: HLS Content Steering (RFC 8216bis section
//! 4.4.6.6 and Apple's "HLS Content Steering Specification") and DASH-IF
//! Content Steering (DASH-IF CTS 001). The player asks the steering server
//! `GET <uri>?_HLS_pathway=<current>&_HLS_throughput=<bits/s>` (or the
//! `_DASH_` names) and gets a [`SteeringManifest`]: the pathways (CDN edges)
//! in order of preference, how long that answer holds, and where to ask
//! next.
//!
//! In ottbox a pathway ID is an edge name (`eu-1`), the same name as in
//! [`crate::playback::Edge::name`]. The headend's steering server lives at
//! [`steering_path`]; a playback session names it in
//! [`crate::playback::PlaybackSession::steering`].
//!
//! ottbox adds one query parameter, [`FAILED_PARAM`]: the pathways the
//! player gave up on since its last request (comma-separated). Neither
//! specification has a way to say "this pathway fails for me" (the
//! `_HLS_pathway` parameter is the one in use, which after a failover is
//! already another); the server ranks such pathways last for this player.

use serde::{Deserialize, Serialize};

/// The steering server's path prefix on the headend.
pub const STEERING_PREFIX: &str = "/api/v1/steering";

/// ottbox's extension parameter: pathways that failed for the player.
pub const FAILED_PARAM: &str = "ottbox_failed";

/// The only steering manifest version defined.
pub const VERSION: u32 = 1;

/// The TTL a player uses when the manifest gives none (both specifications
/// say 300 s).
pub const DEFAULT_TTL_S: u64 = 300;

/// The steering server path for a title and protocol.
pub fn steering_path(title_id: &str, protocol: SteeringProtocol) -> String {
    format!("{STEERING_PREFIX}/{title_id}/{}", protocol.as_str())
}

/// Which specification's names a steering exchange uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SteeringProtocol {
    /// HLS: `_HLS_pathway`, `_HLS_throughput`, `PATHWAY-PRIORITY`.
    Hls,
    /// DASH: `_DASH_pathway`, `_DASH_throughput`,
    /// `SERVICE-LOCATION-PRIORITY`.
    Dash,
}

impl SteeringProtocol {
    /// `hls` or `dash`, as in [`steering_path`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hls => "hls",
            Self::Dash => "dash",
        }
    }

    /// The query parameter naming the pathway in use.
    pub fn pathway_param(self) -> &'static str {
        match self {
            Self::Hls => "_HLS_pathway",
            Self::Dash => "_DASH_pathway",
        }
    }

    /// The query parameter carrying the measured throughput, bits/s.
    pub fn throughput_param(self) -> &'static str {
        match self {
            Self::Hls => "_HLS_throughput",
            Self::Dash => "_DASH_throughput",
        }
    }
}

/// A steering manifest (the server's JSON answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SteeringManifest {
    /// Always [`VERSION`].
    #[serde(rename = "VERSION")]
    pub version: u32,
    /// Seconds until the player asks again.
    #[serde(rename = "TTL", default = "default_ttl")]
    pub ttl_s: u64,
    /// Where to ask next (relative to the manifest's own URI); the same
    /// URI when absent.
    #[serde(
        rename = "RELOAD-URI",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reload_uri: Option<String>,
    /// HLS: pathway IDs, most preferred first.
    #[serde(
        rename = "PATHWAY-PRIORITY",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pathway_priority: Option<Vec<String>>,
    /// DASH: service locations, most preferred first.
    #[serde(
        rename = "SERVICE-LOCATION-PRIORITY",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub service_location_priority: Option<Vec<String>>,
}

fn default_ttl() -> u64 {
    DEFAULT_TTL_S
}

/// Why a steering manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SteeringError {
    /// Not JSON, or not the manifest's shape.
    #[error("steering manifest is not valid JSON of the expected shape: {0}")]
    Json(String),
    /// A version other than 1.
    #[error("steering manifest version {0} is not supported (only 1)")]
    Version(u32),
    /// No priority list, or an empty one.
    #[error("steering manifest has no pathway priority list")]
    NoPriority,
    /// A pathway ID with characters outside `[A-Za-z0-9._-]`, or twice.
    #[error("steering manifest has an invalid or repeated pathway ID {0:?}")]
    BadPathway(String),
}

impl SteeringError {
    /// A stable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Json(_) => "steering_json",
            Self::Version(_) => "steering_version",
            Self::NoPriority => "steering_no_priority",
            Self::BadPathway(_) => "steering_bad_pathway",
        }
    }
}

/// Whether `id` is a legal pathway ID (HLS: `[a-z]`, `[A-Z]`, `[0-9]`,
/// `.`, `-` and `_`).
pub fn is_pathway_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl SteeringManifest {
    /// A manifest with `priority` under the protocol's key.
    pub fn new(
        protocol: SteeringProtocol,
        ttl_s: u64,
        reload_uri: Option<String>,
        priority: Vec<String>,
    ) -> Self {
        let (hls, dash) = match protocol {
            SteeringProtocol::Hls => (Some(priority), None),
            SteeringProtocol::Dash => (None, Some(priority)),
        };
        Self {
            version: VERSION,
            ttl_s,
            reload_uri,
            pathway_priority: hls,
            service_location_priority: dash,
        }
    }

    /// Parses and checks a steering manifest: version 1, a non-empty
    /// priority list of legal, distinct pathway IDs. Garbage gets an error,
    /// never a panic.
    pub fn parse(bytes: &[u8]) -> Result<Self, SteeringError> {
        let manifest: Self =
            serde_json::from_slice(bytes).map_err(|e| SteeringError::Json(e.to_string()))?;
        if manifest.version != VERSION {
            return Err(SteeringError::Version(manifest.version));
        }
        let priority = manifest.priority();
        if priority.is_empty() {
            return Err(SteeringError::NoPriority);
        }
        for (i, id) in priority.iter().enumerate() {
            if !is_pathway_id(id) || priority[..i].contains(id) {
                return Err(SteeringError::BadPathway(id.clone()));
            }
        }
        Ok(manifest)
    }

    /// The priority list, whichever protocol's key holds it (HLS first).
    pub fn priority(&self) -> &[String] {
        self.pathway_priority
            .as_deref()
            .or(self.service_location_priority.as_deref())
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_protocols_keys() {
        let hls = SteeringManifest::parse(
            br#"{"VERSION":1,"TTL":10,"RELOAD-URI":"/s?x=1","PATHWAY-PRIORITY":["eu-1","eu-2"]}"#,
        )
        .expect("hls");
        assert_eq!(hls.priority(), ["eu-1", "eu-2"]);
        assert_eq!(hls.ttl_s, 10);
        assert_eq!(hls.reload_uri.as_deref(), Some("/s?x=1"));
        let dash =
            SteeringManifest::parse(br#"{"VERSION":1,"SERVICE-LOCATION-PRIORITY":["b","a"]}"#)
                .expect("dash");
        assert_eq!(dash.priority(), ["b", "a"]);
        assert_eq!(dash.ttl_s, DEFAULT_TTL_S);
    }

    #[test]
    fn round_trips_under_the_protocols_key() {
        let m = SteeringManifest::new(SteeringProtocol::Dash, 5, None, vec!["x".into()]);
        let text = serde_json::to_string(&m).expect("json");
        assert_eq!(
            text,
            r#"{"VERSION":1,"TTL":5,"SERVICE-LOCATION-PRIORITY":["x"]}"#
        );
        assert_eq!(SteeringManifest::parse(text.as_bytes()), Ok(m));
    }

    #[test]
    fn garbage_gets_a_clear_error() {
        let cases: [(&[u8], &str); 7] = [
            (b"", "steering_json"),
            (b"\xff\xfe<html>", "steering_json"),
            (
                br#"{"VERSION":"one","PATHWAY-PRIORITY":["a"]}"#,
                "steering_json",
            ),
            (
                br#"{"VERSION":2,"PATHWAY-PRIORITY":["a"]}"#,
                "steering_version",
            ),
            (br#"{"VERSION":1}"#, "steering_no_priority"),
            (
                br#"{"VERSION":1,"PATHWAY-PRIORITY":["a b"]}"#,
                "steering_bad_pathway",
            ),
            (
                br#"{"VERSION":1,"PATHWAY-PRIORITY":["a","a"]}"#,
                "steering_bad_pathway",
            ),
        ];
        for (input, code) in cases {
            let err = SteeringManifest::parse(input).expect_err("refused");
            assert_eq!(err.code(), code, "{input:?}: {err}");
            assert!(!err.to_string().is_empty());
        }
    }
}
