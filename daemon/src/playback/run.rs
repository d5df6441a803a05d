//! One playback, from the headend's playback session to frames on screen.
//!
//! [`Playback::start`] spawns a task that
//!
//! 1. fetches the manifest from the first edge that answers and reads it
//!    into the [`manifest`](ottbox_formats::manifest) model (media playlists and
//!    segment indexes included);
//! 2. picks the tracks: the video ladder, and the audio (none for a muted
//!    preview);
//! 3. asks the license server for every key id the tracks name
//!    ([`license`](super::license)), before any media segment is fetched;
//! 4. builds the [`Pipeline`] and feeds it: the track that is furthest
//!    behind is fed first (so audio and video stay aligned), each video
//!    segment in the rendition [`Abr`] chooses, until
//!    [`PlayerConfig::buffer_target_s`] is buffered ahead of the playhead;
//! 5. starts the clock once the first segment of every track is in, pauses
//!    it when the buffer runs dry (a rebuffer, counted) and goes on when a
//!    segment is back in; a download that failed on every edge is tried
//!    again later ([`Outage`]), so a network outage is at worst a stall;
//! 6. obeys [`Command`]s: pause, resume, seek (a new pipeline fed from the
//!    segment holding the target: the demuxer places it by its `tfdt`),
//!    a quality cap, stop.
//!
//! Its [`Status`] (state, position, rendition, buffer, decoder, QoE) is
//! published on a watch channel, which the D-Bus layer turns into
//! properties and signals. A failure ends the playback in the `error`
//! state with a stable code (`media.http_status`, `license.refused`,
//! `decrypt.no_key`, `manifest.malformed`, ...), never a panic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ottbox_protocol::playback::PlaybackSession;
use tokio::sync::{mpsc, watch};

use super::abr::{self, Abr, AbrConfig, Caps, Ladder, UserCap};
use super::cmcd::{Cmcd, ObjectType, Request, StreamFormat};
use super::fetch::{FetchError, Fetcher};
use super::license::{self, LicenseError};
use super::outage::Outage;
use super::route::Router;
use super::selection::{Feed, Selection, preferred_audio, preferred_subtitles, shown_language};
use super::warm::WarmTitle;
use crate::account::Account;
use crate::config::{ManifestChoice, PlayerConfig};
use crate::media::keyring::KeyRing;
use crate::media::pipeline::{Frame, MediaKind, Pipeline, PipelineError, PipelineEvent, Sinks};
use crate::net::Headend;
use crate::store::Store;
use ottbox_formats::manifest::{Limits, Presentation};
use ottbox_formats::subtitles::Subtitles;

/// Where the last session's bandwidth estimate is kept (`meta` tree).
const BANDWIDTH_KEY: &str = "player.bandwidth_bps";
/// The viewer's audio language (BCP 47), kept across titles and restarts:
/// what [`Command::AudioLanguageChanged`] makes a playback switch to.
pub const AUDIO_LANGUAGE_KEY: &str = "player.audio_language";
/// The viewer's subtitle language, empty for none: what
/// [`Command::SubtitlesChanged`] makes a playback show.
pub const SUBTITLES_KEY: &str = "player.subtitles";
/// How often the loop looks at the pipeline when it has nothing to fetch.
const TICK: Duration = Duration::from_millis(50);
/// A pipeline position further than this from the wall clock's is a
/// bogus answer.
const PLAUSIBLE_S: f64 = 1.5;
/// Below this much buffer while playing, the clock stops (a rebuffer).
const LOW_WATER_S: f64 = 0.2;
/// After a rebuffer the clock goes on only with this much buffered: above
/// [`LOW_WATER_S`], or a stall that left a little media in would flap
/// between playing and buffering on every tick.
const RESUME_S: f64 = 0.5;

/// What the engine needs from the rest of the daemon.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The headend client (its HTTP client fetches media too).
    pub headend: Headend,
    /// For access tokens on license calls.
    pub account: std::sync::Arc<Account>,
    /// For the bandwidth estimate kept between sessions.
    pub store: Store,
    /// Sinks, buffering, limits.
    pub config: PlayerConfig,
}

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

