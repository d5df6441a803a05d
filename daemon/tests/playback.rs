//! Playback through D-Bus, as the UI drives it: the real `ottboxd`, a
//! private dbus-daemon, a headend serving real encrypted media (ffmpeg +
//! Shaka Packager, cenc and cbcs), real GStreamer decoding to a fakesink
//! that keeps its last picture.
//!
//! Proof of decryption is the picture: `Player1.Snapshot` returns the
//! frame on screen and its corner must be the title's palette colour,
//! which only correctly decrypted and decoded video has.

mod common;

use std::time::Duration;

use common::{
    AD_ASSET, Bus, Daemon, Headend, LONG_MEDIA, LONG_MEDIA_S, LONG_MEDIA_SUBTITLES, MEDIA, beacons,
    catalog_proxy, eventually, log_in, player_proxy, session_proxy,
};
use ottbox_headend::sample;
use ottbox_protocol::dbus::{Error, LoginState, PlayState, Player1Proxy};

/// Starts a headend with media, a daemon playing to fakesinks with `manifest`,
/// and logs in.
async fn setup(manifest: &str, headend: &Headend, bus: &Bus, dir: &tempfile::TempDir) -> Daemon {
    setup_with(manifest, headend, bus, dir, &[]).await
}

/// [`setup`] with more environment for the daemon.
async fn setup_with(
    manifest: &str,
    headend: &Headend,
    bus: &Bus,
    dir: &tempfile::TempDir,
    env: &[(&str, &str)],
) -> Daemon {
    let mut all = vec![
        ("OTTBOX_PLAYER_VIDEO_SINK", "fakesink sync=true"),
        ("OTTBOX_PLAYER_AUDIO_SINK", "fakesink sync=true"),
        ("OTTBOX_PLAYER_MANIFEST", manifest),
    ];
    all.extend_from_slice(env);
    let daemon = Daemon::start_with(bus, &headend.url(), &dir.path().join("state"), &all).await;
    log_in(&bus.connect().await, headend).await;
    daemon
}

/// A viewer watching a title: the daemon, its bus and state directory
/// live as long as this.
struct Viewer {
    player: Player1Proxy<'static>,
    _daemon: Daemon,
    bus: Bus,
    _dir: tempfile::TempDir,
}

impl Viewer {
    /// The private bus, for command-line tools.
    fn bus_address(&self) -> String {
        self.bus.address.clone()
    }
}

/// Starts a daemon playing HLS with a buffer target of `buffer_s`
/// seconds, logs in, plays `title` from its start and waits until it
/// plays.
async fn playing_hls(headend: &Headend, title: &str, buffer_s: u32) -> Viewer {
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let target = buffer_s.to_string();
    let daemon = setup_with(
        "hls",
        headend,
        &bus,
        &dir,
        &[("OTTBOX_PLAYER_BUFFER_TARGET_S", &target)],
    )
    .await;
    let player = player_proxy(&bus.connect().await).await;
    player.play(title, 0.0).await.expect("Play");
    wait_state(&player, PlayState::Playing).await;
    Viewer {
        player,
        _daemon: daemon,
        bus,
        _dir: dir,
    }
}

async fn wait_state(player: &Player1Proxy<'_>, want: PlayState) {
    eventually(30, want.as_str(), || async {
        let state = player.state().await.ok()?;
        assert!(
            state != PlayState::Error || want == PlayState::Error,
            "playback failed: {}",
            player.last_error().await.unwrap_or_default()
        );
        (state == want).then_some(())
    })
    .await;
}

