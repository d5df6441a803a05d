//! Lookahead planning: the model-predictive core of the chooser.
//!
//! Given the buffer, the rung being played, a throughput prediction and the
//! sizes of the next few segments at every rung, [`Lookahead`] tries every
//! sequence of rungs over the horizon, simulates the buffer along each (drain
//! while downloading, stall if it empties, one segment added after each
//! download, no growth past the buffer limit) and scores it with the QoE
//! the viewer would get:
//!
//! ```text
//! sum bitrate (Mbit/s) - rebuffer_penalty * stall seconds
//!                      - switch_penalty * sum |bitrate change|
//!                      - shortfall_penalty * max(0, safe_buffer - final buffer)
//! ```
//!
//! The last term is not in the QoE formula: a five-segment horizon cannot
//! see that a plan which ends with an empty buffer leaves no room for the
//! next surprise, so ending below a safe level is charged as the stall it
//! risks.
//!
//! The search is a depth-first walk with no allocation: it shares every
//! prefix, so a horizon of 5 over 6 rungs visits 9 330 nodes rather than
//! 5 × 7 776, and it skips forbidden rungs entirely.

/// The weights of the objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    /// QoE lost per second of stall (4.3 in the QoE_lin metric: the top
    /// bitrate of the ladder it was defined for).
    pub rebuffer_penalty: f64,
    /// QoE lost per Mbit/s of bitrate change between segments.
    pub switch_penalty: f64,
    /// The buffer level (s) a plan should leave behind.
    pub safe_buffer_s: f64,
    /// QoE charged per second the final buffer falls short of
    /// `safe_buffer_s` (0 disables the term).
    pub shortfall_penalty: f64,
}

impl Objective {
    /// The QoE_lin metric itself, with no terminal term.
    pub fn qoe_lin() -> Self {
        Self {
            rebuffer_penalty: 4.3,
            switch_penalty: 1.0,
            safe_buffer_s: 0.0,
            shortfall_penalty: 0.0,
        }
    }
}

/// One planning problem. `sizes` holds the upcoming segments' sizes in
/// bytes, segment by segment, `rungs` values each (rung order of the
/// ladder); the horizon is `sizes.len() / rungs`.
#[derive(Debug, Clone, Copy)]
pub struct Lookahead<'a> {
    /// The utility of each rung: its bitrate in Mbit/s.
    pub bitrates_mbps: &'a [f64],
    /// Which rungs may be chosen.
    pub allowed: &'a [bool],
    /// Upcoming segment sizes in bytes, `[segment * rungs + rung]`.
    pub sizes: &'a [f64],
    /// The buffer now, in seconds.
    pub buffer_s: f64,
    /// The rung of the segment just downloaded (the switch reference).
    pub last_rung: usize,
    /// The predicted throughput in bytes per second (> 0).
    pub throughput_bytes_per_s: f64,
    /// Fixed cost of each request in seconds (round trip, server time).
    pub request_overhead_s: f64,
    /// The media duration of one segment in seconds.
    pub segment_s: f64,
    /// The scheduler stops fetching above this buffer (s); `f64::INFINITY`
    /// for no limit.
    pub max_buffer_s: f64,
    /// The weights.
    pub objective: Objective,
}

