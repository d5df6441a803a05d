//! The player's on-screen display: title, progress and buffer, rendition and
//! bitrate, the ad badge ("Ad 1 of 2 · 0:12"), the audio and subtitle
//! languages, the subtitle text, and errors in words.
//!
//! The video itself is on a plane below the UI (the daemon's sink); the OSD
//! only draws text and bars. The subtitles are the daemon's `SubtitleText`,
//! drawn at the bottom centre on a dark box (above the OSD panel while it
//! shows). Left and Right seek by [`SEEK_STEP_S`] except during an ad (ads
//! are not skippable); OK and PLAY toggle pause; Up steps through the
//! title's audio languages, Down through its subtitles (and Off); Back stops.

use std::time::Duration;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use super::settings::{cycle, language_name, subtitles_name};
use super::{Ctx, Intent, Screen, format};
use crate::event::{Command, ErrorReport, PlayState, PlayerStatus};
use crate::input::Key;
use crate::scene::{Font, Node, Scene};
use crate::theme::{self, Theme};

/// Seconds one Left/Right press seeks.
pub const SEEK_STEP_S: f64 = 10.0;
/// How long the OSD stays after the last key while the video plays. It
/// stays for good while paused, buffering, in an ad or failed.
pub const OSD_TIMEOUT: Duration = Duration::from_secs(5);
/// Lines of subtitle text shown at most.
pub const SUBTITLE_LINES: usize = 3;

/// The player screen's state.
#[derive(Debug, Clone)]
pub struct PlayerScreen {
    title_id: String,
    name: String,
    status: Option<PlayerStatus>,
    error: Option<ErrorReport>,
    started: bool,
    osd_until: Duration,
    /// Languages asked for and not yet confirmed by a status, so a second
    /// press steps on from the first one's choice.
    audio_asked: Option<String>,
    subtitles_asked: Option<String>,
}

impl PlayerScreen {
    /// The screen for `name`, opened at `now`, before the first status arrives.
    pub fn new(title_id: String, name: String, now: Duration) -> Self {
        Self {
            title_id,
            name,
            status: None,
            error: None,
            started: false,
            osd_until: now + OSD_TIMEOUT,
            audio_asked: None,
            subtitles_asked: None,
        }
    }

    /// True when the OSD shows at `now`.
    pub fn osd_visible(&self, now: Duration) -> bool {
        let Some(status) = &self.status else {
            return true;
        };
        self.error.is_some()
            || status.state != PlayState::Playing
            || status.ad.is_some_and(|a| a.in_ad)
            || now < self.osd_until
    }

    /// When the OSD is due to hide, if it is showing and will.
    pub fn next_deadline(&self, now: Duration) -> Option<Duration> {
        let playing = self
            .status
            .as_ref()
            .is_some_and(|s| s.state == PlayState::Playing);
        (playing && self.error.is_none() && now < self.osd_until).then_some(self.osd_until)
    }

    /// The title playing.
    pub fn title_id(&self) -> &str {
        &self.title_id
    }

    /// Takes a status; true when playback has ended (stopped after it started).
    pub fn set_status(&mut self, status: PlayerStatus) -> bool {
        let ended = self.started && status.state == PlayState::Stopped;
        if matches!(
            status.state,
            PlayState::Playing | PlayState::Paused | PlayState::Buffering
        ) {
            self.started = true;
        }
        if self.audio_asked.as_ref() == Some(&status.audio_language) {
            self.audio_asked = None;
        }
        if self.subtitles_asked.as_ref() == Some(&status.subtitles) {
            self.subtitles_asked = None;
        }
        self.status = Some(status);
        ended
    }

    /// The audio language shown (asked for, else playing).
    fn audio(&self) -> &str {
        self.audio_asked
            .as_deref()
            .or(self.status.as_ref().map(|s| s.audio_language.as_str()))
            .unwrap_or_default()
    }

    /// The subtitles shown (asked for, else on screen), empty for off.
    fn subtitles(&self) -> &str {
        self.subtitles_asked
            .as_deref()
            .or(self.status.as_ref().map(|s| s.subtitles.as_str()))
            .unwrap_or_default()
    }

    /// The line naming the languages, and the keys that change them; none
    /// when the title has no choice to offer.
    pub fn languages_line(&self) -> Option<String> {
        let status = self.status.as_ref()?;
        let mut parts = Vec::new();
        if status.audio_languages.len() > 1 {
            parts.push(format!("UP audio: {}", language_name(self.audio())));
        }
        if !status.subtitle_languages.is_empty() {
            parts.push(format!(
                "DOWN subtitles: {}",
                subtitles_name(self.subtitles())
            ));
        }
        (!parts.is_empty()).then(|| parts.join("    "))
    }

