//! One Play, as the viewer sees it: the pre-roll, the title, its
//! mid-rolls, the post-roll.
//!
//! A [`Programme`] task owns whatever plays now (an ad or the title: each
//! is its own [`Playback`] through the same engine and pipeline) and
//! answers the player's [`Request`]s with it. The title's own status is
//! kept apart in [`Programme::content`], so that while an ad plays the
//! resume point, position and duration stay the title's and Stop saves
//! the right place. A mid-roll stops the title's playback at the cue point
//! and starts a new one there after the break: the engine seeks that way
//! anyway (a fresh pipeline fed from the segment holding the target).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ottbox_protocol::dbus::{PlayState, Tile};
use ottbox_protocol::playback::{Edge, PlaybackSession};
use tokio::sync::{mpsc, oneshot};

use super::{AdStatus, Player, SAVE_EVERY_S};
use crate::ads::Schedule;
use crate::ads::tracker::{self, Tracker};
use crate::media::pipeline::Frame;
use crate::playback::context::Engine;
use crate::playback::playing::Start;
use crate::playback::run::Playback;
use crate::playback::status::{Command, Status};
use crate::playback::warm::WarmTitle;
use ottbox_formats::ad_plan::{Ad, AdBreak};

/// An ad that shows no frame this long after it was asked for is skipped.
const AD_START_TIMEOUT: Duration = Duration::from_secs(10);

/// What the player asks of the programme.
#[derive(Debug)]
pub(super) enum Request {
    /// For what plays now (seeks are checked against the ad schedule).
    Command(Command),
    /// The picture on screen.
    Snapshot(oneshot::Sender<Option<Frame>>),
}

/// The task's state.
pub(super) struct Programme {
    pub player: Arc<Player>,
    pub engine: Engine,
    pub session: PlaybackSession,
    pub tile: Tile,
    pub preview: bool,
    pub schedule: Schedule,
    pub requests: mpsc::UnboundedReceiver<Request>,
    /// The title's last status.
    pub content: Arc<Mutex<Status>>,
    /// The viewer's quality cap (0: none), applied to every playback.
    pub max_height: u32,
    /// The title's startup objects and keys, if prefetch had them.
    pub warm: Option<Arc<WarmTitle>>,
    /// The playback's id: only its statuses are shown.
    pub playback: u64,
}

/// What ends the title's playback.
enum Next {
    /// A mid-roll is due; the title goes on from this position after it.
    Break(AdBreak, f64),
    /// The title played to its end.
    Ended,
    /// It failed, or the player went away.
    Over,
}

impl Programme {
    /// Plays it all; `requested_at` is when the viewer pressed Play (the
    /// first frame, ad or title, counts from it).
    pub async fn run(mut self, from_s: f64, requested_at: Instant) {
        let mut pressed = Some(requested_at);
        if let Some(preroll) = self.schedule.preroll()
            && !self.play_break(&preroll, pressed.take()).await
        {
            return;
        }
        let mut from = from_s;
        loop {
            let at = pressed.take().unwrap_or_else(Instant::now);
            match self.play_title(from, at).await {
                Next::Break(midroll, resume_at) => {
                    if !self.play_break(&midroll, None).await {
                        return;
                    }
                    from = resume_at;
                }
                Next::Ended => {
                    if let Some(postroll) = self.schedule.postroll()
                        && !self.play_break(&postroll, None).await
                    {
                        return;
                    }
                    let last = self.content();
                    self.publish(&last, None);
                    return;
                }
                Next::Over => return,
            }
        }
    }

    /// Plays the title from `from_s` until it ends, fails, or a mid-roll
    /// is due (reached, or sought over).
    async fn play_title(&mut self, from_s: f64, requested_at: Instant) -> Next {
        let playback = self.start(
            self.session.clone(),
            from_s,
            requested_at,
            self.warm.clone(),
        );
        let mut status = playback.status();
        let mut saved_at = from_s;
        let mut last_position = from_s;
        loop {
            let now = status.borrow_and_update().clone();
            let ended = now.state == PlayState::Ended;
            if !self.preview && (ended || (now.position_s - saved_at).abs() >= SAVE_EVERY_S) {
                saved_at = now.position_s;
                self.keep_position(&now);
            }
            *self.content.lock().unwrap_or_else(PoisonError::into_inner) = now.clone();
            if ended {
                // Shown as ended after the post-roll.
                return Next::Ended;
            }
            self.publish(&now, None);
            if now.state == PlayState::Error {
                return Next::Over;
            }
            if now.state == PlayState::Playing {
                if let Some(midroll) = self.schedule.crossed(last_position, now.position_s) {
                    self.keep_position(&now);
                    return Next::Break(midroll, now.position_s);
                }
                last_position = now.position_s;
            }
            tokio::select! {
                changed = status.changed() => if changed.is_err() {
                    return Next::Over;
                },
                request = self.requests.recv() => match request {
                    None => return Next::Over,
                    Some(Request::Command(Command::Seek(target))) => {
                        if let Some(midroll) = self.schedule.crossed(last_position, target) {
                            self.keep_position(&Status { position_s: target, ..now });
                            return Next::Break(midroll, target);
                        }
                        playback.send(Command::Seek(target));
                        last_position = target;
                    }
                    Some(other) => self.serve(&playback, other),
                },
            }
        }
    }

