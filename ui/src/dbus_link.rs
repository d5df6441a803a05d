//! The [`DaemonLink`] over D-Bus: the UI's commands become calls on
//! `ottboxd`'s interfaces (through the proxies in `ottbox-protocol`), and
//! the daemon's signals and property changes come back as [`Update`]s.
//!
//! The link runs on a thread of its own with a small Tokio runtime, so the
//! UI's event loop never waits on the bus. When the daemon's name has no
//! owner (not started yet, restarting) the UI gets [`Update::DaemonLost`]
//! and the link keeps trying; when it is back, [`Update::DaemonBack`] and
//! a fresh login state, so the screen carries on where it was.
//!
//! The player's statuses pass through a [`PlayerGate`]: a preview's are
//! tagged as such, a status of another title than the one asked for is
//! dropped, and settings chosen while nothing plays wait for a playback
//! that can take them (see [`crate::gate`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ottbox_protocol::catalog::{TitleDetails, TitleList, TitleSummary};
use ottbox_protocol::dbus::{
    Catalog1Proxy, Error, LoginState as DbusLogin, PlayState as DbusPlayState, Player1Proxy,
    PlayerProperties, Session1Proxy, Tile,
};
use tokio::sync::mpsc;
use zbus::export::futures_core::Stream;

use crate::daemon::{DaemonLink, LinkError};
use crate::event::{AdState, Command, ErrorReport, LoginState, PlayState, PlayerStatus, Update};
use crate::gate::PlayerGate;
use crate::wake::{Event, EventSink};

/// Which bus the daemon is on.
#[derive(Debug, Clone)]
pub enum BusChoice {
    /// The system bus (the box).
    System,
    /// The session bus (development).
    Session,
    /// An explicit address (tests).
    Address(String),
}

/// The link; [`DaemonLink::start`] spawns its thread.
#[derive(Debug)]
pub struct DbusLink {
    bus: BusChoice,
    commands: Option<mpsc::UnboundedSender<Command>>,
    in_flight: InFlight,
}

impl DbusLink {
    /// A link to the daemon on `bus`.
    pub fn new(bus: BusChoice) -> Self {
        Self {
            bus,
            commands: None,
            in_flight: InFlight::default(),
        }
    }
}

/// Commands sent and not yet carried out (their answers not yet in the
/// sink): what [`DaemonLink::busy`] reports.
#[derive(Debug, Clone, Default)]
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn add(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// One command is done; wakes the UI when it was the last one, so that
    /// a runner waiting for quiet notices without polling.
    fn done(&self, sink: &EventSink) {
        if self.0.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _ = sink.send(Event::Tick);
        }
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl DaemonLink for DbusLink {
    fn start(&mut self, sink: EventSink) -> Result<(), LinkError> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.commands = Some(tx);
        let bus = self.bus.clone();
        let in_flight = self.in_flight.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| LinkError::Bus(e.to_string()))?;
        std::thread::Builder::new()
            .name("dbus-link".into())
            .spawn(move || runtime.block_on(run(bus, sink, rx, in_flight)))
            .map_err(|e| LinkError::Bus(e.to_string()))?;
        Ok(())
    }

    fn send(&mut self, command: Command) -> Result<(), LinkError> {
        let commands = self
            .commands
            .as_ref()
            .ok_or_else(|| LinkError::Bus("the link is not started".into()))?;
        self.in_flight.add();
        commands.send(command).map_err(|_| {
            // Never to be carried out: not in flight either.
            self.in_flight.0.fetch_sub(1, Ordering::SeqCst);
            LinkError::Closed
        })
    }

    fn busy(&self) -> bool {
        self.in_flight.count() > 0
    }
}

