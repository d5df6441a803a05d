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
//! 4. builds the [`Pipeline`](crate::media::pipeline::Pipeline) and feeds
//!    it what the [`schedule`](super::schedule) says: the track that is
//!    furthest behind first (so audio and video stay aligned), each video
//!    segment in the rendition [`Abr`] chooses, until
//!    [`PlayerConfig::buffer_target_s`](crate::config::PlayerConfig::buffer_target_s)
//!    is buffered ahead of the playhead;
//! 5. starts the clock once the first segment of every track is in, pauses
//!    it when the buffer runs dry (a rebuffer, counted) and goes on when a
//!    segment is back in; a download that failed on every edge is tried
//!    again later ([`Outage`](super::outage::Outage)), so a network outage is at worst a stall;
//! 6. obeys [`Command`]s ([`Playing`] holds the steps): pause, resume, seek (a new pipeline fed from the
//!    segment holding the target: the demuxer places it by its `tfdt`),
//!    a quality cap, stop.
//!
//! Its [`Status`] (state, position, rendition, buffer, decoder, QoE) is
//! published on a watch channel, which the D-Bus layer turns into
//! properties and signals. A failure ends the playback in the `error`
//! state with a stable code (`media.http_status`, `license.refused`,
//! `decrypt.no_key`, `manifest.malformed`, ...), never a panic.

use std::time::Duration;

use ottbox_protocol::dbus::PlayState;
use tokio::sync::{mpsc, watch};

use ottbox_formats::subtitles::Subtitles;

use super::abr::Abr;
use super::context::{BANDWIDTH_KEY, Engine};
use super::error::PlayError;
use super::playing::{Playing, Start};
use super::schedule::Next;
use super::selection::{preferred_audio, preferred_subtitles};
use super::status::{Command, Status};
use crate::media::pipeline::{Frame, PipelineEvent};

/// How often the loop looks at the pipeline when it has nothing to fetch.
const TICK: Duration = Duration::from_millis(50);
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
    /// Plays `start` to its end: each turn obeys the viewer's commands,
    /// looks at the pipeline, moves the clock, publishes the status and
    /// fetches what the scheduler says.
    async fn play(&mut self, start: Start) -> Result<(), PlayError> {
        let mut p = Playing::prepare(&self.engine, &start).await?;
        let tracks = p.tracks();
        self.status.send_modify(|s| {
            s.duration_s = p.duration;
            s.position_s = p.from;
            s.tracks = tracks;
        });
        let target = if start.preview {
            self.engine.config.buffer_target_s.min(10.0)
        } else {
            self.engine.config.buffer_target_s
        };
        // A command that arrived while the loop was waiting.
        let mut deferred: Option<Command> = None;
        loop {
            // Commands first: a viewer's Pause must not wait for a download.
            let mut commands: Vec<Command> = deferred.take().into_iter().collect();
            while let Ok(cmd) = self.commands.try_recv() {
                commands.push(cmd);
            }
            for cmd in commands {
                self.obey(&mut p, cmd)?;
            }
            while let Ok(reply) = self.snapshots.try_recv() {
                let _ = reply.send(p.pipeline.snapshot());
            }
            // The first event ends the playback either way.
            if let Some(event) = p.pipeline.poll().into_iter().next() {
                self.save_bandwidth(&p.abr);
                return match event {
                    PipelineEvent::Eos => {
                        p.clock.ended = true;
                        self.publish(&p, 0.0);
                        Ok(())
                    }
                    PipelineEvent::Error { code, message } => {
                        Err(PlayError::Playing { code, message })
                    }
                };
            }
            let position = p.clock.position(&p.pipeline);
            let buffered = p.buffered(position);
            p.clock
                .update(&p.pipeline, buffered, self.engine.config.start_buffer_s)?;
            self.publish(&p, buffered.seconds);
            self.publish_subtitles(p.subtitles.as_ref().map(|(_, s)| s), position);

            match p.next(position, target) {
                Next::Subtitles => p.fetch_subtitles(position).await,
                Next::Segment(i) => p.fetch_segment(i, buffered.seconds).await?,
                Next::Idle => {
                    // The time to ask the steering server, once playing.
                    if p.clock.first_frame {
                        p.router.steer().await;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(TICK) => {}
                        Some(cmd) = self.commands.recv() => deferred = Some(cmd),
                        Some(reply) = self.snapshots.recv() => {
                            let _ = reply.send(p.pipeline.snapshot());
                        }
                    }
                }
            }
        }
    }

    /// Carries out one of the viewer's commands.
    fn obey(&self, p: &mut Playing, command: Command) -> Result<(), PlayError> {
        match command {
            Command::Pause => p.clock.pause(&p.pipeline)?,
            Command::Resume => p.clock.resume(),
            Command::Seek(t) => p.restart_at(t)?,
            Command::SubtitlesChanged => {
                let choice = preferred_subtitles(&self.engine.store, p.texts());
                if let Some(shown) = p.show_subtitles(choice) {
                    tracing::info!(language = %shown, "subtitles changed");
                    self.status.send_modify(|s| {
                        s.tracks.subtitles = shown;
                        s.tracks.subtitle_text.clear();
                    });
                }
            }
            Command::AudioLanguageChanged => {
                let choice = preferred_audio(&self.engine.store, p.audio());
                if let Some(now) = p.switch_audio(choice)? {
                    tracing::info!(language = %now, "audio language switched");
                    self.status.send_modify(|s| s.tracks.audio_language = now);
                }
            }
            Command::SetMaxHeight(h) => p.cap_height(h),
        }
        Ok(())
    }

    /// Publishes where the playback is, if anything changed.
    fn publish(&self, p: &Playing, buffer: f64) {
        let clock = &p.clock;
        let state = clock.state();
        let rung = p.abr.current().unwrap_or(0);
        let (rendition, bitrate) = p.feeds[0]
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
            clock.duration
        } else {
            clock.position(&p.pipeline)
        };
        let mut qoe = clock.qoe;
        let (bit_seconds, seconds) = clock.bitrate_time;
        if seconds > 0.0 {
            qoe.average_bitrate = bit_seconds / seconds;
        }
        qoe.dropped_frames = p.pipeline.dropped_frames();
        let switches = p.router.switches();
        qoe.edge_switches = switches.count;
        qoe.edge_switch_ms = switches.longest.as_secs_f64() * 1000.0;
        qoe.prefetched += p.router.prefetched();
        let next = Status {
            state,
            position_s: position,
            duration_s: clock.duration,
            rendition,
            bitrate,
            buffer_s: buffer,
            decoder: p.pipeline.decoder().unwrap_or_default(),
            edge: p.router.edge().to_owned(),
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
