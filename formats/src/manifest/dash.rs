//! MPEG-DASH MPDs (ISO/IEC 23009-1) into the model.
//!
//! `dash-mpd-core` reads the XML into typed structs; this module does the
//! DASH arithmetic the player needs:
//!
//! - **Periods**: each `Period` starts at `@start`, or where the previous
//!   one ends; its length is `@duration`, or up to the next period, or up
//!   to `MPD@mediaPresentationDuration`.
//! - **BaseURL** resolution, MPD → Period → AdaptationSet →
//!   Representation, each relative to the one above (the first BaseURL of
//!   each level; the others are CDN alternatives).
//! - **Segment addressing**, inherited Period → AdaptationSet →
//!   Representation, attribute by attribute:
//!   - `SegmentTemplate` + `SegmentTimeline` (`<S t d r>`, `r="-1"`
//!     repeating up to the next `S` or the period end), with `$Time$` or
//!     `$Number$` names;
//!   - `SegmentTemplate@duration`: fixed-length segments filling the period;
//!   - `SegmentList` of `SegmentURL`s;
//!   - `SegmentBase@indexRange`: the segments are in a `sidx` box, fetched
//!     by the caller ([`super::Segments::Index`]);
//!   - a bare `BaseURL`: one segment, the whole file.
//! - **ContentProtection**: the `mp4protection` scheme (`cenc`, `cbcs`),
//!   `cenc:default_KID`, and `cenc:pssh` boxes.
//!
//! Live (`type="dynamic"`) MPDs are refused with
//! [`ManifestError::Unsupported`]: the box plays VOD DASH, live comes as HLS.

use std::sync::Arc;

use base64::Engine;
use dash_mpd_core::{
    AdaptationSet, ContentProtection, Initialization, MPD, Representation, SegmentTemplate,
    SegmentTimeline,
};
use url::Url;

use super::template::{Vars, expand};
use super::{
    ByteRange, Format, IndexRef, Kid, Limits, ManifestError, Period, Presentation, Protection,
    Rendition, Resource, Scheme, Segment, Segments, Source, Track, TrackKind, parse_kid, pssh,
    resolve,
};

const DASH: Format = Format::Dash;

/// Reads an MPD at `url`.
pub fn parse(url: &Url, bytes: &[u8], limits: &Limits) -> Result<Presentation, ManifestError> {
    limits.check_size(DASH, bytes)?;
    let bytes = bytes
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ManifestError::malformed(DASH, format!("not UTF-8: {e}")))?;
    let mpd = dash_mpd_core::parse(text).map_err(|e| {
        // The parser's message quotes the document: keep 300 bytes of it,
        // cut where a character starts (a cut inside one would panic).
        let detail = e.to_string();
        let end = detail.floor_char_boundary(300);
        ManifestError::malformed(DASH, &detail[..end])
    })?;
    if mpd.mpdtype.as_deref() == Some("dynamic") {
        return Err(ManifestError::unsupported(
            DASH,
            "live (type=\"dynamic\") MPD",
        ));
    }
    if mpd.periods.is_empty() {
        return Err(ManifestError::malformed(DASH, "no Period"));
    }
    let base = match mpd.base_url.first() {
        Some(b) => resolve(url, &b.base, DASH)?,
        None => url.clone(),
    };
    let total = mpd.mediaPresentationDuration.map(|d| d.as_secs_f64());
    let mut p = Presentation::new(Source::Dash, url.clone(), *limits);
    p.duration = total;
    let timing = period_timing(&mpd, total)?;
    for (index, (period, (start, duration))) in mpd.periods.iter().zip(timing).enumerate() {
        let ctx = PeriodCtx {
            base: match period.BaseURL.first() {
                Some(b) => resolve(&base, &b.base, DASH)?,
                None => base.clone(),
            },
            start,
            duration,
            first: index == 0,
            template: period.SegmentTemplate.as_ref(),
            protection: &period.ContentProtection,
        };
        let mut tracks = Vec::new();
        for set in &period.adaptations {
            if let Some(track) = track(&mut p, &ctx, set)? {
                tracks.push(track);
            }
        }
        p.periods.push(Period {
            id: period.id.clone(),
            start,
            duration,
            tracks,
        });
    }
    if p.duration.is_none() {
        p.duration = p.periods.last().and_then(|l| Some(l.start + l.duration?));
    }
    Ok(p)
}

