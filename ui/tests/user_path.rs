//! The viewer's path through the UI, driven by keys and daemon updates, with
//! what reaches the daemon and what reaches the screen checked at each step.

mod fixtures;

use std::time::Duration;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use ottbox_protocol::catalog::TitleList;
use ottbox_ui::Key;
use ottbox_ui::app::{App, ScreenKind};
use ottbox_ui::display::Framebuffer;
use ottbox_ui::event::{
    AdState, Command, ErrorReport, LoginState, PlayState, PlayerStatus, Update,
};
use ottbox_ui::gate::PlayerGate;
use ottbox_ui::scene::Node;
use ottbox_ui::screens::home::{self, Focus, HomeScreen};
use ottbox_ui::screens::{details, search};
use ottbox_ui::theme;
use ottbox_ui::widgets::qr::{QUIET_ZONE, Qr};

const HD: Size = Size::new(1280, 720);
const FHD: Size = Size::new(1920, 1080);

/// An app on the home screen with rows, drawn once.
fn at_home(size: Size) -> (App, Framebuffer) {
    let mut app = App::new(size);
    app.update(logged_in_update());
    app.update(Update::Home {
        home: fixtures::home(),
        offline: false,
    });
    app.take_commands();
    let mut fb = Framebuffer::new(size);
    let Ok(_) = app.draw(&mut fb);
    (app, fb)
}

fn logged_in_update() -> Update {
    fixtures::logged_in()
}

fn press(app: &mut App, keys: &[Key]) {
    for key in keys {
        app.key(*key);
    }
}

fn text_rect(app: &App, needle: &str) -> Rectangle {
    app.scene()
        .find_text(needle)
        .unwrap_or_else(|| panic!("`{needle}` on screen; texts: {:?}", app.scene().texts()))
        .rect()
}

#[test]
fn login_shows_the_code_and_a_scannable_qr_then_moves_on_to_home_by_itself() {
    let mut app = App::new(HD);
    assert_eq!(
        app.screen(),
        ScreenKind::Waiting,
        "nothing heard from the daemon yet"
    );
    app.update(Update::Login {
        login: LoginState::LoggedOut,
    });
    assert_eq!(app.take_commands(), vec![Command::StartLogin]);
    app.update(fixtures::showing_code());
    assert_eq!(app.screen(), ScreenKind::Activation);
    text_rect(&app, "BCDF-GHJK");
    text_rect(&app, "http://127.0.0.1:8080/device");

    // The QR code on screen encodes verification_uri_complete, module for module.
    let mut fb = Framebuffer::new(HD);
    let Ok(_) = app.draw(&mut fb);
    let (area, data) = app
        .scene()
        .nodes
        .iter()
        .find_map(|n| match n {
            Node::Qr { rect, data } => Some((*rect, data.clone())),
            _ => None,
        })
        .expect("a QR code on the activation screen");
    assert_eq!(data, "http://127.0.0.1:8080/device?user_code=BCDF-GHJK");
    let qr = Qr::new(&data).expect("encodes");
    let (square, module) = qr.fit(area);
    assert!(
        module >= 4,
        "big modules, readable from the sofa: {module}px"
    );
    let origin =
        square.top_left + Point::new((QUIET_ZONE * module) as i32, (QUIET_ZONE * module) as i32);
    for y in 0..qr.modules() {
        for x in 0..qr.modules() {
            let p = origin
                + Point::new(
                    (x * module + module / 2) as i32,
                    (y * module + module / 2) as i32,
                );
            let want = if qr.is_dark(x, y) {
                Rgb888::BLACK
            } else {
                Rgb888::WHITE
            };
            assert_eq!(fb.pixel(p), Some(want), "module ({x}, {y})");
        }
    }

    // Confirmed on the phone: the box moves on without a key press.
    app.update(fixtures::logged_in());
    assert_eq!(app.screen(), ScreenKind::Home);
    assert_eq!(app.take_commands(), vec![Command::LoadHome]);
    text_rect(&app, "Loading your rows");
    app.update(Update::Home {
        home: fixtures::home(),
        offline: false,
    });
    text_rect(&app, "Recommended for you");
    text_rect(&app, "Continue watching");
    let fetches: Vec<Command> = app
        .take_commands()
        .into_iter()
        .filter(|c| matches!(c, Command::FetchPoster { .. }))
        .collect();
    assert!(
        fetches.contains(&Command::FetchPoster {
            path: "/api/v1/titles/ml-1/poster.png".into()
        }),
        "posters of visible tiles are fetched: {fetches:?}"
    );
}

