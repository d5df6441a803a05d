//! The edge selector: preference order, holds with backoff, throughput.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::CdnError;

/// Most throughput samples kept per edge.
const MAX_SAMPLES: usize = 32;

/// Failover tuning. The defaults suit segments of a few seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// How long an edge is left alone after its first failure.
    pub hold_down: Duration,
    /// The longest hold, however many failures in a row.
    pub max_hold_down: Duration,
    /// "Far below": an edge whose recent throughput is under this fraction
    /// of the reference is abandoned.
    pub slow_ratio: f64,
    /// Samples needed on each side of a throughput comparison.
    pub min_samples: usize,
    /// Samples older than this are forgotten.
    pub sample_window: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            hold_down: Duration::from_secs(10),
            max_hold_down: Duration::from_secs(160),
            slow_ratio: 0.25,
            min_samples: 3,
            sample_window: Duration::from_secs(60),
        }
    }
}

/// How a request to an edge went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The request completed; the body came at this many bits/s.
    Throughput(f64),
    /// The request completed, too small or too quick to measure (a
    /// manifest, a cache hit of a few bytes).
    Success,
    /// No connection (refused, reset, DNS, TLS).
    ConnectError,
    /// No answer, or the body stopped arriving, in time.
    Timeout,
    /// An HTTP status. 5xx counts against the edge; anything else is the
    /// content's business (a 404 is the same on every edge).
    Status(u16),
}

/// Why the selector moved away from an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The edge stays as it was.
    Keep,
    /// The edge failed (connection error, timeout, 5xx) and is on hold.
    Failed,
    /// The edge is far slower than the reference and is on hold.
    Slow,
}

/// The edge to use next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection<'a> {
    /// Its index in the session's edge list.
    pub index: usize,
    /// Its name (the steering pathway ID).
    pub name: &'a str,
}

#[derive(Debug, Clone)]
struct EdgeState {
    name: String,
    /// (when, bits/s), oldest first.
    samples: VecDeque<(Instant, f64)>,
    hold_until: Option<Instant>,
    /// Failures since the last success: the backoff exponent.
    strikes: u32,
}

/// Picks the edge for each request and fails over (see the module docs).
#[derive(Debug, Clone)]
pub struct EdgeSelector {
    edges: Vec<EdgeState>,
    /// Indexes into `edges`, most preferred first.
    order: Vec<usize>,
    policy: Policy,
    /// Edges put on hold since [`EdgeSelector::take_failed`] was last called.
    failed: Vec<usize>,
}

