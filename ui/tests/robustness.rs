//! Any sequence of keys and updates leaves the UI in a sane state: no panic,
//! focus on something that exists, and damage that keeps the screen true.

mod fixtures;

use std::time::Duration;

use embedded_graphics::prelude::*;
use ottbox_protocol::catalog::{Home, TitleList};
use ottbox_ui::Key;
use ottbox_ui::app::{App, ScreenKind};
use ottbox_ui::display::Framebuffer;
use ottbox_ui::event::{ErrorReport, PlayState, PlayerStatus, Update};
use ottbox_ui::screens::home::Focus;

/// A small deterministic generator (xorshift), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const KEYS: [Key; 12] = [
    Key::Up,
    Key::Down,
    Key::Left,
    Key::Right,
    Key::Ok,
    Key::Back,
    Key::Home,
    Key::PlayPause,
    Key::Digit(3),
    Key::Char('q'),
    Key::Char('\u{8}'),
    Key::Char('é'),
];

fn random_update(rng: &mut Rng) -> Update {
    match rng.below(9) {
        0 => Update::Home {
            home: Home {
                // Rows that grow and shrink under the focus.
                rows: (0..rng.below(4))
                    .map(|r| fixtures::row(&format!("r{r}"), "Row", 0..rng.below(15), r == 0))
                    .collect(),
            },
            offline: rng.below(2) == 0,
        },
        1 => fixtures::details(rng.below(20)),
        2 => Update::SearchResults {
            query: "q".into(),
            results: TitleList {
                results: (0..rng.below(40)).map(fixtures::summary).collect(),
            },
        },
        3 => Update::Player {
            status: PlayerStatus {
                state: [
                    PlayState::Playing,
                    PlayState::Paused,
                    PlayState::Buffering,
                    PlayState::Stopped,
                ][rng.below(4)],
                title: String::new(),
                position_s: rng.below(100) as f64 - 10.0,
                duration_s: rng.below(3) as f64 * 50.0,
                buffer_s: f64::NAN,
                rendition: "480p".into(),
                bitrate: rng.next() % 10_000_000,
                ad: None,
                ..PlayerStatus::default()
            },
        },
        4 => Update::Error {
            error: ErrorReport {
                code: "not_entitled".into(),
                message: String::new(),
            },
        },
        5 => Update::DaemonLost,
        6 => Update::DaemonBack,
        7 => Update::Poster {
            path: format!("/api/v1/titles/ml-{}/poster.png", rng.below(15)),
            png: if rng.below(2) == 0 {
                fixtures::poster_png([1, 2, 3])
            } else {
                vec![0x89, b'P']
            },
        },
        _ => fixtures::logged_in(),
    }
}

#[test]
fn random_walks_through_every_screen_never_panic_and_the_screen_stays_true() {
    for seed in 1..=3u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let size = if seed % 2 == 0 {
            Size::new(1920, 1080)
        } else {
            Size::new(1280, 720)
        };
        let mut app = App::new(size);
        app.update(fixtures::logged_in());
        app.update(Update::Home {
            home: fixtures::home(),
            offline: false,
        });
        let mut fb = Framebuffer::new(size);
        let mut seen = std::collections::HashSet::new();
        for step in 0..400u64 {
            if rng.below(5) == 0 {
                app.update(random_update(&mut rng));
            } else {
                app.key(KEYS[rng.below(KEYS.len())]);
            }
            app.tick(Duration::from_millis(step * 97));
            app.take_commands();
            seen.insert(format!("{:?}", app.screen()));
            if app.screen() == ScreenKind::Home
                && let Focus::Tile { row, col } = app.home().focus()
                && !app.home().rows().is_empty()
            {
                assert!(row < app.home().rows().len() && col < app.home().rows()[row].items.len());
                assert!(
                    app.home().tile_rect(app.theme(), row, col).is_some(),
                    "the focused tile is in view"
                );
            }
            let Ok(_) = app.draw(&mut fb);
        }
        // Damage tracking kept the screen true: a full repaint of the same
        // scene gives the same pixels as all those partial repaints did.
        let mut fresh = Framebuffer::new(size);
        app.invalidate();
        let Ok(_) = app.draw(&mut fresh);
        assert_eq!(
            fb.changed_area(&fresh),
            None,
            "seed {seed}: partial repaints drifted from the scene"
        );
        assert!(seen.len() >= 4, "seed {seed} visited {seen:?}");
    }
}