/// Connects, serves until the daemon goes away, and starts again.
async fn run(
    bus: BusChoice,
    sink: EventSink,
    mut commands: mpsc::UnboundedReceiver<Command>,
    in_flight: InFlight,
) {
    let mut lost_reported = false;
    let mut gate = PlayerGate::default();
    loop {
        gate.reset();
        match session(&bus, &sink, &mut commands, &in_flight, &mut gate).await {
            Outcome::UiClosed => return,
            Outcome::Lost(why) => {
                if !lost_reported {
                    eprintln!("ottbox-ui: ottboxd unavailable: {why}");
                    if sink
                        .send(Event::Update(Box::new(Update::DaemonLost)))
                        .is_err()
                    {
                        return;
                    }
                    lost_reported = true;
                }
            }
        }
        // Commands sent while the daemon is away are dropped: the screen
        // asks again when it comes back (LoadHome follows the login state).
        while commands.try_recv().is_ok() {
            in_flight.done(&sink);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Ok(true) = daemon_present(&bus).await {
            lost_reported = false;
        }
    }
}

enum Outcome {
    UiClosed,
    Lost(String),
}

async fn connect(bus: &BusChoice) -> zbus::Result<zbus::Connection> {
    match bus {
        BusChoice::System => zbus::Connection::system().await,
        BusChoice::Session => zbus::Connection::session().await,
        BusChoice::Address(a) => zbus::connection::Builder::address(a.as_str()).build().await,
    }
}

async fn daemon_present(bus: &BusChoice) -> zbus::Result<bool> {
    let conn = connect(bus).await?;
    let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
    Ok(dbus
        .name_has_owner(ottbox_protocol::dbus::SERVICE.try_into()?)
        .await?)
}

async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *s).poll_next(cx)).await
}