#[test]
fn moving_focus_one_tile_redraws_only_the_two_tiles() {
    let (mut app, mut fb) = at_home(HD);
    let theme = *app.theme();
    let first = app.home().tile_rect(&theme, 0, 0).expect("visible");
    let second = app.home().tile_rect(&theme, 0, 1).expect("visible");
    assert!(
        fb.any_in(first, theme::FOCUS),
        "the first tile starts focused"
    );
    let before = fb.clone();

    app.key(Key::Right);
    let mut damage = app.damage().to_vec();
    damage.sort_by_key(|r| r.top_left.x);
    assert_eq!(damage, vec![first, second], "exactly the two tiles");
    let Ok(drawn) = app.draw(&mut fb);
    assert_eq!(drawn.len(), 2);
    let changed = fb.changed_area(&before).expect("something changed");
    let both = Rectangle::new(
        first.top_left,
        Size::new(
            (second.top_left.x - first.top_left.x) as u32 + second.size.width,
            first.size.height,
        ),
    );
    assert!(
        ottbox_ui::damage::contains(&both, &changed),
        "{changed:?} outside {both:?}"
    );
    // The ring moved: focus colour on the second tile's border, none on the first.
    assert_eq!(
        fb.pixel(second.top_left + Point::new(1, 1)),
        Some(theme::FOCUS)
    );
    assert!(!fb.any_in(first, theme::FOCUS));
    assert!(app.damage().is_empty(), "drawing clears the damage");
}

#[test]
fn titles_the_daemon_has_ready_are_marked_and_only_their_tiles_redraw() {
    let (mut app, mut fb) = at_home(HD);
    let theme = *app.theme();
    let ready = app.home().tile_rect(&theme, 0, 1).expect("visible");
    let other = app.home().tile_rect(&theme, 0, 2).expect("visible");
    assert!(!fb.any_in(ready, theme::INSTANT));

    app.update(Update::Prefetched {
        title_ids: vec!["ml-2".into(), "ml-999".into()],
    });
    assert_eq!(app.damage(), &[ready], "only the ready title's tile");
    let Ok(_) = app.draw(&mut fb);
    assert!(
        fb.any_in(ready, theme::INSTANT),
        "the ready title is marked"
    );
    assert!(!fb.any_in(other, theme::INSTANT));

    // Forgotten (expired, or logout): the mark goes.
    app.update(Update::Prefetched { title_ids: vec![] });
    let Ok(_) = app.draw(&mut fb);
    assert!(!fb.any_in(ready, theme::INSTANT));
}

#[test]
fn down_lands_on_the_nearest_tile_of_the_next_row_and_rows_scroll() {
    let (mut app, _) = at_home(HD);
    // The 5th tile of the first row; the next row has only 3 tiles.
    press(&mut app, &[Key::Right; 4]);
    assert_eq!(app.home().focus(), Focus::Tile { row: 0, col: 4 });
    app.key(Key::Down);
    assert_eq!(
        app.home().focus(),
        Focus::Tile { row: 1, col: 2 },
        "nearest on screen, not the same index"
    );
    // Up goes back above, to the tile under the viewer's eye (col 2 here).
    app.key(Key::Up);
    assert_eq!(app.home().focus(), Focus::Tile { row: 0, col: 2 });

    // Right past the screen edge scrolls the row.
    press(&mut app, &[Key::Right; 11]);
    assert_eq!(
        app.home().focus(),
        Focus::Tile { row: 0, col: 11 },
        "stops at the row's end"
    );
    let theme = *app.theme();
    let rect = app
        .home()
        .tile_rect(&theme, 0, 11)
        .expect("the focused tile is in view");
    assert!(rect.top_left.x + rect.size.width as i32 <= 1280);
    assert!(
        app.home().tile_rect(&theme, 0, 0).is_none(),
        "the first tile scrolled away"
    );

    // Down twice: the third row comes into view, the first scrolls off.
    press(&mut app, &[Key::Down, Key::Down]);
    assert_eq!(app.home().focus(), Focus::Tile { row: 2, col: 2 });
    text_rect(&app, "Comedy");
    assert!(app.scene().find_text("Recommended for you").is_none());

    // Back returns to the start of home; Up reaches the header.
    app.key(Key::Back);
    assert_eq!(app.home().focus(), Focus::Tile { row: 0, col: 0 });
    app.key(Key::Up);
    assert_eq!(app.home().focus(), Focus::Nav(0));
}

