//! HLS and DASH manifests, read into one model of periods, tracks,
//! renditions and segments.
//!
//! The rest of the playback engine (ABR, the segment scheduler, the license
//! client) never sees an `.m3u8` or an `.mpd`: it sees a [`Presentation`].
//!
//! ```text
//! Presentation ─ periods ─► Period (start, duration)
//!                             └ tracks ─► Track (video | audio | subtitles, language, name)
//!                                           └ renditions ─► Rendition (bandwidth, size, codecs)
//!                                                             ├ protection (scheme, KIDs, pssh, key URI)
//!                                                             └ segments ─► Segment (URL, byte range,
//!                                                                             start, duration, init)
//! ```
//!
//! # No I/O: the caller fetches, the module reads
//!
//! Reading a manifest often takes more than one document. An HLS
//! multivariant playlist only names its media playlists; a DASH
//! `SegmentBase` only names the byte range of a `sidx` box inside the media
//! file. This module does no I/O, so it gives back what it still needs and
//! the caller brings the bytes:
//!
//! ```
//! use ottbox_formats::manifest::{Limits, Presentation};
//! use url::Url;
//!
//! let url = Url::parse("https://cdn.example/title/master.m3u8").expect("url");
//! let master = b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nlow.m3u8\n";
//! let mut p = Presentation::parse(&url, master, &Limits::default())?;
//! for fetch in p.pending() {
//!     // The daemon would GET fetch.url (with fetch.range, if any) here.
//!     assert_eq!(fetch.url.as_str(), "https://cdn.example/title/low.m3u8");
//!     let body = b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXT-X-ENDLIST\n";
//!     p.supply(&fetch, body)?;
//! }
//! let rendition = &p.periods[0].tracks[0].renditions[0];
//! let segments = rendition.segments.ready().expect("playlist supplied");
//! assert_eq!(segments[0].url.as_str(), "https://cdn.example/title/seg1.ts");
//! assert_eq!(rendition.width, Some(640));
//! # Ok::<(), ottbox_formats::manifest::ManifestError>(())
//! ```
//!
//! # Bad input
//!
//! Manifests come from the network. Every entry point checks the size of
//! what it is given ([`Limits::max_bytes`]) and counts the segments it
//! creates against [`Limits::max_segments`] *before* allocating them, so a
//! ten-line MPD that claims 10^12 segments is an error, not an
//! out-of-memory kill. Errors are [`ManifestError`]s with stable codes.
//!
//! The submodules: [`hls`] (RFC 8216, on top of `m3u8-rs`), [`dash`]
//! (MPEG-DASH, on top of `dash-mpd-core`), [`sidx`] (the ISO BMFF segment
//! index box) and [`pssh`] (the protection system header box).

pub mod dash;
mod error;
pub mod hls;
pub mod pssh;
pub mod sidx;
mod template;

use std::sync::Arc;

pub use error::{Format, ManifestError};
use url::Url;

/// How much the parsers accept before giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest document (playlist, MPD, index) read, in bytes.
    pub max_bytes: usize,
    /// The most segments one presentation may hold, all renditions together.
    pub max_segments: usize,
}

impl Default for Limits {
    /// 16 MiB documents (a 100,000-segment playlist is about 4 MiB) and a
    /// million segments (a few hundred MiB of model at worst).
    fn default() -> Self {
        Self {
            max_bytes: 16 << 20,
            max_segments: 1_000_000,
        }
    }
}

impl Limits {
    /// Refuses a document larger than [`Limits::max_bytes`].
    pub(crate) fn check_size(&self, format: Format, bytes: &[u8]) -> Result<(), ManifestError> {
        if bytes.len() > self.max_bytes {
            return Err(ManifestError::TooLarge {
                format,
                size: bytes.len(),
                limit: self.max_bytes,
            });
        }
        Ok(())
    }
}

/// Which manifest format a presentation was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// HLS (RFC 8216).
    Hls,
    /// MPEG-DASH.
    Dash,
}

