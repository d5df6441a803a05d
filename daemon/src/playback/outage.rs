//! Riding out a network outage.
//!
//! A download that failed on every edge (the router already tried them)
//! does not end playback while the failure is transient (no connection, a
//! timeout, a 5xx): it is tried again later, with a growing pause, while
//! the buffer plays out. An outage shorter than the buffer is invisible;
//! a longer one is a stall, and playback goes on by itself when the
//! network is back. Only an outage longer than [`GIVE_UP_AFTER`], or an
//! error that retrying cannot fix (a 404), ends playback with the error.

use std::time::{Duration, Instant};

use super::fetch::FetchError;

/// How long the box keeps trying before it tells the viewer playback
/// failed: a router rebooting or a DSL resync takes a minute or two.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(180);
/// The first pause after a failure.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause: when the network is back, playback goes on within
/// this time.
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// An outage in progress, if any.
#[derive(Debug, Default)]
pub struct Outage {
    current: Option<Current>,
}

#[derive(Debug)]
struct Current {
    since: Instant,
    retry_at: Instant,
    pause: Duration,
}

impl Outage {
    /// True while downloads must wait for the next try.
    pub fn waiting(&self, now: Instant) -> bool {
        self.current.as_ref().is_some_and(|c| now < c.retry_at)
    }

    /// A download worked: the outage, if there was one, is over.
    pub fn ended(&mut self, now: Instant) {
        if let Some(c) = self.current.take() {
            tracing::info!(
                after_s = now.duration_since(c.since).as_secs_f64(),
                "the network is back; playback goes on"
            );
        }
    }

    /// A download failed on every edge. `Ok` when it is to be tried again
    /// later; the error back when retrying cannot help or has been going
    /// on for too long.
    pub fn failed(&mut self, error: FetchError, now: Instant) -> Result<(), FetchError> {
        if !error.is_transient() {
            return Err(error);
        }
        let next = match self.current.take() {
            None => {
                tracing::warn!(%error, "no edge answers; retrying while the buffer lasts");
                Current {
                    since: now,
                    retry_at: now + FIRST_PAUSE,
                    pause: FIRST_PAUSE,
                }
            }
            Some(c) if now.duration_since(c.since) >= GIVE_UP_AFTER => return Err(error),
            Some(c) => {
                let pause = (c.pause * 2).min(LONGEST_PAUSE);
                Current {
                    since: c.since,
                    retry_at: now + pause,
                    pause,
                }
            }
        };
        self.current = Some(next);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> FetchError {
        FetchError::Status {
            url: "http://edge/seg.m4s".into(),
            status: 503,
        }
    }

    #[test]
    fn transient_failures_wait_longer_each_time_then_give_up() {
        let t0 = Instant::now();
        let mut outage = Outage::default();
        assert!(!outage.waiting(t0));
        outage.failed(refused(), t0).expect("tried again");
        assert!(outage.waiting(t0));
        assert!(!outage.waiting(t0 + FIRST_PAUSE));

        let mut now = t0;
        let mut pauses = Vec::new();
        loop {
            now += LONGEST_PAUSE;
            if now.duration_since(t0) >= GIVE_UP_AFTER {
                break;
            }
            outage.failed(refused(), now).expect("still trying");
            pauses.push(outage.current.as_ref().expect("on").pause);
        }
        assert_eq!(pauses[0], FIRST_PAUSE * 2);
        assert!(pauses.iter().all(|p| *p <= LONGEST_PAUSE));
        assert!(outage.failed(refused(), now).is_err(), "given up");
    }

    #[test]
    fn a_success_ends_the_outage_and_a_404_is_never_retried() {
        let t0 = Instant::now();
        let mut outage = Outage::default();
        outage.failed(refused(), t0).expect("tried again");
        outage.ended(t0);
        assert!(!outage.waiting(t0));
        let gone = FetchError::Status {
            url: "http://edge/seg.m4s".into(),
            status: 404,
        };
        assert!(outage.failed(gone, t0).is_err());
    }
}
