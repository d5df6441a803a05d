//! Adaptive bitrate: which rendition to fetch next.
//!
//! The segment scheduler asks [`Abr`] before each segment request and tells
//! it after each download. The module is pure: no I/O and no clock of its
//! own. Byte counts, durations and the buffer level come in as arguments, so
//! the same code runs in the daemon and in the trace simulator ([`sim`]),
//! which replays recorded cellular links against it.
//!
//! # How a choice is made
//!
//! 1. **Caps** ([`Caps`]) decide which rungs of the [`Ladder`] may be played:
//!    nothing larger than the display, nothing above the user's limit.
//! 2. **Throughput** ([`ThroughputEstimator`]): the harmonic mean of the
//!    last five downloads, divided by one plus the largest recent
//!    prediction error, so that a link that has just surprised us is
//!    trusted less.
//! 3. **Lookahead** ([`Lookahead`]): every sequence of rungs for the next
//!    five segments is played out against that prediction and the buffer,
//!    and scored with the QoE the viewer would get (bitrate, minus stalls,
//!    minus visible quality changes), plus a charge for ending the horizon
//!    with less than a safe buffer. This is model-predictive control in the
//!    manner of robust MPC (Yin et al., SIGCOMM 2015); the terminal charge
//!    is what keeps it from spending the buffer it will need after the
//!    horizon.
//! 4. **Hysteresis**: a switch *down* is taken at once (a stall is the worst
//!    thing a viewer sees). A switch *up* must be to a rung the link
//!    sustains (its next segment downloads faster than it plays at the
//!    harmonic-mean throughput), and its best plan must beat staying put for
//!    the whole horizon by the cost of one more switch: the switch back down
//!    that a noisy estimate would bring. The planner may still *stay* on an
//!    unsustainable rung while the buffer lasts; it just never climbs to
//!    one, which is what makes a steady link between two rungs settle
//!    instead of cycling "spend the buffer, refill it".
//!
//! The defaults were checked with the trace simulator (`cargo xtask
//! abr-sim`): on the three cellular traces there, mean QoE per chunk is far
//! above robust MPC's and BB's, with a fifth of robust MPC's rebuffering.
//! With the safe buffer anywhere from 20 to 28 s the mean QoE per chunk
//! stays between 0.64 and 0.75 (robust MPC: 0.11); 24 s is the middle of
//! that range, not its best point. Outside it, single deep fades of the
//! TMobile trace swing the result: three traces are a small sample.
//!
//! # Use
//!
//! ```
//! use ottboxd::playback::abr::{Abr, AbrConfig, Caps, Ladder, Rendition, Upcoming};
//!
//! let ladder = Ladder::new(vec![
//!     Rendition::new(800_000, 640, 360),
//!     Rendition::new(2_500_000, 1280, 720),
//!     Rendition::new(6_000_000, 1920, 1080),
//! ])?;
//! // The estimate the last session saved (none on first use).
//! let mut abr = Abr::new(ladder, AbrConfig::default(), None);
//! abr.set_caps(Caps::none().with_display(1280, 720));
//! let first = abr.start();
//! assert_eq!(first, 0); // nothing known yet: start low
//! // ... the scheduler fetches a 4 s segment of 400 kB in 0.5 s ...
//! abr.on_download(400_000, 0.5);
//! let next = abr.choose(4.0, &Upcoming::nominal(4.0));
//! assert!(next <= 1); // 1080p is above the display
//! // Saved for the next session:
//! let _bps: Option<f64> = abr.bandwidth_estimate_bps();
//! # Ok::<(), ottboxd::playback::abr::AbrError>(())
//! ```

mod estimate;
mod ladder;
mod plan;
pub mod sim;

pub use estimate::{EstimatorConfig, MIN_SAMPLE_BYTES, ThroughputEstimator};
pub use ladder::{Caps, Ladder, Rendition, UserCap};
pub use plan::{Lookahead, Objective};

