//! The UI's state machine: keys and daemon updates in, commands and pixels out.
//!
//! [`App`] has no clock, no thread and no I/O. The runner feeds it:
//!
//! - [`App::key`] for each remote key,
//! - [`App::update`] for each message from the daemon,
//! - [`App::tick`] with the time since start (timers — the hero settling,
//!   the preview starting — compare against it; [`App::next_deadline`] says
//!   when the next one is due, so the runner can sleep until then);
//!
//! and takes back [`App::take_commands`] for the daemon and
//! [`App::draw`] onto any `DrawTarget<Color = Rgb888>`. After every input the
//! current screen is described as a [`Scene`] and compared with what is on
//! screen; [`App::damage`] lists the rectangles that changed, and `draw`
//! repaints only those.
//!
//! A viewer's path through it:
//!
//! 1. waiting for ottboxd (nothing heard from the daemon yet);
//! 2. `Login { LoggedOut }` → [`Command::StartLogin`]; `ShowingCode` → the
//!    code and a QR code; `LoggedIn` → home, [`Command::LoadHome`];
//! 3. `Home` rows → tiles (posters asked for with [`Command::FetchPoster`]);
//!    arrows move focus; resting on a tile → [`Command::Preview`];
//! 4. OK → details ([`Command::LoadDetails`]); Play → [`Command::Play`] and the OSD;
//! 5. Back returns, Home goes home, and errors show in words.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use crate::damage::Damage;
use crate::event::{Command, ErrorReport, LoginState, Update};
use crate::input::Key;
use crate::scene::Scene;
use crate::screens::activation::ActivationScreen;
use crate::screens::details::DetailsScreen;
use crate::screens::home::{HomeScreen, tile_size};
use crate::screens::player::PlayerScreen;
use crate::screens::search::SearchScreen;
use crate::screens::settings::SettingsScreen;
use crate::screens::{Ctx, Intent, Screen, status};
use crate::theme::Theme;
use crate::widgets::image::ImageCache;
use crate::widgets::tile::Tile;

/// Posters kept decoded (about 200 kB each at 1080p).
const POSTER_CACHE: usize = 96;

/// Which screen is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenKind {
    /// The daemon is unreachable.
    Waiting,
    /// Device login.
    Activation,
    /// Home rows.
    Home,
    /// A title's details.
    Details,
    /// Search.
    Search,
    /// The player's OSD.
    Player,
    /// Settings.
    Settings,
}

/// A screen on the navigation stack. Home, settings and activation keep
/// their state in [`App`] (focus survives leaving them); the others are
/// made fresh each time they open.
#[derive(Debug, Clone)]
enum Current {
    Activation,
    Home,
    Settings,
    Details(Box<DetailsScreen>),
    Search(Box<SearchScreen>),
    Player(Box<PlayerScreen>),
}

/// The on-screen UI.
#[derive(Debug)]
pub struct App {
    theme: Theme,
    now: Duration,
    connected: bool,
    logged_in: bool,
    current: Current,
    stack: Vec<Current>,
    activation: ActivationScreen,
    home: HomeScreen,
    settings: SettingsScreen,
    posters: ImageCache,
    requested: HashSet<String>,
    /// Titles whose start the daemon holds ready.
    prefetched: HashSet<String>,
    bad_posters: usize,
    resume: HashMap<String, f64>,
    banner: Option<ErrorReport>,
    commands: Vec<Command>,
    shown: Scene,
    damage: Damage,
}

impl App {
    /// A UI for a screen of `size` (1280×720 and 1920×1080 are designed for).
    pub fn new(size: Size) -> Self {
        let theme = Theme::for_size(size);
        let poster_size =
            Tile::poster_rect(&theme, Rectangle::new(Point::zero(), tile_size(&theme))).size;
        let mut app = Self {
            theme,
            now: Duration::ZERO,
            connected: false,
            logged_in: false,
            current: Current::Activation,
            stack: Vec::new(),
            activation: ActivationScreen::default(),
            home: HomeScreen::default(),
            settings: SettingsScreen::default(),
            posters: ImageCache::new(poster_size, POSTER_CACHE),
            requested: HashSet::new(),
            prefetched: HashSet::new(),
            bad_posters: 0,
            resume: HashMap::new(),
            banner: None,
            commands: Vec::new(),
            shown: Scene::default(),
            damage: Damage::default(),
        };
        // The first frame paints everything, background included.
        app.damage.add(theme.screen());
        app.refresh();
        app
    }

    /// The theme (screen size, fonts).
    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// Which screen is showing.
    pub fn screen(&self) -> ScreenKind {
        if !self.connected {
            return ScreenKind::Waiting;
        }
        match self.current {
            Current::Activation => ScreenKind::Activation,
            Current::Home => ScreenKind::Home,
            Current::Settings => ScreenKind::Settings,
            Current::Details(_) => ScreenKind::Details,
            Current::Search(_) => ScreenKind::Search,
            Current::Player(_) => ScreenKind::Player,
        }
    }