/// What the representations of one period inherit.
struct PeriodCtx<'a> {
    base: Url,
    start: f64,
    duration: Option<f64>,
    first: bool,
    template: Option<&'a SegmentTemplate>,
    protection: &'a [ContentProtection],
}

/// Start and duration (seconds) of every period.
fn period_timing(mpd: &MPD, total: Option<f64>) -> Result<Vec<(f64, Option<f64>)>, ManifestError> {
    let mut starts = Vec::with_capacity(mpd.periods.len());
    let mut previous_end = Some(0.0);
    for period in &mpd.periods {
        let start = match (period.start, previous_end) {
            (Some(s), _) => s.as_secs_f64(),
            (None, Some(e)) => e,
            (None, None) => {
                return Err(ManifestError::MissingAttribute {
                    format: DASH,
                    element: "Period after one of unknown length",
                    attribute: "start",
                });
            }
        };
        let duration = period.duration.map(|d| d.as_secs_f64());
        previous_end = duration.map(|d| start + d);
        starts.push((start, duration));
    }
    // A period without @duration lasts until the next one, the last one
    // until the end of the presentation.
    for i in 0..starts.len() {
        if starts[i].1.is_none() {
            let end = starts.get(i + 1).map(|n| n.0).or(total);
            starts[i].1 = end.map(|e| e - starts[i].0);
        }
        if let Some(d) = starts[i].1
            && !(d.is_finite() && d >= 0.0)
        {
            return Err(ManifestError::invalid(
                DASH,
                "Period duration",
                d.to_string(),
            ));
        }
    }
    Ok(starts)
}

/// An AdaptationSet as a track; `None` for kinds the box does not play
/// (thumbnails).
fn track(
    p: &mut Presentation,
    ctx: &PeriodCtx<'_>,
    set: &AdaptationSet,
) -> Result<Option<Track>, ManifestError> {
    let Some(kind) = kind_of(set) else {
        return Ok(None);
    };
    let base = match set.BaseURL.first() {
        Some(b) => resolve(&ctx.base, &b.base, DASH)?,
        None => ctx.base.clone(),
    };
    let template = merge_template(ctx.template, set.SegmentTemplate.as_ref());
    let mut renditions = Vec::with_capacity(set.representations.len());
    for (i, rep) in set.representations.iter().enumerate() {
        renditions.push(rendition(p, ctx, set, &base, template.as_ref(), rep, i)?);
    }
    let language = set
        .lang
        .clone()
        .or_else(|| set.representations.iter().find_map(|r| r.lang.clone()));
    let name = set.Label.first().map(|l| l.content.clone());
    Ok(Some(Track {
        kind,
        language,
        name,
        group: None,
        renditions,
    }))
}

fn kind_of(set: &AdaptationSet) -> Option<TrackKind> {
    let first = set.representations.first();
    let content = set
        .contentType
        .as_deref()
        .or(first.and_then(|r| r.contentType.as_deref()));
    let mime = set
        .mimeType
        .as_deref()
        .or(first.and_then(|r| r.mimeType.as_deref()))
        .unwrap_or_default();
    let codecs = set
        .codecs
        .as_deref()
        .or(first.and_then(|r| r.codecs.as_deref()))
        .unwrap_or_default();
    let text_codec = ["stpp", "wvtt", "tx3g"]
        .iter()
        .any(|c| codecs.starts_with(c));
    match content {
        Some("video") => Some(TrackKind::Video),
        Some("audio") => Some(TrackKind::Audio),
        Some("text") => Some(TrackKind::Subtitles),
        Some(_) => None,
        None if mime.starts_with("video/") => Some(TrackKind::Video),
        None if mime.starts_with("audio/") => Some(TrackKind::Audio),
        None if mime.starts_with("text/") || mime.contains("ttml") || text_codec => {
            Some(TrackKind::Subtitles)
        }
        None => None,
    }
}