#[test]
fn ok_opens_details_and_play_starts_playback() {
    let (mut app, _) = at_home(HD);
    press(&mut app, &[Key::Right, Key::Ok]);
    assert_eq!(app.screen(), ScreenKind::Details);
    let commands = app.take_commands();
    assert!(
        commands.contains(&Command::LoadDetails {
            title_id: "ml-2".into()
        }),
        "{commands:?}"
    );
    text_rect(&app, "Loading");
    app.update(fixtures::details(2));
    text_rect(&app, "A viewer finds a remote control");
    text_rect(&app, "Tags: remote, television");
    text_rect(&app, "1h 30m");
    text_rect(&app, "More like this");
    // Similar titles are reachable and open their own details.
    app.key(Key::Down);
    assert_eq!(
        app.details().map(|d| d.focus()),
        Some(details::Focus::Similar(0))
    );
    app.key(Key::Up);
    app.key(Key::Ok);
    assert_eq!(app.screen(), ScreenKind::Player);
    assert!(app.take_commands().contains(&Command::Play {
        title_id: "ml-2".into(),
        from_s: 0.0
    }));
    // Back stops and returns to details, then to home with focus kept.
    app.key(Key::Back);
    assert_eq!(app.take_commands(), vec![Command::Stop]);
    assert_eq!(app.screen(), ScreenKind::Details);
    app.key(Key::Back);
    assert_eq!(app.screen(), ScreenKind::Home);
    assert_eq!(app.home().focus(), Focus::Tile { row: 0, col: 1 });
}

#[test]
fn details_name_the_cast_between_synopsis_and_tags_without_overlap() {
    for size in [HD, FHD] {
        let (mut app, _) = at_home(size);
        press(&mut app, &[Key::Right, Key::Ok]);
        let Update::Details {
            mut details,
            similar,
        } = fixtures::details(2)
        else {
            unreachable!("fixtures::details is details")
        };
        details.cast = vec!["Jesse Eisenberg".into(), "Andrew Garfield".into()];
        // Long enough to fill every line the synopsis may have.
        details.synopsis = (0..400)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        app.update(Update::Details { details, similar });
        let cast = text_rect(&app, "With Jesse Eisenberg, Andrew Garfield");
        let tags = text_rect(&app, "Tags: remote, television");
        let synopsis = text_rect(&app, "w0 w1 w2");
        assert!(cast.top_left.y > synopsis.top_left.y);
        assert!(
            cast.top_left.y + cast.size.height as i32 <= tags.top_left.y,
            "{size:?}: {cast:?} runs into {tags:?}"
        );
        let texts = app.scene().texts();
        let synopsis_lines: Vec<Rectangle> = texts
            .iter()
            .filter(|t| t.starts_with('w') && t[1..].starts_with(|c: char| c.is_ascii_digit()))
            .filter_map(|t| app.scene().find_text(t))
            .map(|n| n.rect())
            .collect();
        assert!(synopsis_lines.len() >= 3, "{texts:?}");
        let last_synopsis_line = synopsis_lines
            .iter()
            .map(|r| r.top_left.y + r.size.height as i32)
            .max()
            .unwrap_or(0);
        assert!(
            last_synopsis_line <= cast.top_left.y,
            "{size:?}: the synopsis runs into the cast"
        );
    }
}

#[test]
fn continue_watching_offers_resume_from_the_saved_point() {
    let (mut app, _) = at_home(HD);
    press(&mut app, &[Key::Down, Key::Ok]);
    app.update(fixtures::details(100));
    text_rect(&app, "Resume 12:34");
    text_rect(&app, "Play from start");
    app.key(Key::Ok);
    assert!(app.take_commands().contains(&Command::Play {
        title_id: "ml-100".into(),
        from_s: 754.0
    }));
}

#[test]
fn resting_focus_updates_the_hero_then_starts_a_preview_and_moving_stops_it() {
    let (mut app, mut fb) = at_home(HD);
    let theme = *app.theme();
    text_rect(&app, "Title number 1 with");
    app.tick(Duration::from_secs(10));
    app.key(Key::Right);
    app.take_commands();
    // Not yet: the hero waits for focus to rest.
    app.tick(Duration::from_millis(10_100));
    assert!(app.scene().find_text("(1992)").is_none());
    assert_eq!(
        app.next_deadline(),
        Some(Duration::from_millis(10_000) + home::HERO_SETTLE)
    );
    let Ok(_) = app.draw(&mut fb);
    app.tick(Duration::from_millis(10_300));
    text_rect(&app, "(1992)");
    let hero = HomeScreen::hero_rect(&theme);
    assert!(
        app.damage()
            .iter()
            .all(|r| ottbox_ui::damage::contains(&hero, r)),
        "only the hero redraws when it catches up: {:?}",
        app.damage()
    );
    assert!(app.take_commands().is_empty(), "no preview yet");
    app.tick(Duration::from_millis(11_600));
    let commands = app.take_commands();
    let preview = HomeScreen::preview_rect(&theme);
    assert_eq!(
        commands,
        vec![Command::Preview {
            title_id: "ml-2".into(),
            rect: ottbox_ui::event::ScreenRect {
                x: preview.top_left.x,
                y: preview.top_left.y,
                width: preview.size.width,
                height: preview.size.height
            }
        }]
    );
    app.tick(Duration::from_millis(20_000));
    assert!(app.take_commands().is_empty(), "one preview per rest");
    app.key(Key::Right);
    assert!(app.take_commands().contains(&Command::StopPreview));
}

