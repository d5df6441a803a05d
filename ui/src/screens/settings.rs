//! Settings: maximum resolution, subtitles, audio language, log out.
//!
//! Up and Down choose a line; Left and Right (or OK) change its value, which
//! is sent to the daemon at once — there is no "save" for a viewer to miss.

use embedded_graphics::prelude::*;

use super::{Ctx, Intent, Screen, arrow};
use crate::event::Command;
use crate::input::Key;
use crate::scene::{Font, Node, Scene};
use crate::theme;
use crate::widgets::grid::Dir;

/// Resolution caps offered (0: no cap).
pub const RESOLUTIONS: [u32; 5] = [0, 2160, 1080, 720, 480];
/// Audio languages offered: ISO 639-1 code and name.
pub const LANGUAGES: [(&str, &str); 4] = [
    ("en", "English"),
    ("fr", "French"),
    ("de", "German"),
    ("es", "Spanish"),
];
/// Lines on the screen.
const LINES: usize = 4;

/// The settings screen's state (kept while the UI runs).
#[derive(Debug, Clone, Default)]
pub struct SettingsScreen {
    resolution: usize,
    subtitles: bool,
    language: usize,
    focus: usize,
}

impl SettingsScreen {
    /// The line with focus (0 resolution, 1 subtitles, 2 audio, 3 log out).
    pub fn focus(&self) -> usize {
        self.focus
    }

    /// Takes the daemon's values. One the screen does not offer (a height
    /// or language not in the lists) shows as the nearest offered choice:
    /// the smaller cap, or the first language.
    pub fn set_values(&mut self, max_height: u32, subtitles: bool, audio_language: &str) {
        self.resolution = if max_height == 0 {
            0
        } else {
            RESOLUTIONS
                .iter()
                .position(|h| *h != 0 && *h <= max_height)
                .unwrap_or(RESOLUTIONS.len() - 1)
        };
        self.subtitles = subtitles;
        self.language = LANGUAGES
            .iter()
            .position(|(code, _)| *code == audio_language)
            .unwrap_or(0);
    }

    fn value(&self, line: usize) -> String {
        match line {
            0 => match RESOLUTIONS[self.resolution] {
                0 => "Best available".into(),
                h => format!("Up to {h}p"),
            },
            1 => if self.subtitles { "On" } else { "Off" }.into(),
            2 => LANGUAGES[self.language].1.into(),
            _ => String::new(),
        }
    }

    fn change(&mut self, forward: bool, out: &mut Vec<Command>) {
        let step = |i: usize, n: usize| {
            if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            }
        };
        match self.focus {
            0 => {
                self.resolution = step(self.resolution, RESOLUTIONS.len());
                out.push(Command::SetMaxResolution {
                    height: RESOLUTIONS[self.resolution],
                });
            }
            1 => {
                self.subtitles = !self.subtitles;
                out.push(Command::SetSubtitles {
                    enabled: self.subtitles,
                });
            }
            2 => {
                self.language = step(self.language, LANGUAGES.len());
                out.push(Command::SetAudioLanguage {
                    language: LANGUAGES[self.language].0.into(),
                });
            }
            _ => {}
        }
    }
}

impl Screen for SettingsScreen {
    fn scene(&self, ctx: &Ctx<'_>, scene: &mut Scene) {
        let theme = ctx.theme;
        scene.push(Node::text(
            theme,
            theme.rect(40, 40, 0, 0).top_left,
            "Settings",
            Font::Heading,
            theme::TEXT,
            theme.upx(400),
        ));
        let labels = [
            "Maximum resolution",
            "Subtitles",
            "Audio language",
            "Log out",
        ];
        for (i, label) in labels.iter().enumerate() {
            let rect = theme.rect(40, 110 + 64 * i as i32, 800, 52);
            let focused = self.focus == i;
            let (bg, fg) = if focused {
                (theme::FOCUS, theme::BACKGROUND)
            } else {
                (theme::SURFACE, theme::TEXT)
            };
            scene.push(Node::Fill { rect, color: bg });
            let y = rect.top_left.y
                + (rect.size.height as i32 - Font::Body.mono(theme).character_size.height as i32)
                    / 2;
            scene.push(Node::text(
                theme,
                Point::new(rect.top_left.x + theme.px(16), y),
                label,
                Font::Body,
                fg,
                theme.upx(360),
            ));
            let value = self.value(i);
            if !value.is_empty() {
                let shown = format!("< {value} >");
                scene.push(Node::text(
                    theme,
                    Point::new(rect.top_left.x + theme.px(420), y),
                    &shown,
                    Font::Body,
                    fg,
                    theme.upx(360),
                ));
            }
        }
    }

    fn key(&mut self, key: Key, _ctx: &Ctx<'_>, out: &mut Vec<Command>) -> Intent {
        match (arrow(key), key) {
            (_, Key::Back) => return Intent::Back,
            (Some(Dir::Up), _) => self.focus = self.focus.saturating_sub(1),
            (Some(Dir::Down), _) => self.focus = (self.focus + 1).min(LINES - 1),
            (Some(Dir::Left), _) => self.change(false, out),
            (Some(Dir::Right), _) => self.change(true, out),
            (None, Key::Ok) if self.focus == 3 => out.push(Command::Logout),
            (None, Key::Ok) => self.change(true, out),
            _ => {}
        }
        Intent::Stay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemons_values_map_to_the_offered_choices() {
        let mut s = SettingsScreen::default();
        s.set_values(720, true, "de");
        assert_eq!(
            (s.value(0), s.value(1), s.value(2)),
            ("Up to 720p".into(), "On".into(), "German".into())
        );
        s.set_values(900, false, "xx");
        assert_eq!(
            s.value(0),
            "Up to 720p",
            "a cap between choices shows the smaller"
        );
        assert_eq!(s.value(2), "English");
        s.set_values(0, false, "en");
        assert_eq!(s.value(0), "Best available");
        s.set_values(100, false, "en");
        assert_eq!(s.value(0), "Up to 480p");
    }
}
