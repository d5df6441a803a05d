//! What a playback plays ([`Start`]), and a playback under way: what its
//! loop works on, and the steps it takes.
//!
//! [`Playing::prepare`] does everything between the headend's answer and
//! the first segment request: the manifest, the tracks, the keys, the
//! pipeline and the clock. The loop in [`run`](super::run) then asks the
//! [`schedule`](super::schedule) what to fetch and calls the step that
//! does it ([`Playing::fetch_segment`], [`Playing::fetch_subtitles`]), or
//! the one a viewer's command needs (seek, pause, another language).

use std::sync::Arc;
use std::time::Instant;

use ottbox_formats::manifest::{ByteRange, Segment};
use ottbox_formats::subtitles::Subtitles;
use ottbox_protocol::playback::PlaybackSession;
use url::Url;

use super::abr::{Abr, Caps, UserCap};
use super::clock::{Buffered, Clock};
use super::cmcd::{ObjectType, Request};
use super::context::{self, Engine};
use super::error::PlayError;
use super::fetch::Download;
use super::license;
use super::outage::Outage;
use super::route::Router;
use super::schedule::{self, Next, Now};
use super::selection::{
    AudioTrack, Feed, Selection, TextTrack, preferred_subtitles, shown_language,
};
use super::status::Tracks;
use super::warm::WarmTitle;
use crate::media::keyring::KeyRing;
use crate::media::pipeline::{MediaKind, Pipeline, Sinks};

/// What to play.
#[derive(Debug, Clone)]
pub struct Start {
    /// The headend's answer to Play.
    pub session: PlaybackSession,
    /// Where to start, seconds.
    pub from_s: f64,
    /// A muted, lowest-rung preview.
    pub preview: bool,
    /// When the viewer pressed Play: time to first frame counts from here.
    pub requested_at: Instant,
    /// What predictive prefetch fetched ahead for this title, if any.
    pub warm: Option<Arc<WarmTitle>>,
}

/// A playback under way.
pub(super) struct Playing {
    /// A muted, lowest-rung preview.
    pub preview: bool,
    /// The presentation's length, seconds.
    pub duration: f64,
    /// Where playback started, seconds.
    pub from: f64,
    pub router: Router,
    pub pipeline: Pipeline,
    /// How to build the pipeline again (seek, audio switch).
    rebuild: Rebuild,
    pub feeds: Vec<Feed>,
    audio: Vec<AudioTrack>,
    /// The audio track played (an index into `audio`).
    audio_choice: usize,
    texts: Vec<TextTrack>,
    /// The subtitles shown (an index into `texts`) and their cues.
    pub subtitles: Option<(usize, Subtitles)>,
    pub abr: Abr,
    /// What the screen allows, before the viewer's own cap.
    display: Caps,
    pub clock: Clock,
    outage: Outage,
}

impl Playing {
    /// Opens `start`'s title and readies it to play: manifest, tracks,
    /// keys (from prefetch or the license server, before any media), the
    /// ABR's first rung, the pipeline and the clock.
    pub async fn prepare(engine: &Engine, start: &Start) -> Result<Self, PlayError> {
        let mut router = context::router(engine, &start.session)?;
        if let Some(warm) = &start.warm {
            router.serve_from(warm.objects.clone());
        }
        let presentation = context::open(&mut router).await?;
        let Selection {
            audio,
            audio_choice,
            texts,
            mut feeds,
            kids,
        } = Selection::new(&presentation, &engine.store, start.preview)?;
        let subtitles = preferred_subtitles(&engine.store, &texts)
            .filter(|_| !start.preview)
            .map(|i| (i, texts[i].show(start.from_s)));
        let ring = KeyRing::new();
        let prefetched_keys = start
            .warm
            .as_ref()
            .is_some_and(|w| w.keys_into(&kids, &ring));
        if !prefetched_keys {
            let url = &start.session.license_url;
            license::acquire(&engine.account, &engine.headend, url, &kids, &ring).await?;
        }
        let duration = presentation
            .duration
            .filter(|d| *d > 0.0)
            .unwrap_or(start.session.duration_s);
        let from = start.from_s.clamp(0.0, duration.max(0.0));
        let abr = context::startup_abr(engine, &feeds[0])?;
        let rebuild = Rebuild {
            sinks: Sinks {
                video: engine.config.video_sink.clone(),
                audio: engine.config.audio_sink.clone(),
            },
            kinds: feeds.iter().map(|f| f.kind).collect(),
            ring,
        };
        let pipeline = rebuild.pipeline(from)?;
        for f in &mut feeds {
            f.seek(from);
        }
        let mut clock = Clock::new(start.requested_at, from, duration);
        clock.qoe.prefetched = u32::from(prefetched_keys);
        Ok(Self {
            preview: start.preview,
            duration,
            from,
            router,
            pipeline,
            rebuild,
            feeds,
            audio,
            audio_choice,
            texts,
            subtitles,
            abr,
            display: context::display_caps(&engine.config),
            clock,
            outage: Outage::default(),
        })
    }