/// The (4, 4) pixel of the picture on screen, once there is one (right
/// after a seek, the new pipeline may not have shown its first yet).
async fn corner(player: &Player1Proxy<'_>) -> [u8; 3] {
    let (width, height, rgb) =
        eventually(10, "a picture", || async { player.snapshot().await.ok() }).await;
    assert_eq!(rgb.len(), (width * height * 3) as usize);
    let i = (4 * width as usize + 4) * 3;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// Runs `playerctl --player=ottbox <command>` against the test bus, as a
/// desktop's media keys would; returns its output.
fn playerctl(bus: &Bus, command: &str) -> String {
    let out = std::process::Command::new("playerctl")
        .args(["--player=ottbox", command])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .expect("playerctl (cargo xtask setup installs it)");
    assert!(
        out.status.success(),
        "playerctl {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn close_to(c: [u8; 3], want: [u8; 3]) -> bool {
    (0..3).all(|i| (i32::from(c[i]) - i32::from(want[i])).abs() <= 24)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cenc_over_hls_plays_pauses_seeks_ends_and_resumes_where_it_stopped() {
    let (_, title, _, colour) = MEDIA[0];
    let headend = Headend::start_with_media(|_| {}).await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = setup("hls", &headend, &bus, &dir).await;
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
    let headend = Headend::start_with_media(|_| {}).await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = setup("dash", &headend, &bus, &dir).await;
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
async fn broken_media_ends_in_a_clear_error_and_the_daemon_lives_on() {
    let (asset, title, _, _) = MEDIA[0];
    let headend = Headend::start_with_media(|_| {}).await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = setup("hls", &headend, &bus, &dir).await;
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
async fn killing_the_edge_mid_playback_moves_to_the_next_and_the_title_plays_to_the_end() {
    let (_, title, _, colour) = MEDIA[0];
    let mut headend = Headend::start_with_media_and_cdn(|_| {}).await;
    // A 2 s buffer target: most segments are still to fetch when the edge
    // dies (with the default 30 s the whole title would already be in).
    let viewer = playing_hls(&headend, title, 2).await;
    let player = viewer.player.clone();
    assert_eq!(
        player.edge().await.expect("Edge"),
        "eu-1",
        "127.0.0.1 is in eu"
    );
    headend.edge("eu-1").kill();

    // The viewer sees nothing: the picture goes on from segments eu-2
    // serves, with no error, to the end.
    eventually(20, "position past 3 s", || async {
        (player.position().await.ok()? >= 3.0).then_some(())
    })
    .await;
    let c = corner(&player).await;
    assert!(
        close_to(c, sample::palette(colour)),
        "after failover: {c:?}"
    );
    wait_state(&player, PlayState::Ended).await;
    assert_eq!(player.last_error().await.expect("LastError"), "");
    assert_eq!(player.edge().await.expect("Edge"), "eu-2");
    let qoe = player.qoe().await.expect("Qoe");
    assert_eq!(qoe["edge_switches"], 1.0, "{qoe:?}");

    // Both edges logged CMCD: the session, the title, what each object is.
    let before = headend.edge("eu-1").access_log();
    let after = headend.edge("eu-2").access_log();
    let segments = |log: &[ottbox_headend::cdn_edge::AccessLogEntry]| {
        log.iter()
            .filter(|e| e.status == 200 && e.cmcd_keys().iter().any(|k| k == "ot=v"))
            .count()
    };
    assert!(segments(&before) >= 1, "eu-1 served the start: {before:?}");
    assert!(segments(&after) >= 1, "eu-2 served the rest: {after:?}");
    let first = before
        .first()
        .expect("eu-1 served the manifest")
        .cmcd_keys();
    for key in ["ot=m", "su", "sf=h", &format!("cid=\"{title}\"")] {
        assert!(first.iter().any(|k| k == key), "{key} in {first:?}");
    }
    let sid = |e: &ottbox_headend::cdn_edge::AccessLogEntry| {
        e.cmcd_keys().into_iter().find(|k| k.starts_with("sid="))
    };
    assert!(sid(&before[0]).is_some());
    assert_eq!(
        sid(&before[0]),
        after.iter().find_map(sid),
        "one session id across edges"
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ads_play_before_half_way_through_and_after_the_title_and_are_tracked() {
    let (_, title, _, colour) = MEDIA[0];
    let headend = Headend::start_with_media(common::ads).await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = setup("hls", &headend, &bus, &dir).await;
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
    let headend = Headend::start_with_media(|c| {
        common::ads(c);
        c.ads.creatives = vec!["ad-broken".into(), AD_ASSET.into()];
    })
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
    let _daemon = setup("hls", &headend, &bus, &dir).await;
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
async fn a_title_not_licensed_where_the_box_is_is_refused_before_any_media() {
    let (_, title, _, _) = MEDIA[0];
    // The box connects from 127.0.0.1, which this headend places in region
    // "us"; the sample media is licensed in "eu" only.
    let lo = std::net::IpAddr::from([127, 0, 0, 1]);
    let headend = Headend::start_with_media(|c| {
        for region in &mut c.regions {
            region.cidrs.retain(|net| net.addr() != lo);
            if region.name == "us" {
                region.cidrs.push("127.0.0.1/32".parse().expect("net"));
            }
        }
    })
    .await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = setup("hls", &headend, &bus, &dir).await;
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
async fn an_ad_free_viewer_sees_the_title_and_no_ads() {
    let (_, title, _, colour) = MEDIA[0];
    let headend = Headend::start_with_media(common::ads).await;
    let conn = headend.state.db.conn().expect("conn");
    ottbox_headend::db::accounts::create(&conn, "viewer", true).expect("ad-free");
    drop(conn);
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = setup("hls", &headend, &bus, &dir).await;
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
async fn the_network_gone_for_a_minute_is_a_stall_and_playback_goes_on_by_itself() {
    // The thirty-second title: with the six-second one, a loaded machine
    // could show the first picture so late that the last segment was
    // already in, and the title ended instead of stalling.
    let (_, title, _, colour) = LONG_MEDIA;
    // The media comes through two nginx edges: both killed is the network
    // gone (their connections drop, new ones are refused).
    let mut headend = Headend::start_with_media_and_cdn(|_| {}).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_license_server_error_is_a_clear_license_error_and_the_next_play_works() {
    let (asset, title, _, _) = MEDIA[0];
    let headend = Headend::start_with_media(|_| {}).await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = setup("hls", &headend, &bus, &dir).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_outage_inside_the_buffer_is_not_even_a_stall() {
    let (_, title, _, colour) = LONG_MEDIA;
    let mut headend = Headend::start_with_media_and_cdn(|_| {}).await;
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
async fn an_edge_slowed_to_a_tenth_is_left_for_the_next_without_a_stall() {
    let (_, title, _, colour) = LONG_MEDIA;
    // 8 Mbit/s links, each edge its own: about seven times the top rung.
    const RATE: u64 = 1_000_000;
    let headend = Headend::start_with_media_and_links(|_| {}).await;
    for edge in ["eu-1", "eu-2"] {
        headend.link(edge).set_rate(Some(RATE));
    }
    let viewer = playing_hls(&headend, title, 8).await;
    let player = viewer.player.clone();
    // A few segments at the full rate: what eu-1 is measured against.
    eventually(10, "8 s buffered", || async {
        (player.buffer().await.ok()? >= 7.5).then_some(())
    })
    .await;
    assert_eq!(player.edge().await.expect("Edge"), "eu-1");

    // eu-1 slows to a tenth, connections kept: no error tells the box.
    headend.link("eu-1").set_rate(Some(RATE / 10));
    eventually(30, "the box on eu-2", || async {
        let state = player.state().await.ok()?;
        assert_eq!(state, PlayState::Playing, "while eu-1 is slow");
        (player.edge().await.ok()? == "eu-2").then_some(())
    })
    .await;
    let c = corner(&player).await;
    assert!(close_to(c, sample::palette(colour)), "on eu-2: {c:?}");
    wait_state(&player, PlayState::Ended).await;
    let qoe = player.qoe().await.expect("Qoe");
    assert_eq!(qoe["rebuffers"], 0.0, "{qoe:?}");
    assert!(qoe["edge_switches"] >= 1.0, "{qoe:?}");
    assert_eq!(player.last_error().await.expect("LastError"), "");
}

/// The height of a `WIDTHxHEIGHT` rendition (0 when there is none).
fn height(rendition: &str) -> u32 {
    rendition
        .split_once('x')
        .and_then(|(_, h)| h.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_link_moves_down_the_ladder_and_back_up_without_a_stall() {
    let (_, title, _, colour) = LONG_MEDIA;
    let headend = Headend::start_with_media_and_links(|_| {}).await;
    // The viewer's own line, so both edges alike: 8 Mbit/s, then 800
    // kbit/s (under the 720p variant's 1,328), then back.
    let set_rate = |rate: u64| {
        for edge in ["eu-1", "eu-2"] {
            headend.link(edge).set_rate(Some(rate));
        }
    };
    set_rate(1_000_000);
    let viewer = playing_hls(&headend, title, 8).await;
    let player = viewer.player.clone();
    eventually(10, "the top rung", || async {
        (player.rendition().await.ok()? == "1280x720").then_some(())
    })
    .await;
    // The promise is for a box with some buffer: it moves down before
    // that buffer runs out. A top-rung segment in flight when the line
    // slows takes 3.3 s to arrive (2 s of 1,328 kbit/s at 800), and the
    // top rung can be reached with less than that buffered (sooner still
    // on a loaded machine): wait for it rather than assume it.
    eventually(30, "4.5 s buffered", || async {
        (player.buffer().await.ok()? >= 4.5).then_some(())
    })
    .await;

    set_rate(100_000);
    let low = eventually(20, "a lower rung", || async {
        assert_eq!(
            player.state().await.ok()?,
            PlayState::Playing,
            "on the slow line"
        );
        let rendition = player.rendition().await.ok()?;
        (rendition != "1280x720").then_some(rendition)
    })
    .await;
    let c = corner(&player).await;
    assert!(close_to(c, sample::palette(colour)), "at {low}: {c:?}");

    // Back up: a higher rung than the low one (the top again needs more
    // of the 30 s title left than a loaded machine may leave).
    set_rate(1_000_000);
    eventually(20, "a higher rung again", || async {
        (height(&player.rendition().await.ok()?) > height(&low)).then_some(())
    })
    .await;
    wait_state(&player, PlayState::Ended).await;
    let qoe = player.qoe().await.expect("Qoe");
    assert!(qoe["switches"] >= 2.0, "{qoe:?}");
    assert_eq!(qoe["rebuffers"], 0.0, "{qoe:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beacons_whose_replies_were_lost_survive_a_reboot_and_are_counted_once() {
    let (_, title, _, _) = MEDIA[0];
    let headend = Headend::start_with_media_and_links(common::ads).await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut daemon = setup("hls", &headend, &bus, &dir).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_switches_to_the_french_dub_mid_title_and_the_box_remembers() {
    let (_, title, _, colour) = LONG_MEDIA;
    let headend = Headend::start_with_media_and_cdn(|_| {}).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webvtt_subtitles_come_on_in_a_language_follow_the_picture_and_go_off() {
    let (_, title, _, _) = LONG_MEDIA;
    let headend = Headend::start_with_media(|_| {}).await;
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
    let headend = Headend::start_with_media(|_| {}).await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = setup("dash", &headend, &bus, &dir).await;
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
    let daemon = setup_with("hls", headend, &bus, &dir, &all).await;
    let player = player_proxy(&bus.connect().await).await;
    player.play(LONG_MEDIA.1, 0.0).await.expect("Play");
    eventually(20, "4 s in", || async {
        (player.position().await.ok()? >= 4.0).then_some(())
    })
    .await;
    player.stop().await.expect("Stop");
    Viewer {
        player,
        _daemon: daemon,
        bus,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefetched_title_starts_from_memory_even_with_the_network_just_gone() {
    let (_, title, _, colour) = LONG_MEDIA;
    let mut headend = Headend::start_with_media_and_cdn(|_| {}).await;
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
    let headend = Headend::start_with_media_and_cdn(|_| {}).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_a_device_certificate_is_required_the_box_enrolls_at_login_and_plays() {
    let (_, title, _, colour) = MEDIA[0];
    let headend = Headend::start_with_media(|c| {
        c.tls.enabled = true;
        c.tls.require_client_cert = true;
    })
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
        let _daemon = setup_with("hls", &headend, &bus, &dir, &env).await;
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
    let mut daemon = setup_with(
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
