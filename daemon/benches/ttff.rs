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
//! Prints one line per run and the medians:
//! `ttff <what> median_ms <ms>` and `ttff ratio <ours/playbin3>`.
//! `cargo xtask bench ttff` builds it in release and runs it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use ottbox_headend::config::{Config as HeadendConfig, Scheme, tiny_ladder};
use ottbox_headend::db::catalog::{self, NewTitle};
use ottbox_headend::ingest::{self, IngestOptions};
use ottbox_headend::server::{self, AppState};
use ottboxd::Core;
use ottboxd::config::{Config, ManifestChoice};

/// Runs per configuration; the median is reported.
const RUNS: usize = 7;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (addr, state) = headend(dir.path()).await;
    let url = format!("http://{addr}");
    let mut figures = Vec::new();
    for (label, manifest) in [
        ("ottbox-hls-cenc", ManifestChoice::Hls),
        ("ottbox-dash-cenc", ManifestChoice::Dash),
    ] {
        let core = logged_in_box(&state, &url, &dir.path().join(label), manifest).await;
        let mut times = Vec::new();
        for run in 0..RUNS {
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

/// Ingests the title (encrypted and clear) and serves the headend.
async fn headend(dir: &Path) -> (SocketAddr, Arc<AppState>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = HeadendConfig {
        data_dir: dir.join("headend"),
        public_url: format!("http://{addr}"),
        ..HeadendConfig::default()
    };
    config.auth.poll_interval_s = 1;
    let state = Arc::new(AppState::open(config).expect("headend"));
    let mezz = dir.join("mezzanine.mp4");
    ottbox_headend::sample::generate(&state.config, 2, 8, &mezz).expect("mezzanine");
    for (id, scheme) in [("ttff-enc", Scheme::Cenc), ("ttff-clear", Scheme::Clear)] {
        let opts = IngestOptions {
            scheme,
            ladder: tiny_ladder(),
            preset: "ultrafast".into(),
            ..IngestOptions::from_config(&state.config, id)
        };
        ingest::ingest(&state.config, &state.db, &state.master, &mezz, &opts).expect("ingest");
    }
    let mut conn = state.db.conn().expect("conn");
    catalog::upsert(
        &mut conn,
        &[NewTitle {
            id: "ttff".into(),
            name: "Time to first frame".into(),
            year: Some(2026),
            genres: "Documentary".into(),
            synopsis: "A bench title.".into(),
            asset_id: Some("ttff-enc".into()),
            tags: Vec::new(),
        }],
    )
    .expect("title");
    ottbox_headend::db::accounts::create(&conn, "bench", false).expect("account");
    ottbox_headend::db::accounts::entitle(&conn, "bench", "*").expect("entitle");
    drop(conn);
    state.refresh_catalog().expect("catalog");
    tokio::spawn(server::serve(
        state.clone(),
        listener,
        std::future::pending(),
    ));
    (addr, state)
}

/// A daemon core, logged in through the device flow (the viewer's
/// approval recorded straight in the headend's database).
async fn logged_in_box(
    state: &AppState,
    url: &str,
    dir: &Path,
    manifest: ManifestChoice,
) -> Arc<Core> {
    let mut config = Config {
        state_dir: dir.to_owned(),
        ..Config::default()
    };
    config.headend.url = url.to_owned();
    config.player.video_sink = "fakesink sync=true".into();
    config.player.audio_sink = "fakesink sync=true".into();
    config.player.manifest = manifest;
    let core = Core::open(&config).expect("core");
    let code = core.account.start_login().await.expect("login");
    let conn = state.db.conn().expect("conn");
    let approved = ottbox_headend::auth::device::decide(
        &conn,
        &code.user_code,
        "bench",
        ottbox_headend::auth::device::Decision::Approve,
    )
    .expect("decide");
    assert!(approved, "the user code was pending");
    let deadline = Instant::now() + Duration::from_secs(20);
    while core.account.access_token().await.is_err() {
        assert!(Instant::now() < deadline, "login did not complete");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    core
}

/// One Play → first frame on our player, milliseconds.
async fn ours(core: &Core) -> f64 {
    let mut status = core.player.subscribe();
    core.player.play("ttff", 0.0).await.expect("Play");
    let ms = loop {
        let s = status.borrow_and_update().clone();
        assert_ne!(s.state, "error", "{}", s.last_error());
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

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