/// A whole title as the engine plays it.
#[derive(Debug, Clone, PartialEq)]
pub struct Presentation {
    /// What it was read from.
    pub source: Source,
    /// The URL of the manifest (after redirects, as the caller gave it).
    pub url: Url,
    /// Total duration in seconds, when known (DASH states it; for HLS it
    /// is the sum of a video rendition's segments once supplied).
    pub duration: Option<f64>,
    /// A live presentation (HLS without `EXT-X-ENDLIST`). Live DASH is
    /// refused by the parser.
    pub live: bool,
    /// The periods, in playback order. HLS has one.
    pub periods: Vec<Period>,
    /// Segments held, all renditions together, to enforce the cap.
    segment_count: usize,
    /// The limits the presentation was parsed with, for later supplies.
    limits: Limits,
}

/// A stretch of the presentation with one set of tracks (a DASH Period;
/// ad breaks usually are periods of their own).
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    /// The period's id, if the manifest gives one.
    pub id: Option<String>,
    /// Start within the presentation, in seconds.
    pub start: f64,
    /// Length in seconds, when known.
    pub duration: Option<f64>,
    /// The tracks.
    pub tracks: Vec<Track>,
}

/// What a track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// Pictures (possibly with muxed sound, as in HLS MPEG-TS variants).
    Video,
    /// Sound.
    Audio,
    /// Subtitles or captions.
    Subtitles,
}

/// One selectable stream: a DASH AdaptationSet, the HLS variants (video)
/// or one HLS `EXT-X-MEDIA` alternative.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// What it carries.
    pub kind: TrackKind,
    /// Language (BCP 47 as written: `en`, `pt-BR`).
    pub language: Option<String>,
    /// A name to show people (HLS `NAME`, DASH `Label`).
    pub name: Option<String>,
    /// HLS group id of an alternative (`audio` in `GROUP-ID="audio"`).
    pub group: Option<String>,
    /// The encodings to choose between, ABR's ladder.
    pub renditions: Vec<Rendition>,
}

/// One encoding of a track.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendition {
    /// Representation id (DASH) or playlist URI as written (HLS).
    pub id: String,
    /// Peak bits per second, as declared.
    pub bandwidth: u64,
    /// Picture width in pixels.
    pub width: Option<u32>,
    /// Picture height in pixels.
    pub height: Option<u32>,
    /// RFC 6381 codecs string (`avc1.64001f,mp4a.40.2`).
    pub codecs: Option<String>,
    /// Frames per second.
    pub frame_rate: Option<f64>,
    /// HLS: the audio group this variant plays with.
    pub audio_group: Option<String>,
    /// Every distinct protection that applies somewhere in the rendition,
    /// known before the segments are (a license can be requested early).
    pub protection: Vec<Arc<Protection>>,
    /// The segments, or what to fetch to know them.
    pub segments: Segments,
}

/// A rendition's segments, or what is still needed to list them.
#[derive(Debug, Clone, PartialEq)]
pub enum Segments {
    /// Listed.
    Ready(Vec<Segment>),
    /// An HLS media playlist not fetched yet: see [`Presentation::pending`].
    Playlist(Url),
    /// A DASH `SegmentBase`: the `sidx` box at this range of the media file
    /// lists the segments. See [`Presentation::pending`].
    Index(IndexRef),
    /// Carried inside another rendition's segments (an HLS alternative
    /// without a URI).
    Muxed,
}

impl Rendition {
    /// Its segments are listed and there is at least one: it can be
    /// played.
    pub fn is_listed(&self) -> bool {
        self.segments.ready().is_some_and(|s| !s.is_empty())
    }
}

impl Segments {
    /// The segments, when listed.
    pub fn ready(&self) -> Option<&[Segment]> {
        match self {
            Self::Ready(s) => Some(s),
            _ => None,
        }
    }
}

