//! The playhead of one playback, and when it may run.
//!
//! The [`Clock`] decides from the buffer level when the picture starts,
//! when it stalls (the buffer ran dry) and when it runs again (enough is
//! buffered), and it keeps the QoE figures that come from those moments:
//! time to first frame, rebuffers, time spent rebuffering. It talks to the
//! media pipeline only through [`Transport`], so its logic is tested here
//! without GStreamer.
//!
//! Positions are on the title's timeline from `origin` (where playback
//! started or last seeked to), not necessarily from 0: a resume, a seek or
//! a live window all start elsewhere.

use std::time::Instant;

use ottbox_protocol::dbus::PlayState;

use super::status::Qoe;
use crate::media::pipeline::{Pipeline, PipelineError};

/// The pipeline's position may differ from the wall clock's by this much,
/// seconds, before the wall clock is believed instead.
const PLAUSIBLE_S: f64 = 1.5;
/// The clock stalls when less than this is buffered, seconds.
const LOW_WATER_S: f64 = 0.2;
/// After a stall the clock runs again only with this much buffered,
/// seconds: above [`LOW_WATER_S`], so a stall that leaves a little media in
/// does not flap between playing and buffering every tick.
const RESUME_S: f64 = 0.5;

/// What the clock needs of the media pipeline.
pub trait Transport {
    /// Runs (`true`) or holds (`false`) the pipeline's clock.
    fn play(&self, playing: bool) -> Result<(), PipelineError>;
    /// The position the pipeline reports, seconds.
    fn position_s(&self) -> Option<f64>;
    /// When the first frame of this pipeline was shown.
    fn first_frame(&self) -> Option<Instant>;
}

impl Transport for Pipeline {
    fn play(&self, playing: bool) -> Result<(), PipelineError> {
        Pipeline::play(self, playing)
    }

    fn position_s(&self) -> Option<f64> {
        Pipeline::position_s(self)
    }

    fn first_frame(&self) -> Option<Instant> {
        Pipeline::first_frame(self)
    }
}

/// What the buffer holds, as the clock needs it each tick.
#[derive(Debug, Clone, Copy)]
pub struct Buffered {
    /// Seconds buffered ahead of the playhead.
    pub seconds: f64,
    /// Presentation time up to which every track is fed: it moves only
    /// when media arrives.
    pub fed_to: f64,
    /// Every track has its last segment in: nothing more will come.
    pub all_done: bool,
    /// Every track has a rendition chosen and fed (or is done).
    pub every_track_fed: bool,
}

/// The playhead and the start/stall logic.
#[derive(Debug)]
pub struct Clock {
    started_at: Instant,
    /// The clock runs (GStreamer PLAYING).
    running: bool,
    /// The first frame of this start (or seek) was seen.
    pub first_frame: bool,
    /// The viewer paused.
    paused: bool,
    /// Since when the buffer is dry, if it is.
    stalled_since: Option<Instant>,
    /// [`Buffered::fed_to`] when the stall began: it ends only once media
    /// has come in since. The playhead alone can seem to move back once
    /// the pipeline holds (its position answer lags the wall clock's
    /// estimate), which made a buffer without new media look refilled.
    stalled_fed_to: f64,
    /// The buffer ran dry since the last request said so (CMCD `bs`).
    pub starved: bool,
    /// Where playback (re)started: the position until the pipeline knows.
    origin: f64,
    /// Seconds the clock ran since the origin, not counting the current
    /// run, and when the current run began.
    ran_s: f64,
    run_since: Option<Instant>,
    /// The title's running time, seconds.
    pub duration: f64,
    /// The end of stream came out of the pipeline.
    pub ended: bool,
    /// The video fetched: (declared bit/s × media seconds, media seconds).
    pub bitrate_time: (f64, f64),
    /// The figures so far.
    pub qoe: Qoe,
}

