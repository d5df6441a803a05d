//! `io.ottbox.Catalog1`: what the home, search and details screens show.
//!
//! Answers come from the box's cache at once; the daemon refreshes in the
//! background and emits `RowsChanged` when the home rows changed, and
//! `Offline` says whether the headend is reachable.

use serde::{Deserialize, Serialize};
use zbus::{Type, proxy};

use super::Error;
use crate::catalog::{RowItem, TitleDetails, TitleSummary};

/// One tile. D-Bus has no "none", so absent numbers are 0 / negative as
/// documented per field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Tile {
    /// Title id, e.g. `ml-2571`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Release year, 0 when unknown.
    pub year: u16,
    /// Genres.
    pub genres: Vec<String>,
    /// Poster path on the headend (fetch the bytes with `Catalog1.Poster`).
    pub poster: String,
    /// Share watched, 0..1, or -1 when the tile is not in progress.
    pub progress: f64,
    /// Resume point in seconds, 0 when none.
    pub resume_s: f64,
}

/// One home row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct HomeRow {
    /// Stable id (`continue`, `recommended`, `genre:Comedy`, ...).
    pub id: String,
    /// Heading, e.g. "Because you watched Toy Story".
    pub title: String,
    /// The tiles, in order.
    pub tiles: Vec<Tile>,
}

/// The home screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct HomeView {
    /// Rows in display order; Continue watching first when there is one.
    pub rows: Vec<HomeRow>,
    /// True when these rows are the cached copy and the headend is unreachable.
    pub offline: bool,
    /// When the rows were fetched from the headend, Unix seconds (0: never).
    pub updated_at: i64,
}

/// The details screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Details {
    /// The tile fields.
    pub tile: Tile,
    /// A sentence or two.
    pub synopsis: String,
    /// Viewer tags.
    pub tags: Vec<String>,
    /// Running time in seconds, 0 when no asset is published.
    pub duration_s: f64,
    /// Age rating (`All`, `12`, `16`).
    pub age_rating: String,
    /// Who is in it, in billing order (empty without credits). Defaulted,
    /// so that details cached before it existed still read.
    #[serde(default)]
    pub cast: Vec<String>,
}

impl From<&TitleSummary> for Tile {
    fn from(t: &TitleSummary) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            year: t.year.unwrap_or(0),
            genres: t.genres.clone(),
            poster: t.poster.clone(),
            progress: -1.0,
            resume_s: 0.0,
        }
    }
}

impl From<&RowItem> for Tile {
    fn from(item: &RowItem) -> Self {
        Self {
            progress: item.progress.map_or(-1.0, f64::from),
            resume_s: item.resume_s.unwrap_or(0.0),
            ..Self::from(&item.title)
        }
    }
}

impl From<&TitleDetails> for Details {
    fn from(d: &TitleDetails) -> Self {
        Self {
            tile: Tile::from(&d.summary),
            synopsis: d.synopsis.clone(),
            tags: d.tags.clone(),
            duration_s: d.duration_s.unwrap_or(0.0),
            age_rating: d.age_rating.clone(),
            cast: d.cast.clone(),
        }
    }
}

// And back, for clients (the UI) that work on the HTTP API's types.

impl From<&Tile> for TitleSummary {
    fn from(t: &Tile) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            year: (t.year > 0).then_some(t.year),
            genres: t.genres.clone(),
            poster: t.poster.clone(),
        }
    }
}

impl From<&Tile> for RowItem {
    fn from(t: &Tile) -> Self {
        Self {
            title: TitleSummary::from(t),
            progress: (t.progress >= 0.0).then_some(t.progress as f32),
            resume_s: (t.resume_s > 0.0).then_some(t.resume_s),
        }
    }
}

impl From<&HomeView> for crate::catalog::Home {
    fn from(view: &HomeView) -> Self {
        Self {
            rows: view
                .rows
                .iter()
                .map(|r| crate::catalog::Row {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    items: r.tiles.iter().map(RowItem::from).collect(),
                    next_offset: None,
                })
                .collect(),
        }
    }
}

impl From<&Details> for TitleDetails {
    fn from(d: &Details) -> Self {
        Self {
            summary: TitleSummary::from(&d.tile),
            synopsis: d.synopsis.clone(),
            tags: d.tags.clone(),
            cast: d.cast.clone(),
            asset_id: None,
            duration_s: (d.duration_s > 0.0).then_some(d.duration_s),
            age_rating: d.age_rating.clone(),
        }
    }
}

/// Home rows, search, details, similar titles and posters.
#[proxy(
    interface = "io.ottbox.Catalog1",
    default_service = "io.ottbox.Daemon",
    default_path = "/io/ottbox/Catalog"
)]
pub trait Catalog1 {
    /// The home rows, from cache when there is one (then refreshed in the
    /// background; `RowsChanged` follows if they changed).
    fn home(&self) -> Result<HomeView, Error>;

    /// Titles matching `query` (prefixes and typos allowed), best first.
    fn search(&self, query: &str) -> Result<Vec<Tile>, Error>;

    /// A title's details, with the local resume point in `tile.resume_s`.
    fn details(&self, title_id: &str) -> Result<Details, Error>;

    /// Titles like this one.
    fn similar(&self, title_id: &str) -> Result<Vec<Tile>, Error>;

    /// A title's poster, PNG bytes.
    fn poster(&self, title_id: &str) -> Result<Vec<u8>, Error>;

    /// The home rows changed; call `Home` again.
    #[zbus(signal)]
    fn rows_changed(&self) -> zbus::Result<()>;

    /// True while the headend is unreachable (answers come from cache).
    #[zbus(property)]
    fn offline(&self) -> zbus::Result<bool>;
}