/// What the viewer asks of a running playback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Stop the clock; keep buffering.
    Pause,
    /// Start the clock again.
    Resume,
    /// Play from this position, seconds.
    Seek(f64),
    /// Never fetch above this many lines (0: no cap).
    SetMaxHeight(u32),
    /// The viewer chose another audio language ([`AUDIO_LANGUAGE_KEY`]):
    /// play it from here if the title has it.
    AudioLanguageChanged,
    /// The viewer turned subtitles on, off or to another language
    /// ([`SUBTITLES_KEY`]).
    SubtitlesChanged,
}

/// The title's languages and what is on screen of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tracks {
    /// Audio languages (BCP 47), in manifest order.
    pub audio_languages: Vec<String>,
    /// The one playing.
    pub audio_language: String,
    /// Subtitle languages, in manifest order.
    pub subtitle_languages: Vec<String>,
    /// The one shown, empty when subtitles are off.
    pub subtitles: String,
    /// The subtitle text on screen now, lines joined by `\n`.
    pub subtitle_text: String,
}

/// Where a playback is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Manifest, license, first segments.
    #[default]
    Loading,
    /// The clock runs.
    Playing,
    /// The viewer paused.
    Paused,
    /// The buffer ran dry; the clock waits for data.
    Buffering,
    /// Played to the end.
    Ended,
    /// Failed; see [`Status::error`].
    Error,
}

impl State {
    /// The name used on D-Bus.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loading => "loading",
            Self::Playing => "playing",
            Self::Paused => "paused",
            Self::Buffering => "buffering",
            Self::Ended => "ended",
            Self::Error => "error",
        }
    }
}

/// Quality of experience of one playback.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Qoe {
    /// Play (or seek) to the first decoded frame, milliseconds.
    pub time_to_first_frame_ms: Option<f64>,
    /// Times the buffer ran dry after the start.
    pub rebuffers: u32,
    /// Seconds spent rebuffering.
    pub rebuffer_s: f64,
    /// Rendition switches after the first segment.
    pub switches: u32,
    /// Mean bitrate of the video fetched, weighted by media time, bit/s.
    pub average_bitrate: f64,
    /// Frames the sink dropped as late.
    pub dropped_frames: u64,
    /// Times the media moved to another CDN edge.
    pub edge_switches: u32,
    /// The longest a download took from its first failed request to its
    /// arrival from another edge, milliseconds (0 without such a failover).
    pub edge_switch_ms: f64,
    /// Requests this playback did not make because predictive prefetch
    /// had the answer in memory (the license, manifests, segments).
    pub prefetched: u32,
}

/// What the engine publishes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    /// Where it is.
    pub state: State,
    /// Playhead, seconds.
    pub position_s: f64,
    /// Running time, seconds.
    pub duration_s: f64,
    /// The video rendition being fetched, `WIDTHxHEIGHT`.
    pub rendition: String,
    /// Its declared bitrate, bit/s.
    pub bitrate: u64,
    /// Seconds buffered ahead of the playhead.
    pub buffer_s: f64,
    /// The video decoder element.
    pub decoder: String,
    /// The CDN edge the next request goes to.
    pub edge: String,
    /// Languages and subtitles.
    pub tracks: Tracks,
    /// Why it failed: (code, message).
    pub error: Option<(String, String)>,
    /// QoE so far.
    pub qoe: Qoe,
}

/// Why a playback failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlayError {
    /// A download failed for good.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] ottbox_formats::manifest::ManifestError),
    /// No keys.
    #[error(transparent)]
    License(#[from] LicenseError),
    /// GStreamer could not be set up.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The pipeline failed while playing (decrypt, decode).
    #[error("{code}: {message}")]
    Playing {
        /// The pipeline's code.
        code: String,
        /// What it said.
        message: String,
    },
    /// Content this box cannot play.
    #[error("media.unsupported: {0}")]
    Unsupported(String),
}

