//! Predictive prefetch: a likely next title starts from memory, and nothing is fetched ahead on a metered link.

use std::time::Duration;

use ottbox_headend::sample;
use ottbox_protocol::dbus::PlayState;
use ottbox_testkit::{
    Bus, Headend, LONG_MEDIA, Viewer, close_to, corner, eventually, player_proxy, session_proxy,
    start_box_with, wait_state,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefetched_title_starts_from_memory_even_with_the_network_just_gone() {
    let (_, title, _, colour) = LONG_MEDIA;
    let mut headend = Headend::builder().media().cdn().start().await;
    let viewer = watched_a_little(&headend, &[]).await;
    let player = viewer.player.clone();
    let resume_at = player.position().await.expect("position");

    // While the box is idle, the title is made ready.
    eventually(30, "the title prefetched", || async {
        let ready = player.prefetched().await.ok()?;
        ready.iter().any(|t| t == title).then_some(())
    })
    .await;

    // The network goes at the instant the viewer presses Play: the CDN
    // and the headend (sessions, licenses) are all gone.
    for edge in ["eu-1", "eu-2"] {
        headend.edge(edge).kill();
    }
    headend.stop().await;
    player.play(title, -1.0).await.expect("Play from memory");
    eventually(10, "the first frame", || async {
        let qoe = player.qoe().await.ok()?;
        (qoe["time_to_first_frame_ms"] >= 0.0).then_some(qoe)
    })
    .await;
    let c = corner(&player).await;
    assert!(close_to(c, sample::palette(colour)), "from memory: {c:?}");
    let at = player.position().await.expect("position");
    assert!(
        (at - resume_at).abs() < 2.5,
        "resumed where it stopped ({resume_at} s): {at} s"
    );
    // The license, the playlists, both init segments and both first
    // segments came from memory.
    let qoe = player.qoe().await.expect("Qoe");
    assert!(qoe["prefetched"] >= 7.0, "{qoe:?}");

    // The network is back: the rest comes from the CDN, to the end.
    for edge in ["eu-1", "eu-2"] {
        headend.edge(edge).restart().expect("edge back");
    }
    headend.restart().await;
    wait_state(&player, PlayState::Ended).await;
    assert_eq!(player.last_error().await.expect("LastError"), "");

    // Logging out forgets what was ready (keys included).
    let conn = viewer.bus.connect().await;
    session_proxy(&conn).await.logout().await.expect("Logout");
    eventually(10, "nothing prefetched", || async {
        player.prefetched().await.ok()?.is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_metered_link_nothing_is_prefetched() {
    let headend = Headend::builder().media().cdn().start().await;
    let viewer = watched_a_little(&headend, &[("OTTBOX_PREFETCH_METERED", "yes")]).await;
    let served = || {
        headend
            .edges
            .iter()
            .map(|e| e.access_log().len())
            .sum::<usize>()
    };
    let before = served();
    // Several rounds' worth of idle time.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        viewer
            .player
            .prefetched()
            .await
            .expect("Prefetched")
            .is_empty()
    );
    assert_eq!(served(), before, "no media fetched while idle");
}

/// Watches `LONG_MEDIA` for a few seconds and stops, on a daemon with
/// predictive prefetch on (and `env`): the title is then first in
/// Continue watching, the likeliest next Play.
async fn watched_a_little(headend: &Headend, env: &[(&str, &str)]) -> Viewer {
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut all = vec![
        ("OTTBOX_PREFETCH_TITLES", "3"),
        ("OTTBOX_PREFETCH_IDLE_S", "0.2"),
    ];
    all.extend_from_slice(env);
    let daemon = start_box_with("hls", headend, &bus, &dir, &all).await;
    let player = player_proxy(&bus.connect().await).await;
    player.play(LONG_MEDIA.1, 0.0).await.expect("Play");
    eventually(20, "4 s in", || async {
        (player.position().await.ok()? >= 4.0).then_some(())
    })
    .await;
    player.stop().await.expect("Stop");
    Viewer::new(player, daemon, bus, dir)
}