    /// The home screen's state.
    pub fn home(&self) -> &HomeScreen {
        &self.home
    }

    /// The search screen's state, when it shows.
    pub fn search(&self) -> Option<&SearchScreen> {
        match &self.current {
            Current::Search(s) => Some(s),
            _ => None,
        }
    }

    /// The details screen's state, when it shows.
    pub fn details(&self) -> Option<&DetailsScreen> {
        match &self.current {
            Current::Details(d) => Some(d),
            _ => None,
        }
    }

    /// The player screen's state, when it shows.
    pub fn player(&self) -> Option<&PlayerScreen> {
        match &self.current {
            Current::Player(p) => Some(p),
            _ => None,
        }
    }

    /// The settings screen's state.
    pub fn settings(&self) -> &SettingsScreen {
        &self.settings
    }

    /// The error banner, if one shows.
    pub fn banner(&self) -> Option<&ErrorReport> {
        self.banner.as_ref()
    }

    /// What is on screen (after the last input), node by node.
    pub fn scene(&self) -> &Scene {
        &self.shown
    }

    /// Rectangles that changed since the last [`App::draw`].
    pub fn damage(&self) -> &[Rectangle] {
        self.damage.rects()
    }

    /// Posters that could not be decoded.
    pub fn bad_posters(&self) -> usize {
        self.bad_posters
    }

    /// Marks the whole screen stale: the next [`App::draw`] repaints all of
    /// it. For when the screen's contents are unknown (a console switch, a
    /// window exposed, a new display backend).
    pub fn invalidate(&mut self) {
        self.damage.add(self.theme.screen());
    }

