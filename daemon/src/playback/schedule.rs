//! What a playback fetches next: the scheduler.
//!
//! Pure: it sees how far each track is fed, the playhead and the buffer
//! target, never the network or GStreamer, so it is tested alone and the
//! playback loop ([`run`](super::run)) only carries out its answer. The
//! rules:
//!
//! - nothing is fetched while an outage waits for its next try;
//! - subtitles first: a few bytes, and wanted on screen on time;
//! - then the track furthest behind (so audio and video stay aligned),
//!   until the buffer target is fed ahead of the playhead.
//!
//! Positions are on the presentation's timeline, which need not start at
//! 0: a live window starts wherever the window does.

use super::clock::Buffered;

/// How far one track is fed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fed {
    /// Presentation time up to which media is pushed, seconds.
    pub end: f64,
    /// Its last segment is in: nothing more will come.
    pub done: bool,
    /// A rendition is chosen and fed.
    pub started: bool,
}

/// What the tracks hold ahead of `position`, the playhead.
pub fn buffered(tracks: &[Fed], position: f64) -> Buffered {
    let all_done = tracks.iter().all(|t| t.done);
    let fed_to = tracks.iter().map(|t| t.end).fold(f64::INFINITY, f64::min);
    let ahead = if all_done {
        // Everything is in: what the longest track holds plays out.
        tracks
            .iter()
            .map(|t| t.end)
            .fold(f64::NEG_INFINITY, f64::max)
    } else {
        // The track furthest behind is where playback would stall.
        tracks
            .iter()
            .filter(|t| !t.done)
            .map(|t| t.end)
            .fold(f64::INFINITY, f64::min)
    };
    Buffered {
        seconds: (ahead - position).max(0.0),
        fed_to,
        all_done,
        every_track_fed: tracks.iter().all(|t| t.started || t.done),
    }
}

/// The situation the scheduler decides on, besides the tracks.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// The playhead, seconds.
    pub position: f64,
    /// How far ahead of the playhead to feed, seconds.
    pub target_s: f64,
    /// Downloads may go out (no outage waiting for its next try).
    pub due: bool,
    /// The subtitles want their next segment.
    pub subtitles_wanted: bool,
}

/// The next thing to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The subtitle segment the playhead wants.
    Subtitles,
    /// The next segment of this track (an index into the tracks).
    Segment(usize),
    /// Nothing now: the buffer is fed, every track is done, or an outage
    /// waits.
    Idle,
}

/// Decides what to fetch next.
pub fn next(tracks: &[Fed], now: &Now) -> Next {
    if !now.due {
        return Next::Idle;
    }
    if now.subtitles_wanted {
        return Next::Subtitles;
    }
    tracks
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.done)
        .min_by(|a, b| a.1.end.total_cmp(&b.1.end))
        .filter(|(_, t)| t.end - now.position < now.target_s)
        .map_or(Next::Idle, |(i, _)| Next::Segment(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(end: f64) -> Fed {
        Fed {
            end,
            done: false,
            started: true,
        }
    }

    fn done(end: f64) -> Fed {
        Fed {
            done: true,
            ..fed(end)
        }
    }

    fn at(position: f64) -> Now {
        Now {
            position,
            target_s: 10.0,
            due: true,
            subtitles_wanted: false,
        }
    }

    #[test]
    fn the_track_furthest_behind_is_fed_first() {
        // Video is 6 s in, audio 4 s: audio next, whatever the order.
        assert_eq!(next(&[fed(6.0), fed(4.0)], &at(0.0)), Next::Segment(1));
        assert_eq!(next(&[fed(4.0), fed(6.0)], &at(0.0)), Next::Segment(0));
    }

    #[test]
    fn nothing_is_fetched_once_the_target_is_fed() {
        assert_eq!(next(&[fed(12.0), fed(10.0)], &at(0.0)), Next::Idle);
        // The playhead moves on: room again.
        assert_eq!(next(&[fed(12.0), fed(10.0)], &at(0.5)), Next::Segment(1));
    }

    #[test]
    fn a_finished_track_is_left_alone() {
        assert_eq!(next(&[fed(8.0), done(2.0)], &at(0.0)), Next::Segment(0));
        assert_eq!(next(&[done(30.0), done(30.0)], &at(0.0)), Next::Idle);
    }

    #[test]
    fn subtitles_go_before_media() {
        let now = Now {
            subtitles_wanted: true,
            ..at(0.0)
        };
        assert_eq!(next(&[fed(0.0)], &now), Next::Subtitles);
    }

    #[test]
    fn an_outage_waiting_for_its_next_try_fetches_nothing() {
        let now = Now {
            due: false,
            subtitles_wanted: true,
            ..at(0.0)
        };
        assert_eq!(next(&[fed(0.0)], &now), Next::Idle);
    }

    #[test]
    fn a_timeline_that_does_not_start_at_zero_schedules_the_same() {
        // A live window an hour into the stream.
        let now = at(3600.0);
        assert_eq!(next(&[fed(3608.0), fed(3604.0)], &now), Next::Segment(1));
        assert_eq!(next(&[fed(3612.0), fed(3610.0)], &now), Next::Idle);
        let b = buffered(&[fed(3608.0), fed(3604.0)], 3600.0);
        assert!((b.seconds - 4.0).abs() < 1e-9, "{b:?}");
    }

    #[test]
    fn the_buffer_is_what_the_track_furthest_behind_holds() {
        let b = buffered(&[fed(8.0), fed(5.0)], 2.0);
        assert!((b.seconds - 3.0).abs() < 1e-9, "{b:?}");
        assert!((b.fed_to - 5.0).abs() < 1e-9, "{b:?}");
        assert!(!b.all_done);
        // A finished track does not hold the others back.
        let b = buffered(&[fed(8.0), done(5.0)], 2.0);
        assert!((b.seconds - 6.0).abs() < 1e-9, "{b:?}");
    }

    #[test]
    fn once_everything_is_in_the_buffer_runs_to_the_longest_track() {
        let b = buffered(&[done(30.0), done(29.9)], 25.0);
        assert!(b.all_done);
        assert!((b.seconds - 5.0).abs() < 1e-9, "{b:?}");
        // Past the end: nothing buffered, never negative.
        assert!(buffered(&[done(30.0)], 31.0).seconds.abs() < 1e-9);
    }

    #[test]
    fn playback_may_start_only_once_every_track_is_fed() {
        let unstarted = Fed {
            started: false,
            ..fed(0.0)
        };
        assert!(!buffered(&[fed(4.0), unstarted], 0.0).every_track_fed);
        assert!(buffered(&[fed(4.0), done(0.0)], 0.0).every_track_fed);
    }
}
