//! Where each media request goes: the CDN edge the selector picks, with
//! CMCD data, retried on the next edge when one fails.
//!
//! The session's edges serve the same tree under their own base URL
//! (`https://eu-1.cdn/origin/...`, `https://eu-2.cdn/origin/...`), so a
//! segment URL resolved against one edge's manifest is moved to another
//! edge by swapping that base. The manifest is parsed once; a failover
//! does not reload it or restart the pipeline: the next request simply
//! goes elsewhere, which is what keeps a killed edge invisible to the
//! viewer.
//!
//! The [`EdgeSelector`] decides (holds with backoff, slow edges, trying the
//! preferred edge again); this module only does the I/O it asks for, and
//! asks the steering server, when the session names one, for a new
//! preference order every TTL.

use std::time::{Duration, Instant};

use ottbox_protocol::playback::PlaybackSession;
use ottbox_protocol::steering::SteeringProtocol;
use url::Url;

use super::cdn::{EdgeSelector, Outcome, Policy, SteeringClient};
use super::cmcd::{Cmcd, Request};
use super::fetch::{Download, FetchError, Fetcher};
use super::objects::Objects;
use ottbox_formats::manifest::ByteRange;

/// Requests made for one download before giving up (each may go to a
/// different edge).
const ATTEMPTS: u32 = 3;
/// Bodies smaller than this say nothing about an edge's throughput.
const MEASURABLE_BYTES: usize = 16 * 1024;

/// How often, and how slowly, a playback moved between edges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdgeSwitches {
    /// Downloads served by another edge than the one before.
    pub count: u32,
    /// The longest a download took from its first failed request to its
    /// arrival from the next edge: what a failover costs the buffer.
    pub longest: Duration,
}

/// Routes one playback's requests over its edges.
#[derive(Debug)]
pub struct Router {
    fetcher: Fetcher,
    cmcd: Cmcd,
    selector: EdgeSelector,
    /// Each edge's base URL, in the session's order (the selector's
    /// indexes).
    bases: Vec<String>,
    /// Each edge's manifest URL, in the same order.
    manifests: Vec<String>,
    steering: Option<SteeringClient>,
    /// The edge that served the last successful download.
    served_by: Option<usize>,
    switches: EdgeSwitches,
    /// Answers fetched ahead (see [`super::warm`]), served without a
    /// request.
    warm: Objects,
    /// Requests `warm` answered.
    prefetched: u32,
    /// Every successful download, kept while warming a title.
    recorded: Option<Objects>,
}

