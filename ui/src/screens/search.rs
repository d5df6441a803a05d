//! Search: an on-screen keyboard on the left, results on the right that
//! update as the viewer types (a [`Command::Search`] on every change; results
//! for an older query are dropped when they arrive late).

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use ottbox_protocol::catalog::TitleSummary;

use super::home::tile_size;
use super::{Ctx, Intent, Screen, arrow};
use crate::event::Command;
use crate::input::Key;
use crate::scene::{Font, Node, Scene};
use crate::theme::{self, Theme};
use crate::widgets::grid::{Dir, Grid, Move};
use crate::widgets::keyboard::{self, KeyAction};

/// Where focus is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// On keyboard key `n`.
    Keys(usize),
    /// On result `n`.
    Results(usize),
}

/// Longest query accepted.
pub const MAX_QUERY: usize = 40;

/// The search screen's state.
#[derive(Debug, Clone)]
pub struct SearchScreen {
    query: String,
    results: Vec<TitleSummary>,
    focus: Focus,
}

impl Default for SearchScreen {
    fn default() -> Self {
        Self {
            query: String::new(),
            results: Vec::new(),
            focus: Focus::Keys(0),
        }
    }
}

impl SearchScreen {
    /// What was typed.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Where focus is.
    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// The results shown.
    pub fn results(&self) -> &[TitleSummary] {
        &self.results
    }

    /// Takes results; true if they answer the current query.
    pub fn set_results(&mut self, theme: &Theme, query: &str, results: Vec<TitleSummary>) -> bool {
        if query != self.query {
            return false;
        }
        self.results = results;
        if let Focus::Results(i) = self.focus {
            self.focus = if self.results.is_empty() {
                Focus::Keys(0)
            } else {
                // The grid holds a few rows: a search is refined, not scrolled.
                Focus::Results(i.min(self.results_grid(theme).count.saturating_sub(1)))
            };
        }
        true
    }

    fn keyboard_grid(theme: &Theme) -> Grid {
        Grid {
            cols: keyboard::COLS,
            count: keyboard::keys().len(),
            origin: theme.rect(40, 160, 0, 0).top_left,
            cell: Size::new(theme.upx(64), theme.upx(44)),
            gap: theme.upx(8),
        }
    }

    fn results_grid(&self, theme: &Theme) -> Grid {
        let t = tile_size(theme);
        let gap = theme.upx(14);
        let origin = theme.rect(500, 100, 0, 0).top_left;
        let cols = ((theme.upx(740) + gap) / (t.width + gap)).max(1) as usize;
        let rows = ((theme.upx(610) + gap) / (t.height + gap)).max(1) as usize;
        Grid {
            cols,
            count: self.results.len().min(cols * rows),
            origin,
            cell: t,
            gap,
        }
    }

    fn query_rect(theme: &Theme) -> Rectangle {
        theme.rect(40, 100, 424, 44)
    }

    fn edit(&mut self, action: KeyAction, out: &mut Vec<Command>) {
        let before = self.query.clone();
        match action {
            KeyAction::Char(c) if self.query.chars().count() < MAX_QUERY => self.query.push(c),
            KeyAction::Space if !self.query.is_empty() && !self.query.ends_with(' ') => {
                self.query.push(' ')
            }
            KeyAction::Delete => {
                self.query.pop();
            }
            _ => {}
        }
        if self.query != before {
            if self.query.trim().is_empty() {
                self.results.clear();
            } else {
                out.push(Command::Search {
                    query: self.query.clone(),
                });
            }
        }
    }
}

