//! The screens: each holds its own focus and data, answers keys, and
//! describes itself as a [`Scene`].
//!
//! A screen never draws and never talks to the daemon. Key handlers push
//! [`Command`]s for the daemon and return an [`Intent`] (open details, go
//! back, play...) that [`crate::app::App`] carries out, so navigation lives
//! in one place.

pub mod activation;
pub mod details;
pub mod format;
pub mod home;
pub mod player;
pub mod search;
pub mod settings;
pub mod status;

use std::collections::HashSet;
use std::time::Duration;

use ottbox_protocol::catalog::TitleSummary;

use crate::event::Command;
use crate::input::Key;
use crate::scene::Scene;
use crate::theme::Theme;
use crate::widgets::grid::Dir;
use crate::widgets::image::ImageCache;

/// What a screen needs to know about the world.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// Screen size and fonts.
    pub theme: &'a Theme,
    /// Decoded posters.
    pub posters: &'a ImageCache,
    /// Titles whose start the daemon holds ready (their tiles say so).
    pub prefetched: &'a HashSet<String>,
    /// The time now, since the UI started.
    pub now: Duration,
}

/// Where the viewer wants to go next.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Stay on this screen.
    Stay,
    /// Open a title's details.
    OpenDetails(TitleSummary),
    /// Play a title full screen.
    Play {
        /// The title.
        title_id: String,
        /// Its name, for the OSD.
        name: String,
        /// Where to start.
        from_s: f64,
    },
    /// Open search.
    OpenSearch,
    /// Open settings.
    OpenSettings,
    /// Leave this screen.
    Back,
}

/// Something that is on screen.
pub trait Screen {
    /// Describes the screen.
    fn scene(&self, ctx: &Ctx<'_>, scene: &mut Scene);
    /// Answers a key; commands for the daemon go to `out`.
    fn key(&mut self, key: Key, ctx: &Ctx<'_>, out: &mut Vec<Command>) -> Intent;
    /// Poster paths the screen shows now (fetched if not cached).
    fn posters(&self, _ctx: &Ctx<'_>) -> Vec<String> {
        Vec::new()
    }
}

/// The arrow direction of a key, if it is an arrow.
pub fn arrow(key: Key) -> Option<Dir> {
    match key {
        Key::Up => Some(Dir::Up),
        Key::Down => Some(Dir::Down),
        Key::Left => Some(Dir::Left),
        Key::Right => Some(Dir::Right),
        _ => None,
    }
}
