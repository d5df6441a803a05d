//! What every playback starts from: the daemon's services it uses
//! ([`Engine`]), and the first steps of opening a title that a playback
//! and predictive prefetch share: the router over the title's edges, its
//! presentation, the ABR as a start needs it.

use ottbox_formats::manifest::{Limits, Presentation};
use ottbox_protocol::playback::PlaybackSession;

use super::abr::{self, Abr, AbrConfig, Caps, Ladder};
use super::cmcd::{Cmcd, ObjectType, Request, StreamFormat};
use super::error::PlayError;
use super::fetch::Fetcher;
use super::route::Router;
use super::selection::Feed;
use crate::account::Account;
use crate::config::{ManifestChoice, PlayerConfig};
use crate::media::pipeline::MediaKind;
use crate::net::Headend;
use crate::store::Store;

/// Where the last session's bandwidth estimate is kept (`meta` tree).
pub(super) const BANDWIDTH_KEY: &str = "player.bandwidth_bps";

/// What the engine needs from the rest of the daemon.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The headend client (its HTTP client fetches media too).
    pub headend: Headend,
    /// For access tokens on license calls.
    pub account: std::sync::Arc<Account>,
    /// For the bandwidth estimate kept between sessions.
    pub store: Store,
    /// Sinks, buffering, limits.
    pub config: PlayerConfig,
}

/// A router over `session`'s edges, for its DASH manifest when the
/// config prefers DASH and the title has one, with a fresh CMCD session.
pub(super) fn router(engine: &Engine, session: &PlaybackSession) -> Result<Router, PlayError> {
    let fetcher = Fetcher::new(engine.headend.http());
    let dash = engine.config.manifest == ManifestChoice::Dash
        && session.edges.iter().any(|e| e.dash_url.is_some());
    let format = if dash {
        StreamFormat::Dash
    } else {
        StreamFormat::Hls
    };
    let cmcd = Cmcd::new(&crate::ids::new_id(), &session.title_id, format);
    Ok(Router::new(fetcher, cmcd, session, dash)?)
}

/// The ABR over `video`'s ladder as a playback starts it: the last
/// session's bandwidth estimate, the display's size as a cap.
pub(super) fn startup_abr(engine: &Engine, video: &Feed) -> Result<Abr, PlayError> {
    let ladder = Ladder::new(
        video
            .renditions
            .iter()
            .map(|r| abr::Rendition::new(r.bandwidth, r.width.unwrap_or(0), r.height.unwrap_or(0)))
            .collect(),
    )
    .map_err(|e| PlayError::Unsupported(e.to_string()))?;
    let prior = engine.store.get::<f64>(&engine.store.meta, BANDWIDTH_KEY);
    let mut abr = Abr::new(ladder, AbrConfig::default(), prior);
    abr.set_caps(display_caps(&engine.config));
    Ok(abr)
}

/// No rendition larger than the display.
pub(super) fn display_caps(config: &PlayerConfig) -> Caps {
    Caps::none().with_display(config.display_width, config.display_height)
}

/// The CMCD object type of a track's media segments.
pub(super) fn object_type(kind: MediaKind) -> ObjectType {
    match kind {
        MediaKind::Video => ObjectType::Video,
        MediaKind::Audio => ObjectType::Audio,
    }
}

/// The presentation from the session's edges (the router fails over
/// between them), media playlists and sidx boxes included.
pub(super) async fn open(router: &mut Router) -> Result<Presentation, PlayError> {
    let request = Request {
        startup: true,
        ..Request::new(ObjectType::Manifest)
    };
    let url = router.manifest_url()?;
    let manifest = router.get(&url, None, &request).await?;
    let mut p = Presentation::parse(&url, &manifest.bytes, &Limits::default())?;
    for pending in p.pending() {
        let doc = router.get(&pending.url, pending.range, &request).await?;
        p.supply(&pending, &doc.bytes)?;
    }
    Ok(p)
}
