//! HLS (RFC 8216) playlists into the model.
//!
//! HLS comes in two steps. The *multivariant* playlist lists the variants
//! (`EXT-X-STREAM-INF`: bandwidth, resolution, codecs) and the alternative
//! audio and subtitle renditions (`EXT-X-MEDIA`, with `LANGUAGE` and
//! `NAME`); [`parse_multivariant`] turns it into a [`Presentation`] whose
//! renditions wait for their media playlists ([`Segments::Playlist`]).
//! Each *media* playlist lists segments; [`parse_media`] reads one, and
//! [`Presentation::supply`] files it under every rendition that uses it.
//!
//! Syntax is `m3u8-rs`'s job. A small pass of our own over the lines
//! fills three gaps it leaves: it keeps an `EXT-X-KEY` only on the first
//! segment after the tag (RFC 8216 says a key applies until the next
//! one), it drops the `KEYID` attribute, and it cannot read
//! `METHOD=NONE` without an IV. The same pass counts segments before
//! `m3u8-rs` allocates them, so the segment cap holds.

use std::sync::Arc;

use base64::Engine;
use m3u8_rs::{AlternativeMediaType, Playlist};
use url::Url;

use super::{
    ByteRange, Format, Kid, Limits, ManifestError, Period, Presentation, Protection, Rendition,
    Resource, Scheme, Segment, Segments, Source, Track, TrackKind, parse_kid, resolve,
};

/// A media playlist, read.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaPlaylist {
    /// Its segments, with absolute URLs and start times from 0.
    pub segments: Vec<Segment>,
    /// `EXT-X-ENDLIST`: nothing will be added (VOD, or a finished event).
    pub ended: bool,
    /// `EXT-X-TARGETDURATION`, seconds.
    pub target_duration: u64,
    /// `EXT-X-MEDIA-SEQUENCE`: the number of the first segment.
    pub media_sequence: u64,
}