    /// Commands for the daemon since the last call.
    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.commands)
    }

    /// Repaints the damaged rectangles on `target` and returns them (for a
    /// backend to copy to the screen).
    pub fn draw<D: DrawTarget<Color = Rgb888>>(
        &mut self,
        target: &mut D,
    ) -> Result<Vec<Rectangle>, D::Error> {
        let damage = self.damage.take();
        self.shown
            .render(target, &self.theme, &self.posters, &damage)?;
        Ok(damage)
    }

    /// Advances the clock to `now` (time since the UI started) and runs due timers.
    pub fn tick(&mut self, now: Duration) {
        self.now = self.now.max(now);
        if self.connected && matches!(self.current, Current::Home) {
            let ctx = Ctx {
                theme: &self.theme,
                posters: &self.posters,
                prefetched: &self.prefetched,
                now: self.now,
            };
            self.home.tick(&ctx, &mut self.commands);
        }
        self.refresh();
    }

    /// When a timer is next due, if one is pending.
    pub fn next_deadline(&self) -> Option<Duration> {
        match self.current {
            Current::Home if self.connected => self.home.next_deadline(),
            Current::Player(ref p) if self.connected => p.next_deadline(self.now),
            _ => None,
        }
    }

    /// Answers a remote key.
    pub fn key(&mut self, key: Key) {
        if !self.connected {
            // Nothing can be done without the daemon; the screen says so.
            return;
        }
        if self.banner.take().is_some() && matches!(key, Key::Ok | Key::Back) {
            // OK or Back closes the banner and does nothing else.
            self.refresh();
            return;
        }
        if key == Key::Home && self.logged_in {
            if matches!(self.current, Current::Player(_)) {
                self.commands.push(Command::Stop);
            }
            self.stack.clear();
            self.current = Current::Home;
            self.refresh();
            return;
        }
        let ctx = Ctx {
            theme: &self.theme,
            posters: &self.posters,
            prefetched: &self.prefetched,
            now: self.now,
        };
        let out = &mut self.commands;
        let intent = match &mut self.current {
            Current::Activation => self.activation.key(key, &ctx, out),
            Current::Home => self.home.key(key, &ctx, out),
            Current::Settings => self.settings.key(key, &ctx, out),
            Current::Details(d) => d.key(key, &ctx, out),
            Current::Search(s) => s.key(key, &ctx, out),
            Current::Player(p) => p.key(key, &ctx, out),
        };
        self.follow(intent);
        self.refresh();
    }

    /// Takes a message from the daemon.
    pub fn update(&mut self, update: Update) {
        if !matches!(update, Update::DaemonLost) {
            self.connected = true;
        }
        match update {
            Update::Login { login } => self.login(login),
            Update::Home { home, offline } => {
                for row in &home.rows {
                    for item in &row.items {
                        if let Some(s) = item.resume_s {
                            self.resume.insert(item.title.id.clone(), s);
                        }
                    }
                }
                self.home.set_home(&self.theme, home, offline, self.now);
            }
            Update::RowPage {
                row_id,
                items,
                next_offset,
            } => {
                for item in &items {
                    if let Some(s) = item.resume_s {
                        self.resume.insert(item.title.id.clone(), s);
                    }
                }
                self.home.append_page(&row_id, items, next_offset);
            }
            Update::SearchResults { query, results } => {
                if let Current::Search(s) = &mut self.current {
                    s.set_results(&self.theme, &query, results.results);
                }
            }
            Update::Details { details, similar } => {
                if let Current::Details(d) = &mut self.current {
                    d.set_details(details, similar.results);
                }
            }
            // A preview's status is never the player screen's, however
            // late it comes (see `gate`); nor is another title's.
            Update::Player { status } if status.preview => {}
            Update::Player { status } => {
                self.settings.set_tracks(&status);
                if let Current::Player(p) = &mut self.current
                    && (status.title_id.is_empty() || status.title_id == p.title_id())
                    && p.set_status(status)
                {
                    self.back();
                }
            }
            Update::Error { error } => match &mut self.current {
                Current::Player(p) => p.set_error(error),
                _ => self.banner = Some(error),
            },
            Update::Prefetched { title_ids } => self.prefetched = title_ids.into_iter().collect(),
            Update::Poster { path, png } => {
                if self.posters.insert_png(&path, &png).is_ok() {
                    // Cached now; should it be evicted later, it may be fetched again.
                    self.requested.remove(&path);
                } else {
                    // Kept as requested so it is not fetched again and again;
                    // the tile keeps its text placeholder.
                    self.bad_posters += 1;
                }
            }
            Update::Settings {
                max_height,
                subtitles,
                audio_language,
            } => self
                .settings
                .set_values(max_height, &subtitles, &audio_language),
            Update::DaemonLost => {
                self.connected = false;
                // The preview died with the daemon; nothing to stop.
                let mut dropped = Vec::new();
                self.home.stop_preview(&mut dropped);
            }
            Update::DaemonBack => {
                if self.logged_in {
                    self.commands.push(Command::LoadHome);
                }
            }
        }
        self.refresh();
    }

    fn login(&mut self, login: LoginState) {
        self.activation.set_login(login.clone());
        match login {
            LoginState::LoggedOut => {
                self.logged_in = false;
                self.stack.clear();
                self.current = Current::Activation;
                self.commands.push(Command::StartLogin);
            }
            LoginState::ShowingCode { .. } => {
                self.logged_in = false;
                self.stack.clear();
                self.current = Current::Activation;
            }
            LoginState::LoggedIn => {
                if !self.logged_in {
                    self.logged_in = true;
                    self.stack.clear();
                    self.current = Current::Home;
                    self.commands.push(Command::LoadHome);
                }
            }
        }
    }

    fn open(&mut self, next: Current) {
        if matches!(self.current, Current::Home) {
            self.home.stop_preview(&mut self.commands);
        }
        let previous = std::mem::replace(&mut self.current, next);
        self.stack.push(previous);
    }

    fn back(&mut self) {
        self.current = match self.stack.pop() {
            Some(previous) => previous,
            None if self.logged_in => Current::Home,
            None => Current::Activation,
        };
    }

    fn follow(&mut self, intent: Intent) {
        match intent {
            Intent::Stay => {}
            Intent::Back => self.back(),
            Intent::OpenDetails(summary) => {
                let resume = self.resume.get(&summary.id).copied();
                self.commands.push(Command::LoadDetails {
                    title_id: summary.id.clone(),
                });
                self.open(Current::Details(Box::new(DetailsScreen::new(
                    summary, resume,
                ))));
            }
            Intent::Play {
                title_id,
                name,
                from_s,
            } => {
                self.open(Current::Player(Box::new(PlayerScreen::new(
                    title_id.clone(),
                    name,
                    self.now,
                ))));
                self.commands.push(Command::Play { title_id, from_s });
            }
            Intent::OpenSearch => self.open(Current::Search(Box::default())),
            Intent::OpenSettings => self.open(Current::Settings),
        }
    }

    /// Rebuilds the scene, records what changed, and asks for missing posters.
    fn refresh(&mut self) {
        let ctx = Ctx {
            theme: &self.theme,
            posters: &self.posters,
            prefetched: &self.prefetched,
            now: self.now,
        };
        let mut scene = Scene::default();
        let screen: Option<&dyn Screen> = if !self.connected {
            status::waiting(&self.theme, &mut scene);
            None
        } else {
            Some(match &self.current {
                Current::Activation => &self.activation,
                Current::Home => &self.home,
                Current::Settings => &self.settings,
                Current::Details(d) => d.as_ref(),
                Current::Search(s) => s.as_ref(),
                Current::Player(p) => p.as_ref(),
            })
        };
        if let Some(screen) = screen {
            screen.scene(&ctx, &mut scene);
            if let Some(error) = &self.banner {
                status::banner(&self.theme, error, &mut scene);
            }
            for path in screen.posters(&ctx) {
                if !self.posters.contains(&path) && self.requested.insert(path.clone()) {
                    self.commands.push(Command::FetchPoster { path });
                }
            }
        }
        scene.diff(&self.shown, self.theme.screen(), &mut self.damage);
        self.shown = scene;
    }
}