    /// The subtitle box: its rectangle and lines, when text is on screen.
    /// Above the OSD panel while it shows, near the bottom otherwise.
    pub fn subtitle_layout(&self, theme: &Theme, osd: bool) -> Option<(Rectangle, Vec<String>)> {
        let text = self.status.as_ref()?.subtitle_text.trim();
        if text.is_empty() || self.error.is_some() {
            return None;
        }
        let mono = Font::Heading.mono(theme);
        let max_chars = crate::widgets::text::chars_that_fit(mono, theme.upx(1080));
        let mut lines: Vec<String> = text
            .lines()
            .flat_map(|l| crate::widgets::text::wrap(l, max_chars, SUBTITLE_LINES))
            .collect();
        lines.truncate(SUBTITLE_LINES);
        let widest = lines
            .iter()
            .map(|l| crate::widgets::text::width(l, mono))
            .max()?;
        let line_h = mono.character_size.height + theme.upx(6);
        let pad = theme.upx(12);
        let size = Size::new(
            widest + 2 * pad,
            line_h * lines.len() as u32 + pad - theme.upx(6) + pad,
        );
        let bottom = if osd {
            Self::panel(theme).top_left.y - theme.px(12)
        } else {
            theme.px(690)
        };
        let top_left = Point::new(
            (theme.size().width as i32 - size.width as i32) / 2,
            bottom - size.height as i32,
        );
        Some((Rectangle::new(top_left, size), lines))
    }

    /// Shows an error in the OSD.
    pub fn set_error(&mut self, error: ErrorReport) {
        self.error = Some(error);
    }

    /// The error shown, if any.
    pub fn error(&self) -> Option<&ErrorReport> {
        self.error.as_ref()
    }

    /// The ad badge's text, when an ad plays.
    pub fn ad_badge(status: &PlayerStatus) -> Option<String> {
        let ad = status.ad.filter(|a| a.in_ad)?;
        Some(format!(
            "Ad {} of {} · {}",
            ad.index,
            ad.count,
            format::clock(ad.seconds_left.ceil())
        ))
    }

    fn panel(theme: &Theme) -> Rectangle {
        theme.rect(0, 560, 1280, 160)
    }
}