impl Router {
    /// A router over `session`'s edges, using each edge's DASH manifest
    /// when `dash` and the edge has one, HLS otherwise.
    pub fn new(
        fetcher: Fetcher,
        cmcd: Cmcd,
        session: &PlaybackSession,
        dash: bool,
    ) -> Result<Self, FetchError> {
        let manifests: Vec<String> = session
            .edges
            .iter()
            .map(|e| match (&e.dash_url, dash) {
                (Some(d), true) => d.clone(),
                _ => e.hls_url.clone(),
            })
            .collect();
        let selector = EdgeSelector::new(session.edges.iter().map(|e| e.name.clone()), {
            Policy::default()
        })
        .map_err(|e| FetchError::Unreachable {
            url: String::new(),
            reason: e.to_string(),
        })?;
        let protocol = if dash {
            SteeringProtocol::Dash
        } else {
            SteeringProtocol::Hls
        };
        let steering = session
            .steering
            .as_ref()
            .map(|s| if dash { &s.dash_url } else { &s.hls_url })
            .and_then(|url| match SteeringClient::new(url, protocol) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring the session's steering URL");
                    None
                }
            });
        Ok(Self {
            fetcher,
            cmcd,
            selector,
            bases: bases(&manifests),
            manifests,
            steering,
            served_by: None,
            switches: EdgeSwitches::default(),
            warm: Objects::default(),
            prefetched: 0,
            recorded: None,
        })
    }

    /// The name of the edge the next request goes to.
    pub fn edge(&self) -> &str {
        self.selector.select(Instant::now()).name
    }

    /// The moves between edges so far.
    pub fn switches(&self) -> EdgeSwitches {
        self.switches
    }

    /// Answers `url`s held in `objects` from memory from now on.
    pub fn serve_from(&mut self, objects: Objects) {
        self.warm = objects;
    }

    /// How many requests were answered from memory.
    pub fn prefetched(&self) -> u32 {
        self.prefetched
    }

    /// Keeps every download from now on, for [`Router::take_recorded`].
    pub fn record(&mut self) {
        self.recorded = Some(Objects::default());
    }

    /// The downloads kept since [`Router::record`].
    pub fn take_recorded(&mut self) -> Objects {
        self.recorded.take().unwrap_or_default()
    }

    /// The selected edge's manifest URL.
    pub fn manifest_url(&self) -> Result<Url, FetchError> {
        let url = &self.manifests[self.selector.select(Instant::now()).index];
        Url::parse(url).map_err(|_| FetchError::Unreachable {
            url: url.clone(),
            reason: "not a URL".into(),
        })
    }

    /// Downloads `url` (a URL on any of the session's edges) from the edge
    /// the selector picks, with `request`'s CMCD data; a transient failure
    /// is reported to the selector and the request made again, on whatever
    /// edge it picks then.
    pub async fn get(
        &mut self,
        url: &Url,
        range: Option<ByteRange>,
        request: &Request,
    ) -> Result<Download, FetchError> {
        if let Some(body) = self.warm.get(url, range) {
            self.prefetched += 1;
            return Ok(Download {
                bytes: body.to_vec(),
                elapsed: Duration::ZERO,
                from_cache: true,
            });
        }
        let mut attempt = 1;
        let mut first_failure: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let edge = self.selector.select(now).index;
            let target = self.cmcd.apply(&self.rebase(url, edge), request);
            let result = self.fetcher.get(&target, range).await;
            let outcome = match &result {
                Ok(d) if d.bytes.len() >= MEASURABLE_BYTES && !d.elapsed.is_zero() => {
                    Outcome::Throughput(d.bytes.len() as f64 * 8.0 / d.elapsed.as_secs_f64())
                }
                Ok(_) => Outcome::Success,
                Err(FetchError::Status { status, .. }) => Outcome::Status(*status),
                Err(FetchError::Truncated { .. }) => Outcome::Timeout,
                Err(_) => Outcome::ConnectError,
            };
            self.selector.report(edge, outcome, Instant::now());
            match result {
                Ok(d) => {
                    self.served(edge, first_failure);
                    if let Some(recorded) = &mut self.recorded {
                        recorded.insert(url, range, &d.bytes);
                    }
                    return Ok(d);
                }
                Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                    first_failure.get_or_insert(now);
                    let next = self.selector.select(Instant::now()).index;
                    tracing::info!(
                        error = %e,
                        attempt,
                        from = self.selector.priority()[0],
                        to = self.edge(),
                        "download failed; trying again"
                    );
                    // Another edge is tried at once; the same one after a
                    // pause, so a blip has time to pass.
                    if next == edge {
                        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Asks the steering server for a new edge order when it is due; a
    /// failed or malformed answer keeps the current order. Never fails the
    /// playback: steering only ever improves on the session's own order.
    pub async fn steer(&mut self) {
        let now = Instant::now();
        let Some(client) = self.steering.as_mut().filter(|c| c.due(now)) else {
            return;
        };
        let current = self.selector.select(now);
        let throughput = self.selector.throughput_bps(current.index, now);
        let pathway = current.name.to_owned();
        let failed = self.selector.take_failed();
        let url = client.request_url(&pathway, throughput, &failed);
        let reply = match Url::parse(&url) {
            Ok(u) => self.fetcher.get(&u, None).await,
            Err(_) => return client.on_failure(now),
        };
        match reply {
            Ok(d) => match client.on_reply(&d.bytes, Instant::now()) {
                Ok(manifest) => {
                    self.selector.apply_priority(manifest.priority());
                    tracing::debug!(priority = ?self.selector.priority(), "steered");
                }
                Err(e) => tracing::warn!(error = %e, "steering answer ignored"),
            },
            Err(e) => {
                tracing::info!(error = %e, "steering server unreachable; keeping the order");
                client.on_failure(Instant::now());
            }
        }
    }

    /// Counts a download that `edge` served, after a failed request made
    /// at `failed_at` if there was one.
    fn served(&mut self, edge: usize, failed_at: Option<Instant>) {
        if self.served_by.is_some_and(|before| before != edge) {
            self.switches.count += 1;
            if let Some(at) = failed_at {
                self.switches.longest = self.switches.longest.max(at.elapsed());
            }
        }
        self.served_by = Some(edge);
    }

    /// `url` moved to edge `to`'s base, if it is on one of the edges.
    fn rebase(&self, url: &Url, to: usize) -> Url {
        let text = url.as_str();
        self.bases
            .iter()
            .find(|b| text.starts_with(b.as_str()))
            .and_then(|from| Url::parse(&format!("{}{}", self.bases[to], &text[from.len()..])).ok())
            .unwrap_or_else(|| url.clone())
    }
}

/// Each manifest URL without the tail they all share: the edges' base
/// URLs. One edge (nothing to compare) has its scheme, host and port.
fn bases(manifests: &[String]) -> Vec<String> {
    if manifests.len() < 2 {
        return manifests
            .iter()
            .map(|m| Url::parse(m).map_or_else(|_| m.clone(), |u| u.origin().ascii_serialization()))
            .collect();
    }
    let first = manifests[0].as_bytes();
    let mut tail = first.len();
    for m in &manifests[1..] {
        let common = first
            .iter()
            .rev()
            .zip(m.as_bytes().iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        tail = tail.min(common);
    }
    // Cut at a '/' so that "eu-1" and "eu-11" never share a digit.
    let shared = &manifests[0][manifests[0].len() - tail..];
    let tail = shared.find('/').map_or(0, |i| tail - i);
    manifests
        .iter()
        .map(|m| m[..m.len() - tail].to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_are_what_the_edges_do_not_share() {
        let m = vec![
            "http://127.0.0.1:8001/origin/ml-6/hls/master.m3u8".to_owned(),
            "http://127.0.0.1:8011/origin/ml-6/hls/master.m3u8".to_owned(),
        ];
        assert_eq!(
            bases(&m),
            ["http://127.0.0.1:8001", "http://127.0.0.1:8011"]
        );
        let one = vec!["https://cdn.example/a/b.mpd".to_owned()];
        assert_eq!(bases(&one), ["https://cdn.example"]);
    }

    #[test]
    fn a_url_on_one_edge_moves_to_another_and_foreign_urls_stay() {
        let session: PlaybackSession = serde_json::from_value(serde_json::json!({
            "title_id": "ml-6",
            "asset_id": "t",
            "scheme": "cenc",
            "duration_s": 6.0,
            "edges": [
                {"name": "eu-1", "hls_url": "http://a:1/origin/t/hls/master.m3u8", "dash_url": null},
                {"name": "eu-2", "hls_url": "http://b:2/origin/t/hls/master.m3u8", "dash_url": null}
            ],
            "license_url": "http://h/license",
            "resume_s": 0.0,
            "ad_plan_url": null
        }))
        .expect("session");
        let router = Router::new(
            Fetcher::new(reqwest::Client::new()),
            Cmcd::new("sid", "ml-6", super::super::cmcd::StreamFormat::Hls),
            &session,
            false,
        )
        .expect("router");
        let seg = Url::parse("http://a:1/origin/t/hls/v0/seg-1.m4s").expect("url");
        assert_eq!(
            router.rebase(&seg, 1).as_str(),
            "http://b:2/origin/t/hls/v0/seg-1.m4s"
        );
        let elsewhere = Url::parse("http://ads.example/x.mp4").expect("url");
        assert_eq!(router.rebase(&elsewhere, 1), elsewhere);
    }
}