impl PlayError {
    /// A stable code for logs and D-Bus errors.
    pub fn code(&self) -> String {
        match self {
            Self::Fetch(e) => e.code().into(),
            Self::Manifest(e) => e.code().into(),
            Self::License(e) => e.code().into(),
            Self::Pipeline(e) => e.code().into(),
            Self::Playing { code, .. } => code.clone(),
            Self::Unsupported(_) => "media.unsupported".into(),
        }
    }
}

/// A running playback. Dropping it stops it.
#[derive(Debug)]
pub struct Playback {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<Status>,
    snapshots: mpsc::UnboundedSender<tokio::sync::oneshot::Sender<Option<Frame>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Playback {
    /// Starts playing `start` in a task of its own.
    pub fn start(engine: Engine, start: Start) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let (snapshots, snap_rx) = mpsc::unbounded_channel();
        let (tx, status) = watch::channel(Status {
            duration_s: start.session.duration_s,
            position_s: start.from_s,
            ..Status::default()
        });
        let task = tokio::spawn(async move {
            let mut run = Run {
                engine,
                status: tx,
                commands: rx,
                snapshots: snap_rx,
            };
            if let Err(e) = run.play(start).await {
                tracing::warn!(code = %e.code(), error = %e, "playback failed");
                run.status.send_modify(|s| {
                    s.state = State::Error;
                    s.error = Some((e.code(), e.to_string()));
                });
            }
        });
        Self {
            commands,
            status,
            snapshots,
            task,
        }
    }

    /// Sends a command (ignored once the playback has ended).
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// The status channel.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// The picture on screen, if the sink keeps one. The request is sent
    /// now; the answer needs no borrow of the playback.
    pub fn snapshot(&self) -> impl std::future::Future<Output = Option<Frame>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self.snapshots.send(tx).is_ok();
        async move {
            if !sent {
                return None;
            }
            rx.await.ok().flatten()
        }
    }
}

impl Drop for Playback {
    fn drop(&mut self) {
        // Aborting drops the pipeline, which stops it.
        self.task.abort();
    }
}

struct Run {
    engine: Engine,
    status: watch::Sender<Status>,
    commands: mpsc::UnboundedReceiver<Command>,
    snapshots: mpsc::UnboundedReceiver<tokio::sync::oneshot::Sender<Option<Frame>>>,
}

