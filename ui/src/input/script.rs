//! Scripted key feeds: `--keys "down,down,ok"` or a file of the same.
//!
//! A script is a list of steps separated by commas, spaces or new lines.
//! Key names are those of [`Key`] in lower case (`up`, `down`, `left`,
//! `right`, `ok`, `back`, `home`, `playpause`), a digit (`0`..`9`), a
//! quoted text that types each character (`"matrix"`), or a pause,
//! `wait:1500` (milliseconds). Pauses advance the headless runner's virtual
//! clock, so timed behaviour (previews after 1.5 s of focus) can be scripted
//! without real sleeping. `#` starts a comment to the end of the line.
//!
//! Two more steps exist for runs against a real daemon, whose answers come
//! when they come:
//!
//! - `until:TEXT` (or `until:"TEXT WITH SPACES"`) waits until TEXT is on
//!   screen — in a line of text or a tile's name — and fails the run, naming
//!   TEXT, if it does not appear in time;
//! - `shot:NAME` waits until the daemon has answered every command sent so
//!   far (posters included), then writes the screen to `NAME.png` in the
//!   headless directory. NAME is letters, digits, `-` and `_`, so it is a
//!   file name everywhere.

use std::time::Duration;

use super::Key;

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Press a key.
    Key(Key),
    /// Let time pass.
    Wait(Duration),
    /// Wait until this text is on screen.
    Until(String),
    /// Let the daemon answer, then save the screen under this name.
    Shot(String),
}

/// A script could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptError {
    /// A word is not a key name (code `unknown_key`).
    #[error(
        "unknown_key: `{word}` is not a key (try up, down, left, right, ok, back, home, playpause, 0-9, \"text\", wait:MS, until:TEXT or shot:NAME)"
    )]
    UnknownKey {
        /// The word.
        word: String,
    },
    /// A `wait:` has no number of milliseconds (code `bad_wait`).
    #[error("bad_wait: `{word}` should be wait:MILLISECONDS")]
    BadWait {
        /// The word.
        word: String,
    },
    /// An `until:` names no text (code `bad_until`).
    #[error("bad_until: `{word}` should be until:TEXT or until:\"SOME TEXT\"")]
    BadUntil {
        /// The word.
        word: String,
    },
    /// A `shot:` name is empty or not a plain file name (code `bad_shot`).
    #[error("bad_shot: `{word}` should be shot:NAME, NAME of letters, digits, - and _")]
    BadShot {
        /// The word.
        word: String,
    },
    /// A quoted text is not closed (code `unclosed_quote`).
    #[error("unclosed_quote: a quoted text is not closed")]
    UnclosedQuote,
}

/// Reads a script.
pub fn parse(script: &str) -> Result<Vec<Step>, ScriptError> {
    let mut steps = Vec::new();
    let mut word = String::new();
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                // Comment: skip to the end of the line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                finish_word(&mut word, &mut steps)?;
            }
            '"' => {
                // `until:"some text"` waits for the text; a quote on its
                // own types it.
                let until = word.eq_ignore_ascii_case("until:");
                if until {
                    word.clear();
                } else {
                    finish_word(&mut word, &mut steps)?;
                }
                let mut closed = false;
                let mut text = String::new();
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    text.push(c);
                }
                if !closed {
                    return Err(ScriptError::UnclosedQuote);
                }
                if until {
                    if text.is_empty() {
                        return Err(ScriptError::BadUntil {
                            word: "until:\"\"".into(),
                        });
                    }
                    steps.push(Step::Until(text));
                } else {
                    steps.extend(text.chars().map(|c| Step::Key(Key::Char(c))));
                }
            }
            ',' | ' ' | '\t' | '\n' | '\r' | ';' => finish_word(&mut word, &mut steps)?,
            c => word.push(c),
        }
    }
    finish_word(&mut word, &mut steps)?;
    Ok(steps)
}

fn finish_word(word: &mut String, steps: &mut Vec<Step>) -> Result<(), ScriptError> {
    if word.is_empty() {
        return Ok(());
    }
    let w = std::mem::take(word);
    let lower = w.to_ascii_lowercase();
    let step = if let Some(ms) = lower.strip_prefix("wait:") {
        let ms: u64 = ms
            .parse()
            .map_err(|_| ScriptError::BadWait { word: w.clone() })?;
        Step::Wait(Duration::from_millis(ms))
    } else if lower.starts_with("until:") {
        // The text keeps its case: it is compared with the screen's.
        let text = &w["until:".len()..];
        if text.is_empty() {
            return Err(ScriptError::BadUntil { word: w });
        }
        Step::Until(text.to_owned())
    } else if lower.starts_with("shot:") {
        let name = &w["shot:".len()..];
        let plain = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if name.is_empty() || !plain {
            return Err(ScriptError::BadShot { word: w });
        }
        Step::Shot(name.to_owned())
    } else {
        Step::Key(match lower.as_str() {
            "up" => Key::Up,
            "down" => Key::Down,
            "left" => Key::Left,
            "right" => Key::Right,
            "ok" | "enter" | "select" => Key::Ok,
            "back" | "esc" => Key::Back,
            "home" => Key::Home,
            "playpause" | "play" => Key::PlayPause,
            d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => {
                Key::Digit(d.as_bytes()[0] - b'0')
            }
            _ => return Err(ScriptError::UnknownKey { word: w }),
        })
    };
    steps.push(step);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_texts_digits_and_waits() {
        let steps =
            parse("down, Down,ok\n# a comment, ignored\n\"ab\" 7 wait:1500").expect("parses");
        assert_eq!(
            steps,
            vec![
                Step::Key(Key::Down),
                Step::Key(Key::Down),
                Step::Key(Key::Ok),
                Step::Key(Key::Char('a')),
                Step::Key(Key::Char('b')),
                Step::Key(Key::Digit(7)),
                Step::Wait(Duration::from_millis(1500)),
            ]
        );
    }

    #[test]
    fn bad_words_are_named_in_the_error() {
        assert_eq!(
            parse("down,jump"),
            Err(ScriptError::UnknownKey {
                word: "jump".into()
            })
        );
        assert!(matches!(
            parse("wait:soon"),
            Err(ScriptError::BadWait { .. })
        ));
        assert_eq!(parse("\"abc"), Err(ScriptError::UnclosedQuote));
        assert_eq!(
            parse("until:"),
            Err(ScriptError::BadUntil {
                word: "until:".into()
            })
        );
        assert!(matches!(
            parse("until:\"\""),
            Err(ScriptError::BadUntil { .. })
        ));
        assert_eq!(
            parse("shot:../etc/passwd"),
            Err(ScriptError::BadShot {
                word: "shot:../etc/passwd".into()
            })
        );
        assert!(matches!(parse("shot:"), Err(ScriptError::BadShot { .. })));
        assert_eq!(parse("until:\"abc"), Err(ScriptError::UnclosedQuote));
    }

    #[test]
    fn untils_keep_their_case_and_spaces_and_shots_their_names() {
        let steps =
            parse("UNTIL:Home, until:\"Social Network\" shot:search-1 \"a b\"").expect("parses");
        assert_eq!(
            steps,
            vec![
                Step::Until("Home".into()),
                Step::Until("Social Network".into()),
                Step::Shot("search-1".into()),
                Step::Key(Key::Char('a')),
                Step::Key(Key::Char(' ')),
                Step::Key(Key::Char('b')),
            ]
        );
    }
}
