//! The viewer's path through the whole stack, as pixels: the real headend
//! (sample media, nginx CDN edges), a private dbus-daemon, the real
//! `ottboxd` and the real `ottbox-ui` binary, headless on that bus, steered
//! by a key script. It signs in (the test confirms the code shown on the TV
//! on the headend's page, as a phone would), browses home, opens Search and
//! types "soc netw" on the on-screen keyboard, opens the title, plays it,
//! sees the OSD, turns English subtitles on from it and sees them, and goes
//! back. Screenshots taken on the way are compared
//! with the goldens in `tests/golden/` (see `ottbox_e2e::golden`;
//! `OTTBOX_BLESS=1` rewrites them). A second walk checks that the titles
//! the box prefetched while idle carry their mark on the home screen.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ottbox_e2e::golden::{self, Mask, Tolerance};
use ottbox_headend::db::catalog::{self, NewTitle};
use ottbox_testkit::{
    Bus, Daemon, Headend, LONG_MEDIA, eventually, log_in, player_proxy, session_proxy,
};

/// The title the viewer searches for. The test catalog is the first
/// MovieLens titles, which it is not among, so the test adds it, playing
/// the thirty-second sample ([`LONG_MEDIA`]): long enough that it is still
/// playing when the script presses Back.
const SOCIAL_NETWORK: &str = "ml-80463";

/// The keys of the search screen's on-screen keyboard in grid order, and
/// its width (`ottbox_ui::widgets::keyboard`): a..z, 0..9, Space, Del.
const KEYBOARD: &str = "abcdefghijklmnopqrstuvwxyz0123456789 ";
const KEYBOARD_COLS: usize = 6;
const KEYBOARD_KEYS: usize = 38;

/// Arrow and OK presses that type `text` on the on-screen keyboard, focus
/// starting on `a`: a remote has no letters. Moves follow the keyboard
/// grid's rules (a step down into the short last row lands on its last
/// key), so the path is the one a viewer would press.
fn type_on_keyboard(text: &str) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut at = 0usize;
    for c in text.chars() {
        let target = KEYBOARD.find(c).expect("a key for every character");
        while at != target {
            let (row, col) = (at / KEYBOARD_COLS, at % KEYBOARD_COLS);
            let (trow, tcol) = (target / KEYBOARD_COLS, target % KEYBOARD_COLS);
            if row < trow {
                keys.push("down");
                at = (at + KEYBOARD_COLS).min(KEYBOARD_KEYS - 1);
            } else if row > trow {
                keys.push("up");
                at -= KEYBOARD_COLS;
            } else if col < tcol {
                keys.push("right");
                at += 1;
            } else {
                keys.push("left");
                at -= 1;
            }
        }
        keys.push("ok");
    }
    keys
}

/// The whole walk. Every `until:` waits for the daemon's answer to show;
/// every `shot:` waits until the daemon has answered everything asked so
/// far (posters too), then saves the screen.
fn script() -> String {
    let typing = type_on_keyboard("soc netw").join(",");
    format!(
        "# Sign in: the code is on screen; the test confirms it.
         until:\"Sign in to ottbox\" shot:activation
         # Home by itself once confirmed; browse a little, rest for the
         # hero to follow the focus (not long enough for a preview).
         until:\"OK: details\" right right down right wait:300 shot:home
         # Resting longer starts the focused title's preview in the hero.
         wait:1300
         # Up to the header, onto Search.
         up up up ok until:\"Del\"
         {typing}
         until:\"Social Network\" shot:search
         # Off the keyboard's right edge onto the results, first one.
         right right up up ok
         until:\"Tags:\" shot:details
         # Play: the OSD shows the title, the progress and the title's
         # languages (English and French audio and subtitles, these off).
         ok until:\"Playing\" until:\"DOWN subtitles: Off\" shot:osd
         # Down: English subtitles, the daemon's cues on the picture.
         down until:\"DOWN subtitles: English\" until:\"en line\" shot:subtitles
         # Back stops and returns to the details.
         back until:\"Tags:\"
         "
    )
}

/// Adds [`SOCIAL_NETWORK`] to the catalog and the search index.
fn add_social_network(headend: &Headend) {
    let title = NewTitle {
        id: SOCIAL_NETWORK.into(),
        name: "The Social Network".into(),
        year: Some(2010),
        genres: "Drama".into(),
        synopsis: "A drama from 2010. How a website for students became the \
                   social network of the world, and whose idea it was."
            .into(),
        asset_id: Some(LONG_MEDIA.0.into()),
        tags: vec!["good dialogue".into(), "witty".into()],
    };
    let mut conn = headend.state.db.conn().expect("conn");
    catalog::upsert(&mut conn, &[title]).expect("title");
    ottbox_headend::search::rebuild(&conn).expect("index");
    headend.state.search.reload(&conn).expect("vocabulary");
    headend.state.refresh_catalog().expect("refresh");
}

