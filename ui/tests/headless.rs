//! Headless runs: scripted keys and replayed updates in, PNG frames and
//! JSON commands out — through the library runner and through the binary.

mod fixtures;

use std::process::Command as Process;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use ottbox_ui::app::App;
use ottbox_ui::daemon::Replay;
use ottbox_ui::display::Backend;
use ottbox_ui::display::headless::Headless;
use ottbox_ui::event::{Command, Update};
use ottbox_ui::input::script;
use ottbox_ui::runner::run_script;
use ottbox_ui::theme;
use ottbox_ui::widgets::image::Image;

fn updates() -> Vec<Update> {
    vec![
        fixtures::logged_in(),
        Update::Home {
            home: fixtures::home(),
            offline: false,
        },
        Update::Poster {
            path: "/api/v1/titles/ml-3/poster.png".into(),
            png: fixtures::poster_png([200, 40, 160]),
        },
    ]
}

#[test]
fn a_scripted_run_writes_screenshots_whose_pixels_show_the_focus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let size = Size::new(1280, 720);
    let mut backend = Headless::new(size, dir.path()).expect("dir");
    let mut app = App::new(size);
    let mut daemon = Replay::new(updates());
    let steps = script::parse("right, right, wait:2000").expect("script");
    run_script(&mut app, &mut backend, &steps, &mut daemon).expect("runs");

    assert!(
        backend.frames() >= 3,
        "a frame per step that changed the screen"
    );
    let last = backend.frame_path(backend.frames() - 1);
    let image = Image::decode_png(&std::fs::read(&last).expect("last frame")).expect("a PNG");
    assert_eq!(image.size(), size);
    // The third tile has focus and its poster: ring colour at the border,
    // poster colour inside.
    let tile = app.home().tile_rect(app.theme(), 0, 2).expect("visible");
    let (x, y) = (tile.top_left.x as u32, tile.top_left.y as u32);
    assert_eq!(image.pixel(x + 1, y + 1), Some(theme::FOCUS));
    assert_eq!(image.pixel(x + 20, y + 20), Some(Rgb888::new(200, 40, 160)));
    // The 2 s rest started a preview of that title.
    assert!(
        daemon
            .sent
            .iter()
            .any(|c| matches!(c, Command::Preview { title_id, .. } if title_id == "ml-3"))
    );
    // The frame on disk is the canvas in memory.
    let canvas = backend.canvas().clone();
    assert_eq!(
        canvas.pixel(Point::new(x as i32 + 1, y as i32 + 1)),
        Some(theme::FOCUS)
    );
}

#[test]
fn the_binary_replays_updates_runs_keys_and_prints_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let updates_file = fixtures::updates_file(dir.path(), &updates());
    let shots = dir.path().join("shots");
    let output = Process::new(env!("CARGO_BIN_EXE_ottbox-ui"))
        .arg("--headless")
        .arg(&shots)
        .args(["--size", "1920x1080", "--keys", "right,ok"])
        .arg("--updates")
        .arg(&updates_file)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let commands: Vec<Command> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON command per line"))
        .collect();
    assert!(commands.contains(&Command::LoadHome));
    assert!(commands.contains(&Command::LoadDetails {
        title_id: "ml-2".into()
    }));
    let first = Image::decode_png(&std::fs::read(shots.join("frame-0000.png")).expect("frame 0"))
        .expect("png");
    assert_eq!(first.size(), Size::new(1920, 1080));
}

#[test]
fn the_binary_explains_bad_scripts_and_missing_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Process::new(env!("CARGO_BIN_EXE_ottbox-ui"))
        .arg("--headless")
        .arg(dir.path())
        .args(["--keys", "down,jump"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown_key") && stderr.contains("jump"),
        "{stderr}"
    );

    let output = Process::new(env!("CARGO_BIN_EXE_ottbox-ui"))
        .arg("--headless")
        .arg(dir.path())
        .arg("--updates")
        .arg(dir.path().join("missing.json"))
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("read_failed"));
}

#[test]
fn without_a_framebuffer_the_binary_says_which_file_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Process::new(env!("CARGO_BIN_EXE_ottbox-ui"))
        .arg("--fbdev")
        .arg(dir.path().join("fb0"))
        .arg("--fb-sysfs")
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("display_io") && stderr.contains("virtual_size"),
        "{stderr}"
    );
}

