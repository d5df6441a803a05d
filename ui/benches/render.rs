//! What a key costs the viewer: key press → frame ready over a browsing
//! tour, beside a full repaint of the same screen; what writing a frame to a
//! framebuffer device costs; and the peak RSS of the real `ottbox-ui`
//! binary running the same tour headless.
//!
//! `cargo xtask bench ui` runs this and prints the figures against the
//! issue's targets; `cargo bench -p ottbox-ui --bench render` prints the raw
//! `ui <figure> <value>` lines. Nothing here passes or fails: timings depend
//! on the machine.

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::process::Command as Process;
use std::time::{Duration, Instant};

use embedded_graphics::prelude::*;
use ottbox_protocol::catalog::TitleList;
use ottbox_ui::app::App;
use ottbox_ui::display::Backend;
use ottbox_ui::display::Framebuffer;
use ottbox_ui::display::fbdev::FbDev;
use ottbox_ui::event::{Command, Update};
use ottbox_ui::input::script::{self, Step};

/// A viewer's browse, in `--keys` syntax: along and down the rows (with
/// scrolling), a title's details and its similar titles, back, a search
/// typed on the on-screen keyboard, a result's details, and home again.
const TOUR: &str = "right,right,right,right,right,right,left,left,left,left,left,left,\
    down,right,right,down,right,right,right,right,up,up,\
    ok,down,right,right,back,\
    up,ok,ok,right,ok,right,right,ok,down,ok,\
    right,right,right,right,right,right,ok,back,home";

/// Tours per screen size: about 2,000 key presses, enough for a p99.
const TOURS: usize = 40;

/// An app on the home screen with rows and posters, drawn once.
fn home_app(size: Size, fb: &mut Framebuffer) -> App {
    let mut app = App::new(size);
    for update in start_updates() {
        app.update(update);
    }
    app.take_commands();
    let Ok(_) = app.draw(fb);
    app
}

/// What the daemon says at start: logged in, the home rows, their posters.
fn start_updates() -> Vec<Update> {
    let mut updates = vec![
        fixtures::logged_in(),
        Update::Home {
            home: fixtures::home(),
            offline: false,
        },
    ];
    updates.extend((1..13).chain(100..103).chain(200..208).map(poster));
    updates
}

fn poster(n: usize) -> Update {
    Update::Poster {
        path: format!("/api/v1/titles/ml-{n}/poster.png"),
        png: fixtures::poster_png([(n * 20 % 255) as u8, 90, 140]),
    }
}

/// The daemon's answers to what a key asked for (details, search results,
/// posters), as the real daemon would send them a moment later.
fn answer(app: &mut App) {
    for command in app.take_commands() {
        let update = match command {
            Command::LoadDetails { title_id } => title_id
                .strip_prefix("ml-")
                .and_then(|n| n.parse().ok())
                .map(fixtures::details),
            Command::Search { query } => Some(Update::SearchResults {
                query,
                results: TitleList {
                    results: (400..404).map(fixtures::summary).collect(),
                },
            }),
            Command::FetchPoster { path } => path
                .trim_start_matches("/api/v1/titles/ml-")
                .trim_end_matches("/poster.png")
                .parse()
                .ok()
                .map(poster),
            _ => None,
        };
        if let Some(update) = update {
            app.update(update);
        }
    }
}

/// Key press → frame ready (the damage drawn into the frame buffer) for
/// every key of [`TOURS`] tours, sorted.
fn key_latencies(size: Size) -> Vec<Duration> {
    let steps = script::parse(TOUR).expect("the tour parses");
    let mut samples = Vec::new();
    for _ in 0..TOURS {
        let mut fb = Framebuffer::new(size);
        let mut app = home_app(size, &mut fb);
        for step in &steps {
            let Step::Key(key) = step else { continue };
            let start = Instant::now();
            app.key(*key);
            let Ok(_) = app.draw(&mut fb);
            samples.push(start.elapsed());
            // The answers arrive later and draw outside the measurement.
            answer(&mut app);
            let Ok(_) = app.draw(&mut fb);
        }
    }
    samples.sort();
    samples
}

/// A full repaint of the home screen: what every key would cost without
/// damage tracking, the reference for the key figures.
fn full_repaint(size: Size) -> Duration {
    let mut fb = Framebuffer::new(size);
    let mut app = home_app(size, &mut fb);
    per_iter(50, || {
        app.invalidate();
        let Ok(_) = app.draw(&mut fb);
    })
}

fn per_iter(iterations: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed() / iterations
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Writes to a regular file standing in for /dev/fb0: a whole frame, and
/// the damage of one focus move.
fn fbdev_present() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("virtual_size"), "1920,1080").expect("write");
    std::fs::write(dir.path().join("bits_per_pixel"), "32").expect("write");
    std::fs::write(dir.path().join("stride"), "7680").expect("write");
    let device = dir.path().join("fb0");
    std::fs::write(&device, vec![0u8; 7680 * 1080]).expect("write");
    let mut fbdev = FbDev::open(&device, dir.path()).expect("opens");
    let size = Size::new(1920, 1080);
    let mut app = App::new(size);
    for update in start_updates() {
        app.update(update);
    }
    let Ok(first) = app.draw(fbdev.canvas());
    let full = per_iter(20, || fbdev.present(&first).expect("writes"));
    app.key(ottbox_ui::Key::Right);
    let Ok(damage) = app.draw(fbdev.canvas());
    let bytes: u32 = damage
        .iter()
        .map(|r| r.size.width * r.size.height * 4)
        .sum();
    let partial = per_iter(200, || fbdev.present(&damage).expect("writes"));
    println!("ui fbdev_full_ms {:.3}", ms(full));
    println!("ui fbdev_full_bytes {}", 7680 * 1080);
    println!("ui fbdev_move_ms {:.3}", ms(partial));
    println!("ui fbdev_move_bytes {bytes}");
}

/// The real binary, headless at 1280×720, given the start updates and the
/// tour: its peak RSS (`VmHWM`), read from /proc while it runs. (Not
/// `getrusage` of the children: a child's count starts from its parent's
/// pages at the fork, and this process holds frame buffers of its own.)
fn binary_peak_rss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let updates = fixtures::updates_file(dir.path(), &start_updates());
    let mut child = Process::new(env!("CARGO_BIN_EXE_ottbox-ui"))
        .arg("--headless")
        .arg(dir.path().join("frames"))
        .arg("--updates")
        .arg(&updates)
        .args(["--keys", TOUR])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ottbox-ui runs");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        // The high-water mark only grows: the last read is the peak but
        // for the last few milliseconds of the run.
        if let Some(kib) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| vm_hwm_kib(&s))
        {
            peak_kib = kib;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(status.success(), "ottbox-ui failed: {status}");
    println!("ui binary_peak_rss_kib {peak_kib}");
}

/// `VmHWM` of a /proc/PID/status text, in KiB.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    for size in [Size::new(1280, 720), Size::new(1920, 1080)] {
        let tag = format!("{}x{}", size.width, size.height);
        let keys = key_latencies(size);
        println!("ui keys_{tag} {}", keys.len());
        println!("ui key_p50_ms_{tag} {:.3}", ms(quantile(&keys, 0.50)));
        println!("ui key_p99_ms_{tag} {:.3}", ms(quantile(&keys, 0.99)));
        println!("ui key_max_ms_{tag} {:.3}", ms(quantile(&keys, 1.0)));
        println!("ui full_repaint_ms_{tag} {:.3}", ms(full_repaint(size)));
    }
    fbdev_present();
    binary_peak_rss();
}
