//! The simulated player and network: one chunk download at a time over a
//! throughput trace, with the buffer it feeds.
//!
//! This is the model of the ABR literature (Pensieve's `fixed_env.py`),
//! line for line in meaning:
//!
//! - line *i* of the trace holds its throughput from the time of line
//!   *i − 1* to the time of line *i*; the trace wraps around at its end;
//! - a chunk moves at that throughput times 0.95 (the payload share of
//!   packets), and then costs one 80 ms round trip (which, as in the
//!   original, does not advance the trace);
//! - the buffer drains while the chunk downloads, the shortfall is
//!   rebuffering, then one chunk of media is added;
//! - above 60 s of buffer the player sleeps in 500 ms steps until it is back
//!   at 60 s, and the trace moves on while it sleeps.

use super::Trace;

/// Round trip paid by every chunk request (s).
pub const RTT_S: f64 = 0.08;
/// Share of the link's throughput that is payload.
pub const PAYLOAD_SHARE: f64 = 0.95;
/// The player stops fetching above this buffer (s).
pub const BUFFER_LIMIT_S: f64 = 60.0;
/// The player sleeps in steps of this long (s) when the buffer is full.
pub const SLEEP_STEP_S: f64 = 0.5;

/// What one chunk download did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Download {
    /// From request to last byte, round trip included (s).
    pub delay_s: f64,
    /// Stall while it downloaded (s).
    pub rebuffer_s: f64,
    /// The buffer after it was added and any sleep (s).
    pub buffer_s: f64,
}

/// A player on a link: the trace position and the buffer.
#[derive(Debug, Clone)]
pub struct Player<'a> {
    trace: &'a Trace,
    /// Index of the trace line whose throughput is current.
    line: usize,
    /// The simulated time within the trace (s).
    now: f64,
    buffer_s: f64,
    chunk_s: f64,
}

impl<'a> Player<'a> {
    /// A player at the start of `trace` with an empty buffer, playing
    /// chunks of `chunk_s` seconds.
    pub fn new(trace: &'a Trace, chunk_s: f64) -> Self {
        Self {
            trace,
            line: 1,
            now: trace.times[0],
            buffer_s: 0.0,
            chunk_s,
        }
    }

    /// The buffer now (s).
    pub fn buffer_s(&self) -> f64 {
        self.buffer_s
    }

    /// Downloads a chunk of `bytes` and plays the buffer meanwhile.
    pub fn download(&mut self, bytes: u64) -> Download {
        let bytes = bytes as f64;
        let mut sent = 0.0;
        let mut delay_s = 0.0;
        loop {
            let rate = self.trace.mbps[self.line] * 1e6 / 8.0 * PAYLOAD_SHARE;
            let span = self.trace.times[self.line] - self.now;
            if sent + rate * span > bytes {
                let rest = (bytes - sent) / rate;
                delay_s += rest;
                self.now += rest;
                break;
            }
            sent += rate * span;
            delay_s += span;
            self.advance_line();
        }
        delay_s += RTT_S;

        let rebuffer_s = (delay_s - self.buffer_s).max(0.0);
        self.buffer_s = (self.buffer_s - delay_s).max(0.0) + self.chunk_s;
        if self.buffer_s > BUFFER_LIMIT_S {
            let sleep_s = ((self.buffer_s - BUFFER_LIMIT_S) / SLEEP_STEP_S).ceil() * SLEEP_STEP_S;
            self.buffer_s -= sleep_s;
            self.sleep(sleep_s);
        }
        Download {
            delay_s,
            rebuffer_s,
            buffer_s: self.buffer_s,
        }
    }

    /// Lets `seconds` of trace time pass without downloading.
    fn sleep(&mut self, mut seconds: f64) {
        loop {
            let span = self.trace.times[self.line] - self.now;
            if span > seconds {
                self.now += seconds;
                return;
            }
            seconds -= span;
            self.advance_line();
        }
    }

    fn advance_line(&mut self) {
        self.now = self.trace.times[self.line];
        self.line += 1;
        if self.line == self.trace.times.len() {
            self.line = 1;
            self.now = self.trace.times[0];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(mbps: f64) -> Trace {
        let text: String = (0..100).map(|s| format!("{s}\t{mbps}\n")).collect();
        Trace::parse("steady", &text).expect("valid trace")
    }

    #[test]
    fn a_download_takes_size_over_payload_rate_plus_a_round_trip() {
        let trace = steady(8.0);
        let mut player = Player::new(&trace, 4.0);
        // 0.95 MB at 8 Mbit/s * 0.95 = 0.95 MB/s: one second, plus RTT.
        let d = player.download(950_000);
        assert!((d.delay_s - 1.08).abs() < 1e-9, "{d:?}");
        // The buffer was empty: all of it was a stall (start-up).
        assert!((d.rebuffer_s - 1.08).abs() < 1e-9);
        assert!((d.buffer_s - 4.0).abs() < 1e-9);
        let d = player.download(950_000);
        assert_eq!(d.rebuffer_s, 0.0);
        assert!((d.buffer_s - (4.0 - 1.08 + 4.0)).abs() < 1e-9);
    }

    #[test]
    fn throughput_changes_at_trace_lines() {
        // 1 Mbit/s for the first second, then 9 Mbit/s.
        let mut text = String::from("# comment\n0\t1\n1\t1\n");
        text.extend((2..50).map(|s| format!("{s}\t9\n")));
        let trace = Trace::parse("step", &text).expect("valid trace");
        let mut player = Player::new(&trace, 4.0);
        let first_second = 1e6 / 8.0 * PAYLOAD_SHARE;
        let d = player.download((first_second * 2.0) as u64);
        // One second at 1 Mbit/s, then the same again at 9 Mbit/s.
        assert!(
            (d.delay_s - (1.0 + 1.0 / 9.0 + RTT_S)).abs() < 1e-6,
            "{d:?}"
        );
    }

    #[test]
    fn a_full_buffer_is_held_at_the_limit() {
        let trace = steady(100.0);
        let mut player = Player::new(&trace, 4.0);
        for _ in 0..40 {
            let d = player.download(10_000);
            assert!(d.buffer_s <= BUFFER_LIMIT_S);
        }
        assert!(player.buffer_s() > BUFFER_LIMIT_S - 4.0);
    }

    #[test]
    fn the_trace_wraps_around() {
        let trace = steady(1.0);
        let mut player = Player::new(&trace, 4.0);
        // 120 s of payload on a 99 s trace: it must wrap, not stop.
        let d = player.download((1e6 / 8.0 * PAYLOAD_SHARE * 120.0) as u64);
        assert!((d.delay_s - 120.0 - RTT_S).abs() < 1e-6, "{d:?}");
    }
}
