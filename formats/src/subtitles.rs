//! WebVTT subtitles: the cues of the language the viewer chose, fetched a
//! little ahead of the playhead, and the text on screen at any instant.
//!
//! The box shows subtitles as text that the UI draws over the picture
//! (`Player1.SubtitleText`), not through the video pipeline: the UI
//! already owns the screen above the video plane on a set-top box, the
//! text stays sharp at any video resolution, and a subtitle problem can
//! never stall or break the picture. Segmented WebVTT (HLS subtitle
//! playlists, DASH `text/vtt` SegmentTemplate) carries cue times on the
//! presentation timeline; a cue that spans a segment boundary comes in
//! both segments and is kept once.
//!
//! Cue syntax is the `vtt` crate's; this module splits a file into blocks
//! itself so that `NOTE`, `STYLE` and `REGION` blocks, and a malformed cue,
//! are skipped rather than losing the whole segment, and drops cue
//! settings first (see [`without_settings`]).

use std::str::FromStr;

use crate::manifest::Segment;

/// How far ahead of the playhead cues are fetched, seconds.
pub const AHEAD_S: f64 = 10.0;

/// One cue: text on screen from `start` to `end` (seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// From, seconds.
    pub start: f64,
    /// Until (exclusive), seconds.
    pub end: f64,
    /// Plain text: markup removed, entities decoded, lines kept.
    pub text: String,
}

/// What is wrong with a subtitle segment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubtitleError {
    /// Not UTF-8 text.
    #[error("the subtitle segment is not UTF-8 text")]
    NotText,
    /// No `WEBVTT` signature.
    #[error("the subtitle segment is not WebVTT (no WEBVTT line)")]
    NotWebVtt,
}

impl SubtitleError {
    /// A stable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotText => "subtitles.not_text",
            Self::NotWebVtt => "subtitles.not_webvtt",
        }
    }
}

/// The cues of one WebVTT file or segment, in file order. Malformed cues
/// are skipped.
pub fn parse(bytes: &[u8]) -> Result<Vec<Cue>, SubtitleError> {
    let text = std::str::from_utf8(bytes).map_err(|_| SubtitleError::NotText)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    // Blocks are separated by blank lines (whitespace counts as blank).
    let mut blocks: Vec<String> = vec![String::new()];
    for line in text.lines() {
        match blocks.last_mut() {
            Some(b) if !line.trim().is_empty() => {
                if !b.is_empty() {
                    b.push('\n');
                }
                b.push_str(line);
            }
            Some(b) if !b.is_empty() => blocks.push(String::new()),
            _ => {}
        }
    }
    let mut blocks = blocks.into_iter();
    let header = blocks.next().unwrap_or_default();
    let signature = header.lines().next().unwrap_or_default();
    if !(signature == "WEBVTT"
        || signature.starts_with("WEBVTT ")
        || signature.starts_with("WEBVTT\t"))
    {
        return Err(SubtitleError::NotWebVtt);
    }
    Ok(blocks
        .filter(|b| !b.is_empty())
        .filter(|b| !["NOTE", "STYLE", "REGION"].iter().any(|k| b.starts_with(k)))
        .filter(|b| plausible_timing(b))
        .filter_map(|b| vtt::VttCue::from_str(&without_settings(&b)).ok())
        .map(|c| Cue {
            start: c.start.as_duration().as_secs_f64(),
            end: c.end.as_duration().as_secs_f64(),
            text: plain(&c.payload),
        })
        .filter(|c| c.end > c.start && !c.text.is_empty())
        .collect())
}

/// False when a timing line holds a number too long for a time (more
/// than 9 digits): the `vtt` crate multiplies hours and minutes into
/// milliseconds unchecked, which overflows (a panic in a debug build, a
/// wrong time in a release one). Found by the `webvtt` fuzz target.
fn plausible_timing(block: &str) -> bool {
    block
        .lines()
        .filter(|l| l.contains("-->"))
        .all(|l| l.split(|c: char| !c.is_ascii_digit()).all(|n| n.len() <= 9))
}

