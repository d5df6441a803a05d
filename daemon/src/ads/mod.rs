//! Client-side ads: the plan, the beacons, and the rules of when breaks
//! play.
//!
//! The headend's playback session names a VMAP plan (read by
//! [`ottbox_formats::ad_plan`]). The
//! player plays each break's ads through the same engine and pipeline as
//! the title (they are clear HLS/DASH streams), fires their VAST beacons as
//! they play ([`tracker`]) into a durable queue ([`beacons`]), and keeps to
//! [`Schedule`]'s rules:
//!
//! - the pre-roll plays before the title, the post-roll after its end;
//! - a mid-roll plays when the playhead reaches its cue point;
//! - seeking forward over mid-rolls not yet played plays the last of them
//!   first, then goes on from where the viewer asked (seeking cannot skip
//!   ads, and does not make the viewer sit through every one skipped);
//! - a break plays once per playback; resuming a title past cue points
//!   does not replay them;
//! - an ad that fails is skipped (with its `error` beacon), never the
//!   title.

pub mod beacons;
pub mod tracker;

use std::time::Duration;

use ottbox_formats::ad_plan::{AdBreak, AdPlan, Offset, PlanError};

/// The ad plan may hold up the start of a title this long at most.
const PLAN_TIMEOUT: Duration = Duration::from_secs(3);

/// Fetches and reads the VMAP plan at `url` for a title of `duration_s`.
pub async fn fetch_plan(
    http: &reqwest::Client,
    url: &str,
    duration_s: f64,
) -> Result<AdPlan, PlanError> {
    let fetch = async { http.get(url).send().await?.error_for_status()?.text().await };
    let xml = tokio::time::timeout(PLAN_TIMEOUT, fetch)
        .await
        .map_err(|_| PlanError::Unavailable(format!("no answer in {PLAN_TIMEOUT:?}")))?
        .map_err(|e| PlanError::Unavailable(e.to_string()))?;
    AdPlan::parse(&xml, duration_s)
}

/// The breaks of one playback and which of them have played.
#[derive(Debug, Default)]
pub struct Schedule {
    breaks: Vec<AdBreak>,
    played: Vec<bool>,
}

impl Schedule {
    /// The plan's breaks for a playback starting at `from_s`: mid-rolls
    /// before it count as played.
    pub fn new(plan: AdPlan, from_s: f64) -> Self {
        let played = plan
            .breaks
            .iter()
            .map(|b| matches!(b.offset, Offset::At(t) if t < from_s))
            .collect();
        Self {
            breaks: plan.breaks,
            played,
        }
    }

    /// The pre-roll, once.
    pub fn preroll(&mut self) -> Option<AdBreak> {
        self.take(|o| o == Offset::Start)
    }

    /// The post-roll, once.
    pub fn postroll(&mut self) -> Option<AdBreak> {
        self.take(|o| o == Offset::End)
    }

    /// The mid-roll due now that playback went from `from_s` to `to_s`
    /// (by playing or by seeking forward): the last unplayed cue point in
    /// `(from_s, to_s]`. Every unplayed one in that span counts as played.
    pub fn crossed(&mut self, from_s: f64, to_s: f64) -> Option<AdBreak> {
        let mut due = None;
        for (i, b) in self.breaks.iter().enumerate() {
            if let Offset::At(t) = b.offset
                && !self.played[i]
                && t > from_s
                && t <= to_s
            {
                due = Some(i);
            }
        }
        for (i, b) in self.breaks.iter().enumerate() {
            if matches!(b.offset, Offset::At(t) if t > from_s && t <= to_s) {
                self.played[i] = true;
            }
        }
        due.map(|i| self.breaks[i].clone())
    }

    /// The cue point of the next unplayed mid-roll after `position_s`.
    pub fn next_cue(&self, position_s: f64) -> Option<f64> {
        self.breaks
            .iter()
            .zip(&self.played)
            .filter_map(|(b, played)| match b.offset {
                Offset::At(t) if !played && t > position_s => Some(t),
                _ => None,
            })
            .min_by(f64::total_cmp)
    }

    fn take(&mut self, pick: impl Fn(Offset) -> bool) -> Option<AdBreak> {
        let i = self
            .breaks
            .iter()
            .zip(&self.played)
            .position(|(b, played)| !played && pick(b.offset))?;
        self.played[i] = true;
        Some(self.breaks[i].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(offsets: &[Offset]) -> AdPlan {
        AdPlan {
            breaks: offsets
                .iter()
                .enumerate()
                .map(|(i, o)| AdBreak {
                    id: format!("b{i}"),
                    offset: *o,
                    ads: Vec::new(),
                })
                .collect(),
        }
    }

    fn id(b: Option<AdBreak>) -> Option<String> {
        b.map(|b| b.id)
    }

    #[test]
    fn pre_and_post_rolls_play_once() {
        let mut s = Schedule::new(plan(&[Offset::Start, Offset::End]), 0.0);
        assert_eq!(id(s.preroll()), Some("b0".into()));
        assert_eq!(id(s.preroll()), None);
        assert_eq!(id(s.postroll()), Some("b1".into()));
        assert_eq!(id(s.postroll()), None);
    }

    #[test]
    fn seeking_over_mid_rolls_plays_the_last_one_only() {
        let mut s = Schedule::new(
            plan(&[Offset::At(10.0), Offset::At(20.0), Offset::At(30.0)]),
            0.0,
        );
        assert_eq!(s.next_cue(0.0), Some(10.0));
        assert_eq!(id(s.crossed(2.0, 25.0)), Some("b1".into()));
        assert_eq!(s.next_cue(25.0), Some(30.0));
        // Back over them: they played (or were forfeited) already.
        assert_eq!(id(s.crossed(5.0, 21.0)), None);
        assert_eq!(id(s.crossed(29.9, 30.0)), Some("b2".into()));
        assert_eq!(s.next_cue(0.0), None);
    }

    #[test]
    fn resuming_past_a_cue_point_does_not_replay_it() {
        let mut s = Schedule::new(plan(&[Offset::At(10.0), Offset::At(20.0)]), 15.0);
        assert_eq!(s.next_cue(15.0), Some(20.0));
        assert_eq!(id(s.crossed(15.0, 40.0)), Some("b1".into()));
    }
}
