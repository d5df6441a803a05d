//! The box's player: what Play, Preview and Stop mean for the viewer.
//!
//! The streaming itself is [`playback::run`](crate::playback::run);
//! this module is the bookkeeping around it:
//!
//! - Play opens a playback session on the headend first, so refusals
//!   (`region_blocked`, `not_entitled`) come back to the caller before any
//!   media is fetched;
//! - one playback at a time: a new Play or Preview stops the one before;
//! - the resume point is saved while playing (every
//!   [`SAVE_EVERY_S`] seconds of media, so a power cut loses little) and
//!   on Stop; a title played to the end leaves Continue watching;
//! - `play`, `progress` and `complete` viewing events go to the durable
//!   queue, which feeds the headend's history and recommendations;
//! - previews are muted, at the lowest rung, and leave no history;
//! - ads: the session's VMAP plan is fetched at Play, and the
//!   [`programme`] task plays its breaks around the title through the same
//!   engine, by the rules of [`crate::ads`].
//!
//! Its [`PlayerStatus`] is a watch channel the D-Bus layer serves as
//! `Player1` properties.

mod programme;

use std::sync::{Arc, Mutex, PoisonError};

use ottbox_protocol::dbus::{PlayState, Tile};
use ottbox_protocol::playback::EventKind;
use tokio::sync::{mpsc, watch};

use crate::account::AccountError;
use crate::ads::beacons::Beacons;
use crate::ads::{self, Schedule};
use crate::catalog::{Catalog, CatalogError, resume};
use crate::events::Events;
use crate::media::pipeline::Frame;
use crate::net::HeadendError;
use crate::playback::context::Engine;
use crate::playback::selection::{AUDIO_LANGUAGE_KEY, SUBTITLES_KEY};
use crate::playback::status::{Command, Qoe, Status};
use crate::playback::warm::Warm;
use crate::store::StoreError;
use ottbox_formats::ad_plan::AdPlan;

/// Seconds of media between resume-point saves while playing.
pub const SAVE_EVERY_S: f64 = 10.0;

/// Why a player request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlayerError {
    /// The title's details could not be had.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// No account.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The headend refused the playback session.
    #[error(transparent)]
    Headend(#[from] HeadendError),
    /// The resume point or an event could not be saved.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bad argument.
    #[error("invalid_argument: {0}")]
    InvalidArgument(String),
    /// Nothing is playing.
    #[error("not_playing: nothing is playing")]
    NotPlaying,
    /// The request waits for the end of the ad.
    #[error("ad_playing: {0}")]
    AdPlaying(String),
}

/// What the player shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlayerStatus {
    /// `Stopped`, or the engine's state.
    pub state: PlayState,
    /// The playback this status is of (0 before the first): a new one for
    /// every Play and Preview, never reused, even across restarts.
    pub playback: u64,
    /// The title playing or last played.
    pub title_id: String,
    /// The engine's status (the last one after Stop).
    pub engine: Status,
    /// A preview is playing.
    pub preview: bool,
    /// The ad playing, if one is.
    pub ad: Option<AdStatus>,
}

/// The ad on screen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdStatus {
    /// Its break, e.g. `preroll`, `midroll-1`, `postroll`.
    pub break_id: String,
    /// Its place in the break, from 1.
    pub index: u32,
    /// Ads in the break.
    pub count: u32,
    /// Seconds until it ends.
    pub remaining_s: f64,
}

impl PlayerStatus {
    /// `code: sentence` of the last failure, else empty.
    pub fn last_error(&self) -> String {
        self.engine
            .error
            .as_ref()
            .map(|(code, msg)| {
                if msg.starts_with(code.as_str()) {
                    msg.clone()
                } else {
                    format!("{code}: {msg}")
                }
            })
            .unwrap_or_default()
    }

    /// The QoE figures.
    pub fn qoe(&self) -> Qoe {
        self.engine.qoe
    }
}

/// The one playback of the box, if any: a [`programme`] task playing the
/// title and its ad breaks.
struct Current {
    requests: mpsc::UnboundedSender<programme::Request>,
    /// The title's own status, kept apart from the ads' (its position is
    /// the resume point while an ad plays).
    content: Arc<Mutex<Status>>,
    tile: Tile,
    preview: bool,
    task: tokio::task::JoinHandle<()>,
}