/// Where a DASH `SegmentBase` rendition's index is, and what is needed to
/// turn it into segments.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRef {
    /// The media file (the Representation's BaseURL).
    pub url: Url,
    /// `indexRange`: where the `sidx` box is.
    pub range: ByteRange,
    /// The init segment (`Initialization@range`), if any.
    pub init: Option<Arc<Resource>>,
    /// `SegmentBase@presentationTimeOffset`, in seconds: the media time
    /// at which the period starts.
    pub presentation_time_offset: f64,
    /// Start of the period, seconds.
    pub period_start: f64,
    /// Number given to the first segment.
    pub first_number: u64,
    /// The first segment starts a period after the first.
    pub discontinuity: bool,
    /// Protection of every segment.
    pub protection: Option<Arc<Protection>>,
}

/// A byte range of a resource: `length` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    /// First byte.
    pub offset: u64,
    /// Number of bytes (at least 1).
    pub length: u64,
}

impl ByteRange {
    /// The last byte, inclusive (as in an HTTP `Range` header).
    pub fn last(&self) -> u64 {
        self.offset + self.length.saturating_sub(1)
    }

    /// The value of an HTTP `Range` header for this range.
    pub fn http_header(&self) -> String {
        format!("bytes={}-{}", self.offset, self.last())
    }

    /// Parses DASH's `first-last` form (inclusive).
    pub(crate) fn from_dash(text: &str) -> Result<Self, ManifestError> {
        let bad = || ManifestError::invalid(Format::Dash, "byte range", text);
        let (a, b) = text.trim().split_once('-').ok_or_else(bad)?;
        let first: u64 = a.trim().parse().map_err(|_| bad())?;
        let last: u64 = b.trim().parse().map_err(|_| bad())?;
        if last < first || last == u64::MAX {
            return Err(bad());
        }
        Ok(Self {
            offset: first,
            length: last - first + 1,
        })
    }
}

/// Something to fetch: a URL and maybe a byte range of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resource {
    /// Absolute URL.
    pub url: Url,
    /// Only these bytes, when set.
    pub range: Option<ByteRange>,
}

/// One media segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Absolute URL.
    pub url: Url,
    /// Only these bytes of it, when set (HLS `EXT-X-BYTERANGE`, DASH
    /// `mediaRange` or a `sidx` reference).
    pub range: Option<ByteRange>,
    /// Sequence number: HLS media sequence, DASH `$Number$`.
    pub number: u64,
    /// Start within the presentation, seconds.
    pub start: f64,
    /// Length, seconds.
    pub duration: f64,
    /// The timeline restarts here (HLS `EXT-X-DISCONTINUITY`, or the first
    /// segment of a DASH period after the first): the decoder must be told.
    pub discontinuity: bool,
    /// The init segment to feed before it (`EXT-X-MAP`, `Initialization`).
    pub init: Option<Arc<Resource>>,
    /// How it is encrypted, if it is.
    pub protection: Option<Arc<Protection>>,
}

impl Segment {
    /// The AES-128 CBC IV of this segment: the key's explicit IV, or else
    /// (RFC 8216 §5.2) the media sequence number as a 128-bit big-endian
    /// integer.
    pub fn aes128_iv(&self) -> Option<[u8; 16]> {
        let p = self.protection.as_ref()?;
        if p.scheme != Scheme::Aes128 {
            return None;
        }
        Some(p.iv.unwrap_or_else(|| u128::from(self.number).to_be_bytes()))
    }
}

/// An encryption scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Common Encryption AES-CTR (`cenc`; HLS `SAMPLE-AES-CTR`).
    Cenc,
    /// Common Encryption AES-CBC with patterns (`cbcs`; HLS `SAMPLE-AES`
    /// on fMP4).
    Cbcs,
    /// Whole segments AES-128-CBC encrypted (HLS `AES-128`).
    Aes128,
    /// Apple's MPEG-TS sample encryption (HLS `SAMPLE-AES` on TS).
    SampleAes,
}

/// A 16-byte key id.
pub type Kid = [u8; 16];

