//! Which tracks a playback plays, chosen from the presentation and the
//! viewer's settings: the video ladder, the audio language, the
//! subtitles, and the key ids they need.
//!
//! A playback ([`run`](super::run)) and predictive prefetch
//! ([`warm`](super::warm)) choose through the same [`Selection`], so what
//! prefetch fetched ahead is what Play asks for.

use super::abr::{Abr, Upcoming};
use super::error::PlayError;
use super::schedule::Fed;
use crate::media::keyring::Kid;
use crate::media::pipeline::MediaKind;
use crate::store::Store;
use ottbox_formats::manifest::{Presentation, Rendition, Scheme, Segment, TrackKind};
use ottbox_formats::subtitles::Subtitles;

/// The viewer's audio language (BCP 47), kept across titles and restarts:
/// what [`Command::AudioLanguageChanged`](super::status::Command::AudioLanguageChanged) makes a playback switch to.
pub const AUDIO_LANGUAGE_KEY: &str = "player.audio_language";
/// The viewer's subtitle language, empty for none: what
/// [`Command::SubtitlesChanged`](super::status::Command::SubtitlesChanged) makes a playback show.
pub const SUBTITLES_KEY: &str = "player.subtitles";

/// What a playback plays of a presentation.
#[derive(Debug)]
pub(super) struct Selection {
    /// Every audio language the title has.
    pub audio: Vec<AudioTrack>,
    /// The one played (an index into `audio`).
    pub audio_choice: usize,
    /// Every subtitle language the title has.
    pub texts: Vec<TextTrack>,
    /// The tracks fed to the pipeline: video first, then the audio.
    pub feeds: Vec<Feed>,
    /// The keys of every language up front: a switch needs no license.
    pub kids: Vec<Kid>,
}

impl Selection {
    /// The viewer's choice (kept in `store`) of `p`'s tracks; a preview
    /// has no audio.
    pub fn new(p: &Presentation, store: &Store, preview: bool) -> Result<Self, PlayError> {
        let audio = audio_tracks(p);
        let audio_choice = preferred_audio(store, &audio);
        let texts = subtitle_tracks(p);
        let feeds = tracks(p, preview, audio.get(audio_choice).map(|a| &a.rendition))?;
        let kids = key_ids(
            feeds
                .iter()
                .flat_map(|f| &f.renditions)
                .chain(audio.iter().map(|a| &a.rendition)),
        )?;
        Ok(Self {
            audio,
            audio_choice,
            texts,
            feeds,
            kids,
        })
    }
}

/// One track being fed.
#[derive(Debug)]
pub(super) struct Feed {
    /// Index of the track in the pipeline.
    pub track: usize,
    pub kind: MediaKind,
    /// Renditions, lowest bandwidth first (the ABR ladder's order).
    pub renditions: Vec<Rendition>,
    /// The rendition whose init segment was pushed last.
    pub current: Option<usize>,
    /// Next segment to fetch.
    pub next: usize,
    /// Presentation time up to which media is pushed.
    pub fed_end: f64,
    pub done: bool,
}

impl Feed {
    fn new(track: usize, kind: MediaKind, renditions: Vec<Rendition>) -> Self {
        Self {
            track,
            kind,
            renditions,
            current: None,
            next: 0,
            fed_end: 0.0,
            done: false,
        }
    }

    /// The segments of `rendition`.
    pub fn segments(&self, rendition: usize) -> &[Segment] {
        self.renditions
            .get(rendition)
            .and_then(|r| r.segments.ready())
            .unwrap_or_default()
    }

    /// How far it is fed, as the scheduler sees it.
    pub fn fed(&self) -> Fed {
        Fed {
            end: self.fed_end,
            done: self.done,
            started: self.current.is_some(),
        }
    }

    /// Positions the feed at the segment that holds `t`.
    pub fn seek(&mut self, t: f64) {
        let segs = self.segments(0);
        let i = segs
            .iter()
            .position(|s| s.start + s.duration > t)
            .unwrap_or(segs.len());
        let fed_end = segs.get(i).map_or(t, |s| s.start);
        let done = i >= segs.len();
        self.next = i;
        self.fed_end = fed_end;
        self.current = None;
        self.done = done;
    }

    /// The rendition to fetch the next segment in, with `buffer_s`
    /// buffered: the ABR's choice for a video ladder (the lowest rung
    /// for a preview), the only one otherwise.
    pub fn rendition(&self, abr: &mut Abr, buffer_s: f64, preview: bool) -> usize {
        if self.kind != MediaKind::Video || self.renditions.len() < 2 {
            return 0;
        }
        if preview {
            abr.set_current(0);
            return 0;
        }
        let segment_s = self.segments(0).get(self.next).map_or(2.0, |s| s.duration);
        let left = self.segments(0).len().saturating_sub(self.next);
        abr.choose(
            buffer_s,
            &Upcoming {
                segment_s,
                segments_left: Some(left),
                sizes: &[],
            },
        )
    }
}