/// A cue block with its timing line cut after the end time. The box does
/// not position cues (the UI puts them at the bottom, centred), and the
/// `vtt` crate refuses valid settings such as `align:center`, which Shaka
/// Packager writes on every cue.
fn without_settings(block: &str) -> String {
    block
        .lines()
        .map(|line| match line.split_once("-->") {
            Some((start, rest)) => {
                let end = rest.split_whitespace().next().unwrap_or_default();
                format!("{} --> {end}", start.trim())
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Cue text without markup (`<b>`, `<c.yellow>`, `<00:01.000>`), with the
/// character references WebVTT allows decoded.
fn plain(payload: &str) -> String {
    let mut out = String::with_capacity(payload.len());
    let mut in_tag = false;
    for c in payload.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&lrm;", "\u{200e}")
        .replace("&rlm;", "\u{200f}")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}

/// The subtitle track on screen: its segments, which to fetch next, and
/// the cues so far.
#[derive(Debug, Clone)]
pub struct Subtitles {
    segments: Vec<Segment>,
    next: usize,
    /// Sorted by start time: the cues on screen at `t` are found by a
    /// binary search, not a scan of the whole film's, on every tick.
    cues: Vec<Cue>,
    /// The longest cue's duration: no cue that starts earlier than `t`
    /// minus this is still on screen at `t`.
    longest_s: f64,
}

impl Subtitles {
    /// Shows `segments` from `t` seconds.
    pub fn new(segments: Vec<Segment>, t: f64) -> Self {
        let mut s = Self {
            segments,
            next: 0,
            cues: Vec::new(),
            longest_s: 0.0,
        };
        s.seek(t);
        s
    }

    /// Fetches from the segment holding `t` on (cues already in stay).
    pub fn seek(&mut self, t: f64) {
        self.next = self
            .segments
            .iter()
            .position(|s| s.start + s.duration > t)
            .unwrap_or(self.segments.len());
    }

    /// The next segment to fetch, when it starts within [`AHEAD_S`] of
    /// `position`.
    pub fn wanted(&self, position: f64) -> Option<&Segment> {
        self.segments
            .get(self.next)
            .filter(|s| s.start < position + AHEAD_S)
    }

    /// Takes the cues of the segment [`Subtitles::wanted`] gave.
    pub fn add(&mut self, bytes: &[u8]) -> Result<(), SubtitleError> {
        self.next += 1;
        for cue in parse(bytes)? {
            // Segments overlap by a cue that spans their boundary: keep
            // one copy of it.
            let from = self.cues.partition_point(|c| c.start < cue.start);
            let to = self.cues.partition_point(|c| c.start <= cue.start);
            if !self.cues[from..to].contains(&cue) {
                self.longest_s = self.longest_s.max(cue.end - cue.start);
                self.cues.insert(to, cue);
            }
        }
        Ok(())
    }

    /// Gives up on the segment [`Subtitles::wanted`] gave.
    pub fn skip(&mut self) {
        self.next += 1;
    }

    /// The text on screen at `t`: every active cue, one per line.
    pub fn text_at(&self, t: f64) -> String {
        let from = self.cues.partition_point(|c| c.start < t - self.longest_s);
        let to = self.cues.partition_point(|c| c.start <= t);
        self.cues[from..to.max(from)]
            .iter()
            .filter(|c| t < c.end)
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEGMENT: &str = "WEBVTT\n\nNOTE made by hand\n\n00:00:00.000 --> 00:00:02.000 align:center\n<b>Hello</b> &amp; welcome\n\nbad cue\n00:00:xx --> nonsense\n\n2\n00:00:01.500 --> 00:00:03.000\nSecond\nline\n";

    #[test]
    fn a_time_too_long_for_a_number_is_a_skipped_cue_not_a_panic() {
        // The `webvtt` fuzz target's find, kept as a seed of its replay.
        let found = include_bytes!("../fuzz/seeds/webvtt/overflowing_timestamp.vtt");
        assert_eq!(parse(found).expect("webvtt"), []);
        let huge = "WEBVTT\n\n99999999999999:00:00.000 --> 99999999999999:00:01.000\nNever\n\n00:00:01.000 --> 00:00:02.000\nShown\n";
        let cues = parse(huge.as_bytes()).expect("webvtt");
        assert_eq!(cues.len(), 1, "{cues:?}");
        assert_eq!(cues[0].text, "Shown");
    }

    #[test]
    fn cues_come_out_as_plain_text_and_bad_blocks_are_skipped() {
        let cues = parse(SEGMENT.as_bytes()).expect("webvtt");
        assert_eq!(
            cues,
            [
                Cue {
                    start: 0.0,
                    end: 2.0,
                    text: "Hello & welcome".into()
                },
                Cue {
                    start: 1.5,
                    end: 3.0,
                    text: "Second\nline".into()
                }
            ]
        );
        let crlf = SEGMENT.replace('\n', "\r\n");
        assert_eq!(parse(crlf.as_bytes()).expect("webvtt"), cues);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        assert_eq!(parse(b"\xff\xfe"), Err(SubtitleError::NotText));
        assert_eq!(
            parse(b"1\n00:00:00,000 --> 00:00:01,000\nSRT"),
            Err(SubtitleError::NotWebVtt)
        );
        assert_eq!(parse(b"WEBVTTX\n"), Err(SubtitleError::NotWebVtt));
        assert_eq!(parse(b"WEBVTT\n").expect("empty is fine"), []);
    }

    fn segments(n: usize) -> Vec<Segment> {
        (0..n)
            .map(|i| Segment {
                url: url::Url::parse(&format!("http://e/t/{i}.vtt")).expect("url"),
                range: None,
                number: i as u64 + 1,
                start: i as f64 * 2.0,
                duration: 2.0,
                discontinuity: false,
                init: None,
                protection: None,
            })
            .collect()
    }

    #[test]
    fn segments_are_fetched_ahead_and_cues_shown_once_at_their_time() {
        let mut subs = Subtitles::new(segments(20), 3.0);
        assert_eq!(subs.wanted(3.0).map(|s| s.number), Some(2), "from 3 s");
        let spanning = "WEBVTT\n\n00:00:03.500 --> 00:00:04.500\nacross\n";
        subs.add(spanning.as_bytes()).expect("segment 2");
        subs.add(spanning.as_bytes()).expect("segment 3 repeats it");
        assert_eq!(subs.text_at(4.0), "across");
        assert_eq!(subs.text_at(4.5), "", "ended");
        // Only AHEAD_S ahead of the playhead.
        while subs.wanted(3.0).is_some() {
            subs.skip();
        }
        assert_eq!(subs.next, 7, "up to 13 s fetched");
        assert!(subs.add(b"junk").is_err());
        subs.seek(0.0);
        assert_eq!(subs.wanted(0.0).map(|s| s.number), Some(1));
    }

    #[test]
    fn cues_in_any_order_show_by_start_with_a_long_one_underneath() {
        let mut subs = Subtitles::new(segments(20), 0.0);
        // A seek back fetches an earlier segment after a later one.
        subs.add(b"WEBVTT\n\n00:00:10.000 --> 00:00:11.000\nlater\n")
            .expect("later");
        subs.add(
            b"WEBVTT\n\n00:00:01.000 --> 00:00:30.000\nsign on the wall\n\n00:00:02.000 --> 00:00:03.000\nhello\n",
        )
        .expect("earlier");
        assert_eq!(subs.text_at(0.5), "");
        assert_eq!(subs.text_at(2.5), "sign on the wall\nhello");
        assert_eq!(subs.text_at(10.5), "sign on the wall\nlater");
        assert_eq!(subs.text_at(29.9), "sign on the wall");
        assert_eq!(subs.text_at(30.0), "");
    }
}