/// Reads a multivariant playlist at `url`. A media playlist given here
/// instead makes a presentation of one rendition, already listed.
pub fn parse_multivariant(
    url: &Url,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Presentation, ManifestError> {
    limits.check_size(Format::Hls, bytes)?;
    let bytes = strip_bom(bytes);
    let master = match parse_syntax(bytes)? {
        Playlist::MasterPlaylist(m) => m,
        Playlist::MediaPlaylist(_) => return single_rendition(url, bytes, limits),
    };
    let mut video = Track {
        kind: TrackKind::Video,
        language: None,
        name: None,
        group: None,
        renditions: Vec::new(),
    };
    for v in master.variants.iter().filter(|v| !v.is_i_frame) {
        if v.uri.trim().is_empty() {
            return Err(ManifestError::MissingAttribute {
                format: Format::Hls,
                element: "EXT-X-STREAM-INF",
                attribute: "URI line",
            });
        }
        let (width, height) = match &v.resolution {
            Some(r) => (Some(dimension(r.width)?), Some(dimension(r.height)?)),
            None => (None, None),
        };
        if let Some(fps) = v.frame_rate
            && !(fps.is_finite() && fps > 0.0)
        {
            return Err(ManifestError::invalid(
                Format::Hls,
                "FRAME-RATE",
                fps.to_string(),
            ));
        }
        video.renditions.push(Rendition {
            id: v.uri.clone(),
            bandwidth: v.bandwidth,
            width,
            height,
            codecs: v.codecs.clone(),
            frame_rate: v.frame_rate,
            audio_group: v.audio.clone(),
            protection: Vec::new(),
            segments: Segments::Playlist(resolve(url, &v.uri, Format::Hls)?),
        });
    }
    if video.renditions.is_empty() {
        return Err(ManifestError::malformed(
            Format::Hls,
            "the multivariant playlist has no EXT-X-STREAM-INF variant",
        ));
    }
    let mut tracks = vec![video];
    for alt in &master.alternatives {
        let kind = match alt.media_type {
            AlternativeMediaType::Audio => TrackKind::Audio,
            AlternativeMediaType::Subtitles => TrackKind::Subtitles,
            // Closed captions ride inside the video; alternative video
            // angles are not offered by the box.
            _ => continue,
        };
        let segments = match &alt.uri {
            Some(uri) => Segments::Playlist(resolve(url, uri, Format::Hls)?),
            None => Segments::Muxed,
        };
        tracks.push(Track {
            kind,
            language: alt.language.clone(),
            name: Some(alt.name.clone()),
            group: Some(alt.group_id.clone()),
            renditions: vec![Rendition {
                id: format!("{}/{}", alt.group_id, alt.name),
                bandwidth: 0,
                width: None,
                height: None,
                codecs: None,
                frame_rate: None,
                audio_group: None,
                protection: Vec::new(),
                segments,
            }],
        });
    }
    let mut p = Presentation::new(Source::Hls, url.clone(), *limits);
    p.periods.push(Period {
        id: None,
        start: 0.0,
        duration: None,
        tracks,
    });
    Ok(p)
}

/// Reads a media playlist at `url`.
pub fn parse_media(
    url: &Url,
    bytes: &[u8],
    limits: &Limits,
) -> Result<MediaPlaylist, ManifestError> {
    parse_media_within(url, bytes, limits, limits.max_segments)
}

/// [`parse_media`], allowing at most `budget` segments.
pub(super) fn parse_media_within(
    url: &Url,
    bytes: &[u8],
    limits: &Limits,
    budget: usize,
) -> Result<MediaPlaylist, ManifestError> {
    limits.check_size(Format::Hls, bytes)?;
    let bytes = strip_bom(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ManifestError::malformed(Format::Hls, format!("not UTF-8: {e}")))?;
    // Our pass first: it counts before anything is allocated per segment.
    let lines = scan_lines(url, text, limits, budget)?;
    let media = match parse_syntax(bytes)? {
        Playlist::MediaPlaylist(m) => m,
        Playlist::MasterPlaylist(_) => {
            return Err(ManifestError::malformed(
                Format::Hls,
                "expected a media playlist, got a multivariant one",
            ));
        }
    };
    let raw: Vec<_> = media
        .segments
        .iter()
        .filter(|s| !s.uri.trim().is_empty())
        .collect();
    if raw.len() != lines.keys.len() {
        return Err(ManifestError::malformed(
            Format::Hls,
            format!(
                "{} segment lines, but {} segments read",
                lines.keys.len(),
                raw.len()
            ),
        ));
    }
    let mut segments = Vec::with_capacity(raw.len());
    let mut init: Option<Arc<Resource>> = None;
    let mut start = 0.0f64;
    // The end of the previous segment's byte range, and of which URL: an
    // EXT-X-BYTERANGE without an offset continues from there.
    let mut previous_end: Option<(Url, u64)> = None;
    for (i, (s, key)) in raw.iter().zip(lines.keys).enumerate() {
        let seg_url = resolve(url, &s.uri, Format::Hls)?;
        if let Some(map) = &s.map {
            let map_url = resolve(url, &map.uri, Format::Hls)?;
            let range = match &map.byte_range {
                Some(b) => Some(byte_range(b.length, b.offset.unwrap_or(0))?),
                None => None,
            };
            init = Some(Arc::new(Resource {
                url: map_url,
                range,
            }));
        }
        let range = match &s.byte_range {
            None => None,
            Some(b) => {
                let offset = match (b.offset, &previous_end) {
                    (Some(o), _) => o,
                    (None, Some((u, end))) if *u == seg_url => *end,
                    (None, _) => {
                        return Err(ManifestError::invalid(
                            Format::Hls,
                            "EXT-X-BYTERANGE without an offset, after no range of the same URI",
                            format!("{}", b.length),
                        ));
                    }
                };
                Some(byte_range(b.length, offset)?)
            }
        };
        previous_end = range.map(|r| (seg_url.clone(), r.offset + r.length));
        let duration = f64::from(s.duration);
        if !(duration.is_finite() && duration >= 0.0) {
            return Err(ManifestError::invalid(
                Format::Hls,
                "EXTINF duration",
                s.duration.to_string(),
            ));
        }
        segments.push(Segment {
            url: seg_url,
            range,
            number: media.media_sequence.saturating_add(i as u64),
            start,
            duration,
            discontinuity: s.discontinuity,
            init: init.clone(),
            protection: key,
        });
        start += duration;
    }
    Ok(MediaPlaylist {
        segments,
        ended: media.end_list,
        target_duration: media.target_duration,
        media_sequence: media.media_sequence,
    })
}

/// A presentation made of one media playlist.
fn single_rendition(
    url: &Url,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Presentation, ManifestError> {
    let media = parse_media(url, bytes, limits)?;
    let mut p = Presentation::new(Source::Hls, url.clone(), *limits);
    p.reserve(media.segments.len() as u64)?;
    p.live = !media.ended;
    let mut protection: Vec<Arc<Protection>> = Vec::new();
    for k in media.segments.iter().filter_map(|s| s.protection.as_ref()) {
        if !protection.contains(k) {
            protection.push(k.clone());
        }
    }
    let id = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default()
        .to_owned();
    p.periods.push(Period {
        id: None,
        start: 0.0,
        duration: None,
        tracks: vec![Track {
            kind: TrackKind::Video,
            language: None,
            name: None,
            group: None,
            renditions: vec![Rendition {
                id,
                bandwidth: 0,
                width: None,
                height: None,
                codecs: None,
                frame_rate: None,
                audio_group: None,
                protection,
                segments: Segments::Ready(media.segments),
            }],
        }],
    });
    p.duration = p
        .renditions()
        .filter_map(|r| r.segments.ready()?.last().map(|s| s.start + s.duration))
        .reduce(f64::max);
    Ok(p)
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(bytes)
}

/// `m3u8-rs`, with its error turned into ours.
fn parse_syntax(bytes: &[u8]) -> Result<Playlist, ManifestError> {
    m3u8_rs::parse_playlist_res(bytes).map_err(|e| {
        let at = match &e {
            nom::Err::Error(e) | nom::Err::Failure(e) => bytes.len() - e.input.len(),
            nom::Err::Incomplete(_) => bytes.len(),
        };
        let detail = if at == 0 {
            "does not start with #EXTM3U".to_owned()
        } else {
            format!("syntax error at byte {at}")
        };
        ManifestError::malformed(Format::Hls, detail)
    })
}

fn dimension(v: u64) -> Result<u32, ManifestError> {
    u32::try_from(v)
        .ok()
        .filter(|v| (1..=1 << 16).contains(v))
        .ok_or_else(|| ManifestError::invalid(Format::Hls, "RESOLUTION", v.to_string()))
}

fn byte_range(length: u64, offset: u64) -> Result<ByteRange, ManifestError> {
    if length == 0 || offset.checked_add(length).is_none() {
        return Err(ManifestError::invalid(
            Format::Hls,
            "byte range",
            format!("{length}@{offset}"),
        ));
    }
    Ok(ByteRange { offset, length })
}

/// What our own pass over the lines found.
struct Lines {
    /// For each segment, the key that applies to it.
    keys: Vec<Option<Arc<Protection>>>,
}

/// Walks the lines: checks every segment has an `EXTINF`, counts segments
/// against `budget`, and tracks which `EXT-X-KEY`s apply to each.
fn scan_lines(
    url: &Url,
    text: &str,
    limits: &Limits,
    budget: usize,
) -> Result<Lines, ManifestError> {
    let mut keys = Vec::new();
    // Keys in force, by KEYFORMAT: tags of different formats (FairPlay and
    // identity, say) describe the same key and apply together.
    let mut active: Vec<(String, Protection)> = Vec::new();
    let mut current: Option<Arc<Protection>> = None;
    let mut saw_extinf = false;
    let mut saw_map = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        if let Some(attrs) = line.strip_prefix("#EXT-X-KEY:") {
            let attrs = attributes(attrs);
            let format = attr(&attrs, "KEYFORMAT").unwrap_or("identity").to_owned();
            match key(url, &attrs, saw_map)? {
                None => active.clear(),
                Some(k) => {
                    active.retain(|(f, _)| *f != format);
                    active.push((format, k));
                }
            }
            current = merge(&active).map(Arc::new);
        } else if line.starts_with("#EXT-X-MAP:") {
            saw_map = true;
        } else if line.starts_with("#EXTINF:") {
            saw_extinf = true;
        } else if !line.starts_with('#') {
            if !saw_extinf {
                return Err(ManifestError::MissingAttribute {
                    format: Format::Hls,
                    element: "media segment",
                    attribute: "EXTINF",
                });
            }
            saw_extinf = false;
            if keys.len() >= budget {
                return Err(ManifestError::TooManySegments {
                    limit: limits.max_segments,
                });
            }
            keys.push(current.clone());
        }
    }
    Ok(Lines { keys })
}

/// The tags in force, as one protection: one key described for several
/// systems. The identity format (or the first) gives URI and IV.
fn merge(active: &[(String, Protection)]) -> Option<Protection> {
    let (_, first) = active
        .iter()
        .find(|(f, _)| f == "identity")
        .or_else(|| active.first())?;
    let mut out = first.clone();
    for (_, p) in active {
        for kid in &p.kids {
            if !out.kids.contains(kid) {
                out.kids.push(*kid);
            }
        }
    }
    Some(out)
}

/// One `EXT-X-KEY`; `None` for `METHOD=NONE`. `fmp4` tells `SAMPLE-AES`
/// on CMAF (`cbcs`) from Apple's MPEG-TS sample encryption.
fn key(url: &Url, attrs: &[(&str, &str)], fmp4: bool) -> Result<Option<Protection>, ManifestError> {
    let method = attr(attrs, "METHOD").ok_or(ManifestError::MissingAttribute {
        format: Format::Hls,
        element: "EXT-X-KEY",
        attribute: "METHOD",
    })?;
    let scheme = match method {
        "NONE" => return Ok(None),
        "AES-128" => Scheme::Aes128,
        "SAMPLE-AES" if fmp4 => Scheme::Cbcs,
        "SAMPLE-AES" => Scheme::SampleAes,
        "SAMPLE-AES-CTR" | "ISO-23001-7" => Scheme::Cenc,
        other => {
            return Err(ManifestError::unsupported(
                Format::Hls,
                format!("EXT-X-KEY METHOD={other}"),
            ));
        }
    };
    let key_format = attr(attrs, "KEYFORMAT").map(str::to_owned);
    let mut kids: Vec<Kid> = Vec::new();
    if let Some(id) = attr(attrs, "KEYID") {
        kids.push(parse_kid(id, Format::Hls)?);
    }
    let uri = attr(attrs, "URI");
    let mut key_uri = None;
    match uri {
        None if scheme == Scheme::Aes128 => {
            return Err(ManifestError::MissingAttribute {
                format: Format::Hls,
                element: "EXT-X-KEY METHOD=AES-128",
                attribute: "URI",
            });
        }
        None => {}
        // For Common Encryption with the identity format, the URI is a
        // data URI holding the key id (what Shaka Packager writes).
        Some(u) if scheme != Scheme::Aes128 && u.starts_with("data:") => {
            if let Some(kid) = data_uri_kid(u)
                && !kids.contains(&kid)
            {
                kids.push(kid);
            }
        }
        Some(u) => key_uri = Some(resolve(url, u, Format::Hls)?),
    }
    let iv = match attr(attrs, "IV") {
        None => None,
        Some(text) => {
            let hex = text
                .strip_prefix("0x")
                .or_else(|| text.strip_prefix("0X"))
                .ok_or_else(|| ManifestError::invalid(Format::Hls, "IV", text))?;
            let bytes =
                hex::decode(hex).map_err(|_| ManifestError::invalid(Format::Hls, "IV", text))?;
            Some(
                bytes
                    .try_into()
                    .map_err(|_| ManifestError::invalid(Format::Hls, "IV", text))?,
            )
        }
    };
    Ok(Some(Protection {
        scheme,
        kids,
        pssh: Vec::new(),
        key_uri,
        key_format,
        iv,
    }))
}

/// The 16 bytes of a `data:...;base64,` URI, if that is what it holds.
fn data_uri_kid(uri: &str) -> Option<Kid> {
    let (header, payload) = uri.strip_prefix("data:")?.split_once(',')?;
    if !header.ends_with(";base64") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.trim())
        .ok()?;
    bytes.try_into().ok()
}