#[test]
fn typing_a_search_emits_a_search_per_change_and_shows_results() {
    let (mut app, _) = at_home(HD);
    press(&mut app, &[Key::Up, Key::Ok]);
    assert_eq!(app.screen(), ScreenKind::Search);
    app.take_commands();
    app.key(Key::Ok); // "a" on the on-screen keyboard
    app.key(Key::Right);
    app.key(Key::Ok); // "b"
    app.key(Key::Char('C'));
    app.key(Key::Digit(7));
    let searches: Vec<Command> = app.take_commands();
    assert_eq!(
        searches,
        ["a", "ab", "abc", "abc7"]
            .iter()
            .map(|q| Command::Search { query: (*q).into() })
            .collect::<Vec<_>>()
    );
    text_rect(&app, "abc7_");
    // Delete is the last key.
    app.key(Key::Char('\u{8}'));
    assert_eq!(
        app.take_commands(),
        vec![Command::Search {
            query: "abc".into()
        }]
    );
    // Late results for an older query are dropped; the current ones show.
    app.update(Update::SearchResults {
        query: "ab".into(),
        results: TitleList {
            results: vec![fixtures::summary(7)],
        },
    });
    assert!(app.search().expect("search").results().is_empty());
    app.update(Update::SearchResults {
        query: "abc".into(),
        results: TitleList {
            results: (400..404).map(fixtures::summary).collect(),
        },
    });
    assert_eq!(app.search().expect("search").results().len(), 4);
    // Right from the keyboard's right edge reaches the results; OK opens one.
    press(&mut app, &[Key::Right; 5]);
    assert_eq!(
        app.search().map(|s| s.focus()),
        Some(search::Focus::Results(0))
    );
    app.key(Key::Ok);
    assert_eq!(app.screen(), ScreenKind::Details);
    assert!(app.take_commands().contains(&Command::LoadDetails {
        title_id: "ml-400".into()
    }));
    app.key(Key::Back);
    assert_eq!(
        app.search().map(|s| s.query()),
        Some("abc"),
        "search kept on the way back"
    );
}

fn playing(ad: Option<AdState>) -> Update {
    Update::Player {
        status: PlayerStatus {
            state: PlayState::Playing,
            title: "Title number 2".into(),
            position_s: 65.0,
            duration_s: 5400.0,
            buffer_s: 12.0,
            rendition: "720p".into(),
            bitrate: 3_200_000,
            ad,
            ..PlayerStatus::default()
        },
    }
}

#[test]
fn the_osd_shows_progress_rendition_and_the_ad_badge_and_ads_cannot_be_skipped() {
    let (mut app, _) = at_home(HD);
    app.key(Key::PlayPause);
    assert_eq!(app.screen(), ScreenKind::Player);
    app.take_commands();
    app.update(playing(Some(AdState {
        in_ad: true,
        index: 1,
        count: 2,
        seconds_left: 11.4,
    })));
    text_rect(&app, "Ad 1 of 2 · 0:12");
    text_rect(&app, "720p · 3.2 Mb/s");
    text_rect(&app, "1:05 / 1:30:00");
    app.key(Key::Right);
    assert!(app.take_commands().is_empty(), "no seeking during an ad");
    app.update(playing(None));
    assert!(app.scene().find_text("Ad 1").is_none());
    app.key(Key::Right);
    app.key(Key::PlayPause);
    assert_eq!(
        app.take_commands(),
        vec![Command::Seek { position_s: 75.0 }, Command::Pause]
    );
    let mut fb = Framebuffer::new(HD);
    let Ok(_) = app.draw(&mut fb);
    // The progress bar: watched part red at its start, buffered grey after it.
    let bar = app
        .scene()
        .nodes
        .iter()
        .find(|n| matches!(n, Node::Progress { .. }))
        .expect("a progress bar")
        .rect();
    assert_eq!(fb.pixel(bar.top_left), Some(theme::PROGRESS));
    // The stream ends: back where the viewer came from.
    app.update(Update::Player {
        status: PlayerStatus {
            state: PlayState::Stopped,
            ..match playing(None) {
                Update::Player { status } => status,
                _ => unreachable!(),
            }
        },
    });
    assert_eq!(app.screen(), ScreenKind::Home);
}

