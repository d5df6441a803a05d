//! Settings: maximum resolution, subtitles, audio language, log out.
//!
//! Up and Down choose a line; Left and Right (or OK) change its value, which
//! is sent to the daemon at once — there is no "save" for a viewer to miss.

use embedded_graphics::prelude::*;

use super::{Ctx, Intent, Screen, arrow};
use crate::event::{Command, PlayerStatus};
use crate::input::Key;
use crate::scene::{Font, Node, Scene};
use crate::theme;
use crate::widgets::grid::Dir;

/// Resolution caps offered (0: no cap).
pub const RESOLUTIONS: [u32; 5] = [0, 2160, 1080, 720, 480];
/// Languages offered (audio, and subtitles) until a title has said which
/// it has: ISO 639-1 code and name.
pub const LANGUAGES: [(&str, &str); 4] = [
    ("en", "English"),
    ("fr", "French"),
    ("de", "German"),
    ("es", "Spanish"),
];
/// Names of the languages a title may have, beyond [`LANGUAGES`].
const MORE_LANGUAGES: [(&str, &str); 14] = [
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("nl", "Dutch"),
    ("sv", "Swedish"),
    ("da", "Danish"),
    ("no", "Norwegian"),
    ("fi", "Finnish"),
    ("pl", "Polish"),
    ("ru", "Russian"),
    ("tr", "Turkish"),
    ("ar", "Arabic"),
    ("ja", "Japanese"),
    ("ko", "Korean"),
    ("zh", "Chinese"),
];
/// Lines on the screen.
const LINES: usize = 4;

/// A language's name for the viewer (`fr` → French); a code without one
/// shows as itself.
pub fn language_name(code: &str) -> String {
    let base = code.split(['-', '_']).next().unwrap_or(code);
    LANGUAGES
        .iter()
        .chain(MORE_LANGUAGES.iter())
        .find(|(c, _)| c.eq_ignore_ascii_case(base))
        .map_or_else(|| code.to_owned(), |(_, name)| (*name).to_owned())
}

/// The subtitles setting for the viewer: a language's name, or Off.
pub fn subtitles_name(language: &str) -> String {
    if language.is_empty() {
        "Off".into()
    } else {
        language_name(language)
    }
}

/// The next (or previous) of `choices` after `current` (the first when
/// `current` is not among them).
pub fn cycle<'a>(choices: &'a [String], current: &str, forward: bool) -> Option<&'a str> {
    let n = choices.len();
    if n == 0 {
        return None;
    }
    let next = match choices.iter().position(|c| c == current) {
        Some(i) if forward => (i + 1) % n,
        Some(i) => (i + n - 1) % n,
        None => 0,
    };
    Some(&choices[next])
}

/// The settings screen's state (kept while the UI runs).
#[derive(Debug, Clone)]
pub struct SettingsScreen {
    resolution: usize,
    /// The last title's audio languages ([`LANGUAGES`] before one played).
    audio_offered: Vec<String>,
    audio: String,
    /// The last title's subtitle languages ([`LANGUAGES`] before one played).
    subtitles_offered: Vec<String>,
    /// Empty: off.
    subtitles: String,
    focus: usize,
}

impl Default for SettingsScreen {
    fn default() -> Self {
        let codes: Vec<String> = LANGUAGES.iter().map(|(c, _)| (*c).to_owned()).collect();
        Self {
            resolution: 0,
            audio_offered: codes.clone(),
            audio: "en".into(),
            subtitles_offered: codes,
            subtitles: String::new(),
            focus: 0,
        }
    }
}

impl SettingsScreen {
    /// The line with focus (0 resolution, 1 subtitles, 2 audio, 3 log out).
    pub fn focus(&self) -> usize {
        self.focus
    }