fn rendition(
    p: &mut Presentation,
    ctx: &PeriodCtx<'_>,
    set: &AdaptationSet,
    base: &Url,
    template: Option<&SegmentTemplate>,
    rep: &Representation,
    index: usize,
) -> Result<Rendition, ManifestError> {
    let id = rep.id.clone().unwrap_or_else(|| index.to_string());
    let bandwidth = rep.bandwidth.ok_or(ManifestError::MissingAttribute {
        format: DASH,
        element: "Representation",
        attribute: "bandwidth",
    })?;
    let base = match rep.BaseURL.first() {
        Some(b) => resolve(base, &b.base, DASH)?,
        None => base.clone(),
    };
    let frame_rate = match rep.frameRate.as_deref().or(set.frameRate.as_deref()) {
        Some(text) => Some(frame_rate(text)?),
        None => None,
    };
    let protection = protection(&[
        ctx.protection,
        &set.ContentProtection,
        &rep.ContentProtection,
    ])?
    .map(Arc::new);
    let template = merge_template(template, rep.SegmentTemplate.as_ref());
    let addr = Addressing {
        ctx,
        base: &base,
        rep_id: &id,
        bandwidth,
        protection: protection.clone(),
    };
    let segments = if let Some(t) = &template {
        Segments::Ready(addr.template_segments(p, t)?)
    } else if let Some(list) = rep.SegmentList.as_ref().or(set.SegmentList.as_ref()) {
        Segments::Ready(addr.list_segments(p, list)?)
    } else if let Some(sb) = rep.SegmentBase.as_ref().or(set.SegmentBase.as_ref()) {
        addr.index_ref(sb)?
    } else {
        // Just a BaseURL: the whole file is the one segment.
        p.reserve(1)?;
        Segments::Ready(vec![Segment {
            url: base.clone(),
            range: None,
            number: 1,
            start: ctx.start,
            duration: ctx.duration.unwrap_or(0.0),
            discontinuity: !ctx.first,
            init: None,
            protection: protection.clone(),
        }])
    };
    Ok(Rendition {
        id,
        bandwidth,
        width: dimension(rep.width.or(set.width))?,
        height: dimension(rep.height.or(set.height))?,
        codecs: rep.codecs.clone().or_else(|| set.codecs.clone()),
        frame_rate,
        audio_group: None,
        protection: protection.into_iter().collect(),
        segments,
    })
}

fn dimension(v: Option<u64>) -> Result<Option<u32>, ManifestError> {
    v.map(|v| {
        u32::try_from(v)
            .ok()
            .filter(|v| (1..=1 << 16).contains(v))
            .ok_or_else(|| ManifestError::invalid(DASH, "width or height", v.to_string()))
    })
    .transpose()
}

/// `30`, `29.97` or `30000/1001`.
fn frame_rate(text: &str) -> Result<f64, ManifestError> {
    let bad = || ManifestError::invalid(DASH, "frameRate", text);
    let value = match text.split_once('/') {
        Some((n, d)) => {
            let n: f64 = n.trim().parse().map_err(|_| bad())?;
            let d: f64 = d.trim().parse().map_err(|_| bad())?;
            n / d
        }
        None => text.trim().parse().map_err(|_| bad())?,
    };
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(bad())
    }
}

/// A template with `inner`'s attributes over `outer`'s (DASH inheritance).
fn merge_template(
    outer: Option<&SegmentTemplate>,
    inner: Option<&SegmentTemplate>,
) -> Option<SegmentTemplate> {
    let (outer, inner) = match (outer, inner) {
        (None, None) => return None,
        (Some(o), None) => return Some(o.clone()),
        (None, Some(i)) => return Some(i.clone()),
        (Some(o), Some(i)) => (o, i),
    };
    let mut t = outer.clone();
    macro_rules! over {
        ($($field:ident),*) => { $( if inner.$field.is_some() { t.$field = inner.$field.clone(); } )* };
    }
    over!(
        media,
        index,
        initialization,
        startNumber,
        endNumber,
        duration,
        timescale,
        presentationTimeOffset,
        Initialization,
        SegmentTimeline
    );
    Some(t)
}