#[test]
fn a_region_refusal_is_shown_in_words() {
    let (mut app, _) = at_home(HD);
    app.key(Key::PlayPause);
    app.update(Update::Error {
        error: ErrorReport {
            code: "region_blocked".into(),
            message: "title ml-1 is not licensed in XX".into(),
        },
    });
    let rect = text_rect(&app, "Not available in your region");
    let mut fb = Framebuffer::new(HD);
    let Ok(_) = app.draw(&mut fb);
    assert!(fb.any_in(rect, theme::TEXT), "the sentence is drawn");
    assert!(fb.any_in(rect, theme::ERROR), "on the error panel");
    // On other screens the same error is a banner that OK closes.
    app.key(Key::Back);
    app.update(Update::Error {
        error: ErrorReport {
            code: "region_blocked".into(),
            message: String::new(),
        },
    });
    text_rect(&app, "Not available in your region");
    app.key(Key::Ok);
    assert!(app.banner().is_none());
    assert_eq!(app.screen(), ScreenKind::Home, "OK only closed the banner");
}

#[test]
fn saved_rows_are_marked_offline() {
    let (mut app, _) = at_home(HD);
    assert!(app.scene().find_text("Offline").is_none());
    app.update(Update::Home {
        home: fixtures::home(),
        offline: true,
    });
    let rect = text_rect(&app, "Offline — showing saved rows");
    let mut fb = Framebuffer::new(HD);
    let Ok(_) = app.draw(&mut fb);
    assert!(fb.any_in(rect, theme::BADGE), "on an orange badge");
}

#[test]
fn losing_the_daemon_shows_waiting_and_its_return_reloads_home() {
    let (mut app, mut fb) = at_home(HD);
    app.update(Update::DaemonLost);
    assert_eq!(app.screen(), ScreenKind::Waiting);
    let rect = text_rect(&app, "Waiting for ottboxd");
    let Ok(_) = app.draw(&mut fb);
    assert!(fb.any_in(rect, theme::TEXT));
    assert!(
        !fb.any_in(app.theme().screen(), theme::FOCUS),
        "no stale tiles left on screen"
    );
    app.key(Key::Right);
    assert_eq!(
        app.home().focus(),
        Focus::Tile { row: 0, col: 0 },
        "keys wait too"
    );
    app.update(Update::DaemonBack);
    assert_eq!(app.screen(), ScreenKind::Home);
    assert_eq!(app.take_commands(), vec![Command::LoadHome]);
}

#[test]
fn settings_change_at_once_and_logout_returns_to_activation() {
    let (mut app, _) = at_home(HD);
    press(&mut app, &[Key::Up, Key::Right, Key::Ok]);
    assert_eq!(app.screen(), ScreenKind::Settings);
    press(&mut app, &[Key::Right, Key::Right, Key::Right]);
    text_rect(&app, "Up to 720p");
    press(
        &mut app,
        &[
            Key::Down,
            Key::Ok,
            Key::Down,
            Key::Right,
            Key::Down,
            Key::Ok,
        ],
    );
    assert_eq!(
        app.take_commands(),
        vec![
            Command::SetMaxResolution { height: 2160 },
            Command::SetMaxResolution { height: 1080 },
            Command::SetMaxResolution { height: 720 },
            Command::SetSubtitles {
                language: "en".into()
            },
            Command::SetAudioLanguage {
                language: "fr".into()
            },
            Command::Logout,
        ]
    );
    app.update(Update::Login {
        login: LoginState::LoggedOut,
    });
    assert_eq!(app.screen(), ScreenKind::Activation);
    assert_eq!(app.take_commands(), vec![Command::StartLogin]);
}

