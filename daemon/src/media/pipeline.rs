//! The GStreamer pipeline the engine feeds: one `appsrc` per track.
//!
//! ```text
//! appsrc (video) ! qtdemux ! [ottboxdecrypt] ! h264parse ! <decoder> ! queue ! videoconvert ! <video sink>
//! appsrc (audio) ! qtdemux ! [ottboxdecrypt] ! aacparse  ! <decoder> ! queue ! audioconvert ! audioresample ! <audio sink>
//! ```
//!
//! The engine, not GStreamer, fetches: it pushes init segments and media
//! segments (fMP4) into the `appsrc`s as bytes, and a rendition switch is
//! just the new rendition's init segment followed by its segments (qtdemux
//! takes a new `moov` mid-stream). The demuxer's pads appear once it has
//! read an init segment; the rest of each branch is built then, with the
//! decryptor only when the stream is encrypted and the decoder chosen by
//! [`super::decoder`] (hardware first).
//!
//! The pipeline runs on GStreamer's threads; the engine polls it
//! ([`Pipeline::poll`]) for what happened: the first frame, the end, an
//! error with a stable code. Sinks come from config as element
//! descriptions (`kmssink`, `waylandsink`, `autovideosink`, `fakesink
//! sync=true` in tests); every GStreamer sink keeps its last frame, which
//! [`Pipeline::snapshot`] turns into RGB.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::decoder;
use super::decryptor::{self, Decryptor, ERROR_DETAILS};
use super::keyring::KeyRing;

/// What a track carries, as far as the pipeline cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// Pictures.
    Video,
    /// Sound.
    Audio,
}

/// Which sinks to render to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sinks {
    /// A GStreamer element description for video.
    pub video: String,
    /// A GStreamer element description for audio.
    pub audio: String,
}

/// Why the pipeline could not be built or fed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// An element is missing (a plugin not installed) or a sink
    /// description does not parse.
    #[error("pipeline.missing_element: {0}")]
    MissingElement(String),
    /// GStreamer refused a state change or a link.
    #[error("pipeline.gstreamer: {0}")]
    Gstreamer(String),
    /// No such track.
    #[error("pipeline.no_track: {0}")]
    NoTrack(usize),
}

impl PipelineError {
    /// A stable code for logs and D-Bus errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingElement(_) => "pipeline.missing_element",
            Self::Gstreamer(_) => "pipeline.gstreamer",
            Self::NoTrack(_) => "pipeline.no_track",
        }
    }
}

/// Something the pipeline reports.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineEvent {
    /// Every track played to its end.
    Eos,
    /// Playback failed. `code` is the decryptor's (`decrypt.no_key`, ...)
    /// when it is the one that failed, else `media.corrupt` for damaged media
    /// or a `gst.*` code.
    Error {
        /// A stable code.
        code: String,
        /// What GStreamer said.
        message: String,
    },
}

/// A decoded picture, as 8-bit RGB rows without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

/// Counters the probes update from GStreamer's threads.
#[derive(Debug, Default)]
struct Stats {
    /// When the first picture reached the video sink.
    first_frame: Mutex<Option<Instant>>,
    frames: AtomicU64,
    dropped: AtomicU64,
    decoder: Mutex<Option<String>>,
    /// Set once a branch could not be built, so it is reported once.
    failed: AtomicBool,
}

/// A running pipeline. Dropping it stops it.
#[derive(Debug)]
pub struct Pipeline {
    pipeline: gst::Pipeline,
    sources: Vec<gst_app::AppSrc>,
    video_sink: Option<gst::Element>,
    stats: Arc<Stats>,
}

