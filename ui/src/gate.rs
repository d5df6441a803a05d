//! What the D-Bus link remembers about the player between calls, without
//! a bus: which playback the UI asked for last, and the viewer's choices
//! that the daemon cannot take yet.
//!
//! `ottboxd` has one player. A muted preview behind the home hero and a
//! full-screen playback are the same `io.ottbox.Player1` object, whose
//! properties say nothing of which one plays. So [`PlayerGate`] notes each
//! command as the link carries it out and judges each status the link
//! reads after it:
//!
//! - after `Preview(X)` the statuses of `X` are tagged
//!   [`PlayerStatus::preview`], which the player screen never takes;
//! - after `Play(X)` only statuses of `X` pass, untagged;
//! - after `Stop` (or `StopPreview`) nothing passes until the next request;
//! - once `Play` or `Preview` has returned its playback id
//!   ([`PlayerGate::started`]), only statuses carrying that id pass.
//!
//! So a preview's status that arrives after the viewer pressed Play (its
//! `playing`, then the `stopped` of the preview ending) can neither open
//! nor close the full-screen player, even when the viewer plays the very
//! title that was previewing: the id tells the two playbacks apart where
//! the title cannot. The link reads each status after the
//! call before it has returned (one `GetAll`, not a cache that may still
//! hold the preview's values), so "after" is the daemon's order too.
//!
//! The daemon takes `SetAudioLanguage` and `SetSubtitles` only while a
//! title plays and offers the language, and `SetMaxResolution` lasts one
//! playback. The settings screen is opened from home, where nothing plays:
//! the gate keeps such choices and hands them back ([`PlayerGate::status`])
//! once a playback that can take them is under way.

use crate::event::{Command, PlayerStatus, Update};

/// What the UI asked the player for last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Requested {
    /// Nothing (at start, after a stop).
    #[default]
    Nothing,
    /// A preview of this title.
    Preview(String),
    /// This title, full screen.
    Play(String),
}

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct PlayerGate {
    requested: Requested,
    /// The daemon's id of the playback requested, once its call returned.
    playback: Option<u64>,
    max_height: u32,
    capped: bool,
    audio: Option<String>,
    subtitles: Option<String>,
}

impl PlayerGate {
    /// What the UI asked for last.
    pub fn requested(&self) -> &Requested {
        &self.requested
    }

    /// The daemon is new (started or restarted): nothing plays there.
    /// The viewer's choices are kept.
    pub fn reset(&mut self) {
        self.requested = Requested::Nothing;
        self.playback = None;
    }

    /// The daemon started the playback requested last, as `playback`.
    pub fn started(&mut self, playback: u64) {
        if self.requested != Requested::Nothing {
            self.playback = Some(playback);
        }
    }

    fn playing(&self) -> bool {
        matches!(self.requested, Requested::Play(_))
    }

    /// Notes `command` before the link carries it out. False when there is
    /// nothing to call now: a `StopPreview` with no preview playing (it
    /// must not stop a full playback), or a choice kept for later.
    pub fn command(&mut self, command: &Command) -> bool {
        if matches!(
            command,
            Command::Preview { .. } | Command::StopPreview | Command::Play { .. } | Command::Stop
        ) {
            // Unknown until the call returns (the title still tells).
            self.playback = None;
        }
        match command {
            Command::Preview { title_id, .. } => {
                self.requested = Requested::Preview(title_id.clone());
                true
            }
            Command::StopPreview => {
                let previewing = matches!(self.requested, Requested::Preview(_));
                if previewing {
                    self.requested = Requested::Nothing;
                }
                previewing
            }
            Command::Play { title_id, .. } => {
                self.requested = Requested::Play(title_id.clone());
                self.capped = false;
                true
            }
            Command::Stop => {
                self.requested = Requested::Nothing;
                true
            }
            Command::SetMaxResolution { height } => {
                self.max_height = *height;
                self.capped = self.playing();
                self.capped
            }
            Command::SetAudioLanguage { language } => {
                let now = self.playing();
                self.audio = (!now).then(|| language.clone());
                now
            }
            Command::SetSubtitles { language } => {
                let now = self.playing();
                self.subtitles = (!now).then(|| language.clone());
                now
            }
            _ => true,
        }
    }

