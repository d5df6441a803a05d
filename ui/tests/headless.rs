//! Headless runs: scripted keys and replayed updates in, PNG frames and
//! JSON commands out — through the library runner and through the binary.

mod fixtures;

use std::process::Command as Process;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
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
    let updates_file = dir.path().join("updates.json");
    std::fs::write(
        &updates_file,
        serde_json::to_string(&updates()).expect("json"),
    )
    .expect("write");
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