impl Pipeline {
    /// Builds a pipeline with one source per entry of `tracks`, decrypting
    /// with keys from `keyring`. It starts paused; see [`Pipeline::play`].
    ///
    /// Playback starts at `start_s` in the presentation even though the
    /// first segment pushed starts earlier (segments start on key frames):
    /// the demuxer's segment is moved to `start_s`, so the decoders decode
    /// from the key frame but nothing before `start_s` is shown or heard,
    /// and the clock starts at `start_s` at once.
    pub fn new(
        sinks: &Sinks,
        tracks: &[MediaKind],
        keyring: &KeyRing,
        start_s: f64,
    ) -> Result<Self, PipelineError> {
        gst::init().map_err(|e| PipelineError::Gstreamer(e.to_string()))?;
        decryptor::register().map_err(|e| PipelineError::Gstreamer(e.to_string()))?;
        let pipeline = gst::Pipeline::new();
        let stats = Arc::new(Stats::default());
        let mut sources = Vec::new();
        let mut video_sink = None;
        for (i, kind) in tracks.iter().enumerate() {
            let src = gst_app::AppSrc::builder()
                .name(format!("src{i}"))
                .caps(&gst::Caps::new_empty_simple("video/quicktime"))
                .format(gst::Format::Bytes)
                .stream_type(gst_app::AppStreamType::Stream)
                .is_live(false)
                .max_bytes(0)
                .block(false)
                .build();
            let demux = make("qtdemux")?;
            let sink = sink(match kind {
                MediaKind::Video => &sinks.video,
                MediaKind::Audio => &sinks.audio,
            })?;
            if *kind == MediaKind::Video {
                count_frames(&sink, &stats);
                video_sink = Some(sink.clone());
            }
            pipeline
                .add_many([src.upcast_ref(), &demux])
                .map_err(gst_error)?;
            src.link(&demux).map_err(gst_error)?;
            let branch = Branch {
                pipeline: pipeline.downgrade(),
                kind: *kind,
                sink,
                keyring: keyring.clone(),
                stats: stats.clone(),
                start: gst::ClockTime::from_nseconds((start_s.max(0.0) * 1e9) as u64),
            };
            demux.connect_pad_added(move |demux, pad| branch.attach(demux, pad));
            sources.push(src);
        }
        pipeline.set_state(gst::State::Paused).map_err(gst_error)?;
        Ok(Self {
            pipeline,
            sources,
            video_sink,
            stats,
        })
    }

    /// Stops it now (state NULL), freeing its sinks for another pipeline;
    /// dropping it does the same.
    pub fn stop(&self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }

    /// Appends bytes (init or media segment) to track `track`.
    pub fn push(&self, track: usize, bytes: Vec<u8>) -> Result<(), PipelineError> {
        let src = self
            .sources
            .get(track)
            .ok_or(PipelineError::NoTrack(track))?;
        src.push_buffer(gst::Buffer::from_mut_slice(bytes))
            .map(drop)
            .map_err(|e| PipelineError::Gstreamer(format!("push: {e:?}")))
    }

    /// Says that track `track` has no more data.
    pub fn end_of_stream(&self, track: usize) {
        if let Some(src) = self.sources.get(track) {
            let _ = src.end_of_stream();
        }
    }

    /// Plays (true) or pauses (false).
    pub fn play(&self, playing: bool) -> Result<(), PipelineError> {
        let state = if playing {
            gst::State::Playing
        } else {
            gst::State::Paused
        };
        self.pipeline.set_state(state).map(drop).map_err(gst_error)
    }

    /// The position in the presentation, seconds (qtdemux maps media time
    /// to the presentation with the segments' `tfdt`).
    pub fn position_s(&self) -> Option<f64> {
        self.pipeline
            .query_position::<gst::ClockTime>()
            .map(|t| t.nseconds() as f64 / 1e9)
    }

