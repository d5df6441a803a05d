//! What a frame costs: full repaints against damage-only repaints, and the
//! bytes a focus move writes to a framebuffer device.
//!
//! `cargo bench -p ottbox-ui --bench render` prints a table; nothing here
//! passes or fails (timings depend on the machine).

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::time::{Duration, Instant};

use embedded_graphics::prelude::*;
use ottbox_ui::Key;
use ottbox_ui::app::App;
use ottbox_ui::display::Backend;
use ottbox_ui::display::Framebuffer;
use ottbox_ui::display::fbdev::FbDev;
use ottbox_ui::event::Update;

fn home_app(size: Size) -> App {
    let mut app = App::new(size);
    app.update(fixtures::logged_in());
    app.update(Update::Home {
        home: fixtures::home(),
        offline: false,
    });
    for n in (1..13).chain(100..103) {
        app.update(Update::Poster {
            path: format!("/api/v1/titles/ml-{n}/poster.png"),
            png: fixtures::poster_png([(n * 20 % 255) as u8, 90, 140]),
        });
    }
    app.take_commands();
    app
}

fn per_iter(iterations: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed() / iterations
}

fn main() {
    println!(
        "{:<12} {:>22} {:>22} {:>16}",
        "screen", "full repaint", "focus move (2 tiles)", "pixels per move"
    );
    for size in [Size::new(1280, 720), Size::new(1920, 1080)] {
        let mut app = home_app(size);
        let mut fb = Framebuffer::new(size);
        let full = per_iter(50, || {
            let Ok(_) = app.draw(&mut fb);
            // Mark everything stale again for the next round.
            app.update(Update::DaemonLost);
            app.update(Update::DaemonBack);
            app.take_commands();
        });
        let mut app = home_app(size);
        let Ok(_) = app.draw(&mut fb);
        let mut pixels = 0;
        let mut right = true;
        let moved = per_iter(500, || {
            // Back and forth between the first two tiles: no scrolling.
            app.key(if right { Key::Right } else { Key::Left });
            right = !right;
            pixels = app
                .damage()
                .iter()
                .map(|r| r.size.width * r.size.height)
                .sum::<u32>();
            let Ok(_) = app.draw(&mut fb);
            app.take_commands();
        });
        println!(
            "{:<12} {:>19.2} ms {:>19.3} ms {:>16}",
            format!("{}x{}", size.width, size.height),
            full.as_secs_f64() * 1e3,
            moved.as_secs_f64() * 1e3,
            pixels
        );
    }

    // A framebuffer device: a regular file stands in for /dev/fb0.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("virtual_size"), "1920,1080").expect("write");
    std::fs::write(dir.path().join("bits_per_pixel"), "32").expect("write");
    std::fs::write(dir.path().join("stride"), "7680").expect("write");
    let device = dir.path().join("fb0");
    std::fs::write(&device, vec![0u8; 7680 * 1080]).expect("write");
    let mut fbdev = FbDev::open(&device, dir.path()).expect("opens");
    let mut app = home_app(Size::new(1920, 1080));
    let Ok(first) = app.draw(fbdev.canvas());
    let full = per_iter(20, || fbdev.present(&first).expect("writes"));
    app.key(Key::Right);
    let Ok(damage) = app.draw(fbdev.canvas());
    let bytes: u32 = damage
        .iter()
        .map(|r| r.size.width * r.size.height * 4)
        .sum();
    let partial = per_iter(200, || fbdev.present(&damage).expect("writes"));
    println!(
        "fbdev 1920x1080x32: full frame {:.2} ms ({} bytes), focus move {:.3} ms ({} bytes)",
        full.as_secs_f64() * 1e3,
        7680 * 1080,
        partial.as_secs_f64() * 1e3,
        bytes
    );
}