    /// Takes the daemon's values. A height not offered shows as the
    /// smaller cap; a language not offered as the first one offered.
    pub fn set_values(&mut self, max_height: u32, subtitles: &str, audio_language: &str) {
        self.resolution = if max_height == 0 {
            0
        } else {
            RESOLUTIONS
                .iter()
                .position(|h| *h != 0 && *h <= max_height)
                .unwrap_or(RESOLUTIONS.len() - 1)
        };
        self.subtitles = if self.subtitles_offered.iter().any(|l| l == subtitles) {
            subtitles.to_owned()
        } else {
            String::new()
        };
        self.audio = if self.audio_offered.iter().any(|l| l == audio_language) {
            audio_language.to_owned()
        } else {
            self.audio_offered.first().cloned().unwrap_or_default()
        };
    }

    /// Takes a playing title's languages: the screen offers those, and
    /// shows the ones playing.
    pub fn set_tracks(&mut self, status: &PlayerStatus) {
        if !status.audio_languages.is_empty() {
            self.audio_offered.clone_from(&status.audio_languages);
            if !status.audio_language.is_empty() {
                self.audio.clone_from(&status.audio_language);
            }
        }
        if !status.subtitle_languages.is_empty() {
            self.subtitles_offered
                .clone_from(&status.subtitle_languages);
            self.subtitles.clone_from(&status.subtitles);
        }
    }

    /// The audio languages offered, and the subtitle languages (without Off).
    pub fn offered(&self) -> (&[String], &[String]) {
        (&self.audio_offered, &self.subtitles_offered)
    }

    fn value(&self, line: usize) -> String {
        match line {
            0 => match RESOLUTIONS[self.resolution] {
                0 => "Best available".into(),
                h => format!("Up to {h}p"),
            },
            1 => subtitles_name(&self.subtitles),
            2 => language_name(&self.audio),
            _ => String::new(),
        }
    }

    fn change(&mut self, forward: bool, out: &mut Vec<Command>) {
        match self.focus {
            0 => {
                let n = RESOLUTIONS.len();
                self.resolution = if forward {
                    (self.resolution + 1) % n
                } else {
                    (self.resolution + n - 1) % n
                };
                out.push(Command::SetMaxResolution {
                    height: RESOLUTIONS[self.resolution],
                });
            }
            1 => {
                // Off, then each language the title has.
                let choices: Vec<String> = std::iter::once(String::new())
                    .chain(self.subtitles_offered.iter().cloned())
                    .collect();
                if let Some(next) = cycle(&choices, &self.subtitles, forward) {
                    self.subtitles = next.to_owned();
                    out.push(Command::SetSubtitles {
                        language: self.subtitles.clone(),
                    });
                }
            }
            2 => {
                if let Some(next) = cycle(&self.audio_offered, &self.audio, forward) {
                    self.audio = next.to_owned();
                    out.push(Command::SetAudioLanguage {
                        language: self.audio.clone(),
                    });
                }
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
        s.set_values(720, "en", "de");
        assert_eq!(
            (s.value(0), s.value(1), s.value(2)),
            ("Up to 720p".into(), "English".into(), "German".into())
        );
        s.set_values(900, "", "xx");
        assert_eq!(
            s.value(0),
            "Up to 720p",
            "a cap between choices shows the smaller"
        );
        assert_eq!(s.value(2), "English");
        s.set_values(0, "", "en");
        assert_eq!(s.value(0), "Best available");
        s.set_values(100, "", "en");
        assert_eq!(s.value(0), "Up to 480p");
    }

    #[test]
    fn a_titles_languages_replace_the_offered_ones() {
        let mut s = SettingsScreen::default();
        s.set_tracks(&PlayerStatus {
            audio_languages: vec!["en".into(), "ja".into()],
            audio_language: "ja".into(),
            subtitle_languages: vec!["pt-BR".into()],
            subtitles: "pt-BR".into(),
            ..PlayerStatus::default()
        });
        assert_eq!(
            (s.value(1), s.value(2)),
            ("Portuguese".into(), "Japanese".into())
        );
        assert_eq!(language_name("x-klingon"), "x-klingon");
        let mut out = Vec::new();
        s.focus = 1;
        s.change(true, &mut out);
        s.focus = 2;
        s.change(true, &mut out);
        assert_eq!(
            out,
            [
                Command::SetSubtitles {
                    language: String::new()
                },
                Command::SetAudioLanguage {
                    language: "en".into()
                }
            ]
        );
    }
}