impl EdgeSelector {
    /// A selector over the session's edges (names, best first).
    pub fn new<I, S>(names: I, policy: Policy) -> Result<Self, CdnError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut edges: Vec<EdgeState> = Vec::new();
        for name in names {
            let name = name.into();
            if edges.iter().any(|e| e.name == name) {
                return Err(CdnError::DuplicateEdge(name));
            }
            edges.push(EdgeState {
                name,
                samples: VecDeque::new(),
                hold_until: None,
                strikes: 0,
            });
        }
        if edges.is_empty() {
            return Err(CdnError::NoEdges);
        }
        Ok(Self {
            order: (0..edges.len()).collect(),
            edges,
            policy,
            failed: Vec::new(),
        })
    }

    /// The edge for the next request at `now`: the most preferred one not
    /// on hold; when all are, the one whose hold ends first.
    pub fn select(&self, now: Instant) -> Selection<'_> {
        let index = self
            .order
            .iter()
            .copied()
            .find(|&i| self.edges[i].hold_until.is_none_or(|t| t <= now))
            .or_else(|| {
                self.order
                    .iter()
                    .copied()
                    .min_by_key(|&i| self.edges[i].hold_until)
            })
            .unwrap_or(0);
        Selection {
            index,
            name: &self.edges[index].name,
        }
    }

    /// The edge names in the current preference order.
    pub fn priority(&self) -> Vec<&str> {
        self.order
            .iter()
            .map(|&i| self.edges[i].name.as_str())
            .collect()
    }

    /// The index of the edge called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.edges.iter().position(|e| e.name == name)
    }

    /// Whether the edge is on hold at `now`.
    pub fn is_on_hold(&self, index: usize, now: Instant) -> bool {
        self.edges
            .get(index)
            .and_then(|e| e.hold_until)
            .is_some_and(|t| t > now)
    }

    /// Records how a request to edge `index` went; says whether the edge
    /// was abandoned. Unknown indexes are ignored.
    pub fn report(&mut self, index: usize, outcome: Outcome, now: Instant) -> Verdict {
        let Some(edge) = self.edges.get_mut(index) else {
            return Verdict::Keep;
        };
        let window = self.policy.sample_window;
        edge.samples
            .retain(|(at, _)| now.saturating_duration_since(*at) <= window);
        match outcome {
            Outcome::ConnectError | Outcome::Timeout => self.hold(index, now, Verdict::Failed),
            Outcome::Status(s) if (500..600).contains(&s) => self.hold(index, now, Verdict::Failed),
            Outcome::Status(_) | Outcome::Success => {
                edge.strikes = 0;
                Verdict::Keep
            }
            Outcome::Throughput(bps) if !bps.is_finite() || bps < 0.0 => Verdict::Keep,
            Outcome::Throughput(bps) => {
                edge.strikes = 0;
                edge.samples.push_back((now, bps));
                if edge.samples.len() > MAX_SAMPLES {
                    edge.samples.pop_front();
                }
                if self.is_far_below(index, now) {
                    self.hold(index, now, Verdict::Slow)
                } else {
                    Verdict::Keep
                }
            }
        }
    }

    fn hold(&mut self, index: usize, now: Instant, why: Verdict) -> Verdict {
        let policy = &self.policy;
        let edge = &mut self.edges[index];
        let factor = 2u32.saturating_pow(edge.strikes.min(16));
        let hold = policy
            .hold_down
            .saturating_mul(factor)
            .min(policy.max_hold_down);
        edge.strikes = edge.strikes.saturating_add(1);
        edge.hold_until = Some(now + hold);
        // Its old speed says nothing about how it will be when tried again.
        edge.samples.clear();
        if !self.failed.contains(&index) {
            self.failed.push(index);
        }
        why
    }

    /// The last `n` samples in the window, skipping the newest `skip`;
    /// `None` unless there are `n`.
    fn last(&self, index: usize, skip: usize, now: Instant) -> Option<Vec<f64>> {
        let n = self.policy.min_samples.max(1);
        let window = self.policy.sample_window;
        let recent: Vec<f64> = self.edges[index]
            .samples
            .iter()
            .rev()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= window)
            .skip(skip)
            .take(n)
            .map(|(_, bps)| *bps)
            .collect();
        (recent.len() == n).then_some(recent)
    }

    fn mean(&self, index: usize, skip: usize, now: Instant) -> Option<f64> {
        self.last(index, skip, now)
            .map(|v| v.iter().sum::<f64>() / v.len() as f64)
    }

    fn is_far_below(&self, index: usize, now: Instant) -> bool {
        // Every one of the last samples must be slow: one good one among
        // them says the edge still can.
        let Some(mine) = self
            .last(index, 0, now)
            .map(|v| v.into_iter().fold(f64::NAN, f64::max))
        else {
            return false;
        };
        let n = self.policy.min_samples.max(1);
        let others = (0..self.edges.len())
            .filter(|&i| i != index)
            .filter_map(|i| self.mean(i, 0, now));
        let reference = others
            .chain(self.mean(index, n, now))
            .fold(f64::NAN, f64::max);
        reference.is_finite() && mine < self.policy.slow_ratio * reference
    }

    /// The edge's recent throughput (mean of its last samples in the
    /// window, as few as there are), bits/s: what a steering request
    /// reports.
    pub fn throughput_bps(&self, index: usize, now: Instant) -> Option<f64> {
        let window = self.policy.sample_window;
        let recent: Vec<f64> = self
            .edges
            .get(index)?
            .samples
            .iter()
            .rev()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= window)
            .take(self.policy.min_samples.max(1))
            .map(|(_, bps)| *bps)
            .collect();
        (!recent.is_empty()).then(|| recent.iter().sum::<f64>() / recent.len() as f64)
    }

    /// The names of the edges put on hold since the last call (for the
    /// steering request's failed-pathways parameter).
    pub fn take_failed(&mut self) -> Vec<String> {
        std::mem::take(&mut self.failed)
            .into_iter()
            .map(|i| self.edges[i].name.clone())
            .collect()
    }

    /// Takes a steering server's priority: the edges it names in its
    /// order, then the others in their previous order. Names that are not
    /// edges of this session are ignored. Holds stay as they are: a steering
    /// answer does not make a dead edge live.
    pub fn apply_priority<S: AsRef<str>>(&mut self, priority: &[S]) {
        let mut order: Vec<usize> = Vec::with_capacity(self.edges.len());
        for name in priority {
            if let Some(i) = self.index_of(name.as_ref())
                && !order.contains(&i)
            {
                order.push(i);
            }
        }
        for &i in &self.order {
            if !order.contains(&i) {
                order.push(i);
            }
        }
        self.order = order;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MBPS: f64 = 1e6;

    fn two() -> EdgeSelector {
        EdgeSelector::new(["eu-1", "eu-2"], Policy::default()).expect("edges")
    }

    fn secs(t0: Instant, s: f64) -> Instant {
        t0 + Duration::from_secs_f64(s)
    }

    #[test]
    fn no_or_duplicate_edges_are_refused() {
        let none: [&str; 0] = [];
        assert_eq!(
            EdgeSelector::new(none, Policy::default()).map(|_| ()),
            Err(CdnError::NoEdges)
        );
        assert_eq!(
            EdgeSelector::new(["a", "a"], Policy::default())
                .map(|_| ())
                .map_err(|e| e.code()),
            Err("cdn_duplicate_edge")
        );
    }

    #[test]
    fn the_sessions_first_edge_is_used_while_it_works() {
        let t0 = Instant::now();
        let mut cdn = two();
        for i in 0..20 {
            let now = secs(t0, f64::from(i));
            let pick = cdn.select(now);
            assert_eq!(pick.name, "eu-1");
            assert_eq!(
                cdn.report(pick.index, Outcome::Throughput(5.0 * MBPS), now),
                Verdict::Keep
            );
        }
    }

    #[test]
    fn errors_timeouts_and_5xx_fail_over_but_4xx_does_not() {
        let t0 = Instant::now();
        for outcome in [
            Outcome::ConnectError,
            Outcome::Timeout,
            Outcome::Status(503),
        ] {
            let mut cdn = two();
            assert_eq!(cdn.report(0, outcome, t0), Verdict::Failed, "{outcome:?}");
            assert_eq!(cdn.select(t0).name, "eu-2", "{outcome:?}");
            assert!(cdn.is_on_hold(0, t0));
        }
        let mut cdn = two();
        assert_eq!(cdn.report(0, Outcome::Status(404), t0), Verdict::Keep);
        assert_eq!(cdn.select(t0).name, "eu-1");
    }

    #[test]
    fn the_preferred_edge_is_tried_again_after_a_hold_down_that_backs_off() {
        let t0 = Instant::now();
        let policy = Policy::default();
        let mut cdn = two();
        cdn.report(0, Outcome::ConnectError, t0);
        // Held for hold_down...
        assert_eq!(cdn.select(secs(t0, 9.9)).name, "eu-2");
        let retry = secs(t0, 10.0);
        assert_eq!(cdn.select(retry).name, "eu-1", "tried again after 10 s");
        // ...fails again: held twice as long.
        cdn.report(0, Outcome::ConnectError, retry);
        assert_eq!(cdn.select(secs(t0, 10.0 + 19.9)).name, "eu-2");
        let retry2 = secs(t0, 30.0);
        assert_eq!(cdn.select(retry2).name, "eu-1");
        cdn.report(0, Outcome::Timeout, retry2);
        assert_eq!(cdn.select(secs(t0, 30.0 + 39.9)).name, "eu-2", "4x");
        // The backoff is capped.
        let mut t = secs(t0, 70.0);
        for _ in 0..10 {
            cdn.report(0, Outcome::ConnectError, t);
            t += policy.max_hold_down;
            assert_eq!(cdn.select(t).name, "eu-1", "never held longer than the cap");
        }
        // A success clears the count: the next failure holds for 10 s again.
        cdn.report(0, Outcome::Throughput(MBPS), t);
        cdn.report(0, Outcome::ConnectError, t);
        assert_eq!(cdn.select(t + policy.hold_down).name, "eu-1");
    }

    #[test]
    fn when_every_edge_is_on_hold_the_first_to_come_back_is_used() {
        let t0 = Instant::now();
        let mut cdn = two();
        cdn.report(0, Outcome::ConnectError, t0);
        cdn.report(0, Outcome::ConnectError, secs(t0, 10.0)); // 20 s hold, until 30
        cdn.report(1, Outcome::ConnectError, secs(t0, 11.0)); // 10 s hold, until 21
        assert_eq!(cdn.select(secs(t0, 12.0)).name, "eu-2");
    }

    #[test]
    fn an_edge_far_below_another_is_abandoned() {
        let t0 = Instant::now();
        let mut cdn = two();
        // eu-2 was measured at 8 Mb/s (e.g. before steering moved us).
        for i in 0..3 {
            cdn.report(1, Outcome::Throughput(8.0 * MBPS), secs(t0, f64::from(i)));
        }
        // eu-1 at 2.5 Mb/s is not "far" (> 1/4 of 8)...
        for i in 3..6 {
            let v = cdn.report(0, Outcome::Throughput(2.5 * MBPS), secs(t0, f64::from(i)));
            assert_eq!(v, Verdict::Keep);
        }
        // ...at 1 Mb/s it is, once three samples say so.
        let mut verdicts = Vec::new();
        for i in 6..9 {
            verdicts.push(cdn.report(0, Outcome::Throughput(MBPS), secs(t0, f64::from(i))));
        }
        assert_eq!(verdicts, [Verdict::Keep, Verdict::Keep, Verdict::Slow]);
        assert_eq!(cdn.select(secs(t0, 9.0)).name, "eu-2");
    }

    #[test]
    fn an_edge_that_slows_to_a_tenth_of_itself_is_abandoned() {
        let t0 = Instant::now();
        let mut cdn = two();
        for i in 0..5 {
            let v = cdn.report(0, Outcome::Throughput(10.0 * MBPS), secs(t0, f64::from(i)));
            assert_eq!(v, Verdict::Keep);
        }
        let mut last = Verdict::Keep;
        for i in 5..8 {
            last = cdn.report(0, Outcome::Throughput(MBPS), secs(t0, f64::from(i)));
        }
        assert_eq!(last, Verdict::Slow);
        assert_eq!(cdn.select(secs(t0, 8.0)).name, "eu-2");
    }

    #[test]
    fn one_slow_sample_or_stale_references_decide_nothing() {
        let t0 = Instant::now();
        let mut cdn = two();
        for i in 0..3 {
            cdn.report(1, Outcome::Throughput(50.0 * MBPS), secs(t0, f64::from(i)));
        }
        // Two minutes later eu-2's samples are out of the window.
        for i in 0..6 {
            let v = cdn.report(0, Outcome::Throughput(MBPS), secs(t0, 120.0 + f64::from(i)));
            assert_eq!(v, Verdict::Keep, "sample {i}");
        }
        // One bad sample among good ones is not enough either.
        let mut cdn = two();
        for i in 0..3 {
            cdn.report(1, Outcome::Throughput(4.0 * MBPS), secs(t0, f64::from(i)));
        }
        for (i, bps) in [4.0, 4.0, 0.1, 4.0].into_iter().enumerate() {
            let v = cdn.report(0, Outcome::Throughput(bps * MBPS), secs(t0, 3.0 + i as f64));
            assert_eq!(v, Verdict::Keep, "sample {i}");
        }
    }

    #[test]
    fn steering_reorders_but_does_not_revive_held_edges() {
        let t0 = Instant::now();
        let mut cdn =
            EdgeSelector::new(["eu-1", "eu-2", "us-1"], Policy::default()).expect("edges");
        cdn.apply_priority(&["us-1", "nowhere", "eu-2"]);
        assert_eq!(cdn.priority(), ["us-1", "eu-2", "eu-1"]);
        assert_eq!(cdn.select(t0).name, "us-1");
        cdn.report(2, Outcome::Status(502), t0);
        cdn.apply_priority(&["us-1"]);
        assert_eq!(cdn.select(t0).name, "eu-2");
        assert_eq!(cdn.take_failed(), ["us-1"]);
        assert!(cdn.take_failed().is_empty(), "reported once");
    }

    #[test]
    fn throughput_reported_is_the_recent_mean() {
        let t0 = Instant::now();
        let mut cdn = two();
        assert_eq!(cdn.throughput_bps(0, t0), None);
        cdn.report(0, Outcome::Throughput(2.0 * MBPS), t0);
        cdn.report(0, Outcome::Throughput(4.0 * MBPS), secs(t0, 1.0));
        assert_eq!(cdn.throughput_bps(0, secs(t0, 1.0)), Some(3.0 * MBPS));
        assert_eq!(cdn.throughput_bps(0, secs(t0, 200.0)), None, "forgotten");
    }
}
