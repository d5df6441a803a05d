//! The simulator against the published figures, and the product's chooser
//! against the baselines, on the real traces (a copy of `shared/abr` lives in
//! `daemon/tests/data/abr`, so these tests are hermetic).

use super::*;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/abr");

/// The README's reference figures: (trace, BB QoE/chunk, BB rebuffer s,
/// robust MPC QoE/chunk, robust MPC rebuffer s).
const REFERENCE: [(&str, f64, f64, f64, f64); 3] = [
    ("ATT-LTE-driving-2016", 3.206, 0.00, 2.987, 0.00),
    ("TMobile-UMTS-driving", -5.048, 64.68, -2.462, 36.79),
    ("Verizon-EVDO-driving", -1.416, 19.60, -0.355, 9.60),
];

fn video() -> Video {
    let text = std::fs::read_to_string(format!("{DATA}/pensieve-video-chunks.csv"))
        .expect("the chunk table is in the repository");
    Video::parse(&text).expect("the chunk table parses")
}

fn traces() -> Vec<Trace> {
    REFERENCE
        .iter()
        .map(|(name, ..)| {
            let text = std::fs::read_to_string(format!("{DATA}/traces/{name}.tsv"))
                .expect("the traces are in the repository");
            Trace::parse(name, &text).expect("the trace parses")
        })
        .collect()
}

fn table() -> Table {
    run(&video(), &traces(), &contenders())
}

#[test]
fn buffer_based_matches_the_published_figures() {
    let table = table();
    let bb = table.of("bb").expect("bb ran");
    for (trace, qoe, rebuffer, ..) in REFERENCE {
        let s = bb.on(trace).expect("every trace played");
        assert!((s.qoe_per_chunk - qoe).abs() < 0.01, "{trace}: {s:?}");
        assert!((s.rebuffer_s - rebuffer).abs() < 0.1, "{trace}: {s:?}");
    }
    assert!((bb.mean_qoe_per_chunk() - -1.086).abs() < 0.01);
}

#[test]
fn robust_mpc_lands_close_to_the_published_figures() {
    // Ties and rounding in a 7 776-way search differ a little from the
    // Python original, so a close match rather than an exact one.
    let table = table();
    let mpc = table.of("robust-mpc").expect("robust MPC ran");
    for (trace, _, _, qoe, rebuffer) in REFERENCE {
        let s = mpc.on(trace).expect("every trace played");
        assert!((s.qoe_per_chunk - qoe).abs() < 0.1, "{trace}: {s:?}");
        assert!((s.rebuffer_s - rebuffer).abs() < 1.5, "{trace}: {s:?}");
    }
    assert!((mpc.mean_qoe_per_chunk() - 0.057).abs() < 0.1);
}

#[test]
fn the_product_beats_robust_mpc_and_bb_with_less_rebuffering() {
    let table = table();
    let ours = table.of("ottbox").expect("ottbox ran");
    let mpc = table.of("robust-mpc").expect("robust MPC ran");
    let bb = table.of("bb").expect("bb ran");
    let qoe = ours.mean_qoe_per_chunk();
    assert!(qoe > mpc.mean_qoe_per_chunk(), "{table}");
    assert!(qoe > bb.mean_qoe_per_chunk(), "{table}");
    // The target: above the published robust MPC figure (and so
    // above BB's -1.086).
    assert!(qoe > 0.057, "{table}");
    assert!(ours.total_rebuffer_s() < mpc.total_rebuffer_s(), "{table}");
}

#[test]
fn every_contender_plays_every_trace_to_the_end() {
    let video = video();
    let table = table();
    assert_eq!(table.outcomes.len(), contenders().len());
    for o in &table.outcomes {
        assert_eq!(o.sessions.len(), REFERENCE.len());
        for s in &o.sessions {
            assert_eq!(s.rungs.len(), video.chunks.len(), "{}", o.name);
            assert_eq!(
                s.rungs[0], FIRST_RUNG,
                "{}: the first chunk is fixed",
                o.name
            );
        }
    }
    let printed = table.to_string();
    for name in ["ottbox", "robust-mpc", "bb", "bola", "rate"] {
        assert!(printed.contains(name), "{printed}");
    }
}

/// Always the same rung.
struct Fixed(usize);

impl Algorithm for Fixed {
    fn next(&mut self, _: &Observation<'_>) -> usize {
        self.0
    }
}

fn steady(mbps: f64) -> Trace {
    let text: String = (0..400).map(|s| format!("{s}\t{mbps}\n")).collect();
    Trace::parse("steady", &text).expect("valid trace")
}

#[test]
fn qoe_counts_from_the_second_chunk_with_the_first_switch() {
    let video = video();
    let s = play(&video, &steady(100.0), &mut Fixed(5));
    assert_eq!(s.rebuffer_s, 0.0);
    assert_eq!(s.switches, 1);
    // 47 chunks at 4.3, one switch of 3.55 from the 750 kbit/s start.
    let expected = (47.0 * 4.3 - (4.3 - 0.75)) / 47.0;
    assert!((s.qoe_per_chunk - expected).abs() < 1e-9, "{s:?}");
    assert!(s.startup_s > 0.08 && s.startup_s < 0.2, "{s:?}");
}

#[test]
fn stalls_cost_their_penalty() {
    // 0.5 Mbit/s cannot carry 4.3 Mbit/s: every chunk stalls.
    let video = video();
    let s = play(&video, &steady(0.5), &mut Fixed(5));
    assert!(s.rebuffer_s > 47.0 * 20.0, "{s:?}");
    let bitrate_only = (47.0 * 4.3 - 3.55) / 47.0;
    let expected = bitrate_only - REBUFFER_PENALTY * s.rebuffer_s / 47.0;
    assert!((s.qoe_per_chunk - expected).abs() < 1e-9);
}

#[test]
fn bad_tables_are_refused_with_the_line() {
    let err = Video::parse("chunk,300kbps,fast\n0,1,2\n").expect_err("bad header");
    assert_eq!(err.code(), "sim.video_header");
    let err = Video::parse("chunk,300kbps,750kbps\n0,10,20\n1,10\n").expect_err("short row");
    assert_eq!(
        err,
        SimError::VideoRow {
            line: 3,
            reason: "1 sizes for 2 rungs".into()
        }
    );
    let err = Video::parse("chunk,750kbps,300kbps\n0,10,20\n").expect_err("descending");
    assert_eq!(err.code(), "sim.video_header");
    assert_eq!(Video::parse("chunk,300kbps\n"), Err(SimError::NoChunks));
}

#[test]
fn bad_traces_are_refused_with_the_line() {
    let err = Trace::parse("t", "# c\n0\t1\n0\t2\n").expect_err("time goes back");
    assert_eq!(
        err,
        SimError::TraceLine {
            trace: "t".into(),
            line: 3,
            reason: "times must increase".into()
        }
    );
    let err = Trace::parse("t", "0\tfast\n").expect_err("not a number");
    assert_eq!(err.code(), "sim.trace_line");
    let err = Trace::parse("t", "0\t5\n1\t0\n2\t0\n").expect_err("dead link");
    assert_eq!(err.code(), "sim.unusable_trace");
    let err = Trace::parse("t", "0\t5\n").expect_err("one line");
    assert_eq!(err.code(), "sim.unusable_trace");
}
