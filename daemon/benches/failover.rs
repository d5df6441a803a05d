//! Failover: what a viewer loses when the CDN edge serving the title dies.
//!
//! A headend runs in process with one encrypted (cenc) title behind two
//! real nginx edges; the box is the daemon's real player (a real `Core`,
//! logged in by device code) with a 6 s buffer target, playing to
//! `fakesink sync=true`. Each run plays the title, kills the serving edge
//! (SIGKILL, connections cut) at a point that moves through a segment from
//! run to run, and measures:
//!
//! - **switch**: the kill → the first download served by the other edge
//!   (this includes waiting for the player's next request: with a full
//!   buffer it has nothing to ask for yet);
//! - **lost**: the download the kill hit, from its failed request to its
//!   arrival from the other edge (what the failover costs the buffer);
//! - **stall**: seconds spent rebuffering from the kill to 3 s after the
//!   switch.
//!
//! Prints one line per run, then `failover <figure> median_ms|max_ms <ms>`.
//! `cargo xtask bench failover` builds it in release and runs it.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::{Asset, TITLE, headend, logged_in_box, median};
use ottbox_headend::cdn_edge::{CdnEdge, EdgeSpec, free_port};
use ottbox_headend::config::{EdgeConfig, Scheme};
use ottbox_protocol::dbus::PlayState;
use ottboxd::Core;
use ottboxd::config::ManifestChoice;
use ottboxd::player::PlayerStatus;

/// Runs; each kills the serving edge once.
const RUNS: usize = 20;
/// The source address of the edges' origin requests: the only one whose
/// `X-Forwarded-For` the headend trusts.
const EDGE_SOURCE: [u8; 4] = [127, 0, 0, 3];

fn main() {
    common::run(bench());
}

async fn bench() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lo = IpAddr::from([127, 0, 0, 1]);
    let ports = [free_port(lo).expect("port"), free_port(lo).expect("port")];
    let names = ["edge-a", "edge-b"];
    let asset = Asset {
        id: "failover-enc",
        scheme: Scheme::Cenc,
    };
    let (addr, state) = headend(dir.path(), 12, &[asset], |config| {
        config.proxy.trusted = vec![
            format!("{}/32", IpAddr::from(EDGE_SOURCE))
                .parse()
                .expect("net"),
        ];
        config.edges = names
            .iter()
            .zip(ports)
            .map(|(name, port)| EdgeConfig {
                name: (*name).to_owned(),
                url: format!("http://127.0.0.1:{port}"),
                regions: vec!["eu".into()],
            })
            .collect();
    })
    .await;
    let mut edges: Vec<CdnEdge> = names
        .iter()
        .zip(ports)
        .map(|(name, port)| {
            let mut spec = EdgeSpec::new(*name, format!("http://{addr}"));
            spec.listen = Some(SocketAddr::new(lo, port));
            spec.proxy_bind = Some(IpAddr::from(EDGE_SOURCE));
            CdnEdge::start(spec).expect("nginx edge (cargo xtask setup installs nginx-light)")
        })
        .collect();
    let url = format!("http://{addr}");
    let core = logged_in_box(
        &state,
        &url,
        &dir.path().join("box"),
        ManifestChoice::Hls,
        |config| config.player.buffer_target_s = 6.0,
    )
    .await;

    let (mut switch, mut lost, mut stall) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS {
        // Kill instants spread over a 2 s segment: mid-download or idle.
        let kill_at = 2.0 + (run % 10) as f64 * 0.2;
        let figures = one_run(&core, &mut edges, kill_at).await;
        println!(
            "failover run {run} kill_at_s {kill_at:.1} switch_ms {:.1} lost_ms {:.1} stall_ms {:.1}",
            figures.0, figures.1, figures.2
        );
        switch.push(figures.0);
        lost.push(figures.1);
        stall.push(figures.2);
    }
    for (what, v) in [("switch", switch), ("lost", lost), ("stall", stall)] {
        let max = v.iter().copied().fold(0.0, f64::max);
        let mut v = v;
        println!("failover {what} median_ms {:.1}", median(&mut v));
        println!("failover {what} max_ms {max:.1}");
    }
}

/// Plays the title, kills the serving edge at `kill_at` seconds and
/// returns (switch, lost, stall) in milliseconds; the edge is back after.
async fn one_run(core: &Core, edges: &mut [CdnEdge], kill_at: f64) -> (f64, f64, f64) {
    let mut status = core.player.subscribe();
    core.player.play(TITLE, 0.0).await.expect("Play");
    let s = until(&mut status, |s| {
        s.state == PlayState::Playing && s.engine.position_s >= kill_at
    })
    .await;
    let serving = edges
        .iter_mut()
        .find(|e| e.name() == s.engine.edge)
        .expect("the serving edge");
    let killed_at = Instant::now();
    serving.kill();
    let before = s.engine.qoe.rebuffer_s;
    let s = until(&mut status, |s| s.engine.qoe.edge_switches >= 1).await;
    let switch_ms = killed_at.elapsed().as_secs_f64() * 1000.0;
    let lost_ms = s.engine.qoe.edge_switch_ms;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = status.borrow().engine.qoe.rebuffer_s;
    core.player.stop().expect("Stop");
    for edge in edges.iter_mut() {
        if !edge.is_running() {
            edge.restart().expect("edge back");
        }
    }
    (switch_ms, lost_ms, (after - before) * 1000.0)
}

/// The first status that satisfies `done`, within 30 s; panics on an error.
async fn until(
    status: &mut tokio::sync::watch::Receiver<PlayerStatus>,
    done: impl Fn(&PlayerStatus) -> bool,
) -> PlayerStatus {
    loop {
        let s = status.borrow_and_update().clone();
        assert_ne!(s.state, PlayState::Error, "{}", s.last_error());
        if done(&s) {
            return s;
        }
        tokio::time::timeout(Duration::from_secs(30), status.changed())
            .await
            .expect("the player moved on within 30 s")
            .expect("player alive");
    }
}