/// One connection's life: report the state, then relay both ways.
async fn session(
    bus: &BusChoice,
    sink: &EventSink,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    in_flight: &InFlight,
    gate: &mut PlayerGate,
) -> Outcome {
    let lost = |e: zbus::Error| Outcome::Lost(e.to_string());
    let conn = match connect(bus).await {
        Ok(c) => c,
        Err(e) => return lost(e),
    };
    let proxies = async {
        Ok::<_, zbus::Error>((
            Session1Proxy::new(&conn).await?,
            Catalog1Proxy::new(&conn).await?,
            Player1Proxy::new(&conn).await?,
            // Statuses are read with one uncached GetAll after each change:
            // a cache may still hold a stopped preview's values when the
            // playback that replaced it is already under way.
            zbus::fdo::PropertiesProxy::builder(&conn)
                .destination(ottbox_protocol::dbus::SERVICE)
                .path(ottbox_protocol::dbus::PLAYER_PATH)
                .cache_properties(zbus::proxy::CacheProperties::No)
                .build()
                .await?,
            zbus::fdo::DBusProxy::new(&conn).await?,
        ))
    };
    let (session, catalog, player, properties, dbus) = match proxies.await {
        Ok(p) => p,
        Err(e) => return lost(e),
    };
    let send = |u: Update| sink.send(Event::Update(Box::new(u))).is_ok();
    // The daemon must be there now; if not, report lost and retry.
    let state = match session.state().await {
        Ok(s) => s,
        Err(e) => return lost(e),
    };
    if !send(Update::DaemonBack) || !send(login_update(state)) {
        return Outcome::UiClosed;
    }
    let player_interface = player.inner().interface().to_owned();
    if let Some(update) = prefetched(&properties, &player_interface).await
        && !send(update)
    {
        return Outcome::UiClosed;
    }
    let mut last_state = state;
    let mut reader = StatusReader {
        properties: &properties,
        interface: player.inner().interface().to_owned(),
        catalog: &catalog,
        names: HashMap::new(),
        last: None,
    };
    let (mut login_changes, mut rows, mut offline, mut player_changes, mut owner) = (
        session.receive_state_changed().await,
        match catalog.receive_rows_changed().await {
            Ok(s) => s,
            Err(e) => return lost(e),
        },
        catalog.receive_offline_changed().await,
        match properties.receive_properties_changed().await {
            Ok(s) => s,
            Err(e) => return lost(e),
        },
        match dbus
            .receive_name_owner_changed_with_args(&[(0, ottbox_protocol::dbus::SERVICE)])
            .await
        {
            Ok(s) => s,
            Err(e) => return lost(e),
        },
    );
    loop {
        let mut answered = false;
        let updates: Vec<Update> = tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return Outcome::UiClosed };
                answered = true;
                execute(&session, &catalog, &player, gate, command).await
            }
            Some(change) = next(&mut login_changes) => {
                let Ok(state) = change.get().await else {
                    continue;
                };
                // The stream begins with the value reported above: saying
                // `logged_out` twice would make the UI ask for a second
                // code, which replaces the first while the viewer may be
                // typing it. So only changes count, and of those only the
                // transitions to logged in / out (a code expiring is
                // pending → logged out: a fresh one is asked for); a new
                // code comes with the StartLogin reply.
                let changed = state != last_state;
                last_state = state;
                (changed && state != DbusLogin::Pending)
                    .then(|| login_update(state))
                    .into_iter()
                    .collect()
            }
            Some(_) = next(&mut rows) => home(&catalog).await.into_iter().collect(),
            Some(_) = next(&mut offline) => home(&catalog).await.into_iter().collect(),
            Some(change) = next(&mut player_changes) => {
                let mut updates: Vec<Update> = Vec::new();
                if mentions(&change, "Prefetched") {
                    updates.extend(prefetched(&properties, &player_interface).await);
                }
                if reader.shown(&change)
                    && let Some(status) = reader.read().await
                {
                    let (update, due) = gate.status(status);
                    // Choices kept while nothing played, now that a title
                    // can take them. A refusal (the title ended meanwhile)
                    // is no news for the viewer.
                    for command in due {
                        for refused in execute(&session, &catalog, &player, gate, command).await {
                            eprintln!("ottbox-ui: a kept setting was refused: {refused:?}");
                        }
                    }
                    updates.extend(update.filter(|u| reader.changed(u)));
                }
                updates
            }
            Some(signal) = next(&mut owner) => {
                let gone = signal.args().map(|a| a.new_owner().is_none()).unwrap_or(true);
                if gone {
                    return Outcome::Lost("ottboxd left the bus".into());
                }
                Vec::new()
            }
        };
        for update in updates {
            if !send(update) {
                return Outcome::UiClosed;
            }
        }
        // Only now: the answers are in the sink before the UI hears "done".
        if answered {
            in_flight.done(sink);
        }
    }
}

fn login_update(state: DbusLogin) -> Update {
    Update::Login {
        login: match state {
            DbusLogin::LoggedIn => LoginState::LoggedIn,
            DbusLogin::LoggedOut | DbusLogin::Pending => LoginState::LoggedOut,
        },
    }
}

fn error(e: &Error) -> Update {
    Update::Error {
        error: ErrorReport {
            code: e.code().to_owned(),
            message: e.message(),
        },
    }
}

async fn home(catalog: &Catalog1Proxy<'_>) -> Option<Update> {
    match catalog.home().await {
        Ok(view) => Some(Update::Home {
            offline: view.offline,
            home: (&view).into(),
        }),
        // Not logged in yet: the login screen is showing; nothing to say.
        Err(Error::NotLoggedIn(_)) => None,
        Err(e) => Some(error(&e)),
    }
}

fn list(tiles: &[Tile]) -> TitleList {
    TitleList {
        results: tiles.iter().map(TitleSummary::from).collect(),
    }
}

/// Player properties whose change the UI shows (not the QoE, decoder or
/// edge, which change without anything on screen to redraw).
const SHOWN: [&str; 16] = [
    "Playback",
    "State",
    "Title",
    "Position",
    "Duration",
    "Rendition",
    "Bitrate",
    "Buffer",
    "AudioLanguages",
    "AudioLanguage",
    "SubtitleLanguages",
    "Subtitles",
    "SubtitleText",
    "AdBreak",
    "AdIndex",
    "AdRemaining",
];

