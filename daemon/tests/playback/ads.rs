//! Ads: breaks before, during and after the title, tracked once each, a broken ad skipped, none for an ad-free viewer.

use std::time::Duration;

use ottbox_headend::sample;
use ottbox_protocol::dbus::{Error, PlayState, Player1Proxy};
use ottbox_testkit::{
    AD_ASSET, Bus, Headend, MEDIA, beacons, close_to, corner, eventually, player_proxy, start_box,
    wait_state,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ads_play_before_half_way_through_and_after_the_title_and_are_tracked() {
    let (_, title, _, colour) = MEDIA[0];
    let headend = Headend::builder()
        .media()
        .tweak(ottbox_testkit::ads)
        .start()
        .await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = start_box("hls", &headend, &bus, &dir).await;
    let player = player_proxy(&bus.connect().await).await;

    player.play(title, 0.0).await.expect("Play");
    wait_break(&player, "preroll").await;
    assert_eq!(player.title().await.expect("title"), title);
    assert_eq!(
        (
            player.ad_index().await.expect("index"),
            player.ad_count().await.expect("count")
        ),
        (1, 1)
    );
    // The ad is on screen, and the viewer cannot seek past it.
    eventually(10, "the ad's picture", || async {
        let c = corner(&player).await;
        let still = player.ad_break().await.ok()? == "preroll";
        (still && close_to(c, sample::AD_PALETTE[0])).then_some(())
    })
    .await;
    let refused = player.seek(4.0).await.expect_err("a seek during an ad");
    assert!(matches!(refused, Error::AdPlaying(_)), "{refused:?}");
    assert!(
        player.position().await.expect("position") < 0.1,
        "the title's position"
    );
    // MPRIS clients grey out their seek bar for it.
    assert!(!mpris_can_seek(&bus).await, "CanSeek during the pre-roll");

    wait_break(&player, "").await;
    assert!(mpris_can_seek(&bus).await, "CanSeek in the title");
    let c = corner(&player).await;
    assert!(
        close_to(c, sample::palette(colour)),
        "the title after the pre-roll: {c:?}"
    );

    // Half way through the six-second title: the mid-roll, with the
    // title's position held at the cue point.
    wait_break(&player, "midroll-1").await;
    let at = player.position().await.expect("position");
    assert!((2.9..3.6).contains(&at), "mid-roll at {at} s");
    wait_break(&player, "").await;
    assert!(player.position().await.expect("position") >= 2.9);

    wait_break(&player, "postroll").await;
    wait_state(&player, PlayState::Ended).await;
    assert_eq!(player.ad_break().await.expect("break"), "");

    let got = beacons_of(
        &headend,
        &[("preroll", 6), ("midroll-1", 6), ("postroll", 6)],
    )
    .await;
    for (b, events) in got {
        assert_eq!(events, WATCHED, "beacons of {b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_ad_is_skipped_and_seeking_over_a_mid_roll_plays_it_first() {
    let (_, title, _, colour) = MEDIA[0];
    // Creatives are dealt in turn: the pre-roll and the post-roll get the
    // broken one, the mid-roll the good one.
    let headend = Headend::builder()
        .media()
        .tweak(|c| {
            ottbox_testkit::ads(c);
            c.ads.creatives = vec!["ad-broken".into(), AD_ASSET.into()];
        })
        .start()
        .await;
    {
        use ottbox_headend::db::assets;
        let asset = assets::Asset {
            id: "ad-broken".into(),
            scheme: "clear".into(),
            duration_s: 2.0,
            hls_path: "ad-broken/master.m3u8".into(),
            dash_path: None,
        };
        let mut conn = headend.state.db.conn().expect("conn");
        assets::replace(&mut conn, &asset, &[], &[], &[]).expect("asset");
    }
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = start_box("hls", &headend, &bus, &dir).await;
    let player = player_proxy(&bus.connect().await).await;

    player.play(title, 0.0).await.expect("Play");
    wait_break(&player, "").await;
    assert!(
        player.position().await.expect("position") < 2.5,
        "the title from its start"
    );
    let c = corner(&player).await;
    assert!(
        close_to(c, sample::palette(colour)),
        "the title, its pre-roll skipped: {c:?}"
    );

    player.seek(4.0).await.expect("Seek");
    wait_break(&player, "midroll-1").await;
    wait_break(&player, "").await;
    let from = player.position().await.expect("position");
    assert!(
        from >= 3.9,
        "after the mid-roll, the title goes on from the seek target: {from}"
    );
    wait_state(&player, PlayState::Ended).await;

    let got = beacons_of(
        &headend,
        &[("preroll", 1), ("midroll-1", 6), ("postroll", 1)],
    )
    .await;
    assert_eq!(got[0].1, ["error"], "the broken pre-roll");
    assert_eq!(got[1].1, WATCHED, "the mid-roll");
    assert_eq!(got[2].1, ["error"], "the broken post-roll");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ad_free_viewer_sees_the_title_and_no_ads() {
    let (_, title, _, colour) = MEDIA[0];
    let headend = Headend::builder()
        .media()
        .tweak(ottbox_testkit::ads)
        .start()
        .await;
    let conn = headend.state.db.conn().expect("conn");
    ottbox_headend::db::accounts::create(&conn, "viewer", true).expect("ad-free");
    drop(conn);
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = start_box("hls", &headend, &bus, &dir).await;
    let player = player_proxy(&bus.connect().await).await;

    player.play(title, 0.0).await.expect("Play");
    // The title's own picture first, no pre-roll's.
    eventually(10, "the title's picture", || async {
        close_to(corner(&player).await, sample::palette(colour)).then_some(())
    })
    .await;
    // Watched to the end, the ad state looked at ten times a second.
    let mut breaks = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while player.state().await.expect("state") != PlayState::Ended {
        assert!(
            std::time::Instant::now() < deadline,
            "the title never ended"
        );
        let b = player.ad_break().await.expect("ad break");
        if !b.is_empty() {
            breaks.push(b);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        breaks.is_empty(),
        "ad breaks for an ad-free viewer: {breaks:?}"
    );
    assert!(beacons(&headend).is_empty(), "no ad was tracked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beacons_whose_replies_were_lost_survive_a_reboot_and_are_counted_once() {
    let (_, title, _, _) = MEDIA[0];
    let headend = Headend::builder()
        .media()
        .cdn()
        .links()
        .tweak(ottbox_testkit::ads)
        .start()
        .await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut daemon = start_box("hls", &headend, &bus, &dir).await;
    let player = player_proxy(&bus.connect().await).await;

    // Through the whole pre-roll the ad server gets each request the box
    // sends, and the box never gets an answer: the impression is counted
    // at the server and still owed on the box, with everything after it.
    headend.link("ads").lose_replies(true);
    player.play(title, 0.0).await.expect("Play");
    wait_break(&player, "preroll").await;
    eventually(20, "the impression at the ad server", || async {
        (beacons(&headend).first()? == &("preroll".to_owned(), "impression".to_owned()))
            .then_some(())
    })
    .await;
    wait_break(&player, "").await;

    // The box loses power with the beacons owed; the replies come back
    // with it, and it sends them all again, the impression included.
    daemon.kill9();
    headend.link("ads").lose_replies(false);
    daemon.restart().await;
    let got = beacons_of(&headend, &[("preroll", WATCHED.len())]).await;
    assert_eq!(
        got,
        [("preroll".to_owned(), WATCHED.map(String::from).to_vec())]
    );
    // Counted once: nothing more of the pre-roll arrives later (a
    // mid-roll the title reached before the power went may).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let preroll: Vec<_> = beacons(&headend)
        .into_iter()
        .filter(|(b, _)| b == "preroll")
        .collect();
    assert_eq!(preroll.len(), WATCHED.len(), "{preroll:?}");
}

/// The beacons of one ad played to its end, in the order VAST wants them.
const WATCHED: [&str; 6] = [
    "impression",
    "start",
    "firstQuartile",
    "midpoint",
    "thirdQuartile",
    "complete",
];

/// MPRIS `CanSeek`, as a desktop media applet reads it.
async fn mpris_can_seek(bus: &Bus) -> bool {
    let conn = bus.connect().await;
    let props = zbus::fdo::PropertiesProxy::builder(&conn)
        .destination("org.mpris.MediaPlayer2.ottbox")
        .path("/org/mpris/MediaPlayer2")
        .build()
        .await
        .expect("properties proxy");
    let name =
        zbus::names::InterfaceName::try_from("org.mpris.MediaPlayer2.Player").expect("iface");
    let value = props.get(name, "CanSeek").await.expect("CanSeek");
    bool::try_from(value).expect("a boolean")
}

/// Waits for the ad break on screen to be `want` ("" for none) and the
/// player to be playing.
async fn wait_break(player: &Player1Proxy<'_>, want: &str) {
    eventually(30, &format!("ad break {want:?} playing"), || async {
        let state = player.state().await.ok()?;
        assert_ne!(
            state,
            PlayState::Error,
            "{}",
            player.last_error().await.unwrap_or_default()
        );
        let on = player.ad_break().await.ok()?;
        (on == want && state == PlayState::Playing).then_some(())
    })
    .await;
}

/// The beacons of each break, once `breaks` have all arrived.
async fn beacons_of(headend: &Headend, breaks: &[(&str, usize)]) -> Vec<(String, Vec<String>)> {
    let expected: usize = breaks.iter().map(|(_, n)| n).sum();
    let all = eventually(20, "every beacon at the ad server", || async {
        let all = beacons(headend);
        (all.len() >= expected).then_some(all)
    })
    .await;
    breaks
        .iter()
        .map(|(b, _)| {
            let events = all
                .iter()
                .filter(|(id, _)| id == b)
                .map(|(_, e)| e.clone())
                .collect();
            ((*b).to_owned(), events)
        })
        .collect()
}