impl Run {
    async fn play(&mut self, start: Start) -> Result<(), PlayError> {
        let t0 = start.requested_at;
        let mut router = router(&self.engine, &start.session)?;
        if let Some(warm) = &start.warm {
            router.serve_from(warm.objects.clone());
        }
        let presentation = open(&mut router).await?;
        let Selection {
            audio,
            mut audio_choice,
            texts,
            mut feeds,
            kids,
        } = Selection::new(&presentation, &self.engine.store, start.preview)?;
        let store = &self.engine.store;
        let mut subtitles = preferred_subtitles(store, &texts)
            .filter(|_| !start.preview)
            .map(|i| (i, texts[i].show(start.from_s)));
        let ring = KeyRing::new();
        let mut prefetched = 0;
        if start
            .warm
            .as_ref()
            .is_some_and(|w| w.keys_into(&kids, &ring))
        {
            prefetched += 1;
        } else {
            license::acquire(
                &self.engine.account,
                &self.engine.headend,
                &start.session.license_url,
                &kids,
                &ring,
            )
            .await?;
        }
        let duration = presentation
            .duration
            .filter(|d| *d > 0.0)
            .unwrap_or(start.session.duration_s);
        let from = start.from_s.clamp(0.0, duration.max(0.0));
        let mut abr = startup_abr(&self.engine, &feeds[0])?;
        let display = display_caps(&self.engine.config);
        let sinks = Sinks {
            video: self.engine.config.video_sink.clone(),
            audio: self.engine.config.audio_sink.clone(),
        };
        let kinds: Vec<MediaKind> = feeds.iter().map(|f| f.kind).collect();
        let rebuild = Rebuild {
            sinks: &sinks,
            kinds: &kinds,
            ring: &ring,
        };
        let mut pipeline = Pipeline::new(&sinks, &kinds, &ring, from)?;
        for f in &mut feeds {
            f.seek(from);
        }
        let mut clock = Clock::new(t0, from, duration);
        clock.qoe.prefetched = prefetched;
        self.status.send_modify(|s| {
            s.duration_s = duration;
            s.position_s = from;
            s.tracks = Tracks {
                audio_languages: audio.iter().map(|a| a.language.clone()).collect(),
                audio_language: audio
                    .get(audio_choice)
                    .map(|a| a.language.clone())
                    .unwrap_or_default(),
                subtitle_languages: texts.iter().map(|t| t.language.clone()).collect(),
                subtitles: shown_language(&texts, &subtitles),
                subtitle_text: String::new(),
            };
        });

        // A command that arrived while the loop was waiting.
        let mut deferred: Option<Command> = None;
        let mut outage = Outage::default();
        loop {
            // Commands first: a viewer's Pause must not wait for a download.
            let mut commands: Vec<Command> = deferred.take().into_iter().collect();
            while let Ok(cmd) = self.commands.try_recv() {
                commands.push(cmd);
            }
            for cmd in commands {
                match cmd {
                    Command::Pause => clock.pause(&pipeline)?,
                    Command::Resume => clock.resume(&pipeline)?,
                    Command::Seek(t) => {
                        let t = t.clamp(0.0, duration);
                        let subs = subtitles.as_mut().map(|(_, s)| s);
                        pipeline = rebuild.restart_at(t, pipeline, &mut feeds, subs, &mut clock)?;
                    }
                    Command::SubtitlesChanged => {
                        let choice = preferred_subtitles(&self.engine.store, &texts);
                        if choice != subtitles.as_ref().map(|(i, _)| *i) {
                            let t = clock.position(&pipeline);
                            subtitles = choice.map(|i| (i, texts[i].show(t)));
                            let shown = shown_language(&texts, &subtitles);
                            tracing::info!(language = %shown, "subtitles changed");
                            self.status.send_modify(|s| {
                                s.tracks.subtitles = shown;
                                s.tracks.subtitle_text.clear();
                            });
                        }
                    }
                    Command::AudioLanguageChanged => {
                        let choice = preferred_audio(&self.engine.store, &audio);
                        let Some(feed) = feeds.iter_mut().find(|f| f.kind == MediaKind::Audio)
                        else {
                            continue;
                        };
                        if choice == audio_choice {
                            continue;
                        }
                        audio_choice = choice;
                        feed.renditions = vec![audio[choice].rendition.clone()];
                        // Refilled from the playhead, as a seek there: the
                        // new language's init segment first, then its media.
                        let t = clock.position(&pipeline);
                        let subs = subtitles.as_mut().map(|(_, s)| s);
                        pipeline = rebuild.restart_at(t, pipeline, &mut feeds, subs, &mut clock)?;
                        let now = audio[choice].language.clone();
                        tracing::info!(language = %now, "audio language switched");
                        self.status.send_modify(|s| s.tracks.audio_language = now);
                    }
                    Command::SetMaxHeight(h) => {
                        let caps = if h == 0 {
                            display
                        } else {
                            display.with_user(UserCap::MaxHeight(h))
                        };
                        abr.set_caps(caps);
                    }
                }
            }
            while let Ok(reply) = self.snapshots.try_recv() {
                let _ = reply.send(pipeline.snapshot());
            }
            // The first event ends the playback either way.
            if let Some(event) = pipeline.poll().into_iter().next() {
                match event {
                    PipelineEvent::Eos => {
                        clock.ended = true;
                        self.publish(&clock, &pipeline, &abr, &feeds, &router, 0.0);
                        self.save_bandwidth(&abr);
                        return Ok(());
                    }
                    PipelineEvent::Error { code, message } => {
                        self.save_bandwidth(&abr);
                        return Err(PlayError::Playing { code, message });
                    }
                }
            }
            let position = clock.position(&pipeline);
            let fed: f64 = feeds
                .iter()
                .map(|f| if f.done { f64::INFINITY } else { f.fed_end })
                .fold(f64::INFINITY, f64::min);
            let all_done = feeds.iter().all(|f| f.done);
            let buffer = if all_done {
                feeds.iter().map(|f| f.fed_end).fold(0.0, f64::max) - position
            } else {
                fed - position
            }
            .max(0.0);
            clock.update(
                &pipeline,
                buffer,
                all_done,
                self.engine.config.start_buffer_s,
                &feeds,
            )?;
            self.publish(&clock, &pipeline, &abr, &feeds, &router, buffer);
            self.publish_subtitles(subtitles.as_ref().map(|(_, s)| s), position);

            // Feed the track furthest behind, up to the buffer target.
            let target = if start.preview {
                self.engine.config.buffer_target_s.min(10.0)
            } else {
                self.engine.config.buffer_target_s
            };
            let behind = feeds
                .iter()
                .enumerate()
                .filter(|(_, f)| !f.done)
                .min_by(|a, b| a.1.fed_end.total_cmp(&b.1.fed_end))
                .map(|(i, _)| i);
            // In an outage, nothing is fetched until the next try is due.
            let due = !outage.waiting(Instant::now());
            // Subtitles first: a few bytes, and wanted on screen on time.
            // Their failures only ever cost their own cues.
            if let Some((_, subs)) = subtitles.as_mut().filter(|_| due)
                && let Some(segment) = subs.wanted(position).cloned()
            {
                let request = Request::new(ObjectType::Caption);
                match router.get(&segment.url, segment.range, &request).await {
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
                continue;
            }
            let Some(i) = behind.filter(|&i| due && feeds[i].fed_end - position < target) else {
                // Idle: the time to ask the steering server, once playing.
                if clock.first_frame {
                    router.steer().await;
                }
                tokio::select! {
                    _ = tokio::time::sleep(TICK) => {}
                    Some(cmd) = self.commands.recv() => deferred = Some(cmd),
                    Some(reply) = self.snapshots.recv() => {
                        let _ = reply.send(pipeline.snapshot());
                    }
                }
                continue;
            };
            let feed = &mut feeds[i];
            let rendition = feed.rendition(&mut abr, buffer, start.preview);
            let Some(segment) = feed.segments(rendition).get(feed.next).cloned() else {
                feed.done = true;
                pipeline.end_of_stream(feed.track);
                continue;
            };
            let bitrate = feed.renditions.get(rendition).map_or(0, |r| r.bandwidth);
            let request = Request {
                bitrate_kbps: Some(bitrate / 1000),
                buffer_ms: Some((buffer * 1000.0) as u64),
                starved: std::mem::take(&mut clock.starved),
                duration_ms: Some((segment.duration * 1000.0) as u64),
                throughput_kbps: abr.estimator().mean_bps().map(|b| (b / 1000.0) as u64),
                startup: !clock.first_frame,
                top_kbps: feed.renditions.last().map(|r| r.bandwidth / 1000),
                ..Request::new(object_type(feed.kind))
            };
            if feed.current != Some(rendition) {
                if let Some(init) = &segment.init {
                    let init_request = Request {
                        object: ObjectType::Init,
                        duration_ms: None,
                        ..request
                    };
                    let bytes = match router.get(&init.url, init.range, &init_request).await {
                        Ok(download) => download.bytes,
                        Err(e) => {
                            outage.failed(e, Instant::now())?;
                            continue;
                        }
                    };
                    pipeline.push(feed.track, bytes)?;
                }
                if feed.current.is_some() && feed.kind == MediaKind::Video {
                    clock.qoe.switches += 1;
                }
                feed.current = Some(rendition);
            }
            let download = match router.get(&segment.url, segment.range, &request).await {
                Ok(download) => download,
                Err(e) => {
                    outage.failed(e, Instant::now())?;
                    continue;
                }
            };
            outage.ended(Instant::now());
            // A body from memory says nothing about the network.
            if feed.kind == MediaKind::Video && !download.from_cache {
                abr.on_download(download.bytes.len() as u64, download.elapsed.as_secs_f64());
                let bw = feed.renditions[rendition].bandwidth as f64;
                clock.bitrate_time.0 += bw * segment.duration;
                clock.bitrate_time.1 += segment.duration;
            }
            pipeline.push(feed.track, download.bytes)?;
            feed.fed_end = segment.start + segment.duration;
            feed.next += 1;
            if feed.next >= feed.segments(0).len() {
                feed.done = true;
                pipeline.end_of_stream(feed.track);
            }
        }
    }

    /// Publishes where the playback is, if anything changed.
    fn publish(
        &self,
        clock: &Clock,
        pipeline: &Pipeline,
        abr: &Abr,
        feeds: &[Feed],
        router: &Router,
        buffer: f64,
    ) {
        let state = clock.state();
        let duration = clock.duration;
        let rung = abr.current().unwrap_or(0);
        let (rendition, bitrate) = feeds[0]
            .renditions
            .get(rung)
            .map(|r| {
                (
                    format!("{}x{}", r.width.unwrap_or(0), r.height.unwrap_or(0)),
                    r.bandwidth,
                )
            })
            .unwrap_or_default();
        let position = if state == State::Ended {
            duration
        } else {
            clock.position(pipeline)
        };
        let mut qoe = clock.qoe;
        let (bit_seconds, seconds) = clock.bitrate_time;
        if seconds > 0.0 {
            qoe.average_bitrate = bit_seconds / seconds;
        }
        qoe.dropped_frames = pipeline.dropped_frames();
        let switches = router.switches();
        qoe.edge_switches = switches.count;
        qoe.edge_switch_ms = switches.longest.as_secs_f64() * 1000.0;
        qoe.prefetched += router.prefetched();
        let next = Status {
            state,
            position_s: position,
            duration_s: duration,
            rendition,
            bitrate,
            buffer_s: buffer,
            decoder: pipeline.decoder().unwrap_or_default(),
            edge: router.edge().to_owned(),
            error: None,
            qoe,
            // Set when the playback starts and on a switch, not per tick.
            ..Status::default()
        };
        self.status.send_if_modified(|s| {
            let next = Status {
                tracks: s.tracks.clone(),
                ..next
            };
            let changed = *s != next;
            *s = next;
            changed
        });
    }

    /// Shows the subtitle text of `position`, if it changed.
    fn publish_subtitles(&self, subtitles: Option<&Subtitles>, position: f64) {
        let text = subtitles.map(|s| s.text_at(position)).unwrap_or_default();
        self.status.send_if_modified(|s| {
            let changed = s.tracks.subtitle_text != text;
            s.tracks.subtitle_text = text;
            changed
        });
    }

    fn save_bandwidth(&self, abr: &Abr) {
        if let Some(bps) = abr.bandwidth_estimate_bps() {
            let store = &self.engine.store;
            if let Err(e) = store.put(&store.meta, BANDWIDTH_KEY, &bps) {
                tracing::warn!(error = %e, "cannot keep the bandwidth estimate");
            }
        }
    }
}

/// How to build this playback's pipeline again.
struct Rebuild<'a> {
    sinks: &'a Sinks,
    kinds: &'a [MediaKind],
    ring: &'a KeyRing,
}

