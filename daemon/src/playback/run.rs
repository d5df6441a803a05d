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

use ottbox_protocol::dbus::PlayState;
use ottbox_protocol::playback::PlaybackSession;
use tokio::sync::{mpsc, watch};

use super::abr::{Abr, UserCap};
use super::clock::{Buffered, Clock};
use super::cmcd::{ObjectType, Request};
use super::context::{self, BANDWIDTH_KEY, Engine};
use super::error::PlayError;
use super::license;
use super::outage::Outage;
use super::route::Router;
use super::selection::{Feed, Selection, preferred_audio, preferred_subtitles, shown_language};
use super::status::{Command, Status, Tracks};
use super::warm::WarmTitle;
use crate::media::keyring::KeyRing;
use crate::media::pipeline::{Frame, MediaKind, Pipeline, PipelineEvent, Sinks};
use ottbox_formats::subtitles::Subtitles;

/// How often the loop looks at the pipeline when it has nothing to fetch.
const TICK: Duration = Duration::from_millis(50);
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
            state: PlayState::Loading,
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
                    s.state = PlayState::Error;
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
        let mut router = context::router(&self.engine, &start.session)?;
        if let Some(warm) = &start.warm {
            router.serve_from(warm.objects.clone());
        }
        let presentation = context::open(&mut router).await?;
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
        let mut abr = context::startup_abr(&self.engine, &feeds[0])?;
        let display = context::display_caps(&self.engine.config);
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
                    Command::Resume => clock.resume(),
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
            let buffered = Buffered {
                seconds: buffer,
                all_done,
                every_track_fed: feeds.iter().all(|f| f.current.is_some() || f.done),
            };
            clock.update(&pipeline, buffered, self.engine.config.start_buffer_s)?;
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
                ..Request::new(context::object_type(feed.kind))
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
        let position = if state == PlayState::Ended {
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
