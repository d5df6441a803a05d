//! Home: a header with Search and Settings, a hero for the focused title,
//! and rows of tiles (Continue watching first, with progress bars).
//!
//! ```text
//! ottbox   [Offline — showing saved rows]            [Search] [Settings]
//! ┌ hero ───────────────────────────────────────┐ ┌ preview video ─┐
//! │ Title (year) · genres · Resume at 12:34      │ │                │
//! └──────────────────────────────────────────────┘ └────────────────┘
//! Continue watching
//! [tile][tile][tile][tile][tile] ...   ← scrolls sideways
//! Because you watched ...
//! [tile][tile][tile] ...               ← rows scroll up and down
//! ```
//!
//! Focus moves by arrows: Down and Up land on the tile of the next row that
//! is nearest on screen (not the one with the same index), Up from the first
//! row reaches the header. The hero follows focus once it has rested for
//! [`HERO_SETTLE`] (so holding Right on a weak box repaints two tiles per
//! step, not the hero too), and after [`PREVIEW_AFTER`] on one tile the
//! daemon is asked to play a muted preview in the hero's video window.

use std::collections::HashSet;
use std::time::Duration;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use ottbox_protocol::catalog::{Home, Row, RowItem};

use super::{Ctx, Intent, Screen, arrow, format};
use crate::event::{Command, ScreenRect};
use crate::input::Key;
use crate::scene::{Font, Node, Scene};
use crate::theme::{self, Theme};
use crate::widgets::grid::Dir;
use crate::widgets::row::RowLayout;

/// How long focus rests on a tile before the hero shows it.
pub const HERO_SETTLE: Duration = Duration::from_millis(250);
/// How long focus rests on a tile before its preview plays.
pub const PREVIEW_AFTER: Duration = Duration::from_millis(1500);
/// Header items, left to right.
pub const NAV: [&str; 2] = ["Search", "Settings"];
/// The offline badge.
pub const OFFLINE_TEXT: &str = "Offline — showing saved rows";

/// Focus this close to the end of a row that has more asks for the next page,
/// so the tiles are there before the viewer reaches the end.
pub const PAGE_AHEAD: usize = 4;

/// Rows on screen at once.
const VISIBLE_ROWS: usize = 2;
/// Design-pixel layout.
const ROWS_TOP: i32 = 300;
const ROW_PITCH: i32 = 198;
const ROW_HEADING: i32 = 26;

/// Where focus is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// On a header item.
    Nav(usize),
    /// On a tile.
    Tile {
        /// Row index.
        row: usize,
        /// Tile index in the row.
        col: usize,
    },
}

/// The home screen's state.
#[derive(Debug, Clone)]
pub struct HomeScreen {
    rows: Vec<Row>,
    offline: bool,
    loaded: bool,
    focus: Focus,
    last_tile: (usize, usize),
    scroll: Vec<usize>,
    first_row: usize,
    focus_since: Duration,
    hero: Option<(usize, usize)>,
    previewing: Option<String>,
    pages_requested: HashSet<(String, u32)>,
}

impl Default for HomeScreen {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            offline: false,
            loaded: false,
            focus: Focus::Tile { row: 0, col: 0 },
            last_tile: (0, 0),
            scroll: Vec::new(),
            first_row: 0,
            focus_since: Duration::ZERO,
            hero: None,
            previewing: None,
            pages_requested: HashSet::new(),
        }
    }
}

/// Size of a tile on home (and in every other row of tiles).
pub fn tile_size(theme: &Theme) -> Size {
    Size::new(theme.upx(92), theme.upx(158))
}

/// The row of tiles with its top at design `y`, across the screen.
pub fn row_layout(theme: &Theme, y: i32) -> RowLayout {
    RowLayout::fit(
        Point::new(theme.px(40), theme.px(y)),
        theme.upx(1200),
        tile_size(theme),
        theme.upx(14),
    )
}

