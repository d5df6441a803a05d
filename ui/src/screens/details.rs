//! Details: poster, synopsis, genres and tags, Play (or Resume), and a row
//! of similar titles.
//!
//! The screen opens at once with what the tile knew (name, year, genres,
//! poster) and fills in the synopsis when the daemon's [`TitleDetails`]
//! arrive. A title with a resume point offers "Resume 12:34" first and
//! "Play from start" second.

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use ottbox_protocol::catalog::{TitleDetails, TitleSummary};

use super::home::row_layout;
use super::{Ctx, Intent, Screen, arrow, format};
use crate::event::Command;
use crate::input::Key;
use crate::scene::{Font, Node, Scene};
use crate::theme::{self, Theme};
use crate::widgets::grid::Dir;
use crate::widgets::row::RowLayout;
use crate::widgets::text;

/// Where focus is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// On button `n` (0: Play or Resume, 1: Play from start).
    Button(usize),
    /// On similar title `n`.
    Similar(usize),
}

/// A title's details screen.
#[derive(Debug, Clone)]
pub struct DetailsScreen {
    summary: TitleSummary,
    details: Option<TitleDetails>,
    similar: Vec<TitleSummary>,
    resume_s: Option<f64>,
    focus: Focus,
    scroll: usize,
}

/// Lines of synopsis shown.
const SYNOPSIS_LINES: usize = 5;

impl DetailsScreen {
    /// Opens on what a tile knows; `resume_s` from Continue watching.
    pub fn new(summary: TitleSummary, resume_s: Option<f64>) -> Self {
        Self {
            summary,
            details: None,
            similar: Vec::new(),
            resume_s: resume_s.filter(|s| *s > 0.0),
            focus: Focus::Button(0),
            scroll: 0,
        }
    }

    /// The title shown.
    pub fn title_id(&self) -> &str {
        &self.summary.id
    }

    /// Where focus is.
    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// Takes the daemon's answer, if it is for this title.
    pub fn set_details(&mut self, details: TitleDetails, similar: Vec<TitleSummary>) -> bool {
        if details.summary.id != self.summary.id {
            return false;
        }
        self.summary = details.summary.clone();
        self.details = Some(details);
        self.similar = similar;
        // The similar row may have shrunk under the focus.
        if let Focus::Similar(i) = self.focus {
            self.focus = match self.similar.len() {
                0 => Focus::Button(0),
                n => Focus::Similar(i.min(n - 1)),
            };
            self.scroll = self.scroll.min(self.similar.len().saturating_sub(1));
        }
        true
    }

    fn buttons(&self) -> Vec<String> {
        match self.resume_s {
            Some(s) => vec![
                format!("Resume {}", format::clock(s)),
                "Play from start".into(),
            ],
            None => vec!["Play".into()],
        }
    }

    /// Screen rectangle of button `i`.
    pub fn button_rect(theme: &Theme, i: usize) -> Rectangle {
        theme.rect(270 + 220 * i as i32, 300, 200, 44)
    }

    fn similar_layout(theme: &Theme) -> RowLayout {
        row_layout(theme, 420)
    }

    fn poster_rect(theme: &Theme) -> Rectangle {
        theme.rect(40, 64, 200, 300)
    }
}