impl Rebuild<'_> {
    /// Plays from `t` on a fresh pipeline, `old` dropped first (a display
    /// sink may be exclusive): every track, and the subtitles, refill from
    /// the segment holding `t`, the demuxer placing it by its `tfdt`. A
    /// seek, and an audio switch at the playhead, are this.
    fn restart_at(
        &self,
        t: f64,
        old: Pipeline,
        feeds: &mut [Feed],
        subtitles: Option<&mut Subtitles>,
        clock: &mut Clock,
    ) -> Result<Pipeline, PlayError> {
        drop(old);
        let pipeline = Pipeline::new(self.sinks, self.kinds, self.ring, t)?;
        for f in feeds {
            f.seek(t);
        }
        if let Some(subs) = subtitles {
            subs.seek(t);
        }
        clock.seek(t);
        Ok(pipeline)
    }
}

/// The playhead and the start/stall logic.
struct Clock {
    started_at: Instant,
    /// The clock runs (GStreamer PLAYING).
    running: bool,
    /// The first frame of this start (or seek) was seen.
    first_frame: bool,
    /// The viewer paused.
    paused: bool,
    /// Since when the buffer is dry, if it is.
    stalled_since: Option<Instant>,
    /// The buffer ran dry since the last request said so (CMCD `bs`).
    starved: bool,
    /// Where playback (re)started: the position until the pipeline knows.
    origin: f64,
    /// Seconds the clock ran since the origin, not counting the current
    /// run, and when the current run began.
    ran_s: f64,
    run_since: Option<Instant>,
    duration: f64,
    /// The end of stream came out of the pipeline.
    ended: bool,
    /// The video fetched: (declared bit/s × media seconds, media seconds).
    bitrate_time: (f64, f64),
    qoe: Qoe,
}