impl HomeScreen {
    /// Takes new rows (empty rows are not shown). Focus stays where it was
    /// when that tile still exists.
    pub fn set_home(&mut self, theme: &Theme, home: Home, offline: bool, now: Duration) {
        let first_load = !self.loaded;
        self.rows = home
            .rows
            .into_iter()
            .filter(|r| !r.items.is_empty())
            .collect();
        self.offline = offline;
        self.loaded = true;
        self.pages_requested.clear();
        self.scroll.resize(self.rows.len(), 0);
        // Keep focus (and the tile the header returns to) on a tile that exists.
        let clamp = |rows: &[Row], (row, col): (usize, usize)| {
            let row = row.min(rows.len().saturating_sub(1));
            let col = col.min(rows.get(row).map_or(0, |r| r.items.len().saturating_sub(1)));
            (row, col)
        };
        self.last_tile = clamp(&self.rows, self.last_tile);
        if let Focus::Tile { row, col } = self.focus {
            let (row, col) = clamp(&self.rows, (row, col));
            self.focus = Focus::Tile { row, col };
            self.last_tile = (row, col);
        }
        self.first_row = self.first_row.min(self.rows.len().saturating_sub(1));
        self.fix_scroll(theme);
        if first_load {
            // Show the first title at once rather than after the settle delay.
            self.focus_since = now;
            self.hero = self.tile_focus();
        }
    }

    /// The rows shown.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// True once rows have arrived.
    pub fn loaded(&self) -> bool {
        self.loaded
    }

    /// True when the rows are the offline copy.
    pub fn offline(&self) -> bool {
        self.offline
    }

    /// Where focus is.
    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// The focused tile's item.
    pub fn focused_item(&self) -> Option<&RowItem> {
        let (row, col) = self.tile_focus()?;
        self.rows.get(row)?.items.get(col)
    }

    fn tile_focus(&self) -> Option<(usize, usize)> {
        match self.focus {
            Focus::Tile { row, col }
                if row < self.rows.len() && col < self.rows[row].items.len() =>
            {
                Some((row, col))
            }
            _ => None,
        }
    }

    /// The title whose preview is playing.
    pub fn previewing(&self) -> Option<&str> {
        self.previewing.as_deref()
    }

    /// Forgets the preview (the screen is left, or the player took over).
    pub fn stop_preview(&mut self, out: &mut Vec<Command>) {
        if self.previewing.take().is_some() {
            out.push(Command::StopPreview);
        }
    }

    /// Screen rectangle of the hero's preview window.
    pub fn preview_rect(theme: &Theme) -> Rectangle {
        theme.rect(840, 64, 400, 225)
    }

    /// Screen rectangle of a header item.
    pub fn nav_rect(theme: &Theme, i: usize) -> Rectangle {
        theme.rect(1000 + 130 * i as i32, 8, 116, 32)
    }

    /// Screen rectangle of the hero's text.
    pub fn hero_rect(theme: &Theme) -> Rectangle {
        theme.rect(40, 64, 780, 225)
    }

    /// The layout of the row in visible slot `slot`.
    pub fn slot_layout(theme: &Theme, slot: usize) -> RowLayout {
        row_layout(theme, ROWS_TOP + slot as i32 * ROW_PITCH + ROW_HEADING)
    }

    /// Screen rectangle of tile `(row, col)`, if visible.
    pub fn tile_rect(&self, theme: &Theme, row: usize, col: usize) -> Option<Rectangle> {
        let slot = row
            .checked_sub(self.first_row)
            .filter(|s| *s < VISIBLE_ROWS)?;
        Self::slot_layout(theme, slot).tile_rect(col, *self.scroll.get(row)?)
    }

    fn fix_scroll(&mut self, theme: &Theme) {
        if let Focus::Tile { row, col } = self.focus {
            // Every slot fits the same number of tiles; use slot 0's.
            let layout = Self::slot_layout(theme, 0);
            if let Some(s) = self.scroll.get_mut(row) {
                *s = layout.scroll_for(col, *s);
            }
            if row < self.first_row {
                self.first_row = row;
            } else if row >= self.first_row + VISIBLE_ROWS {
                self.first_row = row + 1 - VISIBLE_ROWS;
            }
        }
    }

