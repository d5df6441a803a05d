//! The steering client: the request URL, the answer, when to ask again.

use std::time::{Duration, Instant};

use ottbox_protocol::steering::{FAILED_PARAM, SteeringManifest, SteeringProtocol};
use url::Url;

use super::CdnError;

/// One title's conversation with its steering server.
///
/// The fetcher asks [`SteeringClient::due`] now and then; when it is, it
/// GETs [`SteeringClient::request_url`] and hands the body to
/// [`SteeringClient::on_reply`] (or calls [`SteeringClient::on_failure`]),
/// then gives the manifest's priority to
/// [`super::EdgeSelector::apply_priority`]. Until the first answer, and
/// whenever the server cannot be reached, the session's own order stands.
#[derive(Debug, Clone)]
pub struct SteeringClient {
    protocol: SteeringProtocol,
    /// Where the next request goes: the session's URL, then each answer's
    /// `RELOAD-URI` (resolved against the URL it came from).
    uri: Url,
    /// When to ask next; `None`: now.
    next_at: Option<Instant>,
    /// The TTL of the last answer (the retry delay after a failure).
    ttl: Duration,
}

impl SteeringClient {
    /// A client for the steering server at `url` (from the playback
    /// session, or an `EXT-X-CONTENT-STEERING` `SERVER-URI` / DASH
    /// `ContentSteering` element).
    pub fn new(url: &str, protocol: SteeringProtocol) -> Result<Self, CdnError> {
        let uri = Url::parse(url).map_err(|e| CdnError::SteeringUrl {
            url: url.to_owned(),
            why: e.to_string(),
        })?;
        if !matches!(uri.scheme(), "http" | "https") {
            return Err(CdnError::SteeringUrl {
                url: url.to_owned(),
                why: "only http and https are fetched".into(),
            });
        }
        Ok(Self {
            protocol,
            uri,
            next_at: None,
            ttl: Duration::from_secs(ottbox_protocol::steering::DEFAULT_TTL_S),
        })
    }

    /// Whether a request is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.next_at.is_none_or(|t| t <= now)
    }

    /// When the next request is due (`None`: now).
    pub fn next_at(&self) -> Option<Instant> {
        self.next_at
    }

    /// The URL of the next steering request: the current URI plus the
    /// pathway in use, the throughput measured on it (bits/s, rounded) and
    /// the pathways that failed since the last request. Parameters the
    /// URI already has are kept, except ours, which are replaced.
    pub fn request_url(
        &self,
        pathway: &str,
        throughput_bps: Option<f64>,
        failed: &[String],
    ) -> String {
        let (p_param, t_param) = (
            self.protocol.pathway_param(),
            self.protocol.throughput_param(),
        );
        let mut url = self.uri.clone();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != p_param && k != t_param && k != FAILED_PARAM)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut q = url.query_pairs_mut();
            q.clear().extend_pairs(kept);
            q.append_pair(p_param, pathway);
            if let Some(bps) = throughput_bps.filter(|b| b.is_finite() && *b >= 0.0) {
                q.append_pair(t_param, &format!("{}", bps.round() as u64));
            }
            if !failed.is_empty() {
                q.append_pair(FAILED_PARAM, &failed.join(","));
            }
        }
        url.into()
    }

    /// Takes the server's answer at `now`: parses and checks it, follows its
    /// `RELOAD-URI` and schedules the next request after its TTL.
    pub fn on_reply(&mut self, body: &[u8], now: Instant) -> Result<SteeringManifest, CdnError> {
        let manifest = match SteeringManifest::parse(body) {
            Ok(m) => m,
            Err(e) => {
                self.on_failure(now);
                return Err(e.into());
            }
        };
        if let Some(reload) = &manifest.reload_uri {
            match self.uri.join(reload) {
                Ok(next) if matches!(next.scheme(), "http" | "https") => self.uri = next,
                // A bad RELOAD-URI: keep asking where we asked.
                _ => {}
            }
        }
        // A TTL of 0 would have us ask in a loop.
        self.ttl = Duration::from_secs(manifest.ttl_s.max(1));
        self.next_at = Some(now + self.ttl);
        Ok(manifest)
    }

    /// The request failed (no answer, an HTTP error): keep the current
    /// priority and ask again after the last TTL.
    pub fn on_failure(&mut self, now: Instant) {
        self.next_at = Some(now + self.ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_pathway_throughput_and_failures() {
        let c = SteeringClient::new(
            "http://h:1/api/v1/steering/ml-1/hls?session=abc&_HLS_pathway=old",
            SteeringProtocol::Hls,
        )
        .expect("url");
        let url = c.request_url("eu-2", Some(4_512_345.6), &["eu-1".into(), "us-1".into()]);
        assert_eq!(
            url,
            "http://h:1/api/v1/steering/ml-1/hls?session=abc&_HLS_pathway=eu-2&_HLS_throughput=4512346&ottbox_failed=eu-1%2Cus-1"
        );
        let d = SteeringClient::new("https://h/s/dash", SteeringProtocol::Dash).expect("url");
        assert_eq!(
            d.request_url("eu-1", None, &[]),
            "https://h/s/dash?_DASH_pathway=eu-1"
        );
    }

    #[test]
    fn an_answer_sets_the_next_uri_and_time() {
        let t0 = Instant::now();
        let mut c = SteeringClient::new("http://h:1/s/t/hls", SteeringProtocol::Hls).expect("url");
        assert!(c.due(t0), "ask before the first segment");
        let m = c
            .on_reply(
                br#"{"VERSION":1,"TTL":10,"RELOAD-URI":"/s/t/hls?token=2","PATHWAY-PRIORITY":["eu-2","eu-1"]}"#,
                t0,
            )
            .expect("manifest");
        assert_eq!(m.priority(), ["eu-2", "eu-1"]);
        assert!(!c.due(t0 + Duration::from_secs(9)));
        assert!(c.due(t0 + Duration::from_secs(10)));
        assert_eq!(
            c.request_url("eu-2", None, &[]),
            "http://h:1/s/t/hls?token=2&_HLS_pathway=eu-2"
        );
    }

    #[test]
    fn garbage_is_a_clear_error_and_a_retry_later() {
        let t0 = Instant::now();
        let mut c = SteeringClient::new("http://h:1/s", SteeringProtocol::Hls).expect("url");
        for body in [
            &b"<html>502 Bad Gateway</html>"[..],
            b"{}",
            b"{\"VERSION\":1,\"PATHWAY-PRIORITY\":[]}",
        ] {
            let err = c.on_reply(body, t0).expect_err("garbage");
            assert!(err.code().starts_with("steering_"), "{err}");
            assert!(err.to_string().contains("steering manifest"), "{err}");
        }
        assert!(!c.due(t0), "not asked again at once");
        assert!(c.due(t0 + Duration::from_secs(300)));
    }

    #[test]
    fn bad_urls_are_refused() {
        for bad in ["", "not a url", "ftp://h/s", "/relative"] {
            let err = SteeringClient::new(bad, SteeringProtocol::Hls).expect_err(bad);
            assert_eq!(err.code(), "cdn_steering_url");
        }
    }
}