impl Clock {
    fn new(started_at: Instant, origin: f64, duration: f64) -> Self {
        Self {
            started_at,
            running: false,
            first_frame: false,
            paused: false,
            stalled_since: None,
            starved: false,
            origin,
            ran_s: 0.0,
            run_since: None,
            duration,
            ended: false,
            bitrate_time: (0.0, 0.0),
            qoe: Qoe::default(),
        }
    }

    /// Starts or stops the clock (the pipeline is told separately).
    fn set_running(&mut self, on: bool) {
        if let Some(since) = self.run_since.take() {
            self.ran_s += since.elapsed().as_secs_f64();
        }
        if on {
            self.run_since = Some(Instant::now());
        }
        self.running = on;
    }

    /// Where the wall clock says playback is.
    fn expected(&self) -> f64 {
        self.origin + self.ran_s + self.run_since.map_or(0.0, |t| t.elapsed().as_secs_f64())
    }

    fn state(&self) -> State {
        if self.ended {
            State::Ended
        } else if !self.first_frame && self.stalled_since.is_none() && !self.running {
            State::Loading
        } else if self.paused {
            State::Paused
        } else if self.stalled_since.is_some() {
            State::Buffering
        } else if !self.first_frame {
            State::Loading
        } else {
            State::Playing
        }
    }