    /// Moves focus vertically to the row `to`, onto its tile nearest on screen.
    fn move_to_row(&mut self, theme: &Theme, from: (usize, usize), to: usize) {
        let x = self
            .tile_rect(theme, from.0, from.1)
            .map_or(0, |r| r.center().x);
        let layout = Self::slot_layout(theme, 0);
        let len = self.rows[to].items.len();
        let col = layout.nearest(x, self.scroll[to], len).unwrap_or(0);
        self.focus = Focus::Tile { row: to, col };
    }

    /// Appends a page of tiles to row `row_id`; false if no such row.
    pub fn append_page(
        &mut self,
        row_id: &str,
        items: Vec<RowItem>,
        next_offset: Option<u32>,
    ) -> bool {
        let Some(row) = self.rows.iter_mut().find(|r| r.id == row_id) else {
            return false;
        };
        row.items.extend(items);
        row.next_offset = next_offset;
        true
    }

    /// Asks for the focused row's next page when focus nears its end.
    fn page_ahead(&mut self, out: &mut Vec<Command>) {
        let Some((row, col)) = self.tile_focus() else {
            return;
        };
        let row = &self.rows[row];
        if let Some(offset) = row.next_offset
            && col + PAGE_AHEAD >= row.items.len()
            && self.pages_requested.insert((row.id.clone(), offset))
        {
            out.push(Command::LoadRowPage {
                row_id: row.id.clone(),
                offset,
            });
        }
    }

    /// Advances timers: the hero follows rested focus; previews start.
    pub fn tick(&mut self, ctx: &Ctx<'_>, out: &mut Vec<Command>) {
        let rested = ctx.now.saturating_sub(self.focus_since);
        let Some(focus) = self.tile_focus() else {
            return;
        };
        if rested >= HERO_SETTLE && self.hero != Some(focus) {
            self.hero = Some(focus);
        }
        if rested >= PREVIEW_AFTER {
            let id = self.rows[focus.0].items[focus.1].title.id.clone();
            if self.previewing.as_deref() != Some(&id) {
                let r = Self::preview_rect(ctx.theme);
                out.push(Command::Preview {
                    title_id: id.clone(),
                    rect: ScreenRect {
                        x: r.top_left.x,
                        y: r.top_left.y,
                        width: r.size.width,
                        height: r.size.height,
                    },
                });
                self.previewing = Some(id);
            }
        }
    }

    /// When [`Self::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Duration> {
        let focus = self.tile_focus()?;
        if self.hero != Some(focus) {
            Some(self.focus_since + HERO_SETTLE)
        } else if self.previewing.is_none() {
            Some(self.focus_since + PREVIEW_AFTER)
        } else {
            None
        }
    }

    fn hero_scene(&self, theme: &Theme, scene: &mut Scene) {
        let Some(item) = self.hero.and_then(|(r, c)| self.rows.get(r)?.items.get(c)) else {
            return;
        };
        let area = Self::hero_rect(theme);
        let x = area.top_left.x;
        let mut y = area.top_left.y;
        let title = &item.title;
        let name = match title.year {
            Some(year) => format!("{} ({year})", title.name),
            None => title.name.clone(),
        };
        scene.push(Node::text(
            theme,
            Point::new(x, y),
            &name,
            Font::Large,
            theme::TEXT,
            area.size.width,
        ));
        y += theme.px(40);
        let genres = title.genres.join(", ");
        scene.push(Node::text(
            theme,
            Point::new(x, y),
            &genres,
            Font::Body,
            theme::DIM,
            area.size.width,
        ));
        y += theme.px(28);
        if let (Some(progress), Some(resume)) = (item.progress, item.resume_s) {
            let line = format!(
                "Resume at {} · {}% watched",
                format::clock(resume),
                (progress * 100.0).round()
            );
            scene.push(Node::text(
                theme,
                Point::new(x, y),
                &line,
                Font::Body,
                theme::TEXT,
                area.size.width,
            ));
            y += theme.px(28);
        }
        let hint = "OK: details    PLAY: watch now";
        scene.push(Node::text(
            theme,
            Point::new(x, y + theme.px(20)),
            hint,
            Font::Small,
            theme::DIM,
            area.size.width,
        ));
    }
}

