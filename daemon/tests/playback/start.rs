//! Starting, pausing, seeking and resuming a title, in both schemes and both formats; what stops a title before any media.

use std::time::Duration;

use ottbox_headend::sample;
use ottbox_protocol::dbus::{Error, PlayState};
use ottbox_testkit::{
    Bus, Headend, MEDIA, catalog_proxy, close_to, corner, eventually, player_proxy, playerctl,
    start_box, start_box_with, wait_state,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cenc_over_hls_plays_pauses_seeks_ends_and_resumes_where_it_stopped() {
    let (_, title, _, colour) = MEDIA[0];
    let headend = Headend::builder().media().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = start_box("hls", &headend, &bus, &dir).await;
    let conn = bus.connect().await;
    let player = player_proxy(&conn).await;

    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Playing).await;
    let c = corner(&player).await;
    assert!(
        close_to(c, sample::palette(colour)),
        "corner {c:?}: not decrypted"
    );
    assert!(!player.decoder().await.expect("decoder").is_empty());
    assert!(player.rendition().await.expect("rendition").contains('x'));
    let qoe = player.qoe().await.expect("qoe");
    assert!(qoe["time_to_first_frame_ms"] >= 0.0, "{qoe:?}");

    // MPRIS: playerctl sees the box and pauses it.
    assert_eq!(playerctl(&bus, "status"), "Playing");
    assert!(
        playerctl(&bus, "metadata").contains(title),
        "MPRIS metadata"
    );
    playerctl(&bus, "pause");
    wait_state(&player, PlayState::Paused).await;
    assert_eq!(playerctl(&bus, "status"), "Paused");
    playerctl(&bus, "play");
    wait_state(&player, PlayState::Playing).await;

    // Pause holds the picture still.
    player.pause().await.expect("Pause");
    wait_state(&player, PlayState::Paused).await;
    let held = player.position().await.expect("position");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let later = player.position().await.expect("position");
    assert!((later - held).abs() < 0.1, "paused at {held}, then {later}");
    player.resume().await.expect("Resume");
    wait_state(&player, PlayState::Playing).await;

    // Seek to the last segment: playback goes on from there.
    player.seek(4.2).await.expect("Seek");
    eventually(20, "position past 4 s", || async {
        (player.position().await.ok()? >= 4.0).then_some(())
    })
    .await;
    let c = corner(&player).await;
    assert!(close_to(c, sample::palette(colour)), "after seek: {c:?}");
    wait_state(&player, PlayState::Ended).await;

    // Resume from a saved position: Stop at 3 s, Play from "resume".
    player.play(title, 3.0).await.expect("Play from 3 s");
    wait_state(&player, PlayState::Playing).await;
    player.stop().await.expect("Stop");
    assert_eq!(player.state().await.expect("state"), PlayState::Stopped);
    player
        .play(title, -1.0)
        .await
        .expect("Play from the resume point");
    let start = player.position().await.expect("position");
    assert!(start >= 2.9, "resumed at {start}");
    wait_state(&player, PlayState::Playing).await;
    player.stop().await.expect("Stop");

    // The home screen's Continue watching has the title.
    let catalog = catalog_proxy(&conn).await;
    let home = catalog.home().await.expect("home");
    assert!(
        home.rows
            .iter()
            .any(|r| r.tiles.iter().any(|t| t.id == title && t.progress > 0.0)),
        "continue watching: {:?}",
        home.rows.first()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cbcs_over_dash_plays_decrypted_frames_and_a_preview_is_lowest_rung() {
    let (_, title, _, colour) = MEDIA[1];
    let headend = Headend::builder().media().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = start_box("dash", &headend, &bus, &dir).await;
    let conn = bus.connect().await;
    let player = player_proxy(&conn).await;

    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Playing).await;
    let c = corner(&player).await;
    assert!(
        close_to(c, sample::palette(colour)),
        "corner {c:?}: not decrypted"
    );

    // A preview replaces the playback, muted, at the lowest rung.
    player
        .preview(title, 100, 100, 480, 270)
        .await
        .expect("Preview");
    wait_state(&player, PlayState::Playing).await;
    assert_eq!(player.rendition().await.expect("rendition"), "256x144");
    player.stop().await.expect("Stop");
    assert_eq!(player.state().await.expect("state"), PlayState::Stopped);

    let err = player
        .preview(title, 0, 0, 0, 270)
        .await
        .expect_err("no rectangle");
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_not_licensed_where_the_box_is_is_refused_before_any_media() {
    let (_, title, _, _) = MEDIA[0];
    // The box connects from 127.0.0.1, which this headend places in region
    // "us"; the sample media is licensed in "eu" only.
    let lo = std::net::IpAddr::from([127, 0, 0, 1]);
    let headend = Headend::builder()
        .media()
        .tweak(|c| {
            for region in &mut c.regions {
                region.cidrs.retain(|net| net.addr() != lo);
                if region.name == "us" {
                    region.cidrs.push("127.0.0.1/32".parse().expect("net"));
                }
            }
        })
        .start()
        .await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = start_box("hls", &headend, &bus, &dir).await;
    let conn = bus.connect().await;
    let player = player_proxy(&conn).await;

    let err = player.play(title, 0.0).await.expect_err("refused");
    assert!(matches!(err, Error::RegionBlocked(_)), "{err:?}");
    // Refused by the playback session, so no manifest or segment was ever
    // asked for: the player never left "stopped".
    assert_eq!(player.state().await.expect("state"), PlayState::Stopped);
    assert_eq!(player.position().await.expect("position"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_a_device_certificate_is_required_the_box_enrolls_at_login_and_plays() {
    let (_, title, _, colour) = MEDIA[0];
    let headend = Headend::builder()
        .media()
        .tweak(|c| {
            c.tls.enabled = true;
            c.tls.require_client_cert = true;
        })
        .start()
        .await;
    assert!(headend.url().starts_with("https://"), "{}", headend.url());
    let ca = headend.ca_file().expect("a CA").to_str().expect("utf-8");

    // A box that does not enroll is refused before any media.
    {
        let bus = Bus::open();
        let dir = tempfile::tempdir().expect("tempdir");
        let env = [
            ("OTTBOX_HEADEND_CA_FILE", ca),
            ("OTTBOX_HEADEND_ENROLL", "false"),
        ];
        let _daemon = start_box_with("hls", &headend, &bus, &dir, &env).await;
        let player = player_proxy(&bus.connect().await).await;
        let refused = player.play(title, 0.0).await.expect_err("no certificate");
        assert!(
            refused.to_string().contains("device_certificate_required"),
            "{refused}"
        );
    }

    // The default box enrolls as it signs in, over verified TLS, and its
    // certificate opens the playback session and the license.
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut daemon = start_box_with(
        "hls",
        &headend,
        &bus,
        &dir,
        &[("OTTBOX_HEADEND_CA_FILE", ca)],
    )
    .await;
    let player = player_proxy(&bus.connect().await).await;
    player
        .play(title, 0.0)
        .await
        .expect("Play with the certificate");
    wait_state(&player, PlayState::Playing).await;
    let c = corner(&player).await;
    assert!(close_to(c, sample::palette(colour)), "decrypted: {c:?}");
    player.stop().await.expect("Stop");

    // Once is enough: after a crash the kept certificate still plays.
    daemon.restart().await;
    let player = player_proxy(&bus.connect().await).await;
    player.play(title, 0.0).await.expect("Play after a restart");
    wait_state(&player, PlayState::Playing).await;
    let log = std::fs::read_to_string(daemon.log_path()).expect("log");
    assert_eq!(log.matches("device enrolled").count(), 1, "{log}");
    assert!(!log.contains("PRIVATE KEY"), "the key is never logged");
}