impl Screen for PlayerScreen {
    fn scene(&self, ctx: &Ctx<'_>, scene: &mut Scene) {
        let theme = ctx.theme;
        let screen = theme.screen();
        // Where the video shows through: black on the UI plane.
        scene.push(Node::Fill {
            rect: screen,
            color: Rgb888::BLACK,
        });
        if let Some(error) = &self.error {
            let panel = theme.rect(240, 260, 800, 140);
            scene.push(Node::Fill {
                rect: panel,
                color: theme::ERROR,
            });
            scene.push(Node::centred(
                theme,
                panel,
                panel.top_left.y + theme.px(28),
                error.viewer_text(),
                Font::Heading,
                theme::TEXT,
            ));
            scene.push(Node::centred(
                theme,
                panel,
                panel.top_left.y + theme.px(90),
                "Press BACK to return",
                Font::Body,
                theme::TEXT,
            ));
            return;
        }
        let osd = self.osd_visible(ctx.now);
        if let Some((rect, lines)) = self.subtitle_layout(theme, osd) {
            scene.push(Node::Fill {
                rect,
                color: theme::SUBTITLE_BOX,
            });
            let line_h = Font::Heading.mono(theme).character_size.height as i32 + theme.px(6);
            let mut y = rect.top_left.y + theme.px(12);
            for line in &lines {
                scene.push(Node::centred(
                    theme,
                    rect,
                    y,
                    line,
                    Font::Heading,
                    theme::TEXT,
                ));
                y += line_h;
            }
        }
        if !osd {
            // Just the video (and its subtitles).
            return;
        }
        let panel = Self::panel(theme);
        scene.push(Node::Fill {
            rect: panel,
            color: theme::SURFACE,
        });
        let x = theme.px(40);
        let width = theme.upx(1200);
        let title = self
            .status
            .as_ref()
            .filter(|s| !s.title.is_empty())
            .map_or(self.name.as_str(), |s| &s.title);
        scene.push(Node::text(
            theme,
            Point::new(x, panel.top_left.y + theme.px(14)),
            title,
            Font::Heading,
            theme::TEXT,
            width,
        ));
        let Some(status) = &self.status else {
            scene.push(Node::text(
                theme,
                Point::new(x, panel.top_left.y + theme.px(50)),
                "Starting...",
                Font::Body,
                theme::DIM,
                width,
            ));
            return;
        };
        let duration = status.duration_s.max(0.0);
        let fraction = if duration > 0.0 {
            (status.position_s / duration) as f32
        } else {
            0.0
        };
        let buffered = if duration > 0.0 {
            ((status.position_s + status.buffer_s) / duration) as f32
        } else {
            0.0
        };
        let bar = theme.rect(40, 620, 1200, 8);
        scene.push(Node::Progress {
            rect: bar,
            fraction,
            buffered: Some(buffered),
        });
        let times = format!(
            "{} / {}",
            format::clock(status.position_s),
            format::clock(duration)
        );
        scene.push(Node::text(
            theme,
            Point::new(x, theme.px(642)),
            &times,
            Font::Body,
            theme::TEXT,
            theme.upx(400),
        ));
        let state = match status.state {
            PlayState::Playing => "Playing",
            PlayState::Paused => "Paused",
            PlayState::Buffering => "Buffering...",
            PlayState::Stopped => "Stopped",
            PlayState::Error => "Playback failed",
        };
        scene.push(Node::centred(
            theme,
            theme.rect(440, 0, 400, 0),
            theme.px(642),
            state,
            Font::Body,
            theme::TEXT,
        ));
        // Until the first segment no rendition is chosen: no "0 kb/s" line.
        if !status.rendition.is_empty() {
            let quality = format!(
                "{} · {} · buffer {:.0} s",
                status.rendition,
                format::bitrate(status.bitrate),
                status.buffer_s.max(0.0)
            );
            let qw =
                crate::widgets::text::width(&quality, Font::Small.mono(theme)).min(theme.upx(420));
            let qx = theme.px(1240) - qw as i32;
            scene.push(Node::text(
                theme,
                Point::new(qx, theme.px(646)),
                &quality,
                Font::Small,
                theme::DIM,
                theme.upx(420),
            ));
        }
        if let Some(line) = self.languages_line() {
            scene.push(Node::centred(
                theme,
                theme.rect(40, 0, 1200, 0),
                theme.px(684),
                &line,
                Font::Small,
                theme::DIM,
            ));
        }
        if let Some(badge) = Self::ad_badge(status) {
            let rect = theme.rect(1000, 40, 240, 40);
            scene.push(Node::Fill {
                rect,
                color: theme::BADGE,
            });
            let y = rect.top_left.y
                + (rect.size.height as i32 - Font::Body.mono(theme).character_size.height as i32)
                    / 2;
            scene.push(Node::centred(
                theme,
                rect,
                y,
                &badge,
                Font::Body,
                theme::BACKGROUND,
            ));
        }
    }

    fn key(&mut self, key: Key, ctx: &Ctx<'_>, out: &mut Vec<Command>) -> Intent {
        // Any key brings the OSD back (and still does what it does).
        self.osd_until = ctx.now + OSD_TIMEOUT;
        if key == Key::Back {
            out.push(Command::Stop);
            return Intent::Back;
        }
        if self.error.is_some() {
            return Intent::Stay;
        }
        let Some(status) = &self.status else {
            return Intent::Stay;
        };
        let in_ad = status.ad.is_some_and(|a| a.in_ad);
        match key {
            Key::Ok | Key::PlayPause => out.push(match status.state {
                PlayState::Paused => Command::Resume,
                _ => Command::Pause,
            }),
            Key::Left | Key::Right if !in_ad => {
                let step = if key == Key::Left {
                    -SEEK_STEP_S
                } else {
                    SEEK_STEP_S
                };
                let mut to = (status.position_s + step).max(0.0);
                if status.duration_s > 0.0 {
                    to = to.min(status.duration_s);
                }
                out.push(Command::Seek { position_s: to });
            }
            Key::Up if status.audio_languages.len() > 1 => {
                if let Some(next) = cycle(&status.audio_languages, self.audio(), true) {
                    let next = next.to_owned();
                    out.push(Command::SetAudioLanguage {
                        language: next.clone(),
                    });
                    self.audio_asked = Some(next);
                }
            }
            Key::Down if !status.subtitle_languages.is_empty() => {
                let choices: Vec<String> = std::iter::once(String::new())
                    .chain(status.subtitle_languages.iter().cloned())
                    .collect();
                if let Some(next) = cycle(&choices, self.subtitles(), true) {
                    let next = next.to_owned();
                    out.push(Command::SetSubtitles {
                        language: next.clone(),
                    });
                    self.subtitles_asked = Some(next);
                }
            }
            _ => {}
        }
        Intent::Stay
    }
}