#[test]
fn posters_arrive_once_and_repaint_only_their_tile() {
    let (mut app, mut fb) = at_home(HD);
    let theme = *app.theme();
    let tile = app.home().tile_rect(&theme, 0, 3).expect("visible");
    app.update(Update::Poster {
        path: "/api/v1/titles/ml-4/poster.png".into(),
        png: fixtures::poster_png([10, 200, 30]),
    });
    assert_eq!(app.damage(), &[tile]);
    let Ok(_) = app.draw(&mut fb);
    assert_eq!(
        fb.pixel(tile.top_left + Point::new(10, 10)),
        Some(Rgb888::new(10, 200, 30))
    );
    // A broken poster keeps the placeholder and is not asked for again.
    app.update(Update::Poster {
        path: "/api/v1/titles/ml-5/poster.png".into(),
        png: b"not a png".to_vec(),
    });
    assert_eq!(app.bad_posters(), 1);
    press(&mut app, &[Key::Right, Key::Left]);
    assert!(
        !app.take_commands()
            .iter()
            .any(|c| matches!(c, Command::FetchPoster { .. }))
    );
}

#[test]
fn the_layout_scales_to_1080p_and_captions_stay_inside_their_tiles() {
    let (app_hd, _) = at_home(HD);
    let (app, fb) = at_home(FHD);
    let hd = app_hd
        .home()
        .tile_rect(app_hd.theme(), 0, 1)
        .expect("visible");
    let fhd = app.home().tile_rect(app.theme(), 0, 1).expect("visible");
    assert_eq!(
        fhd.size,
        Size::new(hd.size.width * 3 / 2, hd.size.height * 3 / 2)
    );
    assert_eq!(
        fhd.top_left,
        Point::new(hd.top_left.x * 3 / 2, hd.top_left.y * 3 / 2)
    );
    let first = app.home().tile_rect(app.theme(), 0, 0).expect("visible");
    assert!(fb.any_in(first, theme::FOCUS));
    // The gap between two tiles is untouched background, captions included:
    // the long names were cut with an ellipsis, not drawn across.
    let gap = Rectangle::new(
        Point::new(first.top_left.x + first.size.width as i32, first.top_left.y),
        Size::new(
            (fhd.top_left.x - first.top_left.x) as u32 - first.size.width,
            first.size.height,
        ),
    );
    assert!(gap.size.width > 0);
    for p in gap.points() {
        assert_eq!(fb.pixel(p), Some(theme::BACKGROUND), "{p:?} in the gap");
    }
    // ...and drawn right up to the tile's edge (the ellipsis), so it was
    // shortened rather than left out.
    let caption_end = Rectangle::new(
        Point::new(
            first.top_left.x + first.size.width as i32 - 30,
            first.top_left.y + first.size.height as i32 - 30,
        ),
        Size::new(30, 30),
    );
    assert!(
        fb.any_in(caption_end, theme::TEXT),
        "the focused caption reaches the tile's edge"
    );
}

#[test]
fn a_row_with_more_loads_its_next_page_before_the_viewer_reaches_the_end() {
    let mut app = App::new(HD);
    app.update(fixtures::logged_in());
    let mut home = fixtures::home();
    home.rows[0].next_offset = Some(12);
    app.update(Update::Home {
        home,
        offline: false,
    });
    app.take_commands();
    press(&mut app, &[Key::Right; 7]);
    assert!(
        !app.take_commands()
            .iter()
            .any(|c| matches!(c, Command::LoadRowPage { .. }))
    );
    app.key(Key::Right);
    let pages: Vec<Command> = app
        .take_commands()
        .into_iter()
        .filter(|c| matches!(c, Command::LoadRowPage { .. }))
        .collect();
    assert_eq!(
        pages,
        vec![Command::LoadRowPage {
            row_id: "recommended".into(),
            offset: 12
        }]
    );
    app.key(Key::Right);
    assert!(
        !app.take_commands()
            .iter()
            .any(|c| matches!(c, Command::LoadRowPage { .. })),
        "asked once"
    );
    let page = fixtures::row("recommended", "", 13..21, false);
    app.update(Update::RowPage {
        row_id: "recommended".into(),
        items: page.items,
        next_offset: None,
    });
    press(&mut app, &[Key::Right; 12]);
    assert_eq!(
        app.home().focus(),
        Focus::Tile { row: 0, col: 19 },
        "the new tiles are reachable"
    );
    let theme = *app.theme();
    assert!(app.home().tile_rect(&theme, 0, 19).is_some());
}

