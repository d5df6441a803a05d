//! Trace-driven simulation: how would each ABR algorithm have done on a
//! recorded network?
//!
//! The model is the one the ABR literature evaluates on (Pensieve, MPC,
//! BOLA), so that our figures can be set beside published ones; the data
//! and the model are described in `shared/abr/README.md`:
//!
//! - a [`Video`] of 48 chunks of 4 s at six bitrates, each chunk's size at
//!   each rung known (`pensieve-video-chunks.csv`);
//! - a [`Trace`] of throughput, one line per second (`traces/*.tsv`);
//! - the [`network::Player`] that downloads chunks over the trace and
//!   plays the buffer;
//! - every session starts with chunk 1 at 750 kbit/s (its download time is
//!   the start-up delay) and is scored from chunk 2 on with QoE_lin:
//!   `sum R_n - 4.3 sum T_n - sum |R_{n+1} - R_n|` (Mbit/s and seconds),
//!   reported per chunk ([`Session`]).
//!
//! [`run`] plays every [`Contender`] (the product's chooser and four
//! baselines, see [`algorithms`]) on every trace; [`Table`] prints the
//! result. Everything here is pure: the caller reads the files and passes
//! their text in, which is what the `ottbox-abr-sim` binary does.

pub mod algorithms;
pub mod network;

use std::fmt;

use crate::playback::abr::{Ladder, Rendition};
pub use algorithms::{Algorithm, Contender, Observation, contenders};

/// Every session downloads its first chunk at this rung (750 kbit/s).
pub const FIRST_RUNG: usize = 1;
/// QoE lost per second of rebuffering.
pub const REBUFFER_PENALTY: f64 = 4.3;
/// Length of one chunk (s).
pub const CHUNK_S: f64 = 4.0;

/// Why the simulation's input cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The chunk table's header is not `chunk,<n>kbps,...`.
    #[error("video table header: {0}")]
    VideoHeader(String),
    /// A row of the chunk table is malformed.
    #[error("video table line {line}: {reason}")]
    VideoRow {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The chunk table has no chunks.
    #[error("the video table has no chunks")]
    NoChunks,
    /// A line of a trace is malformed.
    #[error("trace {trace} line {line}: {reason}")]
    TraceLine {
        /// The trace's name.
        trace: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A trace cannot carry a download (too short, or never any throughput).
    #[error("trace {trace}: {reason}")]
    UnusableTrace {
        /// The trace's name.
        trace: String,
        /// What is wrong.
        reason: String,
    },
}

impl SimError {
    /// A stable code for messages and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::VideoHeader(_) => "sim.video_header",
            Self::VideoRow { .. } => "sim.video_row",
            Self::NoChunks => "sim.no_chunks",
            Self::TraceLine { .. } => "sim.trace_line",
            Self::UnusableTrace { .. } => "sim.unusable_trace",
        }
    }
}

/// The test video: chunk sizes at every rung.
#[derive(Debug, Clone, PartialEq)]
pub struct Video {
    /// The rungs' bitrates (kbit/s), ascending.
    pub bitrates_kbps: Vec<u32>,
    /// `chunks[n][rung]`: the size of chunk `n` at `rung`, in bytes.
    pub chunks: Vec<Vec<u64>>,
    /// The media length of one chunk (s).
    pub chunk_s: f64,
    /// The rungs as a ladder (no resolutions: the simulation has no
    /// display).
    pub ladder: Ladder,
}