/// An RFC 8216 §4.2 attribute list: `NAME=value,NAME="quoted, value"`.
/// Quotes are removed; malformed pieces are skipped (the tags that matter
/// are checked for the attributes they need).
fn attributes(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some((name, after)) = rest.split_once('=') else {
            break;
        };
        let name = name.trim().trim_start_matches(',').trim();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            match q.split_once('"') {
                Some((v, n)) => (v, n),
                None => (q, ""),
            }
        } else {
            match after.split_once(',') {
                Some((v, n)) => (v.trim(), n),
                None => (after.trim(), ""),
            }
        };
        out.push((name, value));
        rest = next.trim_start_matches(',');
    }
    out
}

fn attr<'a>(attrs: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    attrs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_lists_keep_commas_inside_quotes() {
        let a = attributes(r#"METHOD=SAMPLE-AES,URI="skd://a,b",KEYFORMATVERSIONS="1",IV=0x01"#);
        assert_eq!(attr(&a, "METHOD"), Some("SAMPLE-AES"));
        assert_eq!(attr(&a, "URI"), Some("skd://a,b"));
        assert_eq!(attr(&a, "KEYFORMATVERSIONS"), Some("1"));
        assert_eq!(attr(&a, "IV"), Some("0x01"));
    }

    #[test]
    fn data_uris_carry_a_key_id_only_when_sixteen_bytes() {
        let kid = [7u8; 16];
        let uri = format!(
            "data:text/plain;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(kid)
        );
        assert_eq!(data_uri_kid(&uri), Some(kid));
        assert_eq!(data_uri_kid("data:text/plain;base64,AAAA"), None);
        assert_eq!(data_uri_kid("data:text/plain,hello"), None);
    }
}