/// Why a ladder cannot be adapted over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AbrError {
    /// The track has no renditions.
    #[error("the rendition ladder is empty")]
    EmptyLadder,
    /// A rendition announces no bandwidth, so it cannot be ranked.
    #[error("a rendition ({width}x{height}) has no bandwidth")]
    ZeroBandwidth {
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
}

impl AbrError {
    /// A stable code for logs and D-Bus errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyLadder => "abr.empty_ladder",
            Self::ZeroBandwidth { .. } => "abr.zero_bandwidth",
        }
    }
}

/// Tuning of the chooser. The defaults are what the trace simulator
/// validates (`cargo xtask abr-sim`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbrConfig {
    /// How many segments the lookahead plans. The search grows as
    /// rungs^horizon, so a horizon the ladder cannot afford (over a million
    /// plans) is shortened.
    pub horizon: usize,
    /// QoE lost per stall second; `None` means the top rung's bitrate in
    /// Mbit/s (a stall second costs a segment-second of the best quality),
    /// which is the QoE_lin convention.
    pub rebuffer_penalty: Option<f64>,
    /// QoE lost per Mbit/s of quality change.
    pub switch_penalty: f64,
    /// The buffer level (s) a plan should leave behind it.
    pub safe_buffer_s: f64,
    /// QoE charged per second the plan's final buffer falls short of
    /// `safe_buffer_s`, as a fraction of the rebuffer penalty.
    pub shortfall_weight: f64,
    /// How much an up-switch must beat staying, in units of the switch's
    /// own cost (1.0: it must pay for the switch back down).
    pub up_hysteresis: f64,
    /// Fixed cost of each request (s): round trip and server time.
    pub request_overhead_s: f64,
    /// The scheduler's buffer limit (s): buffer past it is not planned on.
    pub max_buffer_s: f64,
    /// The throughput estimator's tuning.
    pub estimator: EstimatorConfig,
}

impl Default for AbrConfig {
    fn default() -> Self {
        Self {
            horizon: 5,
            rebuffer_penalty: None,
            switch_penalty: 1.0,
            safe_buffer_s: 24.0,
            shortfall_weight: 0.5,
            up_hysteresis: 1.0,
            request_overhead_s: 0.08,
            max_buffer_s: 60.0,
            estimator: EstimatorConfig::default(),
        }
    }
}

/// What the scheduler knows about the segments to come.
#[derive(Debug, Clone, Copy)]
pub struct Upcoming<'a> {
    /// Media duration of one segment (s).
    pub segment_s: f64,
    /// Segments left before the end (`None`: live, or unknown).
    pub segments_left: Option<usize>,
    /// Exact sizes in bytes of the next segments, one slice per segment
    /// with one value per rung in ladder order (from a DASH index or byte
    /// ranges). Missing segments are taken at their nominal bandwidth.
    pub sizes: &'a [Vec<u64>],
}

impl Upcoming<'static> {
    /// Segments of `segment_s` seconds, sizes unknown, no end in sight.
    pub fn nominal(segment_s: f64) -> Self {
        Self {
            segment_s,
            segments_left: None,
            sizes: &[],
        }
    }
}

/// The rendition chooser of one playback session.
#[derive(Debug, Clone)]
pub struct Abr {
    ladder: Ladder,
    config: AbrConfig,
    caps: Caps,
    estimator: ThroughputEstimator,
    current: Option<usize>,
}

impl Abr {
    /// A chooser over `ladder`; `prior_bps` is the bandwidth estimate the
    /// last session saved ([`Abr::bandwidth_estimate_bps`]), if any.
    pub fn new(ladder: Ladder, config: AbrConfig, prior_bps: Option<f64>) -> Self {
        Self {
            estimator: ThroughputEstimator::new(config.estimator, prior_bps),
            ladder,
            config,
            caps: Caps::none(),
            current: None,
        }
    }