impl Lookahead<'_> {
    fn rungs(&self) -> usize {
        self.bitrates_mbps.len()
    }

    fn horizon(&self) -> usize {
        self.sizes.len().checked_div(self.rungs()).unwrap_or(0)
    }

    /// The best score of any plan that starts with each rung, written into
    /// `out` (one value per rung; `f64::NEG_INFINITY` for a forbidden one).
    pub fn scores_by_first(&self, out: &mut [f64]) {
        for (first, slot) in out.iter_mut().enumerate().take(self.rungs()) {
            *slot = if self.allowed.get(first).copied().unwrap_or(false) && self.horizon() > 0 {
                self.walk_from(0, first, self.buffer_s, self.last_rung)
            } else {
                f64::NEG_INFINITY
            };
        }
    }

    /// The best first rung: the highest-scoring one, the higher rung on a
    /// tie. Falls back to the lowest allowed rung when nothing can be
    /// scored (no horizon).
    pub fn best_first(&self, scratch: &mut [f64]) -> usize {
        self.scores_by_first(scratch);
        let mut best = None;
        for (rung, score) in scratch.iter().enumerate().take(self.rungs()) {
            if score.is_finite() && best.is_none_or(|(_, s)| *score >= s) {
                best = Some((rung, *score));
            }
        }
        best.map(|(rung, _)| rung)
            .or_else(|| self.allowed.iter().position(|a| *a))
            .unwrap_or(0)
    }

    /// The score of staying on `rung` for the whole horizon (the plan a
    /// switch has to beat).
    pub fn score_staying(&self, rung: usize) -> f64 {
        let (mut buffer, mut last, mut total) = (self.buffer_s, self.last_rung, 0.0);
        for step in 0..self.horizon() {
            let (gain, after) = self.step(step, rung, buffer, last);
            total += gain;
            buffer = after;
            last = rung;
        }
        total - self.shortfall(buffer)
    }

    /// The QoE of downloading segment `step` at `rung` from `buffer` after
    /// `last`, and the buffer after it.
    fn step(&self, step: usize, rung: usize, buffer: f64, last: usize) -> (f64, f64) {
        let size = self.sizes[step * self.rungs() + rung];
        let download = self.request_overhead_s + size / self.throughput_bytes_per_s;
        let stall = (download - buffer).max(0.0);
        let after = ((buffer - download).max(0.0) + self.segment_s).min(self.max_buffer_s);
        let o = &self.objective;
        let gain = self.bitrates_mbps[rung]
            - o.rebuffer_penalty * stall
            - o.switch_penalty * (self.bitrates_mbps[rung] - self.bitrates_mbps[last]).abs();
        (gain, after)
    }

    /// The terminal charge for ending with `buffer`.
    fn shortfall(&self, buffer: f64) -> f64 {
        let o = &self.objective;
        o.shortfall_penalty * (o.safe_buffer_s - buffer).max(0.0)
    }

    /// Score of downloading segment `step` at `rung` from `buffer` after
    /// `last`, plus the best continuation.
    fn walk_from(&self, step: usize, rung: usize, buffer: f64, last: usize) -> f64 {
        let (gain, after) = self.step(step, rung, buffer, last);
        if step + 1 == self.horizon() {
            return gain - self.shortfall(after);
        }
        let mut best = f64::NEG_INFINITY;
        for next in 0..self.rungs() {
            if self.allowed[next] {
                best = best.max(self.walk_from(step + 1, next, after, rung));
            }
        }
        gain + best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BITRATES: [f64; 3] = [0.3, 1.2, 4.3];

    /// Sizes of `horizon` 4 s segments at exactly their nominal bitrate.
    fn nominal(horizon: usize) -> Vec<f64> {
        (0..horizon)
            .flat_map(|_| BITRATES.iter().map(|mbps| mbps * 1e6 / 8.0 * 4.0))
            .collect()
    }

    fn problem<'a>(sizes: &'a [f64], buffer_s: f64, mbps: f64) -> Lookahead<'a> {
        Lookahead {
            bitrates_mbps: &BITRATES,
            allowed: &[true, true, true],
            sizes,
            buffer_s,
            last_rung: 1,
            throughput_bytes_per_s: mbps * 1e6 / 8.0,
            request_overhead_s: 0.0,
            segment_s: 4.0,
            max_buffer_s: f64::INFINITY,
            objective: Objective::qoe_lin(),
        }
    }

    #[test]
    fn a_fast_link_plans_the_top_rung() {
        let sizes = nominal(5);
        let mut scratch = [0.0; 3];
        assert_eq!(problem(&sizes, 8.0, 20.0).best_first(&mut scratch), 2);
    }

    #[test]
    fn a_slow_link_with_an_empty_buffer_plans_the_bottom_rung() {
        let sizes = nominal(5);
        let mut scratch = [0.0; 3];
        assert_eq!(problem(&sizes, 1.0, 0.4).best_first(&mut scratch), 0);
    }

    #[test]
    fn a_deep_buffer_buys_a_higher_rung_than_the_link_sustains() {
        // 2 Mbit/s cannot sustain 4.3, but 40 s of buffer covers five
        // segments of it without a stall.
        let sizes = nominal(5);
        let mut scratch = [0.0; 3];
        assert_eq!(problem(&sizes, 40.0, 2.0).best_first(&mut scratch), 2);
        assert_eq!(problem(&sizes, 4.0, 2.0).best_first(&mut scratch), 1);
    }

    #[test]
    fn forbidden_rungs_are_never_planned() {
        let sizes = nominal(5);
        let mut scratch = [0.0; 3];
        let mut p = problem(&sizes, 30.0, 50.0);
        p.allowed = &[true, true, false];
        assert_eq!(p.best_first(&mut scratch), 1);
        assert_eq!(scratch[2], f64::NEG_INFINITY);
    }

    #[test]
    fn the_shortfall_term_keeps_a_safety_margin() {
        // 1.3 Mbit/s just sustains 1.2 with nothing to spare; with a safe
        // buffer of 12 s the planner prefers to refill at 0.3.
        let sizes = nominal(3);
        let mut scratch = [0.0; 3];
        let mut p = problem(&sizes, 4.0, 1.3);
        assert_eq!(p.best_first(&mut scratch), 1);
        p.objective.safe_buffer_s = 12.0;
        p.objective.shortfall_penalty = 4.3;
        assert_eq!(p.best_first(&mut scratch), 0);
    }
}