impl Screen for HomeScreen {
    fn scene(&self, ctx: &Ctx<'_>, scene: &mut Scene) {
        let theme = ctx.theme;
        scene.push(Node::text(
            theme,
            theme.rect(40, 12, 0, 0).top_left,
            "ottbox",
            Font::Heading,
            theme::FOCUS,
            theme.upx(140),
        ));
        if self.offline {
            let badge = theme.rect(200, 12, 330, 26);
            scene.push(Node::Fill {
                rect: badge,
                color: theme::BADGE,
            });
            let at = badge.top_left + Point::new(theme.px(8), theme.px(4));
            scene.push(Node::text(
                theme,
                at,
                OFFLINE_TEXT,
                Font::Small,
                theme::BACKGROUND,
                badge.size.width - theme.upx(16),
            ));
        }
        for (i, label) in NAV.iter().enumerate() {
            let rect = Self::nav_rect(theme, i);
            let focused = self.focus == Focus::Nav(i);
            let (bg, fg) = if focused {
                (theme::FOCUS, theme::BACKGROUND)
            } else {
                (theme::SURFACE, theme::TEXT)
            };
            scene.push(Node::Fill { rect, color: bg });
            let y = rect.top_left.y
                + (rect.size.height as i32 - Font::Body.mono(theme).character_size.height as i32)
                    / 2;
            scene.push(Node::centred(theme, rect, y, label, Font::Body, fg));
        }
        if !self.loaded {
            let y = theme.px(340);
            scene.push(Node::centred(
                theme,
                theme.screen(),
                y,
                "Loading your rows...",
                Font::Heading,
                theme::DIM,
            ));
            return;
        }
        if self.rows.is_empty() {
            let y = theme.px(340);
            scene.push(Node::centred(
                theme,
                theme.screen(),
                y,
                "Nothing to show yet",
                Font::Heading,
                theme::DIM,
            ));
            return;
        }
        self.hero_scene(theme, scene);
        let preview = Self::preview_rect(theme);
        scene.push(Node::Fill {
            rect: preview,
            color: Rgb888::BLACK,
        });
        scene.push(Node::Border {
            rect: preview,
            color: theme::SURFACE,
            width: theme.upx(2).max(1),
        });
        for slot in 0..VISIBLE_ROWS {
            let Some(row) = self.rows.get(self.first_row + slot) else {
                break;
            };
            let r = self.first_row + slot;
            let heading_y = theme.px(ROWS_TOP + slot as i32 * ROW_PITCH);
            scene.push(Node::text(
                theme,
                Point::new(theme.px(40), heading_y),
                &row.title,
                Font::Body,
                theme::TEXT,
                theme.upx(1200),
            ));
            let layout = Self::slot_layout(theme, slot);
            let scroll = self.scroll[r];
            for (col, item) in row
                .items
                .iter()
                .enumerate()
                .skip(scroll)
                .take(layout.visible)
            {
                let Some(rect) = layout.tile_rect(col, scroll) else {
                    continue;
                };
                scene.push(Node::Tile {
                    rect,
                    name: item.title.name.clone(),
                    poster: item.title.poster.clone(),
                    poster_ready: ctx.posters.contains(&item.title.poster),
                    progress: item.progress,
                    instant: ctx.prefetched.contains(&item.title.id),
                    focused: self.focus == Focus::Tile { row: r, col },
                });
            }
        }
    }