    /// The ladder.
    pub fn ladder(&self) -> &Ladder {
        &self.ladder
    }

    /// Replaces the caps (display changed, user changed the setting). The
    /// next choice respects them.
    pub fn set_caps(&mut self, caps: Caps) {
        self.caps = caps;
    }

    /// The rung chosen last, if any.
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    /// The rung of the first segment: with no history, the lowest allowed
    /// rung (a slow start is better than a stall before the first frame);
    /// with the last session's estimate, the highest allowed rung whose
    /// bitrate fits the discounted estimate.
    pub fn start(&mut self) -> usize {
        let allowed = self.ladder.allowed(&self.caps);
        let lowest = lowest_allowed(&allowed);
        let rung = match self.estimator.robust_bps() {
            None => lowest,
            Some(bps) => self
                .ladder
                .rungs()
                .iter()
                .enumerate()
                .filter(|(i, r)| allowed[*i] && r.bandwidth_bps as f64 <= bps)
                .map(|(i, _)| i)
                .next_back()
                .unwrap_or(lowest),
        };
        self.current = Some(rung);
        rung
    }

    /// Records that the scheduler fetched `rung` on its own authority (a
    /// fixed start-up rendition, say), so that the next choice counts its
    /// switch from there. An index past the ladder means the top rung.
    pub fn set_current(&mut self, rung: usize) {
        self.current = Some(rung.min(self.ladder.len() - 1));
    }

    /// Takes in one finished download: `bytes` in `seconds` from request
    /// to last byte. Tiny or nonsensical samples are ignored.
    pub fn on_download(&mut self, bytes: u64, seconds: f64) {
        self.estimator.on_download(bytes, seconds);
    }

    /// The throughput estimate in bit/s, to save for the next session.
    pub fn bandwidth_estimate_bps(&self) -> Option<f64> {
        self.estimator.estimate_bps()
    }

    /// The estimator, for status displays.
    pub fn estimator(&self) -> &ThroughputEstimator {
        &self.estimator
    }

    /// The rung of the next segment, given `buffer_s` seconds of media
    /// buffered ahead of the playhead.
    pub fn choose(&mut self, buffer_s: f64, upcoming: &Upcoming<'_>) -> usize {
        if self.current.is_none() {
            return self.start();
        }
        let allowed = self.ladder.allowed(&self.caps);
        let Some(bps) = self.estimator.robust_bps() else {
            // Still nothing measured and no history: stay low.
            let rung = lowest_allowed(&allowed);
            self.current = Some(rung);
            return rung;
        };
        let buffer_s = if buffer_s.is_finite() {
            buffer_s.max(0.0)
        } else {
            0.0
        };
        let segment_s = if upcoming.segment_s.is_finite() && upcoming.segment_s > 0.0 {
            upcoming.segment_s
        } else {
            // A nonsensical duration: plan as if segments were short.
            1.0
        };
        let horizon = upcoming
            .segments_left
            .map_or(self.config.horizon, |left| left.min(self.config.horizon))
            .min(affordable_horizon(allowed.iter().filter(|a| **a).count()))
            .max(1);

        let rungs = self.ladder.rungs();
        let bitrates: Vec<f64> = rungs.iter().map(Rendition::mbps).collect();
        let sizes = self.planned_sizes(upcoming, horizon, segment_s);
        let rebuffer_penalty = self
            .config
            .rebuffer_penalty
            .unwrap_or_else(|| bitrates.last().copied().unwrap_or(1.0));
        let problem = Lookahead {
            bitrates_mbps: &bitrates,
            allowed: &allowed,
            sizes: &sizes,
            buffer_s,
            last_rung: self.current.unwrap_or(0).min(rungs.len() - 1),
            throughput_bytes_per_s: bps / 8.0,
            request_overhead_s: self.config.request_overhead_s,
            segment_s,
            max_buffer_s: self.config.max_buffer_s,
            objective: Objective {
                rebuffer_penalty,
                switch_penalty: self.config.switch_penalty,
                safe_buffer_s: self.config.safe_buffer_s,
                shortfall_penalty: rebuffer_penalty * self.config.shortfall_weight,
            },
        };
        let mut scores = vec![0.0; rungs.len()];
        let best = problem.best_first(&mut scores);
        // A rung is sustainable when its next segment downloads faster
        // than it plays at the link's typical throughput (the plain mean:
        // the robust figure is for not stalling, this is for not climbing
        // to a rung the link cannot hold).
        let typical = self.estimator.mean_bps().unwrap_or(bps);
        let sustainable: Vec<bool> = (0..rungs.len())
            .map(|r| self.config.request_overhead_s + sizes[r] * 8.0 / typical <= segment_s)
            .collect();
        let staying = self
            .current
            .filter(|c| allowed.get(*c) == Some(&true))
            .map(|c| problem.score_staying(c));
        let rung = self.with_hysteresis(best, &scores, staying, &bitrates, &sustainable);
        self.current = Some(rung);
        rung
    }