    fn position(&self, pipeline: &Pipeline) -> f64 {
        if !self.first_frame {
            return self.origin;
        }
        // The pipeline's answer, when it is plausible. Right after the
        // first frame a loaded machine can answer the position query from
        // a sink that has not applied the segment yet (0, or past the
        // end): never report, or save as a resume point, a position the
        // wall clock says playback cannot be at.
        let expected = self.expected();
        let end = self.duration.max(self.origin);
        pipeline
            .position_s()
            .filter(|p| (p - expected).abs() <= PLAUSIBLE_S)
            .unwrap_or(expected)
            .clamp(self.origin, end)
    }

    fn pause(&mut self, pipeline: &Pipeline) -> Result<(), PipelineError> {
        self.paused = true;
        if self.running {
            pipeline.play(false)?;
            self.set_running(false);
        }
        Ok(())
    }

    fn resume(&mut self, _pipeline: &Pipeline) -> Result<(), PipelineError> {
        // `update` restarts the clock when there is data to play.
        self.paused = false;
        Ok(())
    }

    fn seek(&mut self, t: f64) {
        self.origin = t;
        self.set_running(false);
        self.ran_s = 0.0;
        self.first_frame = false;
        self.stalled_since = None;
        self.started_at = Instant::now();
    }

    /// Starts, stalls and restarts the clock from the buffer level.
    fn update(
        &mut self,
        pipeline: &Pipeline,
        buffer: f64,
        all_done: bool,
        start_buffer_s: f64,
        feeds: &[Feed],
    ) -> Result<(), PipelineError> {
        if !self.first_frame
            && let Some(at) = pipeline.first_frame()
        {
            self.first_frame = true;
            // Playback time counts from the first picture, not from the
            // moment the pipeline was told to play.
            self.ran_s = 0.0;
            if self.running {
                self.run_since = Some(at);
            }
            if self.qoe.time_to_first_frame_ms.is_none() {
                self.qoe.time_to_first_frame_ms =
                    Some(at.saturating_duration_since(self.started_at).as_secs_f64() * 1000.0);
            }
        }
        if self.paused {
            return Ok(());
        }
        let every_track_fed = feeds.iter().all(|f| f.current.is_some() || f.done);
        let needed = if self.stalled_since.is_some() {
            start_buffer_s.max(RESUME_S)
        } else {
            start_buffer_s.max(0.01)
        };
        let enough = all_done || (every_track_fed && buffer >= needed);
        if self.running {
            if !all_done && buffer < LOW_WATER_S && self.first_frame {
                pipeline.play(false)?;
                self.set_running(false);
                self.stalled_since = Some(Instant::now());
                self.starved = true;
                self.qoe.rebuffers += 1;
            }
        } else if enough {
            pipeline.play(true)?;
            self.set_running(true);
            if let Some(since) = self.stalled_since.take() {
                self.qoe.rebuffer_s += since.elapsed().as_secs_f64();
            }
        }
        Ok(())
    }
}