/// How a rendition or a segment is encrypted and where its key comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Protection {
    /// The scheme.
    pub scheme: Scheme,
    /// Key ids (DASH `cenc:default_KID`, HLS `KEYID` or an identity data URI).
    pub kids: Vec<Kid>,
    /// Protection system headers from the manifest (`cenc:pssh`).
    pub pssh: Vec<pssh::Pssh>,
    /// Where to get the key (HLS `URI`), when it is not an identity data URI.
    pub key_uri: Option<Url>,
    /// HLS `KEYFORMAT`, when given.
    pub key_format: Option<String>,
    /// Explicit IV (HLS `IV`).
    pub iv: Option<[u8; 16]>,
}

/// One document the presentation still needs (see [`Presentation::pending`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fetch {
    /// What it is.
    pub kind: FetchKind,
    /// Absolute URL.
    pub url: Url,
    /// Only these bytes, when set (a `sidx` index range).
    pub range: Option<ByteRange>,
}

/// What a [`Fetch`] brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FetchKind {
    /// An HLS media playlist.
    MediaPlaylist,
    /// A DASH segment index (`sidx` box).
    SegmentIndex,
}

impl Presentation {
    /// Reads a manifest, telling HLS from DASH by its first bytes
    /// (`#EXTM3U` or XML).
    pub fn parse(url: &Url, bytes: &[u8], limits: &Limits) -> Result<Self, ManifestError> {
        let head = bytes
            .strip_prefix(b"\xef\xbb\xbf".as_slice())
            .unwrap_or(bytes);
        let head = head.trim_ascii_start();
        if head.starts_with(b"#EXTM3U") {
            hls::parse_multivariant(url, bytes, limits)
        } else if head.starts_with(b"<") {
            dash::parse(url, bytes, limits)
        } else {
            limits.check_size(Format::Hls, bytes)?;
            Err(ManifestError::malformed(
                Format::Hls,
                "neither an HLS playlist (#EXTM3U) nor a DASH MPD (XML)",
            ))
        }
    }

    pub(crate) fn new(source: Source, url: Url, limits: Limits) -> Self {
        Self {
            source,
            url,
            duration: None,
            live: false,
            periods: Vec::new(),
            segment_count: 0,
            limits,
        }
    }

    /// Documents still to fetch before every rendition lists its segments,
    /// without duplicates. Fetch each and hand it to [`Presentation::supply`].
    pub fn pending(&self) -> Vec<Fetch> {
        let mut out: Vec<Fetch> = Vec::new();
        for r in self.renditions() {
            let fetch = match &r.segments {
                Segments::Playlist(url) => Fetch {
                    kind: FetchKind::MediaPlaylist,
                    url: url.clone(),
                    range: None,
                },
                Segments::Index(idx) => Fetch {
                    kind: FetchKind::SegmentIndex,
                    url: idx.url.clone(),
                    range: Some(idx.range),
                },
                Segments::Ready(_) | Segments::Muxed => continue,
            };
            if !out.contains(&fetch) {
                out.push(fetch);
            }
        }
        out
    }