/// One screenshot per screen, at both resolutions. They go to a temp dir,
/// or to `$OTTBOX_UI_SHOTS` when set (to look at them).
#[test]
fn screenshots_of_every_screen_differ_and_show_their_focus() {
    use ottbox_ui::Key;
    use ottbox_ui::event::{AdState, ErrorReport, PlayState, PlayerStatus};

    let temp = tempfile::tempdir().expect("tempdir");
    let dir =
        std::env::var_os("OTTBOX_UI_SHOTS").map_or_else(|| temp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).expect("shots dir");
    for size in [Size::new(1280, 720), Size::new(1920, 1080)] {
        let mut shots: Vec<(String, ottbox_ui::display::Framebuffer)> = Vec::new();
        let mut app = App::new(size);
        let mut fb = ottbox_ui::display::Framebuffer::new(size);
        let mut shoot = |app: &mut App, name: &str, shots: &mut Vec<_>| {
            let Ok(_) = app.draw(&mut fb);
            let path = dir.join(format!("{name}-{}x{}.png", size.width, size.height));
            fb.save_png(&path).expect("saves");
            shots.push((name.to_string(), fb.clone()));
        };
        shoot(&mut app, "waiting", &mut shots);
        app.update(fixtures::showing_code());
        shoot(&mut app, "activation", &mut shots);
        for update in updates() {
            app.update(update);
        }
        app.update(Update::Home {
            home: fixtures::home(),
            offline: true,
        });
        app.key(Key::Right);
        app.tick(std::time::Duration::from_secs(1));
        shoot(&mut app, "home", &mut shots);
        app.key(Key::Ok);
        app.update(fixtures::details(2));
        assert!(
            app.scene().find_text("Tags: remote").is_some(),
            "details arrived"
        );
        shoot(&mut app, "details", &mut shots);
        app.key(Key::Ok);
        app.update(Update::Player {
            status: PlayerStatus {
                state: PlayState::Playing,
                title: "Title number 3".into(),
                position_s: 65.0,
                duration_s: 5400.0,
                buffer_s: 20.0,
                rendition: "720p".into(),
                bitrate: 3_200_000,
                ad: Some(AdState {
                    in_ad: true,
                    index: 1,
                    count: 2,
                    seconds_left: 12.0,
                }),
                ..PlayerStatus::default()
            },
        });
        shoot(&mut app, "player", &mut shots);
        app.update(Update::Error {
            error: ErrorReport {
                code: "region_blocked".into(),
                message: String::new(),
            },
        });
        shoot(&mut app, "player-error", &mut shots);
        app.key(Key::Home);
        app.key(Key::Up);
        app.key(Key::Ok);
        for c in "matrix".chars() {
            app.key(Key::Char(c));
        }
        app.update(Update::SearchResults {
            query: "matrix".into(),
            results: ottbox_protocol::catalog::TitleList {
                results: (1..6).map(fixtures::summary).collect(),
            },
        });
        shoot(&mut app, "search", &mut shots);
        app.key(Key::Back);
        app.key(Key::Right);
        app.key(Key::Ok);
        shoot(&mut app, "settings", &mut shots);

        for (i, (name, a)) in shots.iter().enumerate() {
            for (other, b) in &shots[i + 1..] {
                assert!(
                    a.changed_area(b).is_some(),
                    "{name} and {other} look the same"
                );
            }
            let interactive = !matches!(
                name.as_str(),
                "waiting" | "activation" | "player" | "player-error"
            );
            assert_eq!(
                a.any_in(Rectangle::new(Point::zero(), size), theme::FOCUS),
                interactive || name == "activation",
                "{name}: focus colour where something has focus (the login code is in it too)"
            );
            assert!(
                std::fs::metadata(dir.join(format!("{name}-{}x{}.png", size.width, size.height)))
                    .is_ok_and(|m| m.len() > 1000)
            );
        }
    }
}

