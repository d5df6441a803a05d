//! The bitrate ladder (the renditions a title offers) and the caps that
//! forbid some of its rungs.
//!
//! A [`Ladder`] is always sorted by bandwidth, lowest first, so that "up"
//! and "down" mean what a viewer expects. [`Caps`] say which rungs may be
//! played at all: the display cannot show more pixels than it has, and the
//! user may have asked for a data-saving limit. The chooser never picks a
//! rung the caps forbid, except in one case: when every rung is forbidden
//! (a 480-line display and a ladder that starts at 720p), the lowest rung is
//! the only way to play anything, so it is allowed.

use super::AbrError;

/// One rendition of a title, as the manifest announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rendition {
    /// Peak bandwidth in bit/s (HLS `BANDWIDTH`, DASH `@bandwidth`).
    pub bandwidth_bps: u64,
    /// Frame width in pixels (0 when the manifest does not say).
    pub width: u32,
    /// Frame height in pixels (0 when the manifest does not say).
    pub height: u32,
}

impl Rendition {
    /// A rendition of `bandwidth_bps` at `width`×`height`.
    pub fn new(bandwidth_bps: u64, width: u32, height: u32) -> Self {
        Self {
            bandwidth_bps,
            width,
            height,
        }
    }

    /// Its bandwidth in Mbit/s, the unit of the QoE formula.
    pub fn mbps(&self) -> f64 {
        self.bandwidth_bps as f64 / 1e6
    }
}

/// The renditions of one track, sorted by bandwidth (lowest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    rungs: Vec<Rendition>,
}

impl Ladder {
    /// Sorts `renditions` by bandwidth. Fails on an empty list or a
    /// rendition without bandwidth: neither can be adapted over.
    pub fn new(mut renditions: Vec<Rendition>) -> Result<Self, AbrError> {
        if renditions.is_empty() {
            return Err(AbrError::EmptyLadder);
        }
        if let Some(bad) = renditions.iter().find(|r| r.bandwidth_bps == 0) {
            return Err(AbrError::ZeroBandwidth {
                width: bad.width,
                height: bad.height,
            });
        }
        // Stable, so renditions of equal bandwidth keep the manifest order.
        renditions.sort_by_key(|r| r.bandwidth_bps);
        Ok(Self { rungs: renditions })
    }

    /// The rungs, lowest bandwidth first.
    pub fn rungs(&self) -> &[Rendition] {
        &self.rungs
    }

    /// How many rungs there are (at least one).
    pub fn len(&self) -> usize {
        self.rungs.len()
    }

    /// Always false: a ladder has at least one rung. (Here for clippy's
    /// `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        self.rungs.is_empty()
    }

    /// Which rungs `caps` allow, by index. Never all false: when the caps
    /// forbid everything, the lowest rung is allowed (see the module docs).
    pub fn allowed(&self, caps: &Caps) -> Vec<bool> {
        let mut allowed: Vec<bool> = self.rungs.iter().map(|r| caps.allows(r)).collect();
        if !allowed.contains(&true) {
            allowed[0] = true;
        }
        allowed
    }
}

/// A limit the user chose in the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserCap {
    /// Never above this bandwidth (bit/s): a data-saving mode.
    MaxBandwidth(u64),
    /// Never above this many lines ("720p at most").
    MaxHeight(u32),
}

/// What may be played: the display's size and the user's limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// The display's size in pixels (width, height); `None` when unknown.
    pub display: Option<(u32, u32)>,
    /// The user's limit, if any.
    pub user: Option<UserCap>,
}

impl Caps {
    /// No caps: every rung may be played.
    pub fn none() -> Self {
        Self::default()
    }

    /// These caps, limited to a `width`×`height` display.
    pub fn with_display(self, width: u32, height: u32) -> Self {
        Self {
            display: Some((width, height)),
            ..self
        }
    }

    /// These caps, with the user's limit.
    pub fn with_user(self, cap: UserCap) -> Self {
        Self {
            user: Some(cap),
            ..self
        }
    }

    /// Whether `rendition` may be played under these caps. A rendition
    /// whose size the manifest leaves out (0) passes the size checks: it is
    /// judged by its bandwidth alone.
    pub fn allows(&self, rendition: &Rendition) -> bool {
        let fits_display = self
            .display
            .is_none_or(|(w, h)| rendition.width <= w && rendition.height <= h);
        let fits_user = match self.user {
            None => true,
            Some(UserCap::MaxBandwidth(bps)) => rendition.bandwidth_bps <= bps,
            Some(UserCap::MaxHeight(lines)) => rendition.height <= lines,
        };
        fits_display && fits_user
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder() -> Ladder {
        Ladder::new(vec![
            Rendition::new(4_300_000, 1920, 1080),
            Rendition::new(300_000, 320, 180),
            Rendition::new(1_200_000, 854, 480),
            Rendition::new(2_850_000, 1280, 720),
        ])
        .expect("valid ladder")
    }

    #[test]
    fn renditions_are_sorted_by_bandwidth() {
        let bw: Vec<u64> = ladder().rungs().iter().map(|r| r.bandwidth_bps).collect();
        assert_eq!(bw, [300_000, 1_200_000, 2_850_000, 4_300_000]);
    }

    #[test]
    fn empty_ladders_and_zero_bandwidth_are_refused() {
        assert_eq!(Ladder::new(vec![]), Err(AbrError::EmptyLadder));
        let err = Ladder::new(vec![Rendition::new(0, 640, 360)]).expect_err("zero bandwidth");
        assert_eq!(err.code(), "abr.zero_bandwidth");
    }

    #[test]
    fn display_and_user_caps_both_apply() {
        let caps = Caps::none()
            .with_display(1280, 720)
            .with_user(UserCap::MaxBandwidth(2_000_000));
        assert_eq!(ladder().allowed(&caps), [true, true, false, false]);
        let caps = Caps::none().with_user(UserCap::MaxHeight(720));
        assert_eq!(ladder().allowed(&caps), [true, true, true, false]);
    }

    #[test]
    fn a_display_smaller_than_every_rung_still_plays_the_lowest() {
        let caps = Caps::none().with_display(160, 90);
        assert_eq!(ladder().allowed(&caps), [true, false, false, false]);
    }
}