#[test]
fn the_osd_hides_while_playing_and_any_key_brings_it_back() {
    let (mut app, mut fb) = at_home(HD);
    app.tick(Duration::from_secs(10));
    app.key(Key::PlayPause);
    app.update(playing(None));
    text_rect(&app, "1:05 / 1:30:00");
    assert_eq!(
        app.next_deadline(),
        Some(Duration::from_secs(10) + ottbox_ui::screens::player::OSD_TIMEOUT)
    );
    let Ok(_) = app.draw(&mut fb);
    app.tick(Duration::from_secs(16));
    assert!(
        app.scene().find_text("1:05").is_none(),
        "hidden: just the video"
    );
    assert!(
        !app.damage().is_empty(),
        "the panel is cleared from the screen"
    );
    let Ok(_) = app.draw(&mut fb);
    assert!(
        !fb.any_in(app.theme().screen(), theme::SURFACE),
        "no OSD pixels left"
    );
    app.take_commands();
    app.key(Key::Right);
    assert_eq!(
        app.take_commands(),
        vec![Command::Seek { position_s: 75.0 }]
    );
    text_rect(&app, "1:05 / 1:30:00");
    // Paused, the OSD stays however long the viewer waits.
    app.update(Update::Player {
        status: PlayerStatus {
            state: PlayState::Paused,
            ..match playing(None) {
                Update::Player { status } => status,
                _ => unreachable!(),
            }
        },
    });
    app.tick(Duration::from_secs(100));
    text_rect(&app, "Paused");
}

#[test]
fn before_a_rendition_is_chosen_the_osd_shows_no_quality_line() {
    let (mut app, _) = at_home(HD);
    app.key(Key::PlayPause);
    let Update::Player { mut status } = playing(None) else {
        unreachable!("playing() is a player update")
    };
    status.rendition.clear();
    status.bitrate = 0;
    app.update(Update::Player { status });
    assert!(app.scene().find_text("1:05 / 1:30:00").is_some());
    assert!(
        app.scene().find_text("kb/s").is_none() && app.scene().find_text("buffer").is_none(),
        "{:?}",
        app.scene().texts()
    );
}

/// A status as the D-Bus link reads it: the title's id, no tag yet.
fn read(title_id: &str, state: PlayState) -> PlayerStatus {
    PlayerStatus {
        state,
        title: format!("Title {title_id}"),
        title_id: title_id.into(),
        duration_s: 5400.0,
        audio_languages: vec!["en".into(), "fr".into()],
        audio_language: "en".into(),
        subtitle_languages: vec!["en".into(), "fr".into()],
        ..PlayerStatus::default()
    }
}

/// What the link does with the app's commands: each goes through the gate
/// in order (the calls themselves are not made here).
fn carry_out(app: &mut App, gate: &mut PlayerGate) -> Vec<Command> {
    let commands = app.take_commands();
    for c in &commands {
        gate.command(c);
    }
    commands
}

#[test]
fn a_previews_late_status_neither_opens_nor_closes_the_player_when_play_follows() {
    let (mut app, _) = at_home(HD);
    let mut gate = PlayerGate::default();
    // Focus rests on the first tile: its preview starts.
    app.tick(Duration::from_secs(2));
    assert!(matches!(
        carry_out(&mut app, &mut gate)[..],
        [Command::Preview { ref title_id, .. }] if title_id == "ml-1"
    ));
    let (preview, due) = gate.status(read("ml-1", PlayState::Playing));
    assert!(due.is_empty());
    let preview = preview.expect("the preview's status passes, tagged");
    assert!(matches!(&preview, Update::Player { status } if status.preview));
    app.update(preview.clone());
    assert_eq!(app.screen(), ScreenKind::Home, "a preview opens nothing");

    // PLAY on the same title: the player screen opens at once.
    app.key(Key::PlayPause);
    assert_eq!(app.screen(), ScreenKind::Player);
    // The preview's `playing`, read before the link got to StopPreview
    // and Play, arrives late: it is not the player screen's.
    app.update(preview);
    text_rect(&app, "Starting...");
    assert_eq!(
        carry_out(&mut app, &mut gate),
        vec![
            Command::StopPreview,
            Command::Play {
                title_id: "ml-1".into(),
                from_s: 0.0
            }
        ]
    );
    // Another title's status (a preview of it, say) no longer passes.
    assert_eq!(gate.status(read("ml-2", PlayState::Playing)).0, None);
    // The preview's end (the daemon stops it inside Play), then the
    // playback's own states: the screen stays until the real end.
    for state in [PlayState::Stopped, PlayState::Buffering, PlayState::Playing] {
        let (update, _) = gate.status(read("ml-1", state));
        app.update(update.expect("the playback's status passes"));
        assert_eq!(app.screen(), ScreenKind::Player, "after {state:?}");
    }
    text_rect(&app, "Playing");
    let (end, _) = gate.status(read("ml-1", PlayState::Stopped));
    app.update(end.expect("passes"));
    assert_eq!(app.screen(), ScreenKind::Home, "the title ended");

    // Without the gate too: the app itself never lets a preview's status
    // (or another title's) reach the player screen.
    app.key(Key::PlayPause);
    let mut late = read("ml-1", PlayState::Playing);
    late.preview = true;
    app.update(Update::Player { status: late });
    app.update(Update::Player {
        status: read("ml-9", PlayState::Playing),
    });
    text_rect(&app, "Starting...");
    app.update(Update::Player {
        status: read("ml-1", PlayState::Stopped),
    });
    assert_eq!(app.screen(), ScreenKind::Player, "it never started");
}