/// The titles whose start the daemon holds ready (read uncached, like the
/// status: a cache may lag the change signal that prompted the read).
async fn prefetched(
    properties: &zbus::fdo::PropertiesProxy<'_>,
    interface: &zbus::names::InterfaceName<'static>,
) -> Option<Update> {
    let value = properties.get(interface.clone(), "Prefetched").await.ok()?;
    let title_ids = Vec::<String>::try_from(value).ok()?;
    Some(Update::Prefetched { title_ids })
}

/// True when `change` says `property` changed (or was invalidated).
fn mentions(change: &zbus::fdo::PropertiesChanged, property: &str) -> bool {
    change.args().is_ok_and(|args| {
        args.changed_properties.contains_key(property)
            || args.invalidated_properties.contains(&property)
    })
}

/// Reads the player's status when a property the UI shows changes.
struct StatusReader<'a> {
    properties: &'a zbus::fdo::PropertiesProxy<'a>,
    interface: zbus::names::InterfaceName<'static>,
    catalog: &'a Catalog1Proxy<'a>,
    /// Title names by id: one `Details` call per title, not per status.
    names: HashMap<String, String>,
    /// The last status sent, so that a change signalled in several
    /// `PropertiesChanged` sends one update.
    last: Option<Update>,
}

impl StatusReader<'_> {
    /// True when `change` is about a property the UI shows.
    fn shown(&self, change: &zbus::fdo::PropertiesChanged) -> bool {
        let Ok(args) = change.args() else {
            return false;
        };
        args.interface_name == self.interface
            && (args.changed_properties.keys().any(|k| SHOWN.contains(k))
                || args
                    .invalidated_properties
                    .iter()
                    .any(|k| SHOWN.contains(k)))
    }

    /// True when `update` differs from the last one sent (and remembers it).
    fn changed(&mut self, update: &Update) -> bool {
        if self.last.as_ref() == Some(update) {
            return false;
        }
        self.last = Some(update.clone());
        true
    }

    /// The status now, from one `GetAll`.
    async fn read(&mut self) -> Option<PlayerStatus> {
        let p = PlayerProperties::read(self.properties).await.ok()?;
        let title = if p.title.is_empty() {
            String::new()
        } else if let Some(name) = self.names.get(&p.title) {
            name.clone()
        } else {
            match self.catalog.details(&p.title).await {
                Ok(d) => {
                    self.names.insert(p.title.clone(), d.tile.name.clone());
                    d.tile.name
                }
                Err(_) => p.title.clone(),
            }
        };
        let ad = (!p.ad_break.is_empty()).then_some(AdState {
            in_ad: true,
            index: p.ad_index,
            count: p.ad_count,
            seconds_left: p.ad_remaining,
        });
        Some(PlayerStatus {
            state: match p.state {
                DbusPlayState::Playing => PlayState::Playing,
                DbusPlayState::Paused => PlayState::Paused,
                DbusPlayState::Loading | DbusPlayState::Buffering => PlayState::Buffering,
                DbusPlayState::Error => PlayState::Error,
                DbusPlayState::Stopped | DbusPlayState::Ended => PlayState::Stopped,
            },
            title,
            position_s: p.position,
            duration_s: p.duration,
            buffer_s: p.buffer,
            rendition: p.rendition,
            bitrate: p.bitrate,
            ad,
            title_id: p.title,
            preview: false,
            audio_languages: p.audio_languages,
            audio_language: p.audio_language,
            subtitle_languages: p.subtitle_languages,
            subtitles: p.subtitles,
            subtitle_text: p.subtitle_text,
            playback: p.playback,
        })
    }
}

