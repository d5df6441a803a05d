//! Faults a viewer must never see as a crash: broken media, a broken license server, the network gone for a few seconds or a minute.

use std::time::Duration;

use ottbox_headend::sample;
use ottbox_protocol::dbus::{Error, LoginState, PlayState, Player1Proxy};
use ottbox_testkit::{
    Bus, Headend, LONG_MEDIA, LONG_MEDIA_S, MEDIA, close_to, corner, eventually, player_proxy,
    playing_hls, session_proxy, start_box, wait_state,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_media_ends_in_a_clear_error_and_the_daemon_lives_on() {
    let (asset, title, _, _) = MEDIA[0];
    let headend = Headend::builder().media().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = start_box("hls", &headend, &bus, &dir).await;
    let conn = bus.connect().await;
    let player = player_proxy(&conn).await;
    let origin = headend.state.config.origin_dir().join(asset);

    // A segment gone from the origin: 404 after the first segments play.
    let gone = origin.join("video_144p/3.m4s");
    let kept = std::fs::read(&gone).expect("segment");
    std::fs::remove_file(&gone).expect("remove");
    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Error).await;
    let err = player.last_error().await.expect("last error");
    assert!(err.starts_with("media.http_status"), "{err}");
    std::fs::write(&gone, kept).expect("restore");

    // Segment 2 cut short in every rendition (a CDN that lost the end of
    // a file): a clear error, not a hang and not a crash.
    let mut cut = Vec::new();
    for entry in std::fs::read_dir(&origin).expect("origin") {
        let path = entry.expect("entry").path().join("2.m4s");
        if let Ok(whole) = std::fs::read(&path) {
            std::fs::write(&path, &whole[..whole.len() / 2]).expect("truncate");
            cut.push((path, whole));
        }
    }
    assert!(!cut.is_empty(), "segments to cut in {}", origin.display());
    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Error).await;
    let err = player.last_error().await.expect("last error");
    assert!(err.starts_with("media.corrupt"), "{err}");
    for (path, whole) in cut {
        std::fs::write(path, whole).expect("restore");
    }

    // A garbage manifest.
    let master = origin.join("master.m3u8");
    let good = std::fs::read(&master).expect("master");
    std::fs::write(&master, b"<html>502 Bad Gateway</html>").expect("garbage");
    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Error).await;
    let err = player.last_error().await.expect("last error");
    assert!(err.starts_with("manifest."), "{err}");
    std::fs::write(&master, good).expect("restore");

    // A key the license server does not know: the box asks for the
    // manifest's KID and is refused before any media segment.
    let conn_db = headend.state.db.conn().expect("conn");
    conn_db
        .execute(
            "UPDATE content_keys SET kid = randomblob(16) WHERE asset_id = ?1",
            [asset],
        )
        .expect("scramble kid");
    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Error).await;
    let err = player.last_error().await.expect("last error");
    assert!(err.starts_with("license."), "{err}");

    // The daemon is alive and well.
    let session = session_proxy(&conn).await;
    assert_eq!(session.state().await.expect("state"), LoginState::LoggedIn);
    let err = player.seek(-1.0).await.expect_err("negative seek");
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_license_server_error_is_a_clear_license_error_and_the_next_play_works() {
    let (asset, title, _, _) = MEDIA[0];
    let headend = Headend::builder().media().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = start_box("hls", &headend, &bus, &dir).await;
    let player = player_proxy(&bus.connect().await).await;

    // The key store is damaged: the license server cannot unseal the key
    // and answers 500.
    let db = headend.state.db.conn().expect("conn");
    let sealed: Vec<u8> = db
        .query_row(
            "SELECT sealed FROM content_keys WHERE asset_id = ?1",
            [asset],
            |r| r.get(0),
        )
        .expect("sealed key");
    db.execute(
        "UPDATE content_keys SET sealed = x'00' WHERE asset_id = ?1",
        [asset],
    )
    .expect("damage");
    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Error).await;
    let err = player.last_error().await.expect("last error");
    assert!(err.starts_with("license."), "{err}");

    // Repaired, the same title plays.
    db.execute(
        "UPDATE content_keys SET sealed = ?2 WHERE asset_id = ?1",
        (asset, sealed.as_slice()),
    )
    .expect("repair");
    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Playing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_outage_inside_the_buffer_is_not_even_a_stall() {
    let (_, title, _, colour) = LONG_MEDIA;
    let mut headend = Headend::builder().media().cdn().start().await;
    // 16 s of buffer: a 10 s outage leaves some to spare.
    let viewer = playing_hls(&headend, title, 16).await;
    let player = viewer.player.clone();
    eventually(10, "15 s buffered", || async {
        (player.buffer().await.ok()? >= 15.0).then_some(())
    })
    .await;

    for edge in ["eu-1", "eu-2"] {
        headend.edge(edge).kill();
    }
    stays_playing(&player, 10, "with the network gone").await;
    for edge in ["eu-1", "eu-2"] {
        headend.edge(edge).restart().expect("edge back");
    }
    let c = corner(&player).await;
    assert!(
        close_to(c, sample::palette(colour)),
        "after the outage: {c:?}"
    );
    wait_state(&player, PlayState::Ended).await;
    assert!(player.position().await.expect("position") >= f64::from(LONG_MEDIA_S) - 0.1);
    let qoe = player.qoe().await.expect("Qoe");
    assert_eq!(qoe["rebuffers"], 0.0, "{qoe:?}");
    assert_eq!(player.last_error().await.expect("LastError"), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_gone_for_a_minute_is_a_stall_and_playback_goes_on_by_itself() {
    // The thirty-second title: with the six-second one, a loaded machine
    // could show the first picture so late that the last segment was
    // already in, and the title ended instead of stalling.
    let (_, title, _, colour) = LONG_MEDIA;
    // The media comes through two nginx edges: both killed is the network
    // gone (their connections drop, new ones are refused).
    let mut headend = Headend::builder().media().cdn().start().await;
    // A one-second buffer, so that a few seconds without network drain it.
    let viewer = playing_hls(&headend, title, 1).await;
    let player = viewer.player.clone();
    eventually(10, "the title's picture", || async {
        close_to(corner(&player).await, sample::palette(colour)).then_some(())
    })
    .await;

    for edge in ["eu-1", "eu-2"] {
        headend.edge(edge).kill();
    }
    // The buffer runs out: a stall, not an error (wait_state fails on one),
    // and it stays a stall for the minute the network is gone.
    wait_state(&player, PlayState::Buffering).await;
    let stalled_at = player.position().await.expect("position");
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(player.state().await.expect("state"), PlayState::Buffering);
    }
    let end = f64::from(LONG_MEDIA_S);
    assert!(stalled_at < end, "stalled at {stalled_at} s of {end}");

    // The network is back: playback goes on by itself, to the end (the
    // rest of the title takes as long to play as it runs).
    for edge in ["eu-1", "eu-2"] {
        headend.edge(edge).restart().expect("edge back");
    }
    wait_state(&player, PlayState::Playing).await;
    eventually(
        2 * u64::from(LONG_MEDIA_S),
        "the end of the title",
        || async { (player.state().await.ok()? == PlayState::Ended).then_some(()) },
    )
    .await;
    assert!(player.position().await.expect("position") >= end - 0.1);
}

/// Samples the player's state every 100 ms for `secs` seconds; panics on
/// any state but `playing`.
async fn stays_playing(player: &Player1Proxy<'_>, secs: u64, during: &str) {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        let state = player.state().await.expect("state");
        let at = player.position().await.expect("position");
        assert_eq!(state, PlayState::Playing, "{during}, at {at:.1} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