    /// Hands over the bytes of a pending document; every rendition waiting
    /// for it gets its segments. Returns how many renditions were filled.
    pub fn supply(&mut self, fetch: &Fetch, bytes: &[u8]) -> Result<usize, ManifestError> {
        let limits = self.limits;
        let mut filled = 0;
        // Parse once: renditions that share a playlist or an index (the
        // same video playlist in two variants) share its segments.
        let mut parsed: Option<(Vec<Segment>, bool)> = None;
        let mut budget = limits.max_segments.saturating_sub(self.segment_count);
        let mut added = 0usize;
        for period in &mut self.periods {
            for track in &mut period.tracks {
                for r in &mut track.renditions {
                    let waits = match (&r.segments, fetch.kind) {
                        (Segments::Playlist(u), FetchKind::MediaPlaylist) => *u == fetch.url,
                        (Segments::Index(i), FetchKind::SegmentIndex) => {
                            i.url == fetch.url && Some(i.range) == fetch.range
                        }
                        _ => false,
                    };
                    if !waits {
                        continue;
                    }
                    if parsed.is_none() {
                        let segs = match &r.segments {
                            Segments::Playlist(u) => {
                                let media = hls::parse_media_within(u, bytes, &limits, budget)?;
                                (media.segments, media.ended)
                            }
                            Segments::Index(i) => {
                                (sidx::segments(i, bytes, &limits, budget)?, true)
                            }
                            _ => continue,
                        };
                        parsed = Some(segs);
                    }
                    let Some((segs, ended)) = &parsed else {
                        continue;
                    };
                    if segs.len() > budget {
                        return Err(ManifestError::TooManySegments {
                            limit: limits.max_segments,
                        });
                    }
                    budget -= segs.len();
                    added += segs.len();
                    for p in distinct_protections(segs) {
                        if !r.protection.contains(&p) {
                            r.protection.push(p);
                        }
                    }
                    r.segments = Segments::Ready(segs.clone());
                    if !ended {
                        self.live = true;
                    }
                    filled += 1;
                }
            }
        }
        self.segment_count += added;
        if filled == 0 {
            return Err(ManifestError::NotPending {
                url: fetch.url.to_string(),
            });
        }
        if self.source == Source::Hls {
            self.duration = self.hls_duration();
        }
        Ok(filled)
    }

    /// Every rendition of every period, in order.
    pub fn renditions(&self) -> impl Iterator<Item = &Rendition> {
        self.periods
            .iter()
            .flat_map(|p| &p.tracks)
            .flat_map(|t| &t.renditions)
    }

    /// HLS has no stated duration: it is the length of the longest listed
    /// rendition of the first video (or, failing that, any) track.
    fn hls_duration(&self) -> Option<f64> {
        let end = |r: &Rendition| {
            r.segments
                .ready()
                .and_then(|s| s.last())
                .map(|s| s.start + s.duration)
        };
        let period = self.periods.first()?;
        let track = period
            .tracks
            .iter()
            .find(|t| t.kind == TrackKind::Video && t.renditions.iter().any(|r| end(r).is_some()))
            .or_else(|| period.tracks.first())?;
        track.renditions.iter().filter_map(end).reduce(f64::max)
    }

    /// Counts `n` more segments against the cap, failing past it.
    pub(crate) fn reserve(&mut self, n: u64) -> Result<(), ManifestError> {
        let total = (self.segment_count as u64).saturating_add(n);
        if total > self.limits.max_segments as u64 {
            return Err(ManifestError::TooManySegments {
                limit: self.limits.max_segments,
            });
        }
        self.segment_count = total as usize;
        Ok(())
    }
}

/// The distinct protections of a list of segments, in order of first use.
fn distinct_protections(segments: &[Segment]) -> Vec<Arc<Protection>> {
    let mut out: Vec<Arc<Protection>> = Vec::new();
    for p in segments.iter().filter_map(|s| s.protection.as_ref()) {
        if !out.iter().any(|o| Arc::ptr_eq(o, p) || **o == **p) {
            out.push(p.clone());
        }
    }
    out
}

/// Resolves `reference` against `base` (RFC 3986), naming the format in
/// the error.
pub(crate) fn resolve(base: &Url, reference: &str, format: Format) -> Result<Url, ManifestError> {
    base.join(reference.trim())
        .map_err(|_| ManifestError::BadUrl {
            format,
            url: reference.to_owned(),
        })
}

/// Parses a 16-byte key id written as 32 hex digits, with or without
/// dashes (UUID form) or a `0x` prefix.
pub(crate) fn parse_kid(text: &str, format: Format) -> Result<Kid, ManifestError> {
    let t = text.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let digits: String = t.chars().filter(|c| *c != '-').collect();
    let bytes = hex::decode(&digits).map_err(|_| ManifestError::invalid(format, "key id", text))?;
    bytes
        .try_into()
        .map_err(|_| ManifestError::invalid(format, "key id", text))
}

#[cfg(test)]
mod tests;