impl Video {
    /// Parses the chunk table: a header `chunk,300kbps,750kbps,...`, then
    /// one row per chunk, `index,size,size,...` in bytes.
    pub fn parse(text: &str) -> Result<Self, SimError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines
            .next()
            .ok_or_else(|| SimError::VideoHeader("missing".into()))?;
        let bitrates_kbps = header
            .split(',')
            .skip(1)
            .map(|cell| {
                cell.trim()
                    .strip_suffix("kbps")
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| SimError::VideoHeader(format!("bad rung {cell:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if bitrates_kbps.is_empty() || !bitrates_kbps.is_sorted_by(|a, b| a < b) {
            return Err(SimError::VideoHeader(
                "rungs must be given in ascending bitrate".into(),
            ));
        }
        let mut chunks = Vec::new();
        for (index, line) in lines {
            let row_error = |reason: String| SimError::VideoRow {
                line: index + 1,
                reason,
            };
            let sizes = line
                .split(',')
                .skip(1)
                .map(|cell| cell.trim().parse::<u64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| row_error(e.to_string()))?;
            if sizes.len() != bitrates_kbps.len() {
                return Err(row_error(format!(
                    "{} sizes for {} rungs",
                    sizes.len(),
                    bitrates_kbps.len()
                )));
            }
            if sizes.contains(&0) {
                return Err(row_error("a chunk of 0 bytes".into()));
            }
            chunks.push(sizes);
        }
        if chunks.is_empty() {
            return Err(SimError::NoChunks);
        }
        let ladder = Ladder::new(
            bitrates_kbps
                .iter()
                .map(|kbps| Rendition::new(u64::from(*kbps) * 1000, 0, 0))
                .collect(),
        )
        .map_err(|e| SimError::VideoHeader(e.to_string()))?;
        Ok(Self {
            bitrates_kbps,
            chunks,
            chunk_s: CHUNK_S,
            ladder,
        })
    }

    /// Rung `rung`'s bitrate in Mbit/s.
    pub fn mbps(&self, rung: usize) -> f64 {
        f64::from(self.bitrates_kbps[rung]) / 1000.0
    }
}

/// A throughput trace: `mbps[i]` holds from `times[i - 1]` to `times[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Its name (the file's stem).
    pub name: String,
    /// Line times (s), strictly increasing.
    pub times: Vec<f64>,
    /// Line throughputs (Mbit/s).
    pub mbps: Vec<f64>,
}

impl Trace {
    /// Parses `seconds<TAB>Mbit/s` lines; `#` lines and blank lines are
    /// skipped.
    pub fn parse(name: &str, text: &str) -> Result<Self, SimError> {
        let mut times = Vec::new();
        let mut mbps = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: &str| SimError::TraceLine {
                trace: name.to_owned(),
                line: index + 1,
                reason: reason.to_owned(),
            };
            let mut fields = line.split_whitespace();
            let (Some(t), Some(bw), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(bad("expected `seconds<TAB>Mbit/s`"));
            };
            let t: f64 = t.parse().map_err(|_| bad("time is not a number"))?;
            let bw: f64 = bw.parse().map_err(|_| bad("throughput is not a number"))?;
            if !t.is_finite() || times.last().is_some_and(|last| t <= *last) {
                return Err(bad("times must increase"));
            }
            if !bw.is_finite() || bw < 0.0 {
                return Err(bad("throughput must be a non-negative number"));
            }
            times.push(t);
            mbps.push(bw);
        }
        let unusable = |reason: &str| SimError::UnusableTrace {
            trace: name.to_owned(),
            reason: reason.to_owned(),
        };
        if times.len() < 2 {
            return Err(unusable("needs at least two lines"));
        }
        // Line 0's throughput never applies (it has no interval before it).
        if !mbps[1..].iter().any(|bw| *bw > 0.0) {
            return Err(unusable("the link never carries anything"));
        }
        Ok(Self {
            name: name.to_owned(),
            times,
            mbps,
        })
    }
}

/// One algorithm's session on one trace, scored from chunk 2 on.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The trace.
    pub trace: String,
    /// The rung of every chunk, first included.
    pub rungs: Vec<usize>,
    /// Start-up delay: the first chunk's download (s).
    pub startup_s: f64,
    /// QoE_lin over chunks 2.., divided by their number.
    pub qoe_per_chunk: f64,
    /// Mean bitrate of chunks 2.. (Mbit/s).
    pub mean_mbps: f64,
    /// Rebuffering during chunks 2.. (s).
    pub rebuffer_s: f64,
    /// Rung changes from chunk 1 to the end.
    pub switches: usize,
}

/// Plays `video` over `trace` with `algorithm`.
pub fn play(video: &Video, trace: &Trace, algorithm: &mut dyn Algorithm) -> Session {
    let mut player = network::Player::new(trace, video.chunk_s);
    let top = video.bitrates_kbps.len() - 1;
    let mut rung = FIRST_RUNG.min(top);
    let mut rungs = Vec::with_capacity(video.chunks.len());
    let mut stalls = Vec::with_capacity(video.chunks.len());
    for (n, sizes) in video.chunks.iter().enumerate() {
        let bytes = sizes[rung];
        let download = player.download(bytes);
        rungs.push(rung);
        stalls.push(download.rebuffer_s);
        if n + 1 < video.chunks.len() {
            let obs = Observation {
                video,
                next_chunk: n + 1,
                last_rung: rung,
                bytes,
                download,
            };
            // An out-of-range answer is clamped: the table shows what was
            // actually played.
            rung = algorithm.next(&obs).min(top);
        }
    }
    score(video, &trace.name, rungs, &stalls)
}