/// The player.
pub struct Player {
    /// The headend, account, store and config every playback uses.
    engine: Engine,
    /// What predictive prefetch made ready to start from memory.
    warm: Arc<Warm>,
    catalog: Arc<Catalog>,
    events: Arc<Events>,
    beacons: Arc<Beacons>,
    current: Mutex<Option<Current>>,
    status: watch::Sender<PlayerStatus>,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Player")
            .field("status", &*self.status.borrow())
            .finish_non_exhaustive()
    }
}

impl Player {
    /// A stopped player.
    pub fn new(
        engine: Engine,
        warm: Arc<Warm>,
        catalog: Arc<Catalog>,
        events: Arc<Events>,
        beacons: Arc<Beacons>,
    ) -> Arc<Self> {
        let (status, _) = watch::channel(PlayerStatus::default());
        Arc::new(Self {
            engine,
            warm,
            catalog,
            events,
            beacons,
            current: Mutex::new(None),
            status,
        })
    }

    /// What predictive prefetch made ready.
    pub fn warm(&self) -> &Arc<Warm> {
        &self.warm
    }

    /// The status now.
    pub fn status(&self) -> PlayerStatus {
        self.status.borrow().clone()
    }

    /// Status changes.
    pub fn subscribe(&self) -> watch::Receiver<PlayerStatus> {
        self.status.subscribe()
    }

    /// Plays `title_id` from `from_s` (negative: from the resume point,
    /// the box's own if it has one, else the headend's).
    /// the box's own if it has one, else the headend's); returns the new
    /// playback's id.
    pub async fn play(self: &Arc<Self>, title_id: &str, from_s: f64) -> Result<u64, PlayerError> {
        self.open(title_id, from_s, false).await
    }

    /// A muted, lowest-rung preview of `title_id` from its start; returns
    /// the new playback's id.
    pub async fn preview(self: &Arc<Self>, title_id: &str) -> Result<u64, PlayerError> {
        self.open(title_id, 0.0, true).await
    }

    async fn open(
        self: &Arc<Self>,
        title_id: &str,
        from_s: f64,
        preview: bool,
    ) -> Result<u64, PlayerError> {
        let requested_at = std::time::Instant::now();
        if !from_s.is_finite() {
            return Err(PlayerError::InvalidArgument(
                "the start position must be a number".into(),
            ));
        }
        let details = self.catalog.details(title_id).await?;
        let token = self.engine.account.access_token().await?;
        let warm = self.warm.get(title_id);
        let session = match &warm {
            Some(w) => w.session.clone(),
            None => self.engine.headend.playback(&token, title_id).await?,
        };
        let start = if preview {
            0.0
        } else if from_s >= 0.0 {
            from_s
        } else {
            resume::start_at(&self.engine.store, title_id, session.resume_s)
        };
        if session.duration_s > 0.0 && start > session.duration_s {
            return Err(PlayerError::InvalidArgument(format!(
                "{title_id} is {:.0} s long; cannot start at {start:.0} s",
                session.duration_s
            )));
        }
        let schedule = match &session.ad_plan_url {
            Some(url) if !preview => {
                Schedule::new(self.ad_plan(url, session.duration_s).await, start)
            }
            _ => Schedule::default(),
        };
        self.stop()?;
        if !preview {
            let mut event = Events::event(EventKind::Play);
            event.title_id = Some(title_id.to_owned());
            event.position_s = Some(start);
            self.events.push(&event)?;
        }
        let playback = self.engine.store.next_id()?;
        let engine = self.engine.clone();
        let first = Status {
            state: PlayState::Loading,
            position_s: start,
            duration_s: session.duration_s,
            ..Status::default()
        };
        let content = Arc::new(Mutex::new(first.clone()));
        // From here on every status is the new playback's, loading.
        self.status.send_modify(|s| {
            *s = PlayerStatus {
                state: first.state,
                playback,
                title_id: title_id.to_owned(),
                engine: first,
                preview,
                ad: None,
            };
        });
        let (requests, rx) = mpsc::unbounded_channel();
        let programme = programme::Programme {
            player: self.clone(),
            engine,
            session,
            tile: details.tile.clone(),
            preview,
            schedule,
            requests: rx,
            content: content.clone(),
            max_height: 0,
            warm,
            playback,
        };
        let task = tokio::spawn(programme.run(start, requested_at));
        *self.lock() = Some(Current {
            requests,
            content,
            tile: details.tile,
            preview,
            task,
        });
        Ok(playback)
    }