    /// The tracks as the status shows them.
    pub fn tracks(&self) -> Tracks {
        Tracks {
            audio_languages: self.audio.iter().map(|a| a.language.clone()).collect(),
            audio_language: self
                .audio
                .get(self.audio_choice)
                .map(|a| a.language.clone())
                .unwrap_or_default(),
            subtitle_languages: self.texts.iter().map(|t| t.language.clone()).collect(),
            subtitles: shown_language(&self.texts, &self.subtitles),
            subtitle_text: String::new(),
        }
    }

    /// What is buffered ahead of `position`.
    pub fn buffered(&self, position: f64) -> Buffered {
        let fed: Vec<_> = self.feeds.iter().map(Feed::fed).collect();
        schedule::buffered(&fed, position)
    }

    /// What to fetch next, at `position`, feeding `target_s` ahead.
    pub fn next(&self, position: f64, target_s: f64) -> Next {
        let fed: Vec<_> = self.feeds.iter().map(Feed::fed).collect();
        let now = Now {
            position,
            target_s,
            due: !self.outage.waiting(Instant::now()),
            subtitles_wanted: self
                .subtitles
                .as_ref()
                .is_some_and(|(_, s)| s.wanted(position).is_some()),
        };
        schedule::next(&fed, &now)
    }

    /// Plays from `t` (clamped to the presentation) on a fresh pipeline:
    /// every track, and the subtitles, refill from the segment holding
    /// `t`, the demuxer placing it by its `tfdt`. A seek, and an audio
    /// switch at the playhead, are this.
    pub fn restart_at(&mut self, t: f64) -> Result<(), PlayError> {
        let t = t.clamp(0.0, self.duration);
        // Stopped before the next is built: a display sink may be
        // exclusive.
        self.pipeline.stop();
        self.pipeline = self.rebuild.pipeline(t)?;
        for f in &mut self.feeds {
            f.seek(t);
        }
        if let Some((_, subs)) = &mut self.subtitles {
            subs.seek(t);
        }
        self.clock.seek(t);
        Ok(())
    }

    /// Shows subtitle track `choice` (none for `None`) from the playhead.
    /// The language now shown, if it changed.
    pub fn show_subtitles(&mut self, choice: Option<usize>) -> Option<String> {
        if choice == self.subtitles.as_ref().map(|(i, _)| *i) {
            return None;
        }
        let t = self.clock.position(&self.pipeline);
        self.subtitles = choice.map(|i| (i, self.texts[i].show(t)));
        Some(shown_language(&self.texts, &self.subtitles))
    }

    /// The subtitle tracks, for the viewer's preference to pick from.
    pub fn texts(&self) -> &[TextTrack] {
        &self.texts
    }

    /// The audio tracks, for the viewer's preference to pick from.
    pub fn audio(&self) -> &[AudioTrack] {
        &self.audio
    }

    /// Plays audio track `choice` from the playhead. The language now
    /// heard, if it changed.
    pub fn switch_audio(&mut self, choice: usize) -> Result<Option<String>, PlayError> {
        let Some(feed) = self.feeds.iter_mut().find(|f| f.kind == MediaKind::Audio) else {
            return Ok(None);
        };
        if choice == self.audio_choice {
            return Ok(None);
        }
        self.audio_choice = choice;
        feed.renditions = vec![self.audio[choice].rendition.clone()];
        // Refilled from the playhead, as a seek there: the new language's
        // init segment first, then its media.
        let t = self.clock.position(&self.pipeline);
        self.restart_at(t)?;
        Ok(Some(self.audio[choice].language.clone()))
    }

    /// Caps the picture height at `h` (0: only the screen's cap).
    pub fn cap_height(&mut self, h: u32) {
        let caps = if h == 0 {
            self.display
        } else {
            self.display.with_user(UserCap::MaxHeight(h))
        };
        self.abr.set_caps(caps);
    }

    /// Fetches the subtitle segment the playhead wants. Its failures only
    /// ever cost its own cues.
    pub async fn fetch_subtitles(&mut self, position: f64) {
        let Some((_, subs)) = &mut self.subtitles else {
            return;
        };
        let Some(segment) = subs.wanted(position).cloned() else {
            return;
        };
        let request = Request::new(ObjectType::Caption);
        match self.router.get(&segment.url, segment.range, &request).await {
            Ok(d) => {
                if let Err(e) = subs.add(&d.bytes) {
                    tracing::warn!(error = %e, code = e.code(), url = %segment.url, "subtitle cues skipped");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, url = %segment.url, "subtitle segment skipped");
                subs.skip();
            }
        }
    }