fn subtitled(text: &str) -> Update {
    Update::Player {
        status: PlayerStatus {
            subtitles: "en".into(),
            subtitle_text: text.into(),
            position_s: 65.0,
            ..read("ml-1", PlayState::Playing)
        },
    }
}

#[test]
fn subtitles_show_above_the_osd_readable_and_go_away_between_cues() {
    let (mut app, mut fb) = at_home(HD);
    let theme = *app.theme();
    app.tick(Duration::from_secs(10));
    app.key(Key::PlayPause);
    app.update(subtitled("en line 3\nsecond line"));
    let first = text_rect(&app, "en line 3");
    let second = text_rect(&app, "second line");
    let panel = app
        .scene()
        .nodes
        .iter()
        .find(|n| matches!(n, Node::Fill { color, .. } if *color == theme::SURFACE))
        .expect("the OSD panel")
        .rect();
    assert!(
        second.top_left.y + second.size.height as i32 <= panel.top_left.y,
        "above the OSD bar: {second:?} vs {panel:?}"
    );
    assert!(first.top_left.y < second.top_left.y, "in order");
    let centre = |r: Rectangle| r.top_left.x + r.size.width as i32 / 2;
    assert!((centre(first) - 640).abs() <= 8 && (centre(second) - 640).abs() <= 8);
    let Ok(_) = app.draw(&mut fb);
    assert!(fb.any_in(first, theme::TEXT), "light text...");
    assert!(fb.any_in(first, theme::SUBTITLE_BOX), "...on a dark box");

    // The OSD hides: the text stays, lower down.
    app.tick(Duration::from_secs(16));
    let low = text_rect(&app, "second line");
    assert!(low.top_left.y > second.top_left.y);
    assert!(app.scene().find_text("1:05").is_none());

    // Between cues: gone, and its pixels with it.
    let Ok(_) = app.draw(&mut fb);
    app.update(subtitled(""));
    assert!(app.scene().find_text("en line").is_none());
    assert!(!app.damage().is_empty());
    let Ok(_) = app.draw(&mut fb);
    assert!(!fb.any_in(theme.screen(), theme::SUBTITLE_BOX));
}

#[test]
fn the_osd_and_settings_offer_the_titles_languages_and_send_the_choice() {
    let (mut app, _) = at_home(HD);
    app.key(Key::PlayPause);
    app.update(subtitled(""));
    text_rect(&app, "UP audio: English    DOWN subtitles: English");
    app.take_commands();
    // Down steps through the title's subtitles and Off; Up through its audio.
    press(&mut app, &[Key::Down, Key::Down, Key::Up]);
    assert_eq!(
        app.take_commands(),
        vec![
            Command::SetSubtitles {
                language: "fr".into()
            },
            Command::SetSubtitles {
                language: String::new()
            },
            Command::SetAudioLanguage {
                language: "fr".into()
            },
        ]
    );
    text_rect(&app, "UP audio: French    DOWN subtitles: Off");

    // Settings offer the same languages (the last title's).
    app.key(Key::Back);
    app.update(Update::Player {
        status: PlayerStatus {
            audio_language: "fr".into(),
            ..read("ml-1", PlayState::Stopped)
        },
    });
    press(&mut app, &[Key::Up, Key::Right, Key::Ok]);
    assert_eq!(app.screen(), ScreenKind::Settings);
    text_rect(&app, "< Off >");
    text_rect(&app, "< French >");
    app.take_commands();
    press(
        &mut app,
        &[Key::Down, Key::Right, Key::Right, Key::Down, Key::Right],
    );
    text_rect(&app, "< French >");
    assert_eq!(
        app.take_commands(),
        vec![
            Command::SetSubtitles {
                language: "en".into()
            },
            Command::SetSubtitles {
                language: "fr".into()
            },
            Command::SetAudioLanguage {
                language: "en".into()
            },
        ]
    );
    text_rect(&app, "< English >");
}
