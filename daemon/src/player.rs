//! The box's player: what Play, Preview and Stop mean for the viewer.
//!
//! The streaming itself is [`playback::session`](crate::playback::session);
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
//! - previews are muted, at the lowest rung, and leave no history.
//!
//! Its [`PlayerStatus`] is a watch channel the D-Bus layer serves as
//! `Player1` properties.

use std::sync::{Arc, Mutex, PoisonError};

use ottbox_protocol::dbus::Tile;
use ottbox_protocol::playback::EventKind;
use tokio::sync::watch;

use crate::account::{Account, AccountError};
use crate::catalog::{Catalog, CatalogError, resume};
use crate::config::PlayerConfig;
use crate::events::Events;
use crate::media::pipeline::Frame;
use crate::net::{Headend, HeadendError};
use crate::playback::session::{Command, Engine, Playback, Qoe, Start, State, Status};
use crate::store::{Store, StoreError};

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
}

/// What the player shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlayerStatus {
    /// `stopped`, or the engine's state.
    pub state: String,
    /// The title playing or last played.
    pub title_id: String,
    /// The engine's status (the last one after Stop).
    pub engine: Status,
    /// A preview is playing.
    pub preview: bool,
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

/// The one playback of the box, if any.
struct Current {
    playback: Playback,
    tile: Tile,
    preview: bool,
    bookkeeping: tokio::task::JoinHandle<()>,
}

/// The player.
pub struct Player {
    store: Store,
    headend: Headend,
    account: Arc<Account>,
    catalog: Arc<Catalog>,
    events: Arc<Events>,
    config: PlayerConfig,
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
        store: Store,
        headend: Headend,
        account: Arc<Account>,
        catalog: Arc<Catalog>,
        events: Arc<Events>,
        config: PlayerConfig,
    ) -> Arc<Self> {
        let (status, _) = watch::channel(PlayerStatus {
            state: "stopped".into(),
            ..PlayerStatus::default()
        });
        Arc::new(Self {
            store,
            headend,
            account,
            catalog,
            events,
            config,
            current: Mutex::new(None),
            status,
        })
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
    pub async fn play(self: &Arc<Self>, title_id: &str, from_s: f64) -> Result<(), PlayerError> {
        self.open(title_id, from_s, false).await
    }

    /// A muted, lowest-rung preview of `title_id` from its start.
    pub async fn preview(self: &Arc<Self>, title_id: &str) -> Result<(), PlayerError> {
        self.open(title_id, 0.0, true).await
    }

    async fn open(
        self: &Arc<Self>,
        title_id: &str,
        from_s: f64,
        preview: bool,
    ) -> Result<(), PlayerError> {
        let requested_at = std::time::Instant::now();
        if !from_s.is_finite() {
            return Err(PlayerError::InvalidArgument(
                "the start position must be a number".into(),
            ));
        }
        let details = self.catalog.details(title_id).await?;
        let token = self.account.access_token().await?;
        let session = self.headend.playback(&token, title_id).await?;
        let start = if preview {
            0.0
        } else if from_s >= 0.0 {
            from_s
        } else {
            resume::get(&self.store, title_id)
                .map(|r| r.position_s)
                .unwrap_or(session.resume_s)
        };
        if session.duration_s > 0.0 && start > session.duration_s {
            return Err(PlayerError::InvalidArgument(format!(
                "{title_id} is {:.0} s long; cannot start at {start:.0} s",
                session.duration_s
            )));
        }
        self.stop()?;
        if !preview {
            let mut event = Events::event(EventKind::Play);
            event.title_id = Some(title_id.to_owned());
            event.position_s = Some(start);
            self.events.push(&event)?;
        }
        let engine = Engine {
            headend: self.headend.clone(),
            account: self.account.clone(),
            store: self.store.clone(),
            config: self.config.clone(),
        };
        let playback = Playback::start(
            engine,
            Start {
                session,
                from_s: start,
                preview,
                requested_at,
            },
        );
        let bookkeeping = tokio::spawn(self.clone().follow(
            playback.status(),
            details.tile.clone(),
            preview,
            start,
        ));
        *self.lock() = Some(Current {
            playback,
            tile: details.tile,
            preview,
            bookkeeping,
        });
        Ok(())
    }

    /// Stops what plays, saving its resume point. Stopping a stopped
    /// player is fine.
    pub fn stop(&self) -> Result<(), PlayerError> {
        let Some(current) = self.lock().take() else {
            return Ok(());
        };
        current.bookkeeping.abort();
        let last = current.playback.status().borrow().clone();
        drop(current.playback);
        // An ended playback saved its last position already. A failed one
        // still keeps where the viewer was (or asked to start): Play again
        // resumes there.
        let saved = if current.preview || last.state == State::Ended {
            Ok(())
        } else {
            self.keep_position(&current.tile, &last)
        };
        self.status.send_modify(|s| {
            s.state = "stopped".into();
            s.engine = last;
        });
        saved
    }

    /// Sends `command` to what plays.
    pub fn command(&self, command: Command) -> Result<(), PlayerError> {
        match &*self.lock() {
            Some(c) => {
                c.playback.send(command);
                Ok(())
            }
            None => Err(PlayerError::NotPlaying),
        }
    }

    /// The picture on screen.
    pub async fn snapshot(&self) -> Result<Option<Frame>, PlayerError> {
        let request = {
            let guard = self.lock();
            let current = guard.as_ref().ok_or(PlayerError::NotPlaying)?;
            current.playback.snapshot()
        };
        Ok(request.await)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Current>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Mirrors the engine's status and keeps the resume point and the
    /// history up to date while it plays.
    async fn follow(
        self: Arc<Self>,
        mut engine: watch::Receiver<Status>,
        tile: Tile,
        preview: bool,
        start: f64,
    ) {
        let mut saved_at = start;
        loop {
            let status = engine.borrow_and_update().clone();
            let ended = status.state == State::Ended;
            let failed = status.state == State::Error;
            if !preview && (ended || (status.position_s - saved_at).abs() >= SAVE_EVERY_S) {
                saved_at = status.position_s;
                if let Err(e) = self.keep_position(&tile, &status) {
                    tracing::warn!(error = %e, "resume point not saved");
                }
            }
            self.status.send_modify(|s| {
                s.state = status.state.as_str().into();
                s.title_id = tile.id.clone();
                s.preview = preview;
                s.engine = status;
            });
            if ended || failed || engine.changed().await.is_err() {
                return;
            }
        }
    }

    /// Saves the resume point and queues the matching event: `complete` at
    /// the end, else `progress`.
    fn keep_position(&self, tile: &Tile, status: &Status) -> Result<(), PlayerError> {
        resume::save(&self.store, tile, status.position_s, status.duration_s)?;
        self.store.flush()?;
        let kind = if status.state == State::Ended {
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