impl Screen for DetailsScreen {
    fn scene(&self, ctx: &Ctx<'_>, scene: &mut Scene) {
        let theme = ctx.theme;
        let poster = Self::poster_rect(theme);
        // The poster, as a caption-less tile.
        let tile_rect = Rectangle::new(
            poster.top_left,
            Size::new(
                poster.size.width,
                poster.size.height + crate::widgets::tile::caption_height(theme),
            ),
        );
        scene.push(Node::Tile {
            rect: tile_rect,
            name: String::new(),
            poster: self.summary.poster.clone(),
            poster_ready: ctx.posters.contains(&self.summary.poster),
            progress: None,
            // The Play button is the place for it here.
            instant: false,
            focused: false,
        });
        let x = theme.px(270);
        let width = theme.upx(970);
        let mut y = theme.px(64);
        scene.push(Node::text(
            theme,
            Point::new(x, y),
            &self.summary.name,
            Font::Large,
            theme::TEXT,
            width,
        ));
        y += theme.px(40);
        let mut meta: Vec<String> = Vec::new();
        if let Some(year) = self.summary.year {
            meta.push(year.to_string());
        }
        if !self.summary.genres.is_empty() {
            meta.push(self.summary.genres.join(", "));
        }
        if let Some(d) = &self.details {
            meta.push(format!("Age {}", d.age_rating));
            if let Some(s) = d.duration_s {
                meta.push(format::running_time(s));
            }
        }
        scene.push(Node::text(
            theme,
            Point::new(x, y),
            &meta.join(" · "),
            Font::Body,
            theme::DIM,
            width,
        ));
        y += theme.px(32);
        match &self.details {
            None => scene.push(Node::text(
                theme,
                Point::new(x, y),
                "Loading...",
                Font::Body,
                theme::DIM,
                width,
            )),
            Some(d) => {
                let font = Font::Body.mono(theme);
                let line_h = font.character_size.height as i32 + theme.px(2);
                // A cast line takes the synopsis's last line.
                let lines = SYNOPSIS_LINES - usize::from(!d.cast.is_empty());
                for line in text::wrap(&d.synopsis, text::chars_that_fit(font, width), lines) {
                    scene.push(Node::text(
                        theme,
                        Point::new(x, y),
                        &line,
                        Font::Body,
                        theme::TEXT,
                        width,
                    ));
                    y += line_h;
                }
                if !d.cast.is_empty() {
                    let cast = format!("With {}", d.cast.join(", "));
                    scene.push(Node::text(
                        theme,
                        Point::new(x, theme.px(240)),
                        &cast,
                        Font::Small,
                        theme::TEXT,
                        width,
                    ));
                }
                if !d.tags.is_empty() {
                    let tags = format!("Tags: {}", d.tags.join(", "));
                    let ty = theme.px(264);
                    scene.push(Node::text(
                        theme,
                        Point::new(x, ty),
                        &tags,
                        Font::Small,
                        theme::DIM,
                        width,
                    ));
                }
            }
        }
        for (i, label) in self.buttons().iter().enumerate() {
            let rect = Self::button_rect(theme, i);
            let focused = self.focus == Focus::Button(i);
            let (bg, fg) = if focused {
                (theme::FOCUS, theme::BACKGROUND)
            } else {
                (theme::SURFACE, theme::TEXT)
            };
            scene.push(Node::Fill { rect, color: bg });
            let ty = rect.top_left.y
                + (rect.size.height as i32 - Font::Body.mono(theme).character_size.height as i32)
                    / 2;
            scene.push(Node::centred(theme, rect, ty, label, Font::Body, fg));
        }
        if !self.similar.is_empty() {
            let hy = theme.px(392);
            scene.push(Node::text(
                theme,
                Point::new(theme.px(40), hy),
                "More like this",
                Font::Body,
                theme::TEXT,
                width,
            ));
            let layout = Self::similar_layout(theme);
            for (i, t) in self
                .similar
                .iter()
                .enumerate()
                .skip(self.scroll)
                .take(layout.visible)
            {
                let Some(rect) = layout.tile_rect(i, self.scroll) else {
                    continue;
                };
                scene.push(Node::Tile {
                    rect,
                    name: t.name.clone(),
                    poster: t.poster.clone(),
                    poster_ready: ctx.posters.contains(&t.poster),
                    progress: None,
                    instant: ctx.prefetched.contains(&t.id),
                    focused: self.focus == Focus::Similar(i),
                });
            }
        }
    }

    fn key(&mut self, key: Key, ctx: &Ctx<'_>, _out: &mut Vec<Command>) -> Intent {
        let buttons = self.buttons().len();
        match (self.focus, arrow(key), key) {
            (_, _, Key::Back) => Intent::Back,
            (Focus::Button(i), Some(Dir::Left), _) => {
                self.focus = Focus::Button(i.saturating_sub(1));
                Intent::Stay
            }
            (Focus::Button(i), Some(Dir::Right), _) => {
                self.focus = Focus::Button((i + 1).min(buttons - 1));
                Intent::Stay
            }
            (Focus::Button(_), Some(Dir::Down), _) if !self.similar.is_empty() => {
                self.focus = Focus::Similar(self.scroll);
                Intent::Stay
            }
            (Focus::Button(i), None, Key::Ok | Key::PlayPause) => Intent::Play {
                title_id: self.summary.id.clone(),
                name: self.summary.name.clone(),
                from_s: if i == 0 {
                    self.resume_s.unwrap_or(0.0)
                } else {
                    0.0
                },
            },
            (Focus::Similar(_), Some(Dir::Up), _) => {
                self.focus = Focus::Button(0);
                Intent::Stay
            }
            (Focus::Similar(i), Some(Dir::Left), _) => {
                self.focus = Focus::Similar(i.saturating_sub(1));
                self.scroll =
                    Self::similar_layout(ctx.theme).scroll_for(i.saturating_sub(1), self.scroll);
                Intent::Stay
            }
            (Focus::Similar(i), Some(Dir::Right), _) => {
                let to = (i + 1).min(self.similar.len() - 1);
                self.focus = Focus::Similar(to);
                self.scroll = Self::similar_layout(ctx.theme).scroll_for(to, self.scroll);
                Intent::Stay
            }
            (Focus::Similar(i), None, Key::Ok) => self
                .similar
                .get(i)
                .cloned()
                .map_or(Intent::Stay, Intent::OpenDetails),
            _ => Intent::Stay,
        }
    }

    fn posters(&self, ctx: &Ctx<'_>) -> Vec<String> {
        let visible = Self::similar_layout(ctx.theme).visible;
        std::iter::once(self.summary.poster.clone())
            .chain(
                self.similar
                    .iter()
                    .skip(self.scroll)
                    .take(visible + 1)
                    .map(|t| t.poster.clone()),
            )
            .collect()
    }
}