    fn key(&mut self, key: Key, ctx: &Ctx<'_>, out: &mut Vec<Command>) -> Intent {
        let before = self.focus;
        let intent = match (self.focus, key) {
            (Focus::Nav(i), key) => match arrow(key) {
                Some(Dir::Left) => {
                    self.focus = Focus::Nav(i.saturating_sub(1));
                    Intent::Stay
                }
                Some(Dir::Right) => {
                    self.focus = Focus::Nav((i + 1).min(NAV.len() - 1));
                    Intent::Stay
                }
                Some(Dir::Down) if !self.rows.is_empty() => {
                    let (row, col) = self.last_tile;
                    self.focus = Focus::Tile { row, col };
                    Intent::Stay
                }
                _ if key == Key::Ok && i == 0 => Intent::OpenSearch,
                _ if key == Key::Ok => Intent::OpenSettings,
                _ if key == Key::Back => {
                    self.focus = Focus::Tile {
                        row: self.last_tile.0,
                        col: self.last_tile.1,
                    };
                    Intent::Stay
                }
                _ => Intent::Stay,
            },
            (Focus::Tile { row, col }, key) if row < self.rows.len() => match (arrow(key), key) {
                (Some(Dir::Left), _) => {
                    self.focus = Focus::Tile {
                        row,
                        col: col.saturating_sub(1),
                    };
                    Intent::Stay
                }
                (Some(Dir::Right), _) => {
                    self.focus = Focus::Tile {
                        row,
                        col: (col + 1).min(self.rows[row].items.len() - 1),
                    };
                    Intent::Stay
                }
                (Some(Dir::Up), _) if row == 0 => {
                    self.focus = Focus::Nav(0);
                    Intent::Stay
                }
                (Some(Dir::Up), _) => {
                    self.move_to_row(ctx.theme, (row, col), row - 1);
                    Intent::Stay
                }
                (Some(Dir::Down), _) if row + 1 < self.rows.len() => {
                    self.move_to_row(ctx.theme, (row, col), row + 1);
                    Intent::Stay
                }
                (_, Key::Ok) => Intent::OpenDetails(self.rows[row].items[col].title.clone()),
                (_, Key::PlayPause) => {
                    let item = &self.rows[row].items[col];
                    Intent::Play {
                        title_id: item.title.id.clone(),
                        name: item.title.name.clone(),
                        from_s: item.resume_s.unwrap_or(0.0),
                    }
                }
                (_, Key::Back) => {
                    // TV convention: Back on home returns to the start.
                    self.focus = Focus::Tile { row: 0, col: 0 };
                    for s in &mut self.scroll {
                        *s = 0;
                    }
                    self.first_row = 0;
                    Intent::Stay
                }
                _ => Intent::Stay,
            },
            // No rows (still loading, or nothing saved offline): the header
            // stays reachable, so search and settings still work.
            (Focus::Tile { .. }, Key::Up) => {
                self.focus = Focus::Nav(0);
                Intent::Stay
            }
            (Focus::Tile { .. }, _) => Intent::Stay,
        };
        if self.focus != before {
            if let Focus::Tile { row, col } = self.focus {
                self.last_tile = (row, col);
            }
            self.fix_scroll(ctx.theme);
            self.focus_since = ctx.now;
            self.stop_preview(out);
            self.page_ahead(out);
        }
        intent
    }

    fn posters(&self, ctx: &Ctx<'_>) -> Vec<String> {
        let mut paths = Vec::new();
        for slot in 0..VISIBLE_ROWS {
            let r = self.first_row + slot;
            let Some(row) = self.rows.get(r) else { break };
            let visible = Self::slot_layout(ctx.theme, slot).visible;
            // One tile beyond the edge too, so scrolling finds it ready.
            for item in row.items.iter().skip(self.scroll[r]).take(visible + 1) {
                paths.push(item.title.poster.clone());
            }
        }
        paths
    }
}