#[test]
fn until_waits_for_text_shot_names_a_screenshot_and_a_missing_text_fails_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let updates_file = dir.path().join("updates.json");
    std::fs::write(
        &updates_file,
        serde_json::to_string(&updates()).expect("json"),
    )
    .expect("write");
    let shots = dir.path().join("shots");
    let run = |keys: &str| {
        Process::new(env!("CARGO_BIN_EXE_ottbox-ui"))
            .arg("--headless")
            .arg(&shots)
            .args(["--keys", keys, "--until-timeout", "5"])
            .arg("--updates")
            .arg(&updates_file)
            .output()
            .expect("runs")
    };
    let output = run("until:Search, right, shot:home-2");
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shot = Image::decode_png(&std::fs::read(shots.join("home-2.png")).expect("named shot"))
        .expect("png");
    assert_eq!(shot.size(), Size::new(1280, 720));

    // Replayed updates are all there at once: a text that is not on screen
    // never will be, and the run says so at once instead of waiting.
    let started = std::time::Instant::now();
    let output = run("until:\"Nowhere To Be Seen\"");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("until_timeout") && stderr.contains("Nowhere To Be Seen"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// A daemon that answers like the real one: later, from another thread.
/// LoadHome is answered with the fixture rows and each poster with a
/// coloured PNG, each after `delay`; the link is busy until then.
struct Slow {
    delay: std::time::Duration,
    sink: Option<ottbox_ui::wake::EventSink>,
    in_flight: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ottbox_ui::daemon::DaemonLink for Slow {
    fn start(
        &mut self,
        sink: ottbox_ui::wake::EventSink,
    ) -> Result<(), ottbox_ui::daemon::LinkError> {
        let later = sink.clone();
        let delay = self.delay;
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = later.send(ottbox_ui::wake::Event::Update(Box::new(
                fixtures::logged_in(),
            )));
        });
        self.sink = Some(sink);
        Ok(())
    }

    fn send(&mut self, command: Command) -> Result<(), ottbox_ui::daemon::LinkError> {
        use std::sync::atomic::Ordering;
        let answer = match command {
            Command::LoadHome => Update::Home {
                home: fixtures::home(),
                offline: false,
            },
            Command::FetchPoster { path } => Update::Poster {
                path,
                png: fixtures::poster_png([200, 40, 160]),
            },
            _ => return Ok(()),
        };
        let sink = self.sink.clone().expect("started");
        let in_flight = self.in_flight.clone();
        in_flight.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay;
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = sink.send(ottbox_ui::wake::Event::Update(Box::new(answer)));
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = sink.send(ottbox_ui::wake::Event::Tick);
        });
        Ok(())
    }

    fn busy(&self) -> bool {
        self.in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0
    }
}

#[test]
fn against_a_daemon_that_answers_later_until_waits_and_shot_waits_for_every_answer() {
    use ottbox_ui::runner::{RunError, ScriptOptions, run_script_with};
    let dir = tempfile::tempdir().expect("tempdir");
    let size = Size::new(1280, 720);
    let slow = || Slow {
        delay: std::time::Duration::from_millis(50),
        sink: None,
        in_flight: Default::default(),
    };
    let options = ScriptOptions {
        timeout: std::time::Duration::from_secs(10),
    };
    let mut backend = Headless::new(size, dir.path()).expect("dir");
    let mut app = App::new(size);
    let steps = script::parse("until:Settings shot:home").expect("script");
    run_script_with(&mut app, &mut backend, &steps, &mut slow(), options).expect("runs");
    // `Settings` shows as soon as the login is in; the shot waited for the
    // rows and then for the posters they asked for.
    let shot =
        Image::decode_png(&std::fs::read(dir.path().join("home.png")).expect("shot")).expect("png");
    let tile = app.home().tile_rect(app.theme(), 0, 0).expect("visible");
    let (x, y) = (tile.top_left.x as u32, tile.top_left.y as u32);
    assert_eq!(shot.pixel(x + 20, y + 20), Some(Rgb888::new(200, 40, 160)));

    // A text that never comes fails the run after the timeout, by name.
    let mut app = App::new(size);
    let steps = script::parse("until:\"Not Here\"").expect("script");
    let short = ScriptOptions {
        timeout: std::time::Duration::from_millis(300),
    };
    let mut link = slow();
    let err =
        run_script_with(&mut app, &mut backend, &steps, &mut link, short).expect_err("times out");
    assert!(
        matches!(&err, RunError::Until { text, .. } if text == "Not Here"),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("until_timeout: `Not Here`"),
        "{err}"
    );
}