/// The protection of a representation from the ContentProtection elements
/// of its period, adaptation set and itself.
fn protection(levels: &[&[ContentProtection]]) -> Result<Option<Protection>, ManifestError> {
    let all: Vec<&ContentProtection> = levels.iter().flat_map(|l| l.iter()).collect();
    if all.is_empty() {
        return Ok(None);
    }
    let mut scheme = None;
    let mut kids: Vec<Kid> = Vec::new();
    let mut boxes = Vec::new();
    for cp in &all {
        if cp
            .schemeIdUri
            .eq_ignore_ascii_case("urn:mpeg:dash:mp4protection:2011")
        {
            scheme = Some(match cp.value.as_deref().map(str::trim) {
                Some("cenc") | None => Scheme::Cenc,
                Some("cbcs") => Scheme::Cbcs,
                Some(other) => {
                    return Err(ManifestError::unsupported(
                        DASH,
                        format!("protection scheme {other:?}"),
                    ));
                }
            });
        }
        if let Some(kid) = &cp.default_KID {
            let kid = parse_kid(kid, DASH)?;
            if !kids.contains(&kid) {
                kids.push(kid);
            }
        }
        for p in &cp.cenc_pssh {
            let Some(text) = p.content.as_deref() else {
                continue;
            };
            let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(clean)
                .map_err(|_| ManifestError::invalid(DASH, "cenc:pssh", text))?;
            let b = pssh::parse(&raw)?;
            if !boxes.contains(&b) {
                boxes.push(b);
            }
        }
    }
    if kids.is_empty() {
        for b in &boxes {
            for kid in &b.kids {
                if !kids.contains(kid) {
                    kids.push(*kid);
                }
            }
        }
    }
    Ok(Some(Protection {
        scheme: scheme.unwrap_or(Scheme::Cenc),
        kids,
        pssh: boxes,
        key_uri: None,
        key_format: None,
        iv: None,
    }))
}

/// What every addressing mode needs to name a representation's segments.
struct Addressing<'a> {
    ctx: &'a PeriodCtx<'a>,
    base: &'a Url,
    rep_id: &'a str,
    bandwidth: u64,
    protection: Option<Arc<Protection>>,
}

