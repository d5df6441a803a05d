//! Audio languages and subtitles: a switch mid-title, remembered; WebVTT cues on time, in HLS and DASH.

use ottbox_headend::sample;
use ottbox_protocol::dbus::{Error, PlayState, Player1Proxy};
use ottbox_testkit::{
    Bus, Headend, LONG_MEDIA, LONG_MEDIA_SUBTITLES, close_to, corner, eventually, player_proxy,
    playing_hls, start_box, wait_state,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_switches_to_the_french_dub_mid_title_and_the_box_remembers() {
    let (_, title, _, colour) = LONG_MEDIA;
    let headend = Headend::builder().media().cdn().start().await;
    let viewer = playing_hls(&headend, title, 8).await;
    let player = viewer.player.clone();
    assert_eq!(
        player.audio_languages().await.expect("languages"),
        ["en", "fr"]
    );
    assert_eq!(player.audio_language().await.expect("language"), "en");
    let refused = player
        .set_audio_language("de")
        .await
        .expect_err("no German");
    assert!(matches!(refused, Error::InvalidArgument(_)), "{refused:?}");

    eventually(10, "2 s in", || async {
        (player.position().await.ok()? >= 2.0).then_some(())
    })
    .await;
    let log_before = headend.edges[0].access_log().len();
    player.set_audio_language("fr").await.expect("French");
    eventually(10, "French on", || async {
        (player.audio_language().await.ok()? == "fr").then_some(())
    })
    .await;
    wait_state(&player, PlayState::Playing).await;
    let at = player.position().await.expect("position");
    assert!(at >= 2.0, "the switch keeps the place: {at}");
    let c = corner(&player).await;
    assert!(
        close_to(c, sample::palette(colour)),
        "after the switch: {c:?}"
    );
    // The French track's segments come in from the switch on.
    let french = |from: usize| {
        headend.edges[0].access_log()[from..]
            .iter()
            .filter(|e| e.status == 200 && e.uri.contains("/audio_fr_1/"))
            .count()
    };
    eventually(10, "French segments fetched", || async {
        (french(log_before) >= 2).then_some(())
    })
    .await;
    assert_eq!(french(0), french(log_before), "none before the switch");

    // The next title starts in French.
    player.stop().await.expect("Stop");
    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Playing).await;
    assert_eq!(player.audio_language().await.expect("language"), "fr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webvtt_subtitles_come_on_in_a_language_follow_the_picture_and_go_off() {
    let (_, title, _, _) = LONG_MEDIA;
    let headend = Headend::builder().media().start().await;
    let viewer = playing_hls(&headend, title, 8).await;
    let player = viewer.player.clone();
    assert_eq!(
        player.subtitle_languages().await.expect("languages"),
        LONG_MEDIA_SUBTITLES
    );
    assert_eq!(
        player.subtitles().await.expect("subtitles"),
        "",
        "off by default"
    );
    let refused = player.set_subtitles("de").await.expect_err("no German");
    assert!(matches!(refused, Error::InvalidArgument(_)), "{refused:?}");

    player.set_subtitles("fr").await.expect("French subtitles");
    eventually(10, "French subtitles on", || async {
        (player.subtitles().await.ok()? == "fr").then_some(())
    })
    .await;
    // Paused, the picture and the text hold still: the cue of that instant.
    player.pause().await.expect("Pause");
    wait_state(&player, PlayState::Paused).await;
    shows_cue_of(&player, Some("fr")).await;
    // A seek brings the cues of the new place.
    player.seek(21.0).await.expect("Seek");
    eventually(10, "at 21 s", || async {
        let at = player.position().await.ok()?;
        (20.9..22.0).contains(&at).then_some(())
    })
    .await;
    shows_cue_of(&player, Some("fr")).await;
    let text = player.subtitle_text().await.expect("text");
    assert_eq!(text, sample::cue_text("fr", 10), "at 21 s");

    // An operator's script turns them off with ottboxctl.
    let ctl = std::process::Command::new(env!("CARGO_BIN_EXE_ottboxctl"))
        .args([
            "--bus-address",
            &viewer.bus_address(),
            "--json",
            "subtitles",
            "off",
        ])
        .output()
        .expect("ottboxctl");
    let out = String::from_utf8_lossy(&ctl.stdout);
    assert!(
        ctl.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&ctl.stderr)
    );
    assert!(out.contains("\"subtitles\":\"\""), "{out}");
    shows_cue_of(&player, None).await;
    assert_eq!(player.subtitles().await.expect("subtitles"), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dash_subtitles_are_offered_and_shown_too() {
    let (_, title, _, _) = LONG_MEDIA;
    let headend = Headend::builder().media().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = start_box("dash", &headend, &bus, &dir).await;
    let player = player_proxy(&bus.connect().await).await;
    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Playing).await;
    assert_eq!(
        player.subtitle_languages().await.expect("languages"),
        LONG_MEDIA_SUBTITLES
    );
    player.set_subtitles("en").await.expect("English subtitles");
    player.pause().await.expect("Pause");
    wait_state(&player, PlayState::Paused).await;
    shows_cue_of(&player, Some("en")).await;
}

/// Waits for the paused player's subtitle text to be the cue of
/// `language` at its position (`""` when `language` is `None`).
async fn shows_cue_of(player: &Player1Proxy<'_>, language: Option<&str>) {
    eventually(10, &format!("the {language:?} cue on screen"), || async {
        let at = player.position().await.ok()?;
        let text = player.subtitle_text().await.ok()?;
        let n = (at / f64::from(sample::CUE_SECONDS)).floor() as u32;
        let want = language.map(|l| sample::cue_text(l, n)).unwrap_or_default();
        (text == want).then_some(())
    })
    .await;
}
