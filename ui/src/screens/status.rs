//! States that cover the whole UI or sit on top of it: "waiting for
//! ottboxd" when the daemon is unreachable, and the error banner.

use embedded_graphics::prelude::*;

use crate::event::ErrorReport;
use crate::scene::{Font, Node, Scene};
use crate::theme::{self, Theme};

/// The headline shown while the daemon is unreachable.
pub const WAITING_TEXT: &str = "Waiting for ottboxd...";

/// The whole-screen "waiting" state.
pub fn waiting(theme: &Theme, scene: &mut Scene) {
    let screen = theme.screen();
    scene.push(Node::centred(
        theme,
        screen,
        theme.px(320),
        WAITING_TEXT,
        Font::Heading,
        theme::TEXT,
    ));
    scene.push(Node::centred(
        theme,
        screen,
        theme.px(370),
        "The box service is starting or restarting. This screen comes back by itself.",
        Font::Body,
        theme::DIM,
    ));
}

/// An error banner along the bottom of the screen.
pub fn banner(theme: &Theme, error: &ErrorReport, scene: &mut Scene) {
    let rect = theme.rect(0, 656, 1280, 64);
    scene.push(Node::Fill {
        rect,
        color: theme::ERROR,
    });
    let y = rect.top_left.y
        + (rect.size.height as i32 - Font::Body.mono(theme).character_size.height as i32) / 2;
    scene.push(Node::text(
        theme,
        Point::new(theme.px(40), y),
        error.viewer_text(),
        Font::Body,
        theme::TEXT,
        theme.upx(1000),
    ));
    scene.push(Node::text(
        theme,
        Point::new(theme.px(1080), y),
        "OK to close",
        Font::Small,
        theme::TEXT,
        theme.upx(180),
    ));
}