impl Addressing<'_> {
    /// A segment of this representation; `span` is (start, duration) in
    /// seconds, `first` whether it opens the period.
    fn segment(
        &self,
        media: Resource,
        number: u64,
        span: (f64, f64),
        init: &Option<Arc<Resource>>,
        first: bool,
    ) -> Segment {
        let (start, duration) = span;
        Segment {
            url: media.url,
            range: media.range,
            number,
            start,
            duration,
            discontinuity: first && !self.ctx.first,
            init: init.clone(),
            protection: self.protection.clone(),
        }
    }

    fn init(
        &self,
        attr: Option<&str>,
        element: Option<&Initialization>,
    ) -> Result<Option<Arc<Resource>>, ManifestError> {
        if let Some(t) = attr {
            let vars = Vars {
                rep_id: self.rep_id,
                bandwidth: self.bandwidth,
                number: None,
                time: None,
            };
            let url = resolve(self.base, &expand(t, &vars)?, DASH)?;
            return Ok(Some(Arc::new(Resource { url, range: None })));
        }
        let Some(init) = element else {
            return Ok(None);
        };
        let url = match &init.sourceURL {
            Some(u) => resolve(self.base, u, DASH)?,
            None => self.base.clone(),
        };
        let range = init
            .range
            .as_deref()
            .map(ByteRange::from_dash)
            .transpose()?;
        Ok(Some(Arc::new(Resource { url, range })))
    }

    /// The period's end in a timescale, for `r="-1"` and `@duration`.
    fn period_ticks(&self, timescale: u64, what: &'static str) -> Result<u64, ManifestError> {
        let d = self.ctx.duration.ok_or(ManifestError::MissingAttribute {
            format: DASH,
            element: what,
            attribute: "a known period duration (Period@duration or MPD@mediaPresentationDuration)",
        })?;
        let ticks = (d * timescale as f64).round();
        if !(ticks.is_finite() && ticks >= 0.0 && ticks < 2f64.powi(63)) {
            return Err(ManifestError::invalid(
                DASH,
                "period duration",
                d.to_string(),
            ));
        }
        Ok(ticks as u64)
    }

    fn template_segments(
        &self,
        p: &mut Presentation,
        t: &SegmentTemplate,
    ) -> Result<Vec<Segment>, ManifestError> {
        let timescale = t.timescale.unwrap_or(1);
        if timescale == 0 {
            return Err(ManifestError::invalid(DASH, "timescale", "0"));
        }
        let pto = t.presentationTimeOffset.unwrap_or(0);
        let start_number = t.startNumber.unwrap_or(1);
        let media = t.media.as_deref().ok_or(ManifestError::MissingAttribute {
            format: DASH,
            element: "SegmentTemplate",
            attribute: "media",
        })?;
        let init = self.init(t.initialization.as_deref(), t.Initialization.as_ref())?;
        let scale = timescale as f64;
        let times: Vec<(u64, u64)> = if let Some(tl) = &t.SegmentTimeline {
            self.timeline(p, tl, timescale, pto)?
        } else {
            let duration = t.duration.ok_or(ManifestError::MissingAttribute {
                format: DASH,
                element: "SegmentTemplate",
                attribute: "duration or SegmentTimeline",
            })?;
            if !(duration.is_finite() && duration >= 1.0 && duration < 2f64.powi(63)) {
                return Err(ManifestError::invalid(
                    DASH,
                    "SegmentTemplate@duration",
                    duration.to_string(),
                ));
            }
            let d = duration as u64;
            let count = match t.endNumber {
                Some(end) if end >= start_number => end - start_number + 1,
                Some(end) => {
                    return Err(ManifestError::invalid(DASH, "endNumber", end.to_string()));
                }
                None => self
                    .period_ticks(timescale, "SegmentTemplate@duration")?
                    .div_ceil(d),
            };
            p.reserve(count)?;
            let end = self.ctx.duration.map(|d| (d * scale) as u64);
            (0..count)
                .map(|i| {
                    let at = i * d;
                    let len = end.map_or(d, |e| d.min(e.saturating_sub(at)));
                    (pto + at, len)
                })
                .collect()
        };
        let mut out = Vec::with_capacity(times.len());
        for (i, (time, duration)) in times.into_iter().enumerate() {
            let number = start_number.saturating_add(i as u64);
            let vars = Vars {
                rep_id: self.rep_id,
                bandwidth: self.bandwidth,
                number: Some(number),
                time: Some(time),
            };
            let url = resolve(self.base, &expand(media, &vars)?, DASH)?;
            let start = self.ctx.start + (time as f64 - pto as f64) / scale;
            out.push(self.segment(
                Resource { url, range: None },
                number,
                (start, duration as f64 / scale),
                &init,
                i == 0,
            ));
        }
        Ok(out)
    }

    /// `(time, duration)` in ticks of every segment of a timeline, counted
    /// against the presentation's cap before any is made.
    fn timeline(
        &self,
        p: &mut Presentation,
        tl: &SegmentTimeline,
        timescale: u64,
        pto: u64,
    ) -> Result<Vec<(u64, u64)>, ManifestError> {
        // First pass: how many, without allocating.
        let mut counts = Vec::with_capacity(tl.segments.len());
        let mut t = tl.segments.first().and_then(|s| s.t).unwrap_or(0);
        for (i, s) in tl.segments.iter().enumerate() {
            if let Some(st) = s.t {
                t = st;
            }
            if s.d == 0 {
                return Err(ManifestError::invalid(DASH, "S@d", "0"));
            }
            let count = match s.r.unwrap_or(0) {
                -1 => {
                    let end = match tl.segments.get(i + 1).and_then(|n| n.t) {
                        Some(next) => next,
                        None => pto.saturating_add(self.period_ticks(timescale, "S@r=-1")?),
                    };
                    end.saturating_sub(t).div_ceil(s.d)
                }
                r if r >= 0 => (r as u64).saturating_add(1),
                r => return Err(ManifestError::invalid(DASH, "S@r", r.to_string())),
            };
            p.reserve(count)?;
            counts.push(count);
            t = t
                .checked_add(
                    count.checked_mul(s.d).ok_or_else(|| {
                        ManifestError::invalid(DASH, "SegmentTimeline", "overflows")
                    })?,
                )
                .ok_or_else(|| ManifestError::invalid(DASH, "SegmentTimeline", "overflows"))?;
        }
        let mut out = Vec::with_capacity(counts.iter().sum::<u64>() as usize);
        let mut t = tl.segments.first().and_then(|s| s.t).unwrap_or(0);
        for (s, count) in tl.segments.iter().zip(counts) {
            if let Some(st) = s.t {
                t = st;
            }
            for _ in 0..count {
                out.push((t, s.d));
                t += s.d;
            }
        }
        Ok(out)
    }

    fn list_segments(
        &self,
        p: &mut Presentation,
        list: &dash_mpd_core::SegmentList,
    ) -> Result<Vec<Segment>, ManifestError> {
        let timescale = list.timescale.unwrap_or(1);
        if timescale == 0 {
            return Err(ManifestError::invalid(DASH, "timescale", "0"));
        }
        let scale = timescale as f64;
        let init = self.init(None, list.Initialization.as_ref())?;
        p.reserve(list.segment_urls.len() as u64)?;
        // Durations from a timeline, or all `@duration` long.
        let times: Vec<(u64, u64)> = match (&list.SegmentTimeline, list.duration) {
            (Some(tl), _) => {
                let mut scratch = Presentation::new(Source::Dash, p.url.clone(), p.limits);
                self.timeline(&mut scratch, tl, timescale, 0)?
            }
            (None, Some(d)) if d > 0 => (0..list.segment_urls.len() as u64)
                .map(|i| (i * d, d))
                .collect(),
            (None, _) => {
                return Err(ManifestError::MissingAttribute {
                    format: DASH,
                    element: "SegmentList",
                    attribute: "duration or SegmentTimeline",
                });
            }
        };
        if times.len() < list.segment_urls.len() {
            return Err(ManifestError::malformed(
                DASH,
                "SegmentList has more SegmentURLs than its timeline",
            ));
        }
        let mut out = Vec::with_capacity(list.segment_urls.len());
        for (i, (su, (time, duration))) in list.segment_urls.iter().zip(times).enumerate() {
            let url = match &su.media {
                Some(m) => resolve(self.base, m, DASH)?,
                None => self.base.clone(),
            };
            let range = su
                .mediaRange
                .as_deref()
                .map(ByteRange::from_dash)
                .transpose()?;
            let start = self.ctx.start + time as f64 / scale;
            out.push(self.segment(
                Resource { url, range },
                1 + i as u64,
                (start, duration as f64 / scale),
                &init,
                i == 0,
            ));
        }
        Ok(out)
    }

    fn index_ref(&self, sb: &dash_mpd_core::SegmentBase) -> Result<Segments, ManifestError> {
        let range = sb
            .indexRange
            .as_deref()
            .ok_or_else(|| ManifestError::unsupported(DASH, "SegmentBase without indexRange"))?;
        let timescale = sb.timescale.unwrap_or(1);
        if timescale == 0 {
            return Err(ManifestError::invalid(DASH, "timescale", "0"));
        }
        Ok(Segments::Index(IndexRef {
            url: self.base.clone(),
            range: ByteRange::from_dash(range)?,
            init: self.init(None, sb.Initialization.as_ref())?,
            presentation_time_offset: sb.presentationTimeOffset.unwrap_or(0) as f64
                / timescale as f64,
            period_start: self.ctx.start,
            first_number: 1,
            discontinuity: !self.ctx.first,
            protection: self.protection.clone(),
        }))
    }
}