    /// The ad plan at `url`; none when it cannot be had (the title plays
    /// without ads rather than not at all).
    async fn ad_plan(&self, url: &str, duration_s: f64) -> AdPlan {
        match ads::fetch_plan(&self.engine.headend.http(), url, duration_s).await {
            Ok(plan) => plan,
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "no ads for this playback");
                AdPlan::default()
            }
        }
    }

    /// Stops what plays, saving its resume point. Stopping a stopped
    /// player is fine.
    pub fn stop(&self) -> Result<(), PlayerError> {
        let Some(current) = self.lock().take() else {
            return Ok(());
        };
        current.task.abort();
        let last = current
            .content
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // An ended playback saved its last position already. A failed one
        // still keeps where the viewer was (or asked to start): Play again
        // resumes there.
        let saved = if current.preview || last.state == PlayState::Ended {
            Ok(())
        } else {
            self.keep_position(&current.tile, &last)
        };
        self.status.send_modify(|s| {
            s.state = PlayState::Stopped;
            s.engine = last;
            s.ad = None;
        });
        saved
    }

    /// Sends `command` to what plays. Seeking waits for the end of an
    /// ad.
    pub fn command(&self, command: Command) -> Result<(), PlayerError> {
        if matches!(command, Command::Seek(_)) && self.status.borrow().ad.is_some() {
            return Err(PlayerError::AdPlaying(
                "seeking is possible once the ad ends".into(),
            ));
        }
        self.request(programme::Request::Command(command))
    }

    /// Plays `language` (one of the title's audio languages) from here
    /// on, and in every title after that has it: the choice is kept in
    /// the store, and a running playback (or the title after its ad)
    /// switches to it.
    pub fn set_audio_language(&self, language: &str) -> Result<(), PlayerError> {
        let offered = self.status().engine.tracks.audio_languages;
        self.choose(AUDIO_LANGUAGE_KEY, language, &offered, "audio")?;
        self.request(programme::Request::Command(Command::AudioLanguageChanged))
    }

    /// Shows subtitles in `language` (one of the title's), or none for
    /// `""`, from here on and in later titles: kept like the audio
    /// language.
    pub fn set_subtitles(&self, language: &str) -> Result<(), PlayerError> {
        let offered = self.status().engine.tracks.subtitle_languages;
        if !language.is_empty() {
            self.choose(SUBTITLES_KEY, language, &offered, "subtitle")?;
        } else if self.lock().is_none() {
            return Err(PlayerError::NotPlaying);
        } else {
            self.engine
                .store
                .put(&self.engine.store.meta, SUBTITLES_KEY, &String::new())?;
        }
        self.request(programme::Request::Command(Command::SubtitlesChanged))
    }

    /// Keeps `language` under `key` if something plays and offers it.
    fn choose(
        &self,
        key: &str,
        language: &str,
        offered: &[String],
        what: &str,
    ) -> Result<(), PlayerError> {
        if self.lock().is_none() {
            return Err(PlayerError::NotPlaying);
        }
        if !offered.iter().any(|l| l == language) {
            return Err(PlayerError::InvalidArgument(format!(
                "{language:?} is not one of this title's {what} languages {offered:?}"
            )));
        }
        self.engine
            .store
            .put(&self.engine.store.meta, key, &language.to_owned())?;
        Ok(())
    }

    /// The picture on screen.
    pub async fn snapshot(&self) -> Result<Option<Frame>, PlayerError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.request(programme::Request::Snapshot(tx))?;
        Ok(rx.await.ok().flatten())
    }

    fn request(&self, request: programme::Request) -> Result<(), PlayerError> {
        match &*self.lock() {
            Some(c) => {
                // A programme that has ended ignores requests, as a
                // finished playback does.
                let _ = c.requests.send(request);
                Ok(())
            }
            None => Err(PlayerError::NotPlaying),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Current>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Saves the resume point and queues the matching event: `complete` at
    /// the end, else `progress`.
    fn keep_position(&self, tile: &Tile, status: &Status) -> Result<(), PlayerError> {
        resume::save(
            &self.engine.store,
            tile,
            status.position_s,
            status.duration_s,
        )?;
        self.engine.store.flush()?;
        let kind = if status.state == PlayState::Ended {
            EventKind::Complete
        } else {
            EventKind::Progress
        };
        let mut event = Events::event(kind);
        event.title_id = Some(tile.id.clone());
        event.position_s = Some(status.position_s);
        self.events.push(&event)?;
        Ok(())
    }
}