    /// What happened since the last call.
    pub fn poll(&self) -> Vec<PipelineEvent> {
        let mut out = Vec::new();
        let Some(bus) = self.pipeline.bus() else {
            return out;
        };
        while let Some(msg) = bus.pop() {
            match msg.view() {
                gst::MessageView::Eos(_) => out.push(PipelineEvent::Eos),
                gst::MessageView::Error(e) => {
                    let code = e
                        .details()
                        .filter(|d| d.name() == ERROR_DETAILS)
                        .and_then(|d| d.get::<String>("code").ok())
                        .unwrap_or_else(|| error_code(&e.error()).to_owned());
                    out.push(PipelineEvent::Error {
                        code,
                        message: e.error().to_string(),
                    });
                }
                gst::MessageView::Qos(q) => {
                    let (_, dropped) = q.stats();
                    if let gst::GenericFormattedValue::Buffers(Some(n)) = dropped {
                        self.stats.dropped.fetch_max(*n, Ordering::Relaxed);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// When the first picture reached the video sink.
    pub fn first_frame(&self) -> Option<Instant> {
        *self
            .stats
            .first_frame
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Pictures that reached the video sink.
    pub fn frames(&self) -> u64 {
        self.stats.frames.load(Ordering::Relaxed)
    }

    /// Pictures the sink dropped as late (from QoS messages).
    pub fn dropped_frames(&self) -> u64 {
        self.stats.dropped.load(Ordering::Relaxed)
    }

    /// The video decoder element's factory name, once chosen.
    pub fn decoder(&self) -> Option<String> {
        self.stats
            .decoder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The picture on screen, in RGB (from the video sink's last sample).
    pub fn snapshot(&self) -> Option<Frame> {
        let sink = self.video_sink.as_ref()?;
        sink.find_property("last-sample")?;
        let sample = sink.property::<Option<gst::Sample>>("last-sample")?;
        let rgb_caps = gst::Caps::builder("video/x-raw")
            .field("format", "RGB")
            .build();
        let sample = gstreamer_video::convert_sample(
            &sample,
            &rgb_caps,
            Some(gst::ClockTime::from_seconds(2)),
        )
        .ok()?;
        let info = gstreamer_video::VideoInfo::from_caps(sample.caps()?).ok()?;
        let buffer = sample.buffer()?;
        let map = buffer.map_readable().ok()?;
        let (w, h) = (info.width() as usize, info.height() as usize);
        let stride = usize::try_from(*info.stride().first()?).ok()?;
        let mut rgb = Vec::with_capacity(w * h * 3);
        for row in 0..h {
            rgb.extend_from_slice(map.get(row * stride..row * stride + w * 3)?);
        }
        Some(Frame {
            width: info.width(),
            height: info.height(),
            rgb,
        })
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a demuxer pad is linked to once it appears.
struct Branch {
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    kind: MediaKind,
    sink: gst::Element,
    keyring: KeyRing,
    stats: Arc<Stats>,
    /// Where playback starts, in stream time.
    start: gst::ClockTime,
}

impl Branch {
    /// Builds `[decrypt] ! parse ! decode ! queue ! convert ! sink` behind
    /// `pad`, or posts an error that says what is missing.
    fn attach(&self, demux: &gst::Element, pad: &gst::Pad) {
        let Some(caps) = pad.current_caps() else {
            return;
        };
        let Some(s) = caps.structure(0) else {
            return;
        };
        let wanted = match self.kind {
            MediaKind::Video => {
                s.name().starts_with("video/") || media_type(s).starts_with("video/")
            }
            MediaKind::Audio => {
                s.name().starts_with("audio/") || media_type(s).starts_with("audio/")
            }
        };
        // A second moov (rendition switch) re-uses the linked pad.
        if !wanted || pad.is_linked() || self.stats.failed.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = self.build(pad, s) {
            self.stats.failed.store(true, Ordering::Relaxed);
            let msg = gst::message::Error::builder(gst::CoreError::MissingPlugin, &e.to_string())
                .src(demux)
                .build();
            let _ = demux.post_message(msg);
        }
    }

    fn build(&self, pad: &gst::Pad, s: &gst::StructureRef) -> Result<(), PipelineError> {
        let pipeline = self
            .pipeline
            .upgrade()
            .ok_or_else(|| PipelineError::Gstreamer("pipeline gone".into()))?;
        let mut chain: Vec<gst::Element> = Vec::new();
        if s.name() == "application/x-cenc" {
            let decrypt = make(decryptor::ELEMENT_NAME)?;
            decrypt
                .clone()
                .downcast::<Decryptor>()
                .map_err(|_| PipelineError::Gstreamer("not our decryptor".into()))?
                .set_keyring(self.keyring.clone());
            chain.push(decrypt);
        }
        let media = media_type(s);
        let parser = match media {
            "video/x-h264" => "h264parse",
            "video/x-h265" => "h265parse",
            "audio/mpeg" => "aacparse",
            other => {
                return Err(PipelineError::MissingElement(format!(
                    "no parser for {other}"
                )));
            }
        };
        chain.push(make(parser)?);
        let mut clear = s.to_owned();
        clear.set_name(media);
        for field in ["original-media-type", "protection-system", "cipher-mode"] {
            clear.remove_field(field);
        }
        let decoder = decoder::make(&decoder::after_parser(&gst::Caps::from(clear)))
            .ok_or_else(|| PipelineError::MissingElement(format!("no decoder for {media}")))?;
        if self.kind == MediaKind::Video {
            let name = decoder
                .factory()
                .map(|f| f.name().to_string())
                .unwrap_or_default();
            *self
                .stats
                .decoder
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(name);
        }
        chain.push(decoder);
        chain.push(make("queue")?);
        match self.kind {
            MediaKind::Video => chain.push(make("videoconvert")?),
            MediaKind::Audio => {
                chain.push(make("audioconvert")?);
                chain.push(make("audioresample")?);
            }
        }
        chain.push(self.sink.clone());
        pipeline.add_many(&chain).map_err(gst_error)?;
        gst::Element::link_many(&chain).map_err(gst_error)?;
        for e in &chain {
            e.sync_state_with_parent().map_err(gst_error)?;
        }
        let first = chain
            .first()
            .and_then(|e| e.static_pad("sink"))
            .ok_or_else(|| PipelineError::Gstreamer("no sink pad".into()))?;
        start_at(pad, self.start);
        pad.link(&first)
            .map(drop)
            .map_err(|e| PipelineError::Gstreamer(format!("link: {e:?}")))
    }
}

/// Moves every segment `pad` sends so that it begins no earlier than
/// stream time `start`: segment start and stream time advance together,
/// so positions stay right, and what lies before `start` is clipped by
/// the decoders and sinks instead of played.
fn start_at(pad: &gst::Pad, start: gst::ClockTime) {
    if start.is_zero() {
        return;
    }
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        let Some(gst::PadProbeData::Event(event)) = &mut info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let gst::EventView::Segment(seg) = event.view() else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(seg) = seg.segment().downcast_ref::<gst::ClockTime>() else {
            return gst::PadProbeReturn::Ok;
        };
        let (Some(time), Some(begin)) = (seg.time(), seg.start()) else {
            return gst::PadProbeReturn::Ok;
        };
        if time >= start {
            return gst::PadProbeReturn::Ok;
        }
        let mut moved = seg.clone();
        let shift = start - time;
        moved.set_start(begin + shift);
        moved.set_time(start);
        moved.set_position(begin + shift);
        *event = gst::event::Segment::new(&moved);
        gst::PadProbeReturn::Ok
    });
}

/// The media type of demuxer caps: `original-media-type` for encrypted
/// streams, else the caps' name.
fn media_type(s: &gst::StructureRef) -> &str {
    s.get::<&str>("original-media-type")
        .unwrap_or(s.name().as_str())
}

/// Counts pictures reaching `sink` and notes the first one.
fn count_frames(sink: &gst::Element, stats: &Arc<Stats>) {
    let Some(pad) = sink.static_pad("sink") else {
        return;
    };
    let stats = stats.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        if stats.frames.fetch_add(1, Ordering::Relaxed) == 0 {
            *stats
                .first_frame
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        }
        gst::PadProbeReturn::Ok
    });
}

fn make(factory: &str) -> Result<gst::Element, PipelineError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| PipelineError::MissingElement(factory.to_owned()))
}

/// A sink from a description such as `fakesink sync=true`.
fn sink(description: &str) -> Result<gst::Element, PipelineError> {
    gst::parse::launch(description)
        .map_err(|e| PipelineError::MissingElement(format!("{description}: {e}")))
}

fn gst_error(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Gstreamer(e.to_string())
}

/// `core`, `stream`, `resource`, ... from a GStreamer error's domain.
/// The stable code of an error no element of ours raised: a stream error
/// (demux, decode, a format) means the media is damaged, as a segment cut
/// short by a CDN is; the other GStreamer domains keep their names.
fn error_code(e: &gst::glib::Error) -> &'static str {
    if e.is::<gst::StreamError>() {
        "media.corrupt"
    } else if e.is::<gst::ResourceError>() {
        "gst.resource"
    } else if e.is::<gst::CoreError>() {
        "gst.core"
    } else {
        "gst.library"
    }
}