    /// Plays a break's ads in turn; false when the player went away.
    async fn play_break(&mut self, adbreak: &AdBreak, mut requested_at: Option<Instant>) -> bool {
        for (i, ad) in adbreak.ads.iter().enumerate() {
            let on_screen = AdStatus {
                break_id: adbreak.id.clone(),
                index: i as u32 + 1,
                count: adbreak.ads.len() as u32,
                remaining_s: ad.duration_s,
            };
            let at = requested_at.take().unwrap_or_else(Instant::now);
            if !self.play_ad(ad, on_screen, at).await {
                return false;
            }
        }
        true
    }

    /// Plays one ad to its end, firing its beacons; a failed or stuck ad
    /// is skipped. False when the player went away.
    async fn play_ad(&mut self, ad: &Ad, mut on_screen: AdStatus, requested_at: Instant) -> bool {
        let playback = self.start(ad_session(ad), 0.0, requested_at, None);
        let mut status = playback.status();
        let mut tracker = Tracker::new(ad);
        let deadline = tokio::time::Instant::now() + AD_START_TIMEOUT;
        loop {
            let now = status.borrow_and_update().clone();
            let shown = now.qoe.time_to_first_frame_ms.is_some();
            match now.state {
                PlayState::Ended => {
                    self.owe(tracker.complete());
                    return true;
                }
                PlayState::Error => {
                    let (code, message) = now.error.clone().unwrap_or_default();
                    tracing::warn!(ad = %ad.id, %code, %message, "ad skipped");
                    self.owe(tracker.error(vast_error(&code)));
                    return true;
                }
                _ if shown => self.owe(tracker.progress(now.position_s)),
                _ => {}
            }
            on_screen.remaining_s = (ad.duration_s - now.position_s).max(0.0);
            self.publish(&now, Some(on_screen.clone()));
            tokio::select! {
                changed = status.changed() => if changed.is_err() {
                    return true;
                },
                () = tokio::time::sleep_until(deadline), if !shown => {
                    tracing::warn!(ad = %ad.id, "ad showed no frame in time; skipped");
                    self.owe(tracker.error(tracker::ERROR_TIMEOUT));
                    return true;
                }
                request = self.requests.recv() => match request {
                    None => return false,
                    // The player refuses seeks in ads; one sent just as
                    // the ad began is dropped.
                    Some(Request::Command(Command::Seek(_))) => {}
                    Some(other) => self.serve(&playback, other),
                },
            }
        }
    }

    /// A playback of `session` with the viewer's cap.
    fn start(
        &self,
        session: PlaybackSession,
        from_s: f64,
        requested_at: Instant,
        warm: Option<Arc<WarmTitle>>,
    ) -> Playback {
        let playback = Playback::start(
            self.engine.clone(),
            Start {
                session,
                from_s,
                preview: self.preview,
                requested_at,
                warm,
            },
        );
        if self.max_height > 0 {
            playback.send(Command::SetMaxHeight(self.max_height));
        }
        playback
    }

    /// Pause, resume, a cap or a snapshot, for what plays now.
    fn serve(&mut self, playback: &Playback, request: Request) {
        match request {
            Request::Command(command) => {
                if let Command::SetMaxHeight(h) = command {
                    self.max_height = h;
                }
                playback.send(command);
            }
            Request::Snapshot(reply) => {
                let frame = playback.snapshot();
                tokio::spawn(async move {
                    let _ = reply.send(frame.await);
                });
            }
        }
    }

    fn content(&self) -> Status {
        self.content
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn keep_position(&self, status: &Status) {
        if let Err(e) = self.player.keep_position(&self.tile, status) {
            tracing::warn!(error = %e, "resume point not saved");
        }
    }

    fn owe(&self, urls: Vec<String>) {
        if urls.is_empty() {
            return;
        }
        if let Err(e) = self.player.beacons.push(urls) {
            tracing::warn!(error = %e, "ad beacons not queued");
        }
    }

    /// Shows `engine` (the title's or an ad's status) as the player's;
    /// during an ad, position and duration stay the title's.
    fn publish(&self, engine: &Status, ad: Option<AdStatus>) {
        let shown = match &ad {
            Some(_) => {
                let content = self.content();
                Status {
                    position_s: content.position_s,
                    duration_s: content.duration_s,
                    ..engine.clone()
                }
            }
            None => engine.clone(),
        };
        // A programme stopped a moment ago may still publish once: the
        // status belongs to the playback that replaced it.
        self.player.status.send_if_modified(|s| {
            if s.playback != self.playback {
                return false;
            }
            s.state = shown.state;
            s.title_id = self.tile.id.clone();
            s.preview = self.preview;
            s.engine = shown;
            s.ad = ad;
            true
        });
    }
}

/// A playback session for one ad: a clear stream on one "edge", no
/// license.
fn ad_session(ad: &Ad) -> PlaybackSession {
    PlaybackSession {
        title_id: ad.id.clone(),
        asset_id: ad.id.clone(),
        scheme: "clear".into(),
        duration_s: ad.duration_s,
        edges: vec![Edge {
            name: "ads".into(),
            hls_url: ad.hls_url.clone().unwrap_or_default(),
            dash_url: ad.dash_url.clone(),
        }],
        license_url: String::new(),
        resume_s: 0.0,
        ad_plan_url: None,
        steering: None,
    }
}

/// The VAST error code for an engine failure code.
fn vast_error(code: &str) -> u32 {
    if code.starts_with("media.http") || code.starts_with("media.unreachable") {
        tracker::ERROR_FILE_NOT_FOUND
    } else {
        tracker::ERROR_PLAYBACK
    }
}