/// What varies from run to run, per screenshot, at 1280×720.
fn masks(shot: &str) -> Vec<Mask> {
    match shot {
        // The user code, the URL (the headend's port) and the QR of both.
        "activation" => vec![
            Mask::new(70, 210, 660, 40),
            Mask::new(70, 300, 660, 60),
            Mask::new(790, 150, 420, 420),
        ],
        // The video's clock and progress, and the rendition, bitrate and
        // buffer, which depend on how fast this machine fetched.
        "osd" => vec![
            Mask::new(30, 610, 1220, 26),
            Mask::new(30, 636, 400, 40),
            Mask::new(800, 636, 460, 40),
        ],
        // The same, and the cue on screen (`en line N`: which N, and so
        // the box's width, depends on when the shot was taken).
        "subtitles" => vec![
            Mask::new(30, 610, 1220, 26),
            Mask::new(30, 636, 400, 40),
            Mask::new(800, 636, 460, 40),
            Mask::new(400, 470, 480, 85),
        ],
        _ => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_signs_in_browses_searches_plays_and_goes_back_on_screen() {
    let started = Instant::now();
    let ui = ottbox_e2e::binary("ottbox-ui");
    // Built now if stale; `common` runs it from the same directory.
    ottbox_e2e::binary("ottboxd");
    let headend = Headend::builder().media().cdn().start().await;
    add_social_network(&headend);
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = Daemon::start_with(
        &bus,
        &headend.url(),
        &dir.path().join("state"),
        &[
            ("OTTBOX_PLAYER_VIDEO_SINK", "fakesink sync=true"),
            ("OTTBOX_PLAYER_AUDIO_SINK", "fakesink sync=true"),
        ],
    )
    .await;
    eprintln!("stack up in {:?}", started.elapsed());

    let shots = dir.path().join("shots");
    let script_file = dir.path().join("keys.txt");
    std::fs::write(&script_file, script()).expect("script");
    let mut child = Command::new(&ui)
        .arg("--headless")
        .arg(&shots)
        .args(["--size", "1280x720", "--until-timeout", "30"])
        .args(["--bus-address", &bus.address])
        .arg("--keys-file")
        .arg(&script_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ottbox-ui");

    // The phone's part: the code the TV shows is the daemon's pending one.
    let session = session_proxy(&bus.connect().await).await;
    let code = eventually(30, "a user code on the TV", || async {
        Some(session.user_code().await.ok()?).filter(|c| !c.is_empty())
    })
    .await;
    let verification_uri = format!(
        "{}{}",
        headend.url(),
        ottbox_protocol::auth::VERIFICATION_PATH
    );
    headend.confirm(&verification_uri, &code, "approve").await;

    // The UI ends with its script. Its output is read as it comes, so a
    // full pipe can never hold it up.
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ottbox-ui did not finish its script in 60 s: {}",
                stderr.join().unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stdout = stdout.join().expect("stdout");
    let stderr = stderr.join().expect("stderr");
    assert!(status.success(), "ottbox-ui failed: {stderr}");
    eprintln!("script done in {:?}", started.elapsed());

    // What it asked the daemon for, in order.
    let commands: Vec<&str> = stdout.lines().collect();
    let position = |needle: &str| {
        commands
            .iter()
            .position(|c| c.contains(needle))
            .unwrap_or_else(|| panic!("no command with {needle} in {commands:#?}"))
    };
    let preview = position(r#""type":"preview""#);
    let stop_preview = position(r#""type":"stop_preview""#);
    let search = position(r#""query":"soc netw""#);
    let play = position(&format!(r#""type":"play","title_id":"{SOCIAL_NETWORK}""#));
    let subtitles = position(r#""type":"set_subtitles","language":"en""#);
    let stop = position(r#""type":"stop""#);
    assert!(
        preview < stop_preview && stop_preview < search,
        "{commands:#?}"
    );
    assert!(
        search < play && play < subtitles && subtitles < stop,
        "{commands:#?}"
    );
    // The daemon took the preview (a refusal is only logged).
    assert!(!stderr.contains("no preview of"), "{stderr}");

    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui_end_to_end");
    let mut failures = Vec::new();
    for shot in [
        "activation",
        "home",
        "search",
        "details",
        "osd",
        "subtitles",
    ] {
        let actual = shots.join(format!("{shot}.png"));
        if let Err(e) = golden::check(shot, &actual, &masks(shot), Tolerance::default(), &out) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("all in {:?}", started.elapsed());
}

/// The mark's colour (`ottbox_ui::theme::INSTANT`), exactly: nothing else
/// on the home screen is drawn in it.
const INSTANT: [u8; 3] = [46, 160, 67];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_the_box_made_ready_while_idle_are_marked_on_home() {
    let ui = ottbox_e2e::binary("ottbox-ui");
    ottbox_e2e::binary("ottboxd");
    let headend = Headend::builder().media().cdn().start().await;
    let bus = Bus::open();
    let dir = tempfile::tempdir().expect("tempdir");
    let _daemon = Daemon::start_with(
        &bus,
        &headend.url(),
        &dir.path().join("state"),
        &[("OTTBOX_PREFETCH_TITLES", "2")],
    )
    .await;
    let conn = bus.connect().await;
    log_in(&conn, &headend).await;
    let player = player_proxy(&conn).await;
    let ready = eventually(60, "titles prefetched after login", || async {
        Some(player.prefetched().await.ok()?).filter(|r| !r.is_empty())
    })
    .await;

    let shots = dir.path().join("shots");
    let output = Command::new(&ui)
        .arg("--headless")
        .arg(&shots)
        .args(["--size", "1280x720", "--until-timeout", "30"])
        .args(["--bus-address", &bus.address])
        .args(["--keys", "until:\"Popular on ottbox\" shot:home"])
        .output()
        .expect("ottbox-ui");
    assert!(
        output.status.success(),
        "ottbox-ui failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let home = golden::Rgb::read(&shots.join("home.png")).expect("home shot");
    let marked = home.pixels.chunks(3).filter(|p| *p == INSTANT).count();
    assert!(
        marked > 100,
        "{ready:?} are ready, yet {marked} pixels of the home screen carry the mark"
    );
}

#[test]
fn the_keyboard_path_types_what_it_should() {
    // a → s: three rows down; s → o: up one, right two; o → space: down
    // into the short last row lands on Del, then left.
    let keys = type_on_keyboard("so ");
    assert_eq!(
        keys,
        [
            "down", "down", "down", "ok", "up", "right", "right", "ok", "down", "down", "down",
            "down", "left", "ok"
        ]
    );
}
