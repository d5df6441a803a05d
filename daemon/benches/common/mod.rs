//! What the playback benches share: an in-process headend with synthetic
//! titles ingested by the real pipeline (ffmpeg + Shaka Packager), and a
//! daemon core logged in to it by device code.

#![allow(dead_code)] // each bench uses its own part of this

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ottbox_headend::config::{Config as HeadendConfig, Scheme, tiny_ladder};
use ottbox_headend::db::catalog::{self, NewTitle};
use ottbox_headend::ingest::{self, IngestOptions};
use ottbox_headend::server::{self, AppState};
use ottboxd::Core;
use ottboxd::config::{Config, ManifestChoice};

/// One asset to ingest from the bench mezzanine.
pub struct Asset {
    /// Asset id (its path on the origin).
    pub id: &'static str,
    pub scheme: Scheme,
}

/// The catalog title the benches play: [`headend`]'s first asset.
pub const TITLE: &str = "bench-title";

/// Ingests `assets` from one `seconds`-long synthetic mezzanine, makes the
/// first of them the catalog title [`TITLE`], creates the entitled account
/// `bench`, lets `tweak` adjust the configuration (CDN edges, say) and
/// serves the headend on a free loopback port.
pub async fn headend(
    dir: &Path,
    seconds: u32,
    assets: &[Asset],
    tweak: impl FnOnce(&mut HeadendConfig),
) -> (SocketAddr, Arc<AppState>) {
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
    tweak(&mut config);
    let state = Arc::new(AppState::open(config).expect("headend"));
    let mezz = dir.join("mezzanine.mp4");
    ottbox_headend::sample::generate(&state.config, 2, seconds, &mezz).expect("mezzanine");
    for asset in assets {
        let opts = IngestOptions {
            scheme: asset.scheme,
            ladder: tiny_ladder(),
            preset: "ultrafast".into(),
            ..IngestOptions::from_config(&state.config, asset.id)
        };
        ingest::ingest(&state.config, &state.db, &state.master, &mezz, &opts).expect("ingest");
    }
    let mut conn = state.db.conn().expect("conn");
    catalog::upsert(
        &mut conn,
        &[NewTitle {
            id: TITLE.into(),
            name: "Bench title".into(),
            year: Some(2026),
            genres: "Documentary".into(),
            synopsis: "A bench title.".into(),
            asset_id: Some(assets[0].id.into()),
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

/// A daemon core playing to `fakesink sync=true`, logged in through the
/// device flow (the viewer's approval recorded straight in the headend's
/// database); `tweak` adjusts its configuration.
pub async fn logged_in_box(
    state: &AppState,
    url: &str,
    dir: &Path,
    manifest: ManifestChoice,
    tweak: impl FnOnce(&mut Config),
) -> Arc<Core> {
    let mut config = Config {
        state_dir: dir.to_owned(),
        ..Config::default()
    };
    config.headend.url = url.to_owned();
    config.player.video_sink = "fakesink sync=true".into();
    config.player.audio_sink = "fakesink sync=true".into();
    config.player.manifest = manifest;
    tweak(&mut config);
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

/// Runs a bench on the runtime the daemon uses: two worker threads.
pub fn run(bench: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(bench);
}

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
