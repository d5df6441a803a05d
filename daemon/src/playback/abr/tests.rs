//! Behaviour of the chooser as a viewer would notice it, in closed loop
//! with a simple link: segments download at the link's rate plus a round
//! trip, the buffer drains meanwhile and is held under 60 s.

use super::*;

const SEGMENT_S: f64 = 4.0;

fn ladder() -> Ladder {
    Ladder::new(vec![
        Rendition::new(400_000, 640, 360),
        Rendition::new(1_000_000, 854, 480),
        Rendition::new(2_500_000, 1280, 720),
        Rendition::new(5_000_000, 1920, 1080),
        Rendition::new(8_000_000, 3840, 2160),
    ])
    .expect("valid ladder")
}

/// Plays `segments` segments over a link of `mbps(n)` Mbit/s for segment
/// `n`; returns the rung of every segment.
fn play(abr: &mut Abr, segments: usize, mbps: impl Fn(usize) -> f64) -> Vec<usize> {
    play_from(abr, &mut 0.0, segments, mbps)
}

/// [`play`] continuing with `buffer` seconds buffered (updated).
fn play_from(
    abr: &mut Abr,
    buffer: &mut f64,
    segments: usize,
    mbps: impl Fn(usize) -> f64,
) -> Vec<usize> {
    let mut rungs = Vec::new();
    // A session already under way continues on its current rung.
    let mut rung = abr.current().unwrap_or_else(|| abr.start());
    for n in 0..segments {
        rungs.push(rung);
        let bytes = abr.ladder().rungs()[rung].bandwidth_bps / 8 * SEGMENT_S as u64;
        let seconds = bytes as f64 * 8.0 / (mbps(n) * 1e6) + 0.05;
        *buffer = (*buffer - seconds).max(0.0) + SEGMENT_S;
        *buffer = buffer.min(60.0); // the scheduler waits when full
        abr.on_download(bytes, seconds);
        rung = abr.choose(*buffer, &Upcoming::nominal(SEGMENT_S));
    }
    rungs
}

fn switches(rungs: &[usize]) -> usize {
    rungs.windows(2).filter(|w| w[0] != w[1]).count()
}

#[test]
fn with_no_history_it_starts_on_the_lowest_rung() {
    let mut abr = Abr::new(ladder(), AbrConfig::default(), None);
    assert_eq!(abr.start(), 0);
}

#[test]
fn with_history_it_starts_under_the_saved_estimate() {
    let mut abr = Abr::new(ladder(), AbrConfig::default(), Some(10e6));
    let rung = abr.start();
    assert!(rung >= 2, "10 Mbit/s last time, but started on {rung}");
    assert!(abr.ladder().rungs()[rung].bandwidth_bps < 10_000_000);
    // A poor network last time: start low.
    let mut abr = Abr::new(ladder(), AbrConfig::default(), Some(1.2e6));
    assert_eq!(abr.start(), 0);
}

#[test]
fn climbs_to_the_top_on_a_fast_link() {
    let mut abr = Abr::new(ladder(), AbrConfig::default(), None);
    let rungs = play(&mut abr, 20, |_| 50.0);
    let top = ladder().len() - 1;
    let first_top = rungs.iter().position(|r| *r == top);
    assert!(
        first_top.is_some_and(|n| n <= 6),
        "took too long to reach the top: {rungs:?}"
    );
    assert!(
        rungs[first_top.unwrap_or(0)..].iter().all(|r| *r == top),
        "{rungs:?}"
    );
}

#[test]
fn never_exceeds_the_display_or_the_user_cap() {
    let mut abr = Abr::new(ladder(), AbrConfig::default(), None);
    abr.set_caps(Caps::none().with_display(1280, 720));
    assert!(play(&mut abr, 30, |_| 50.0).iter().all(|r| *r <= 2));

    let mut abr = Abr::new(ladder(), AbrConfig::default(), Some(50e6));
    abr.set_caps(Caps::none().with_user(UserCap::MaxBandwidth(1_500_000)));
    assert!(play(&mut abr, 30, |_| 50.0).iter().all(|r| *r <= 1));

    let mut abr = Abr::new(ladder(), AbrConfig::default(), Some(50e6));
    abr.set_caps(Caps::none().with_user(UserCap::MaxHeight(1080)));
    let rungs = play(&mut abr, 30, |_| 50.0);
    assert!(rungs.iter().all(|r| *r <= 3));
    assert_eq!(rungs.last(), Some(&3), "should still use what is allowed");
}

#[test]
fn a_tighter_cap_mid_session_applies_to_the_next_segment() {
    let mut abr = Abr::new(ladder(), AbrConfig::default(), None);
    play(&mut abr, 20, |_| 50.0);
    assert_eq!(abr.current(), Some(4));
    abr.set_caps(Caps::none().with_display(854, 480));
    assert_eq!(abr.choose(40.0, &Upcoming::nominal(SEGMENT_S)), 1);
}

