//! Scripted key feeds: `--keys "down,down,ok"` or a file of the same.
//!
//! A script is a list of steps separated by commas, spaces or new lines.
//! Key names are those of [`Key`] in lower case (`up`, `down`, `left`,
//! `right`, `ok`, `back`, `home`, `playpause`), a digit (`0`..`9`), a
//! quoted text that types each character (`"matrix"`), or a pause,
//! `wait:1500` (milliseconds). Pauses advance the headless runner's virtual
//! clock, so timed behaviour (previews after 1.5 s of focus) can be scripted
//! without real sleeping. `#` starts a comment to the end of the line.

use std::time::Duration;

use super::Key;

/// One step of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Press a key.
    Key(Key),
    /// Let time pass.
    Wait(Duration),
}

/// A script could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptError {
    /// A word is not a key name (code `unknown_key`).
    #[error(
        "unknown_key: `{word}` is not a key (try up, down, left, right, ok, back, home, playpause, 0-9, \"text\" or wait:MS)"
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
                finish_word(&mut word, &mut steps)?;
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    steps.push(Step::Key(Key::Char(c)));
                }
                if !closed {
                    return Err(ScriptError::UnclosedQuote);
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
    }
}