impl Clock {
    /// A clock at `origin` of a title `duration` long, asked to start at
    /// `started_at` (time to first frame counts from it).
    pub fn new(started_at: Instant, origin: f64, duration: f64) -> Self {
        Self {
            started_at,
            running: false,
            first_frame: false,
            paused: false,
            stalled_since: None,
            stalled_fed_to: 0.0,
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

    /// Where the playback is, as the viewer sees it.
    pub fn state(&self) -> PlayState {
        if self.ended {
            PlayState::Ended
        } else if !self.first_frame && self.stalled_since.is_none() && !self.running {
            PlayState::Loading
        } else if self.paused {
            PlayState::Paused
        } else if self.stalled_since.is_some() {
            PlayState::Buffering
        } else if !self.first_frame {
            PlayState::Loading
        } else {
            PlayState::Playing
        }
    }

    /// The playhead, seconds.
    pub fn position(&self, pipeline: &impl Transport) -> f64 {
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

    /// The viewer paused.
    pub fn pause(&mut self, pipeline: &impl Transport) -> Result<(), PipelineError> {
        self.paused = true;
        if self.running {
            pipeline.play(false)?;
            self.set_running(false);
        }
        Ok(())
    }

    /// The viewer resumed: [`Clock::update`] restarts the clock when there
    /// is data to play.
    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// Playback starts again at `t` (a seek, or a fresh pipeline there).
    pub fn seek(&mut self, t: f64) {
        self.origin = t;
        self.set_running(false);
        self.ran_s = 0.0;
        self.first_frame = false;
        self.stalled_since = None;
        self.started_at = Instant::now();
    }

    /// Starts, stalls and restarts the clock from the buffer level;
    /// `start_buffer_s` is what a start needs buffered.
    pub fn update(
        &mut self,
        pipeline: &impl Transport,
        buffered: Buffered,
        start_buffer_s: f64,
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
        let needed = if self.stalled_since.is_some() {
            start_buffer_s.max(RESUME_S)
        } else {
            start_buffer_s.max(0.01)
        };
        let all_done = buffered.all_done;
        let refilled = self.stalled_since.is_none() || buffered.fed_to > self.stalled_fed_to;
        let enough =
            all_done || (buffered.every_track_fed && refilled && buffered.seconds >= needed);
        if self.running {
            if !all_done && buffered.seconds < LOW_WATER_S && self.first_frame {
                pipeline.play(false)?;
                self.set_running(false);
                self.stalled_since = Some(Instant::now());
                self.stalled_fed_to = buffered.fed_to;
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

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;

    /// A pipeline that shows its first frame when told, and records what
    /// it was told.
    #[derive(Default)]
    struct FakePipeline {
        first_frame: Cell<Option<Instant>>,
        position: Cell<Option<f64>>,
        told: RefCell<Vec<bool>>,
    }

    impl Transport for FakePipeline {
        fn play(&self, playing: bool) -> Result<(), PipelineError> {
            self.told.borrow_mut().push(playing);
            Ok(())
        }

        fn position_s(&self) -> Option<f64> {
            self.position.get()
        }

        fn first_frame(&self) -> Option<Instant> {
            self.first_frame.get()
        }
    }

    /// A pipeline that has shown its first frame.
    fn showing() -> FakePipeline {
        let p = FakePipeline::default();
        p.first_frame.set(Some(Instant::now()));
        p
    }

    fn buffered(seconds: f64) -> Buffered {
        Buffered {
            seconds,
            fed_to: seconds,
            all_done: false,
            every_track_fed: true,
        }
    }

    #[test]
    fn a_start_waits_for_the_start_buffer_then_plays_from_the_first_frame() {
        let p = FakePipeline::default();
        let mut clock = Clock::new(Instant::now(), 30.0, 100.0);
        clock.update(&p, buffered(0.5), 1.0).expect("update");
        assert_eq!(clock.state(), PlayState::Loading);
        assert!(p.told.borrow().is_empty(), "not enough buffered yet");

        clock.update(&p, buffered(1.0), 1.0).expect("update");
        assert_eq!(*p.told.borrow(), [true]);
        assert_eq!(clock.state(), PlayState::Loading, "no picture yet");
        assert_eq!(clock.position(&p), 30.0, "the origin until a frame");

        p.first_frame.set(Some(Instant::now()));
        clock.update(&p, buffered(1.0), 1.0).expect("update");
        assert_eq!(clock.state(), PlayState::Playing);
        assert!(clock.qoe.time_to_first_frame_ms.is_some());
    }

    #[test]
    fn a_dry_buffer_stalls_once_and_runs_again_only_above_the_resume_mark() {
        let p = showing();
        let mut clock = Clock::new(Instant::now(), 0.0, 100.0);
        clock.update(&p, buffered(2.0), 0.0).expect("start");
        clock.update(&p, buffered(0.1), 0.0).expect("dry");
        assert_eq!(clock.state(), PlayState::Buffering);
        assert_eq!(clock.qoe.rebuffers, 1);
        assert!(std::mem::take(&mut clock.starved), "CMCD hears of it");

        // A little media in is not enough to run again (no flapping).
        clock.update(&p, buffered(0.3), 0.0).expect("a little");
        assert_eq!(clock.state(), PlayState::Buffering);
        clock.update(&p, buffered(0.6), 0.0).expect("enough");
        assert_eq!(clock.state(), PlayState::Playing);
        assert_eq!(*p.told.borrow(), [true, false, true]);
        assert_eq!(clock.qoe.rebuffers, 1);
    }

    #[test]
    fn a_stall_ends_only_when_media_comes_in_not_when_the_playhead_seems_to_move_back() {
        let p = showing();
        let mut clock = Clock::new(Instant::now(), 0.0, 100.0);
        clock.update(&p, buffered(2.0), 0.0).expect("start");
        let dry = Buffered {
            seconds: 0.1,
            fed_to: 10.0,
            ..buffered(0.1)
        };
        clock.update(&p, dry, 0.0).expect("dry");
        assert_eq!(clock.state(), PlayState::Buffering);
        // The held pipeline answers a position a second earlier than the
        // estimate: more "buffered", but nothing new came in.
        let seemingly = Buffered {
            seconds: 1.1,
            ..dry
        };
        clock.update(&p, seemingly, 0.0).expect("no network");
        assert_eq!(clock.state(), PlayState::Buffering);
        let refilled = Buffered {
            seconds: 3.1,
            fed_to: 12.0,
            ..dry
        };
        clock.update(&p, refilled, 0.0).expect("network back");
        assert_eq!(clock.state(), PlayState::Playing);
    }

    #[test]
    fn the_end_of_the_media_plays_out_without_a_stall() {
        let p = showing();
        let mut clock = Clock::new(Instant::now(), 0.0, 10.0);
        let done = Buffered {
            seconds: 0.0,
            fed_to: 30.0,
            all_done: true,
            every_track_fed: true,
        };
        clock.update(&p, done, 1.0).expect("update");
        clock.update(&p, done, 1.0).expect("update");
        assert_eq!(clock.state(), PlayState::Playing);
        assert_eq!(clock.qoe.rebuffers, 0);
    }

    #[test]
    fn a_paused_clock_holds_the_pipeline_and_an_implausible_position_is_not_believed() {
        let p = showing();
        p.position.set(Some(0.0));
        let mut clock = Clock::new(Instant::now(), 40.0, 100.0);
        clock.update(&p, buffered(2.0), 0.0).expect("start");
        // The sink answered 0 right after the first frame: the wall
        // clock's 40 s stands.
        assert!((clock.position(&p) - 40.0).abs() < 1.0);
        p.position.set(Some(40.5));
        assert_eq!(clock.position(&p), 40.5, "a plausible answer is used");

        clock.pause(&p).expect("pause");
        assert_eq!(clock.state(), PlayState::Paused);
        clock.update(&p, buffered(5.0), 0.0).expect("paused");
        assert_eq!(*p.told.borrow(), [true, false], "stays held");
        clock.resume();
        clock.update(&p, buffered(5.0), 0.0).expect("resumed");
        assert_eq!(clock.state(), PlayState::Playing);
    }

    #[test]
    fn a_seek_starts_over_at_the_new_origin() {
        let p = showing();
        let mut clock = Clock::new(Instant::now(), 0.0, 100.0);
        clock.update(&p, buffered(2.0), 0.0).expect("start");
        clock.seek(70.0);
        assert_eq!(clock.position(&p), 70.0);
        assert_eq!(clock.state(), PlayState::Loading);
    }
}
