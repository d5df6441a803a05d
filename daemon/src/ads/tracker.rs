//! Which VAST beacons an ad owes, as it plays.
//!
//! Pure: fed the ad's playback state and position, it answers the URLs now
//! due, each exactly once: `impression` and `start` with the first frame,
//! the quartiles as the position passes 25, 50 and 75 % of the ad, and
//! `complete` at its end (after any quartile a short ad skipped over). A
//! failed ad owes its `error` URLs (with the VAST error code) instead of
//! whatever it had not reached.

use ottbox_formats::ad_plan::Ad;

/// VAST error code: the media file could not be found or fetched.
pub const ERROR_FILE_NOT_FOUND: u32 = 401;
/// VAST error code: the media file timed out.
pub const ERROR_TIMEOUT: u32 = 402;
/// VAST error code: the media file could not be played.
pub const ERROR_PLAYBACK: u32 = 405;

/// The quartile events and the share of the ad each one marks.
const QUARTILES: [(&str, f64); 3] = [
    ("firstQuartile", 0.25),
    ("midpoint", 0.5),
    ("thirdQuartile", 0.75),
];

/// The beacon state of one ad.
#[derive(Debug)]
pub struct Tracker<'a> {
    ad: &'a Ad,
    started: bool,
    quartiles: usize,
    over: bool,
}

impl<'a> Tracker<'a> {
    /// Nothing fired yet.
    pub fn new(ad: &'a Ad) -> Self {
        Self {
            ad,
            started: false,
            quartiles: 0,
            over: false,
        }
    }

    /// The ad has shown a frame and is at `position_s` of its own time.
    pub fn progress(&mut self, position_s: f64) -> Vec<String> {
        if self.over {
            return Vec::new();
        }
        let mut due = Vec::new();
        if !self.started {
            self.started = true;
            due.extend(self.ad.impressions.iter().cloned());
            due.extend(self.urls("start"));
        }
        let duration = self.ad.duration_s.max(f64::EPSILON);
        while let Some((event, share)) = QUARTILES.get(self.quartiles) {
            if position_s / duration < *share {
                break;
            }
            due.extend(self.urls(event));
            self.quartiles += 1;
        }
        due
    }

    /// The ad played to its end.
    pub fn complete(&mut self) -> Vec<String> {
        if self.over {
            return Vec::new();
        }
        let mut due = self.progress(self.ad.duration_s);
        due.extend(self.urls("complete"));
        self.over = true;
        due
    }

    /// The ad failed with VAST error `code`.
    pub fn error(&mut self, code: u32) -> Vec<String> {
        if self.over {
            return Vec::new();
        }
        self.over = true;
        self.ad
            .errors
            .iter()
            .map(|u| u.replace("[ERRORCODE]", &code.to_string()))
            .collect()
    }

    fn urls<'s>(&'s self, event: &'s str) -> impl Iterator<Item = String> + 's {
        self.ad
            .tracking
            .iter()
            .filter(move |(e, _)| e == event)
            .map(|(_, u)| u.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad() -> Ad {
        let t = |e: &str| (e.to_owned(), format!("http://t/{e}"));
        Ad {
            id: "a".into(),
            duration_s: 4.0,
            hls_url: Some("http://h/a.m3u8".into()),
            dash_url: None,
            impressions: vec!["http://t/impression".into()],
            errors: vec!["http://t/error?code=[ERRORCODE]".into()],
            tracking: [
                "start",
                "firstQuartile",
                "midpoint",
                "thirdQuartile",
                "complete",
            ]
            .iter()
            .map(|e| t(e))
            .collect(),
        }
    }

    fn names(urls: Vec<String>) -> Vec<String> {
        urls.into_iter()
            .map(|u| u.trim_start_matches("http://t/").to_owned())
            .collect()
    }

    #[test]
    fn each_beacon_fires_once_in_order() {
        let ad = ad();
        let mut t = Tracker::new(&ad);
        assert_eq!(names(t.progress(0.0)), ["impression", "start"]);
        assert!(t.progress(0.5).is_empty());
        assert_eq!(names(t.progress(1.0)), ["firstQuartile"]);
        assert_eq!(names(t.progress(3.2)), ["midpoint", "thirdQuartile"]);
        assert_eq!(names(t.complete()), ["complete"]);
        assert!(t.complete().is_empty());
        assert!(
            t.error(ERROR_PLAYBACK).is_empty(),
            "a completed ad owes no error"
        );
    }

    #[test]
    fn an_ad_that_ends_early_still_owes_its_quartiles_before_complete() {
        let ad = ad();
        let mut t = Tracker::new(&ad);
        assert_eq!(
            names(t.complete()),
            [
                "impression",
                "start",
                "firstQuartile",
                "midpoint",
                "thirdQuartile",
                "complete"
            ]
        );
    }

    #[test]
    fn a_failed_ad_owes_its_error_with_the_code() {
        let ad = ad();
        let mut t = Tracker::new(&ad);
        assert_eq!(names(t.error(ERROR_FILE_NOT_FOUND)), ["error?code=401"]);
        assert!(t.progress(2.0).is_empty());
    }
}