#[test]
fn lifting_a_cap_lets_it_climb_at_once() {
    // Capped at the bottom rung on a fast link: the buffer fills up. (A
    // stiffer hysteresis than the default, so that comparing with "switch
    // next time" instead of "stay" would never switch at all.)
    let config = AbrConfig {
        up_hysteresis: 1.5,
        ..AbrConfig::default()
    };
    let mut abr = Abr::new(ladder(), config, None);
    abr.set_caps(Caps::none().with_user(UserCap::MaxBandwidth(500_000)));
    let mut buffer = 0.0;
    let capped = play_from(&mut abr, &mut buffer, 20, |_| 50.0);
    assert!(capped.iter().all(|r| *r == 0));
    assert!(buffer > 50.0);
    abr.set_caps(Caps::none());
    // The next segment already comes from above (no "switch later"
    // procrastination), and the top is reached within a few.
    let rungs = play_from(&mut abr, &mut buffer, 6, |_| 50.0);
    assert!(rungs[1] > 0, "{rungs:?}");
    assert_eq!(rungs.last(), Some(&4), "{rungs:?}");
}

#[test]
fn drops_at_once_when_the_link_collapses() {
    let mut abr = Abr::new(ladder(), AbrConfig::default(), None);
    // 30 segments on a fast link, then 0.8 Mbit/s.
    let rungs = play(&mut abr, 34, |n| if n < 30 { 50.0 } else { 0.8 });
    assert_eq!(rungs[29], 4, "{rungs:?}");
    // The segment fetched right after the first slow download is already
    // one the link can carry, despite a deep buffer.
    assert!(
        rungs[31..].iter().all(|r| *r <= 1),
        "did not drop: {rungs:?}"
    );
}

#[test]
fn settles_on_a_steady_link_between_two_rungs() {
    // 3.5 Mbit/s: 2.5 fits, 5 does not.
    let mut abr = Abr::new(ladder(), AbrConfig::default(), None);
    let rungs = play(&mut abr, 150, |_| 3.5);
    let settled = &rungs[20..];
    assert!(switches(settled) <= 2, "flapping: {rungs:?}");
    // And it settled on a rung the link sustains most of the time.
    let sustainable = settled.iter().filter(|r| **r == 2).count();
    assert!(sustainable * 2 > settled.len(), "{rungs:?}");
}

#[test]
fn does_not_flap_on_a_noisy_link() {
    // ±15 % around 3.5 Mbit/s, alternating every segment.
    let mut abr = Abr::new(ladder(), AbrConfig::default(), None);
    let rungs = play(&mut abr, 150, |n| if n % 2 == 0 { 3.0 } else { 4.0 });
    assert!(switches(&rungs[20..]) <= 4, "flapping: {rungs:?}");
}

#[test]
fn the_exported_estimate_tracks_the_link() {
    let mut abr = Abr::new(ladder(), AbrConfig::default(), None);
    assert_eq!(abr.bandwidth_estimate_bps(), None);
    play(&mut abr, 20, |_| 6.0);
    let bps = abr.bandwidth_estimate_bps().expect("an estimate");
    // Slightly under 6 Mbit/s: each download also pays a round trip.
    assert!(bps > 5.0e6 && bps <= 6.0e6, "{bps}");
    // The next session starting from it picks a rung it can carry.
    let mut next = Abr::new(ladder(), AbrConfig::default(), Some(bps));
    assert_eq!(next.start(), 2);
}

#[test]
fn nonsense_input_gives_a_safe_answer() {
    let mut abr = Abr::new(ladder(), AbrConfig::default(), None);
    abr.start();
    abr.on_download(1_000_000, f64::NAN);
    abr.on_download(1_000_000, -1.0);
    assert_eq!(abr.bandwidth_estimate_bps(), None);
    let upcoming = Upcoming {
        segment_s: f64::NAN,
        segments_left: Some(0),
        sizes: &[],
    };
    assert_eq!(abr.choose(f64::INFINITY, &upcoming), 0);
    abr.on_download(1_000_000, 1.0);
    let rung = abr.choose(f64::NAN, &upcoming);
    assert!(rung < ladder().len());
}

#[test]
fn known_segment_sizes_are_planned_with() {
    // The next segment at rung 3 is announced as twice its nominal size:
    // on a link that carries the nominal size with little to spare and an
    // empty buffer, the chooser must not pick it.
    let mut abr = Abr::new(ladder(), AbrConfig::default(), None);
    play(&mut abr, 30, |_| 6.5);
    let nominal: Vec<u64> = ladder()
        .rungs()
        .iter()
        .map(|r| r.bandwidth_bps / 8 * SEGMENT_S as u64)
        .collect();
    let mut heavy = nominal.clone();
    heavy[3] *= 2;
    heavy[4] *= 2;
    let sizes = vec![heavy; 5];
    let upcoming = Upcoming {
        segment_s: SEGMENT_S,
        segments_left: None,
        sizes: &sizes,
    };
    abr.set_current(3);
    assert!(abr.choose(4.0, &upcoming) <= 2);
}

#[test]
fn a_long_horizon_on_a_tall_ladder_is_cut_to_what_the_box_can_afford() {
    assert_eq!(affordable_horizon(6), 7);
    assert_eq!(affordable_horizon(10), 6);
    assert_eq!(affordable_horizon(1), 19);
    // And a chooser asked for 30 segments of lookahead still answers.
    let config = AbrConfig {
        horizon: 30,
        ..AbrConfig::default()
    };
    let mut abr = Abr::new(ladder(), config, None);
    let rungs = play(&mut abr, 12, |_| 50.0);
    assert_eq!(rungs.last(), Some(&4));
}