/// One audio language of a title.
#[derive(Debug, Clone)]
pub(super) struct AudioTrack {
    /// BCP 47, `und` when the manifest says none.
    pub language: String,
    /// Its first listed rendition (one bitrate per language here).
    pub rendition: Rendition,
}

/// One subtitle language of a title.
#[derive(Debug, Clone)]
pub(super) struct TextTrack {
    /// BCP 47, `und` when the manifest says none.
    pub language: String,
    /// Its WebVTT segments.
    pub segments: Vec<Segment>,
}

impl TextTrack {
    /// Starts showing it from `t` seconds.
    pub fn show(&self, t: f64) -> Subtitles {
        Subtitles::new(self.segments.clone(), t)
    }
}

/// The audio track to play: the viewer's language if the title has it,
/// else the manifest's first.
pub(super) fn preferred_audio(store: &Store, audio: &[AudioTrack]) -> usize {
    store
        .get::<String>(&store.meta, AUDIO_LANGUAGE_KEY)
        .and_then(|want| audio.iter().position(|a| a.language == want))
        .unwrap_or(0)
}

/// The subtitle track to show: the viewer's language if the title has
/// it, none when subtitles are off.
pub(super) fn preferred_subtitles(store: &Store, texts: &[TextTrack]) -> Option<usize> {
    let want = store.get::<String>(&store.meta, SUBTITLES_KEY)?;
    texts.iter().position(|t| t.language == want)
}

/// The language of the subtitles shown, empty for none.
pub(super) fn shown_language(texts: &[TextTrack], shown: &Option<(usize, Subtitles)>) -> String {
    shown
        .as_ref()
        .map(|(i, _)| texts[*i].language.clone())
        .unwrap_or_default()
}

/// Each audio track with a listed rendition, in manifest order.
fn audio_tracks(p: &Presentation) -> Vec<AudioTrack> {
    p.periods
        .first()
        .into_iter()
        .flat_map(|period| &period.tracks)
        .filter(|t| t.kind == TrackKind::Audio)
        .filter_map(|t| {
            Some(AudioTrack {
                language: t.language.clone().unwrap_or_else(|| "und".into()),
                rendition: t.renditions.iter().find(|r| r.is_listed())?.clone(),
            })
        })
        .collect()
}

/// Each WebVTT subtitle track with listed segments, in manifest order
/// (TTML and other formats are not offered).
fn subtitle_tracks(p: &Presentation) -> Vec<TextTrack> {
    let webvtt = |r: &Rendition| {
        let codecs = r.codecs.as_deref().unwrap_or_default();
        let vtt_urls = r
            .segments
            .ready()
            .is_some_and(|s| s.iter().all(|s| s.url.path().ends_with(".vtt")));
        codecs == "wvtt" || (codecs.is_empty() && vtt_urls)
    };
    p.periods
        .first()
        .into_iter()
        .flat_map(|period| &period.tracks)
        .filter(|t| t.kind == TrackKind::Subtitles)
        .filter_map(|t| {
            let r = t.renditions.iter().find(|r| r.is_listed() && webvtt(r))?;
            Some(TextTrack {
                language: t.language.clone().unwrap_or_else(|| "und".into()),
                segments: r.segments.ready()?.to_vec(),
            })
        })
        .collect()
}

/// The video track's ladder and, unless `preview`, the `audio` rendition.
fn tracks(
    p: &Presentation,
    preview: bool,
    audio: Option<&Rendition>,
) -> Result<Vec<Feed>, PlayError> {
    let period = p
        .periods
        .first()
        .ok_or_else(|| PlayError::Unsupported("the manifest has no period".into()))?;
    let video = period
        .tracks
        .iter()
        .find(|t| t.kind == TrackKind::Video && t.renditions.iter().any(Rendition::is_listed))
        .ok_or_else(|| PlayError::Unsupported("the manifest has no video".into()))?;
    let mut renditions: Vec<Rendition> = video
        .renditions
        .iter()
        .filter(|r| r.is_listed())
        .cloned()
        .collect();
    renditions.sort_by_key(|r| r.bandwidth);
    let mut feeds = vec![Feed::new(0, MediaKind::Video, renditions)];
    if !preview && let Some(audio) = audio {
        feeds.push(Feed::new(1, MediaKind::Audio, vec![audio.clone()]));
    }
    Ok(feeds)
}

/// Every key id the tracks need; refuses schemes the decryptor lacks.
fn key_ids<'a>(renditions: impl Iterator<Item = &'a Rendition>) -> Result<Vec<Kid>, PlayError> {
    let mut kids = Vec::new();
    for r in renditions {
        for p in &r.protection {
            if !matches!(p.scheme, Scheme::Cenc | Scheme::Cbcs) {
                return Err(PlayError::Unsupported(format!(
                    "{:?} encryption is not supported on this box",
                    p.scheme
                )));
            }
            for kid in &p.kids {
                if !kids.contains(&Kid(*kid)) {
                    kids.push(Kid(*kid));
                }
            }
        }
    }
    Ok(kids)
}
