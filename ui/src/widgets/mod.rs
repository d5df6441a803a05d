//! The small set of widgets every screen is built from.
//!
//! Widgets are plain structs that know their rectangle and draw themselves
//! on any `DrawTarget<Color = Rgb888>`; they hold no state between frames
//! (focus lives in the screens), so a screen can redraw one tile without
//! asking anything but that tile. Each draws only inside its own rectangle,
//! which is what makes per-widget damage tracking sound.

pub mod grid;
pub mod image;
pub mod keyboard;
pub mod progress;
pub mod qr;
pub mod row;
pub mod text;
pub mod tile;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyleBuilder, Rectangle, StrokeAlignment};

/// Fills `rect` with `color`.
pub fn fill<D: DrawTarget<Color = Rgb888>>(
    target: &mut D,
    rect: Rectangle,
    color: Rgb888,
) -> Result<(), D::Error> {
    target.fill_solid(&rect, color)
}

/// Draws a border of `width` pixels inside `rect`.
pub fn border<D: DrawTarget<Color = Rgb888>>(
    target: &mut D,
    rect: Rectangle,
    color: Rgb888,
    width: u32,
) -> Result<(), D::Error> {
    rect.into_styled(
        PrimitiveStyleBuilder::new()
            .stroke_color(color)
            .stroke_width(width)
            .stroke_alignment(StrokeAlignment::Inside)
            .build(),
    )
    .draw(target)?;
    Ok(())
}