/// A router over `session`'s edges, for its DASH manifest when the
/// config prefers DASH and the title has one, with a fresh CMCD session.
pub(super) fn router(engine: &Engine, session: &PlaybackSession) -> Result<Router, PlayError> {
    let fetcher = Fetcher::new(engine.headend.http());
    let dash = engine.config.manifest == ManifestChoice::Dash
        && session.edges.iter().any(|e| e.dash_url.is_some());
    let format = if dash {
        StreamFormat::Dash
    } else {
        StreamFormat::Hls
    };
    let cmcd = Cmcd::new(&crate::events::new_id(), &session.title_id, format);
    Ok(Router::new(fetcher, cmcd, session, dash)?)
}

/// The ABR over `video`'s ladder as a playback starts it: the last
/// session's bandwidth estimate, the display's size as a cap.
pub(super) fn startup_abr(engine: &Engine, video: &Feed) -> Result<Abr, PlayError> {
    let ladder = Ladder::new(
        video
            .renditions
            .iter()
            .map(|r| abr::Rendition::new(r.bandwidth, r.width.unwrap_or(0), r.height.unwrap_or(0)))
            .collect(),
    )
    .map_err(|e| PlayError::Unsupported(e.to_string()))?;
    let prior = engine.store.get::<f64>(&engine.store.meta, BANDWIDTH_KEY);
    let mut abr = Abr::new(ladder, AbrConfig::default(), prior);
    abr.set_caps(display_caps(&engine.config));
    Ok(abr)
}

/// No rendition larger than the display.
fn display_caps(config: &PlayerConfig) -> Caps {
    Caps::none().with_display(config.display_width, config.display_height)
}

/// The CMCD object type of a track's media segments.
pub(super) fn object_type(kind: MediaKind) -> ObjectType {
    match kind {
        MediaKind::Video => ObjectType::Video,
        MediaKind::Audio => ObjectType::Audio,
    }
}

/// The presentation from the session's edges (the router fails over
/// between them), media playlists and sidx boxes included.
pub(super) async fn open(router: &mut Router) -> Result<Presentation, PlayError> {
    let request = Request {
        startup: true,
        ..Request::new(ObjectType::Manifest)
    };
    let url = router.manifest_url()?;
    let manifest = router.get(&url, None, &request).await?;
    let mut p = Presentation::parse(&url, &manifest.bytes, &Limits::default())?;
    for pending in p.pending() {
        let doc = router.get(&pending.url, pending.range, &request).await?;
        p.supply(&pending, &doc.bytes)?;
    }
    Ok(p)
}