    /// The sizes (bytes) of the next `horizon` segments at every rung: the
    /// known ones, else the rung's bandwidth times the segment duration.
    fn planned_sizes(&self, upcoming: &Upcoming<'_>, horizon: usize, segment_s: f64) -> Vec<f64> {
        let rungs = self.ladder.rungs();
        let mut sizes = Vec::with_capacity(horizon * rungs.len());
        for step in 0..horizon {
            for (i, r) in rungs.iter().enumerate() {
                let known = upcoming.sizes.get(step).and_then(|s| s.get(i)).copied();
                sizes.push(known.map_or(r.bandwidth_bps as f64 / 8.0 * segment_s, |b| b as f64));
            }
        }
        sizes
    }

    /// Applies the up-switch rules to the planner's `best` rung: a switch
    /// up must be to a sustainable rung, and its best plan must beat staying
    /// put for the whole horizon (`staying`) by the cost of the switch back
    /// down. (Comparing with the best plan that merely *starts* on the
    /// current rung would procrastinate: "switch next time" always looks
    /// almost as good, so the switch would never happen.)
    fn with_hysteresis(
        &self,
        best: usize,
        scores: &[f64],
        staying: Option<f64>,
        bitrates: &[f64],
        sustainable: &[bool],
    ) -> usize {
        let (Some(current), Some(staying)) = (self.current, staying) else {
            // The current rung is no longer allowed (caps changed): move.
            return best;
        };
        if best <= current {
            return best;
        }
        // Spending the buffer on a rung the link cannot sustain would buy a
        // few segments of quality and then a switch back down, again and
        // again on a steady link: the planner may *stay* on such a rung while
        // the buffer lasts, but not climb to it.
        let margin = |rung: usize| {
            self.config.up_hysteresis
                * self.config.switch_penalty
                * (bitrates[rung] - bitrates[current])
        };
        (current + 1..=best)
            .rev()
            .find(|&r| sustainable[r] && scores[r].is_finite() && scores[r] - staying >= margin(r))
            .unwrap_or(current)
    }
}

/// The lookahead visits about `rungs^horizon` plans; beyond this many a
/// decision would take noticeable CPU on a set-top box.
const MAX_PLANS: usize = 1_000_000;

/// The longest horizon whose search over `rungs` rungs stays within
/// [`MAX_PLANS`] (6 rungs: 7; 10 rungs: 6).
fn affordable_horizon(rungs: usize) -> usize {
    let rungs = rungs.max(2);
    let mut horizon = 1;
    let mut plans = rungs;
    while plans.saturating_mul(rungs) <= MAX_PLANS {
        plans *= rungs;
        horizon += 1;
    }
    horizon
}

fn lowest_allowed(allowed: &[bool]) -> usize {
    allowed.iter().position(|a| *a).unwrap_or(0)
}

#[cfg(test)]
mod tests;
