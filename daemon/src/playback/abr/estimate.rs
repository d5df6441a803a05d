//! Throughput estimation: how fast will the next segments download?
//!
//! Each finished download is a sample (bytes over seconds). The estimate is
//! the **harmonic mean** of the last few samples: unlike the arithmetic mean
//! it is pulled down hard by one slow sample and barely lifted by one fast
//! one, which is the right bias when a late segment means a stall.
//!
//! Cellular links are not stationary, so the estimate is also judged:
//! before each new sample is taken in, the estimate that was current is
//! compared with what the link actually did, and the relative error is
//! remembered. [`ThroughputEstimator::robust_bps`] divides the estimate by
//! `1 + ` the largest recent error (the "robust MPC" discount of Yin et al.,
//! SIGCOMM 2015): on a steady link it is the plain estimate, right after a
//! surprise it is much more careful.
//!
//! Before the first sample the estimate is the one the last session saved,
//! if any; it is discounted, because today's network may not be
//! yesterday's.

use std::collections::VecDeque;

/// Downloads smaller than this measure request latency rather than
/// throughput, so they are not samples.
pub const MIN_SAMPLE_BYTES: u64 = 16 * 1024;

/// Tuning of the estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimatorConfig {
    /// How many recent samples the harmonic mean covers.
    pub window: usize,
    /// How many recent prediction errors the robust discount looks at.
    pub error_window: usize,
    /// Factor applied to the last session's estimate before any sample.
    pub prior_discount: f64,
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        Self {
            window: 5,
            error_window: 5,
            prior_discount: 0.7,
        }
    }
}

/// The throughput estimator (bit/s everywhere).
#[derive(Debug, Clone)]
pub struct ThroughputEstimator {
    config: EstimatorConfig,
    prior_bps: Option<f64>,
    samples: VecDeque<f64>,
    errors: VecDeque<f64>,
}

impl ThroughputEstimator {
    /// An estimator that knows only the last session's estimate (if any).
    /// A prior that is not a positive finite number is ignored.
    pub fn new(config: EstimatorConfig, prior_bps: Option<f64>) -> Self {
        let config = EstimatorConfig {
            window: config.window.max(1),
            error_window: config.error_window.max(1),
            ..config
        };
        Self {
            config,
            prior_bps: prior_bps.filter(|bps| bps.is_finite() && *bps > 0.0),
            samples: VecDeque::with_capacity(config.window),
            errors: VecDeque::with_capacity(config.error_window),
        }
    }

    /// Takes in one download of `bytes` that took `seconds` (request to
    /// last byte). Returns whether it counted as a sample: tiny downloads
    /// and nonsense durations do not.
    pub fn on_download(&mut self, bytes: u64, seconds: f64) -> bool {
        if bytes < MIN_SAMPLE_BYTES || !seconds.is_finite() || seconds <= 0.0 {
            return false;
        }
        let bps = bytes as f64 * 8.0 / seconds;
        if let Some(predicted) = self.mean_bps() {
            push_bounded(
                &mut self.errors,
                (predicted - bps).abs() / bps,
                self.config.error_window,
            );
        }
        push_bounded(&mut self.samples, bps, self.config.window);
        true
    }

    /// The harmonic mean of the recent samples, or `None` before the first.
    pub fn mean_bps(&self) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let inverse: f64 = self.samples.iter().map(|bps| 1.0 / bps).sum();
        Some(self.samples.len() as f64 / inverse)
    }

    /// The best guess of the throughput, to save for the next session:
    /// the harmonic mean, or the prior (undiscounted) before any sample.
    pub fn estimate_bps(&self) -> Option<f64> {
        self.mean_bps().or(self.prior_bps)
    }

    /// The throughput to plan with: the harmonic mean divided by one plus
    /// the largest recent prediction error; before any sample, the
    /// discounted prior.
    pub fn robust_bps(&self) -> Option<f64> {
        match self.mean_bps() {
            Some(mean) => Some(mean / (1.0 + self.max_recent_error())),
            None => self.prior_bps.map(|bps| bps * self.config.prior_discount),
        }
    }

    /// The largest relative prediction error of the recent samples (0 when
    /// none has been judged yet).
    pub fn max_recent_error(&self) -> f64 {
        self.errors.iter().copied().fold(0.0, f64::max)
    }
}

fn push_bounded(queue: &mut VecDeque<f64>, value: f64, bound: usize) {
    if queue.len() == bound {
        queue.pop_front();
    }
    queue.push_back(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    #[test]
    fn no_samples_and_no_history_means_no_estimate() {
        let e = ThroughputEstimator::new(EstimatorConfig::default(), None);
        assert_eq!(e.estimate_bps(), None);
        assert_eq!(e.robust_bps(), None);
    }

    #[test]
    fn the_last_sessions_estimate_is_used_with_a_discount() {
        let e = ThroughputEstimator::new(EstimatorConfig::default(), Some(10e6));
        assert_eq!(e.estimate_bps(), Some(10e6));
        let robust = e.robust_bps().expect("prior");
        assert!(robust < 10e6 && robust > 5e6, "{robust}");
        // Garbage from the store is ignored rather than trusted.
        let e = ThroughputEstimator::new(EstimatorConfig::default(), Some(f64::NAN));
        assert_eq!(e.estimate_bps(), None);
    }

    #[test]
    fn one_slow_sample_pulls_the_estimate_down_hard() {
        let mut e = ThroughputEstimator::new(EstimatorConfig::default(), None);
        for _ in 0..4 {
            e.on_download(MB, 1.0); // 8 Mbit/s
        }
        e.on_download(MB, 10.0); // 0.8 Mbit/s
        let mean = e.mean_bps().expect("samples");
        assert!(mean < 3e6, "harmonic mean {mean}");
        // And the surprise makes the planning figure far more careful.
        let robust = e.robust_bps().expect("samples");
        assert!(robust < 0.5e6, "robust {robust}");
    }

    #[test]
    fn a_steady_link_is_planned_at_its_rate() {
        let mut e = ThroughputEstimator::new(EstimatorConfig::default(), None);
        for _ in 0..10 {
            e.on_download(MB, 2.0);
        }
        let robust = e.robust_bps().expect("samples");
        assert!((robust - 4e6).abs() < 1.0, "{robust}");
    }

    #[test]
    fn tiny_or_instant_downloads_are_not_samples() {
        let mut e = ThroughputEstimator::new(EstimatorConfig::default(), None);
        assert!(!e.on_download(1000, 0.001));
        assert!(!e.on_download(MB, 0.0));
        assert!(!e.on_download(MB, f64::INFINITY));
        assert_eq!(e.estimate_bps(), None);
    }
}