/// Carries out one command; returns what to tell the UI.
async fn execute(
    session: &Session1Proxy<'_>,
    catalog: &Catalog1Proxy<'_>,
    player: &Player1Proxy<'_>,
    gate: &mut PlayerGate,
    command: Command,
) -> Vec<Update> {
    let done = |r: Result<(), Error>| r.err().map(|e| error(&e)).into_iter().collect();
    if !gate.command(&command) {
        // A StopPreview with no preview, or a choice kept for later.
        return Vec::new();
    }
    match command {
        Command::StartLogin => match session.start_login().await {
            Ok(code) => vec![Update::Login {
                login: LoginState::ShowingCode {
                    user_code: code.user_code,
                    verification_uri: code.verification_uri,
                    verification_uri_complete: code.qr_payload,
                },
            }],
            Err(e) => vec![error(&e)],
        },
        Command::Logout => done(session.logout().await),
        Command::LoadHome => home(catalog).await.into_iter().collect(),
        Command::Search { query } => match catalog.search(&query).await {
            Ok(tiles) => vec![Update::SearchResults {
                query,
                results: list(&tiles),
            }],
            Err(e) => vec![error(&e)],
        },
        Command::LoadDetails { title_id } => {
            let details = catalog.details(&title_id).await;
            let similar = catalog.similar(&title_id).await.unwrap_or_default();
            match details {
                Ok(d) => vec![Update::Details {
                    details: TitleDetails::from(&d),
                    similar: list(&similar),
                }],
                Err(e) => vec![error(&e)],
            }
        }
        Command::Play { title_id, from_s } => match player.play(&title_id, from_s).await {
            Ok(playback) => {
                gate.started(playback);
                Vec::new()
            }
            Err(e) => vec![error(&e)],
        },
        Command::Pause => done(player.pause().await),
        Command::Resume => done(player.resume().await),
        Command::Seek { position_s } => done(player.seek(position_s).await),
        Command::Stop | Command::StopPreview => done(player.stop().await),
        Command::Preview { title_id, rect } => {
            let (w, h) = (
                i32::try_from(rect.width).unwrap_or(i32::MAX),
                i32::try_from(rect.height).unwrap_or(i32::MAX),
            );
            // A preview that cannot play (not in the plan, blocked here)
            // leaves the hero's window dark: no banner while browsing.
            match player.preview(&title_id, rect.x, rect.y, w, h).await {
                Ok(playback) => gate.started(playback),
                Err(e) => eprintln!("ottbox-ui: no preview of {title_id}: {e}"),
            }
            Vec::new()
        }
        Command::SetMaxResolution { height } => {
            done(player.set_max_resolution(width_for(height), height).await)
        }
        Command::SetAudioLanguage { language } => done(player.set_audio_language(&language).await),
        Command::SetSubtitles { language } => done(player.set_subtitles(&language).await),
        Command::FetchPoster { path } => match poster_title(&path) {
            Some(id) => match catalog.poster(id).await {
                Ok(png) => vec![Update::Poster { path, png }],
                // A missing poster leaves the tile's placeholder: no banner.
                Err(_) => Vec::new(),
            },
            None => Vec::new(),
        },
        // Not on the daemon yet: row paging is accepted and ignored
        // rather than shown as an error.
        Command::LoadRowPage { .. } => Vec::new(),
    }
}

/// The 16:9 width for a height cap (the daemon limits by height; 0 is none).
fn width_for(height: u32) -> u32 {
    (height * 16).div_ceil(9)
}

/// `/api/v1/titles/{id}/poster.png` → `id`.
fn poster_title(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v1/titles/")?
        .strip_suffix("/poster.png")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poster_paths_name_their_title() {
        assert_eq!(poster_title("/api/v1/titles/ml-1/poster.png"), Some("ml-1"));
        assert_eq!(poster_title("/elsewhere.png"), None);
    }

    #[test]
    fn height_caps_become_16_9_sizes() {
        assert_eq!(width_for(720), 1280);
        assert_eq!(width_for(2160), 3840);
        assert_eq!(width_for(480), 854);
        assert_eq!(width_for(0), 0);
    }
}
