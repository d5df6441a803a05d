//! Time to first frame: Play → the first decoded picture at the video
//! sink, on loopback, with the license request included; beside GStreamer's
//! own `playbin3` on the clear version of the same stream, in the same run.
//!
//! A headend runs in process with one synthetic title ingested twice from
//! the same mezzanine: encrypted (cenc) and clear. The box side is the
//! daemon's real player (`ottboxd::player::Player` on a real `Core`, logged
//! in by device code), playing to `fakesink sync=true`; its QoE figure
//! counts from the Play call. `playbin3` gets the clear HLS URL and a
//! fakesink whose first handoff stops its clock.
//!
//! A third configuration plays HLS after predictive prefetch warmed the
//! title (the daemon's prefetcher running, as on an idle box): Play then
//! starts from the session, manifest, license and first segments in
//! memory.
//!
//! Prints one line per run and the medians:
//! `ttff <what> median_ms <ms>` and `ttff ratio <ours/playbin3>`.
//! `cargo xtask bench ttff` builds it in release and runs it.

mod common;

use std::time::{Duration, Instant};

use common::{Asset, TITLE, headend, logged_in_box, median};
use gstreamer as gst;
use gstreamer::prelude::*;
use ottbox_headend::config::Scheme;
use ottbox_protocol::dbus::PlayState;
use ottboxd::Core;
use ottboxd::config::ManifestChoice;

/// Runs per configuration; the median is reported.
const RUNS: usize = 7;

fn main() {
    common::run(bench());
}

async fn bench() {
    let dir = tempfile::tempdir().expect("tempdir");
    let assets = [
        Asset {
            id: "ttff-enc",
            scheme: Scheme::Cenc,
        },
        Asset {
            id: "ttff-clear",
            scheme: Scheme::Clear,
        },
    ];
    let (addr, state) = headend(dir.path(), 8, &assets, |_| {}).await;
    let url = format!("http://{addr}");
    let mut figures = Vec::new();
    for (label, manifest) in [
        ("ottbox-hls-cenc", ManifestChoice::Hls),
        ("ottbox-dash-cenc", ManifestChoice::Dash),
    ] {
        let core = logged_in_box(&state, &url, &dir.path().join(label), manifest, |_| {}).await;
        let mut times = Vec::new();
        for run in 0..RUNS {
            let ms = ours(&core).await;
            println!("ttff {label} run {run} ms {ms:.1}");
            times.push(ms);
        }
        figures.push((label, median(&mut times)));
    }
    {
        let label = "ottbox-hls-cenc-prefetched";
        let core = logged_in_box(
            &state,
            &url,
            &dir.path().join(label),
            ManifestChoice::Hls,
            |c| {
                c.prefetch.idle_s = 0.0;
            },
        )
        .await;
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        tokio::spawn(core.prefetcher.clone().run(shutdown));
        let mut times = Vec::new();
        for run in 0..RUNS {
            warmed(&core).await;
            let ms = ours(&core).await;
            println!("ttff {label} run {run} ms {ms:.1}");
            times.push(ms);
        }
        figures.push((label, median(&mut times)));
    }
    let clear = format!("{url}/origin/ttff-clear/master.m3u8");
    let mut times = Vec::new();
    for run in 0..RUNS {
        let ms = playbin3(&clear);
        println!("ttff playbin3-hls-clear run {run} ms {ms:.1}");
        times.push(ms);
    }
    let reference = median(&mut times);
    for (label, ms) in &figures {
        println!("ttff {label} median_ms {ms:.1}");
    }
    println!("ttff playbin3-hls-clear median_ms {reference:.1}");
    for (label, ms) in &figures {
        println!("ttff ratio {label} {:.2}", ms / reference);
    }
}

/// One Play → first frame on our player, milliseconds.
async fn ours(core: &Core) -> f64 {
    let mut status = core.player.subscribe();
    core.player.play(TITLE, 0.0).await.expect("Play");
    let ms = loop {
        let s = status.borrow_and_update().clone();
        assert_ne!(s.state, PlayState::Error, "{}", s.last_error());
        if let Some(ms) = s.engine.qoe.time_to_first_frame_ms {
            break ms;
        }
        tokio::time::timeout(Duration::from_secs(30), status.changed())
            .await
            .expect("a first frame within 30 s")
            .expect("player alive");
    };
    core.player.stop().expect("Stop");
    ms
}

/// Waits until predictive prefetch has [`TITLE`] ready.
async fn warmed(core: &Core) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while core.player.warm().get(TITLE).is_none() {
        assert!(Instant::now() < deadline, "{TITLE} was never prefetched");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One `playbin3` start → first frame, milliseconds.
fn playbin3(uri: &str) -> f64 {
    gst::init().expect("gstreamer");
    let playbin = gst::ElementFactory::make("playbin3")
        .property("uri", uri)
        .build()
        .expect("playbin3");
    let video = gst::ElementFactory::make("fakesink")
        .property("sync", true)
        .property("signal-handoffs", true)
        .build()
        .expect("fakesink");
    let audio = gst::ElementFactory::make("fakesink")
        .property("sync", true)
        .build()
        .expect("fakesink");
    playbin.set_property("video-sink", &video);
    playbin.set_property("audio-sink", &audio);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Instant>(1);
    video.connect("handoff", false, move |_| {
        let _ = tx.try_send(Instant::now());
        None
    });
    let started = Instant::now();
    playbin.set_state(gst::State::Playing).expect("playing");
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("playbin3 showed a frame");
    playbin.set_state(gst::State::Null).expect("stopped");
    first.duration_since(started).as_secs_f64() * 1000.0
}