fn score(video: &Video, trace: &str, rungs: Vec<usize>, stalls: &[f64]) -> Session {
    let scored = rungs.len().saturating_sub(1).max(1) as f64;
    let mut bitrate = 0.0;
    let mut smoothness = 0.0;
    let mut switches = 0;
    for pair in rungs.windows(2) {
        bitrate += video.mbps(pair[1]);
        smoothness += (video.mbps(pair[1]) - video.mbps(pair[0])).abs();
        switches += usize::from(pair[0] != pair[1]);
    }
    let rebuffer_s: f64 = stalls.iter().skip(1).sum();
    let qoe = bitrate - REBUFFER_PENALTY * rebuffer_s - smoothness;
    Session {
        trace: trace.to_owned(),
        startup_s: stalls.first().copied().unwrap_or(0.0),
        qoe_per_chunk: qoe / scored,
        mean_mbps: bitrate / scored,
        rebuffer_s,
        switches,
        rungs,
    }
}

/// One contender's sessions on every trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The contender's name.
    pub name: &'static str,
    /// One session per trace, in trace order.
    pub sessions: Vec<Session>,
}

impl Outcome {
    /// Mean over traces of QoE per chunk.
    pub fn mean_qoe_per_chunk(&self) -> f64 {
        self.mean(|s| s.qoe_per_chunk)
    }

    /// Mean over traces of the mean bitrate (Mbit/s).
    pub fn mean_mbps(&self) -> f64 {
        self.mean(|s| s.mean_mbps)
    }

    /// Rebuffering over all traces (s).
    pub fn total_rebuffer_s(&self) -> f64 {
        self.sessions.iter().map(|s| s.rebuffer_s).sum()
    }

    /// Switches over all traces.
    pub fn total_switches(&self) -> usize {
        self.sessions.iter().map(|s| s.switches).sum()
    }

    /// The session on `trace`, if it was played.
    pub fn on(&self, trace: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.trace == trace)
    }

    fn mean(&self, f: impl Fn(&Session) -> f64) -> f64 {
        if self.sessions.is_empty() {
            return 0.0;
        }
        self.sessions.iter().map(f).sum::<f64>() / self.sessions.len() as f64
    }
}

/// Plays every contender on every trace.
pub fn run(video: &Video, traces: &[Trace], contenders: &[Contender]) -> Table {
    let outcomes = contenders
        .iter()
        .map(|c| Outcome {
            name: c.name,
            sessions: traces
                .iter()
                .map(|t| play(video, t, (c.make)(video).as_mut()))
                .collect(),
        })
        .collect();
    Table { outcomes }
}

/// The results of [`run`]; `Display` prints them as a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// One outcome per contender, in the order given.
    pub outcomes: Vec<Outcome>,
}

impl Table {
    /// The outcome of the contender called `name`.
    pub fn of(&self, name: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.name == name)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<12} {:<22} {:>9} {:>9} {:>10} {:>8} {:>9}",
            "algorithm", "trace", "QoE/chunk", "Mbit/s", "rebuffer s", "switches", "startup s"
        )?;
        for o in &self.outcomes {
            for s in &o.sessions {
                writeln!(
                    f,
                    "{:<12} {:<22} {:>9.3} {:>9.3} {:>10.2} {:>8} {:>9.2}",
                    o.name,
                    s.trace,
                    s.qoe_per_chunk,
                    s.mean_mbps,
                    s.rebuffer_s,
                    s.switches,
                    s.startup_s
                )?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<12} {:>15} {:>14} {:>17} {:>14}",
            "algorithm", "mean QoE/chunk", "mean Mbit/s", "total rebuffer s", "total switches"
        )?;
        for o in &self.outcomes {
            writeln!(
                f,
                "{:<12} {:>15.3} {:>14.3} {:>17.2} {:>14}",
                o.name,
                o.mean_qoe_per_chunk(),
                o.mean_mbps(),
                o.total_rebuffer_s(),
                o.total_switches()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