    /// Fetches track `i`'s next segment, with `buffer` seconds buffered,
    /// in the rendition the ABR picks (its init segment first on a
    /// switch), and pushes it. A download that failed on every edge is
    /// left for the outage's next try.
    pub async fn fetch_segment(&mut self, i: usize, buffer: f64) -> Result<(), PlayError> {
        let feed = &mut self.feeds[i];
        let rendition = feed.rendition(&mut self.abr, buffer, self.preview);
        let Some(segment) = feed.segments(rendition).get(feed.next).cloned() else {
            feed.done = true;
            self.pipeline.end_of_stream(feed.track);
            return Ok(());
        };
        let request = self.request(i, rendition, &segment, buffer);
        if self.feeds[i].current != Some(rendition)
            && !self
                .switch_rendition(i, rendition, &segment, request)
                .await?
        {
            return Ok(());
        }
        let Some(download) = self.download(&segment.url, segment.range, &request).await? else {
            return Ok(());
        };
        let feed = &mut self.feeds[i];
        // A body from memory says nothing about the network.
        if feed.kind == MediaKind::Video && !download.from_cache {
            self.abr
                .on_download(download.bytes.len() as u64, download.elapsed.as_secs_f64());
            let bw = feed.renditions[rendition].bandwidth as f64;
            self.clock.bitrate_time.0 += bw * segment.duration;
            self.clock.bitrate_time.1 += segment.duration;
        }
        self.pipeline.push(feed.track, download.bytes)?;
        feed.fed_end = segment.start + segment.duration;
        feed.next += 1;
        if feed.next >= feed.segments(0).len() {
            feed.done = true;
            self.pipeline.end_of_stream(feed.track);
        }
        Ok(())
    }

    /// The CMCD of the request for `segment` of track `i`.
    fn request(&mut self, i: usize, rendition: usize, segment: &Segment, buffer: f64) -> Request {
        let feed = &self.feeds[i];
        let bitrate = feed.renditions.get(rendition).map_or(0, |r| r.bandwidth);
        Request {
            bitrate_kbps: Some(bitrate / 1000),
            buffer_ms: Some((buffer * 1000.0) as u64),
            starved: std::mem::take(&mut self.clock.starved),
            duration_ms: Some((segment.duration * 1000.0) as u64),
            throughput_kbps: self.abr.estimator().mean_bps().map(|b| (b / 1000.0) as u64),
            startup: !self.clock.first_frame,
            top_kbps: feed.renditions.last().map(|r| r.bandwidth / 1000),
            ..Request::new(context::object_type(feed.kind))
        }
    }

    /// Moves track `i` to `rendition`: its init segment (if it has one)
    /// is pushed. False when that download is left for the outage's next
    /// try.
    async fn switch_rendition(
        &mut self,
        i: usize,
        rendition: usize,
        segment: &Segment,
        request: Request,
    ) -> Result<bool, PlayError> {
        if let Some(init) = &segment.init {
            let init_request = Request {
                object: ObjectType::Init,
                duration_ms: None,
                ..request
            };
            let Some(download) = self.download(&init.url, init.range, &init_request).await? else {
                return Ok(false);
            };
            self.pipeline.push(self.feeds[i].track, download.bytes)?;
        }
        let feed = &mut self.feeds[i];
        if feed.current.is_some() && feed.kind == MediaKind::Video {
            self.clock.qoe.switches += 1;
        }
        feed.current = Some(rendition);
        Ok(true)
    }

    /// One download through the router. `None` when it failed on every
    /// edge in a way worth trying again later (an outage); the error when
    /// trying again cannot help.
    async fn download(
        &mut self,
        url: &Url,
        range: Option<ByteRange>,
        request: &Request,
    ) -> Result<Option<Download>, PlayError> {
        match self.router.get(url, range, request).await {
            Ok(download) => {
                self.outage.ended(Instant::now());
                Ok(Some(download))
            }
            Err(e) => {
                self.outage.failed(e, Instant::now())?;
                Ok(None)
            }
        }
    }
}

/// How to build this playback's pipeline again.
struct Rebuild {
    sinks: Sinks,
    kinds: Vec<MediaKind>,
    ring: KeyRing,
}

impl Rebuild {
    /// A pipeline for the tracks, playing from `t`.
    fn pipeline(&self, t: f64) -> Result<Pipeline, PlayError> {
        Ok(Pipeline::new(&self.sinks, &self.kinds, &self.ring, t)?)
    }
}