    /// Judges a status read from the daemon (`title_id` its `Title`): the
    /// update for the UI, if it is for what the UI asked for, and the calls
    /// now due for choices kept while nothing played.
    pub fn status(&mut self, mut status: PlayerStatus) -> (Option<Update>, Vec<Command>) {
        if self.playback.is_some_and(|id| id != status.playback) {
            return (None, Vec::new());
        }
        let mut due = Vec::new();
        match &self.requested {
            Requested::Preview(id) if *id == status.title_id => status.preview = true,
            Requested::Play(id) if *id == status.title_id => {
                status.preview = false;
                if !self.capped && self.max_height > 0 {
                    self.capped = true;
                    due.push(Command::SetMaxResolution {
                        height: self.max_height,
                    });
                }
                if let Some(want) = &self.audio
                    && status.audio_languages.contains(want)
                {
                    if *want != status.audio_language {
                        due.push(Command::SetAudioLanguage {
                            language: want.clone(),
                        });
                    }
                    self.audio = None;
                }
                if let Some(want) = &self.subtitles
                    && (want.is_empty() || status.subtitle_languages.contains(want))
                    && !status.subtitle_languages.is_empty()
                {
                    if *want != status.subtitles {
                        due.push(Command::SetSubtitles {
                            language: want.clone(),
                        });
                    }
                    self.subtitles = None;
                }
            }
            _ => return (None, Vec::new()),
        }
        (Some(Update::Player { status }), due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PlayState;

    fn preview(title_id: &str) -> Command {
        Command::Preview {
            title_id: title_id.into(),
            rect: crate::event::ScreenRect {
                x: 0,
                y: 0,
                width: 1,
                height: 1,
            },
        }
    }

    #[test]
    fn a_late_status_of_the_preview_never_reaches_the_player_of_the_same_title() {
        let mut gate = PlayerGate::default();
        gate.command(&preview("ml-1"));
        gate.started(7);
        gate.command(&Command::Play {
            title_id: "ml-1".into(),
            from_s: 0.0,
        });
        gate.started(8);
        let of = |playback: u64, state: PlayState| PlayerStatus {
            playback,
            ..status("ml-1", state)
        };
        assert_eq!(gate.status(of(7, PlayState::Stopped)).0, None);
        assert_eq!(
            gate.status(of(8, PlayState::Playing)).0,
            Some(Update::Player {
                status: of(8, PlayState::Playing)
            })
        );
    }

    fn status(title_id: &str, state: PlayState) -> PlayerStatus {
        PlayerStatus {
            state,
            title_id: title_id.into(),
            audio_languages: vec!["en".into(), "fr".into()],
            audio_language: "en".into(),
            subtitle_languages: vec!["en".into()],
            ..PlayerStatus::default()
        }
    }

    #[test]
    fn choices_made_while_nothing_plays_wait_for_a_title_that_has_them() {
        let mut gate = PlayerGate::default();
        for c in [
            Command::SetMaxResolution { height: 720 },
            Command::SetAudioLanguage {
                language: "fr".into(),
            },
            Command::SetSubtitles {
                language: "en".into(),
            },
        ] {
            assert!(!gate.command(&c), "nothing plays: {c:?} kept");
        }
        // A preview takes none of them.
        gate.command(&preview("ml-1"));
        assert!(gate.status(status("ml-1", PlayState::Playing)).1.is_empty());
        assert!(gate.command(&Command::Play {
            title_id: "ml-1".into(),
            from_s: 0.0
        }));
        let (_, due) = gate.status(status("ml-1", PlayState::Playing));
        assert_eq!(
            due,
            [
                Command::SetMaxResolution { height: 720 },
                Command::SetAudioLanguage {
                    language: "fr".into()
                },
                Command::SetSubtitles {
                    language: "en".into()
                },
            ]
        );
        assert!(
            gate.status(status("ml-1", PlayState::Playing)).1.is_empty(),
            "once"
        );
        // While a title plays, choices go to the daemon at once.
        assert!(gate.command(&Command::SetSubtitles {
            language: String::new()
        }));
        // The cap again for the next playback, not the languages (the
        // daemon keeps those now).
        gate.command(&Command::Stop);
        gate.command(&Command::Play {
            title_id: "ml-2".into(),
            from_s: 0.0,
        });
        assert_eq!(
            gate.status(status("ml-2", PlayState::Playing)).1,
            [Command::SetMaxResolution { height: 720 }]
        );
    }
}