impl Screen for SearchScreen {
    fn scene(&self, ctx: &Ctx<'_>, scene: &mut Scene) {
        let theme = ctx.theme;
        scene.push(Node::text(
            theme,
            theme.rect(40, 56, 0, 0).top_left,
            "Search",
            Font::Heading,
            theme::TEXT,
            theme.upx(400),
        ));
        let q = Self::query_rect(theme);
        scene.push(Node::Fill {
            rect: q,
            color: theme::SURFACE,
        });
        let font = Font::Body.mono(theme);
        let at = q.top_left
            + Point::new(
                theme.px(10),
                (q.size.height as i32 - font.character_size.height as i32) / 2,
            );
        let shown = format!("{}_", self.query);
        // Keep the end of a long query in view: that is where typing happens.
        let fit = crate::widgets::text::chars_that_fit(font, q.size.width - theme.upx(20));
        let tail: String = shown
            .chars()
            .skip(shown.chars().count().saturating_sub(fit))
            .collect();
        scene.push(Node::text(
            theme,
            at,
            &tail,
            Font::Body,
            theme::TEXT,
            q.size.width - theme.upx(20),
        ));
        let grid = Self::keyboard_grid(theme);
        for (i, action) in keyboard::keys().into_iter().enumerate() {
            let rect = grid.cell_rect(i);
            let focused = self.focus == Focus::Keys(i);
            let (bg, fg) = if focused {
                (theme::FOCUS, theme::BACKGROUND)
            } else {
                (theme::SURFACE, theme::TEXT)
            };
            scene.push(Node::Fill { rect, color: bg });
            let y =
                rect.top_left.y + (rect.size.height as i32 - font.character_size.height as i32) / 2;
            scene.push(Node::centred(
                theme,
                rect,
                y,
                &keyboard::label(action),
                Font::Body,
                fg,
            ));
        }
        let results = self.results_grid(theme);
        if self.results.is_empty() && !self.query.trim().is_empty() {
            let at = results.origin;
            scene.push(Node::text(
                theme,
                at,
                "No results yet",
                Font::Body,
                theme::DIM,
                theme.upx(700),
            ));
        }
        for (i, t) in self.results.iter().take(results.count).enumerate() {
            scene.push(Node::Tile {
                rect: results.cell_rect(i),
                name: t.name.clone(),
                poster: t.poster.clone(),
                poster_ready: ctx.posters.contains(&t.poster),
                progress: None,
                instant: ctx.prefetched.contains(&t.id),
                focused: self.focus == Focus::Results(i),
            });
        }
    }

    fn key(&mut self, key: Key, ctx: &Ctx<'_>, out: &mut Vec<Command>) -> Intent {
        let keys = Self::keyboard_grid(ctx.theme);
        let results = self.results_grid(ctx.theme);
        match (self.focus, key) {
            (_, Key::Back) => return Intent::Back,
            (_, Key::Char('\u{8}')) => self.edit(KeyAction::Delete, out),
            (_, Key::Char(c)) if c.is_alphanumeric() => {
                self.edit(KeyAction::Char(c.to_ascii_lowercase()), out)
            }
            (_, Key::Char(' ')) => self.edit(KeyAction::Space, out),
            (_, Key::Digit(d)) => self.edit(KeyAction::Char(char::from(b'0' + d.min(9))), out),
            (Focus::Keys(i), Key::Ok) => {
                if let Some(action) = keyboard::keys().get(i) {
                    self.edit(*action, out);
                }
            }
            (Focus::Results(i), Key::Ok) => {
                return self
                    .results
                    .get(i)
                    .cloned()
                    .map_or(Intent::Stay, Intent::OpenDetails);
            }
            (Focus::Keys(i), key) => match arrow(key).map(|d| keys.step(i, d)) {
                Some(Move::To(j)) => self.focus = Focus::Keys(j),
                Some(Move::Edge(Dir::Right)) if results.count > 0 => {
                    // Onto the result beside this keyboard row.
                    let y = keys.cell_rect(i).center().y;
                    let target_row = (0..results.count.div_ceil(results.cols))
                        .min_by_key(|r| (results.cell_rect(r * results.cols).center().y - y).abs())
                        .unwrap_or(0);
                    self.focus = Focus::Results(target_row * results.cols);
                }
                _ => {}
            },
            (Focus::Results(i), key) => match arrow(key).map(|d| results.step(i, d)) {
                Some(Move::To(j)) => self.focus = Focus::Results(j),
                Some(Move::Edge(Dir::Left)) => {
                    let y = results.cell_rect(i).center().y;
                    let row = (0..keys.count.div_ceil(keys.cols))
                        .min_by_key(|r| (keys.cell_rect(r * keys.cols).center().y - y).abs())
                        .unwrap_or(0);
                    self.focus = Focus::Keys((row * keys.cols + keys.cols - 1).min(keys.count - 1));
                }
                _ => {}
            },
        }
        Intent::Stay
    }

    fn posters(&self, ctx: &Ctx<'_>) -> Vec<String> {
        let n = self.results_grid(ctx.theme).count;
        self.results
            .iter()
            .take(n)
            .map(|t| t.poster.clone())
            .collect()
    }
}
