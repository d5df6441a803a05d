//! A focusable tile: poster, caption, and a progress bar for Continue watching.
//!
//! ```text
//! ┌──────[▶]  ← "starts at once" mark (the daemon holds its start ready)
//! │ poster │  ← focus ring (inside the tile's rectangle, so drawing the
//! │        │    focused tile never touches its neighbours)
//! │▬▬▬▬    │  ← watched so far (Continue watching only)
//! └────────┘
//!  Caption…   ← name, cut with an ellipsis to the tile's width
//! ```

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle, Triangle};

use super::image::Image;
use super::progress::ProgressBar;
use super::text;
use crate::theme::{self, Theme};

/// One tile, ready to draw.
#[derive(Debug, Clone, Copy)]
pub struct Tile<'a> {
    /// The whole tile: poster and caption.
    pub rect: Rectangle,
    /// The title's name.
    pub name: &'a str,
    /// Its poster, once fetched.
    pub poster: Option<&'a Image>,
    /// Watched fraction, for Continue watching.
    pub progress: Option<f32>,
    /// Its start is ready (predictive prefetch): Play starts at once.
    pub instant: bool,
    /// Whether focus is on it.
    pub focused: bool,
}

impl Tile<'_> {
    /// The poster's part of a tile rectangle (the rest is the caption).
    pub fn poster_rect(theme: &Theme, rect: Rectangle) -> Rectangle {
        let caption = caption_height(theme);
        Rectangle::new(
            rect.top_left,
            Size::new(rect.size.width, rect.size.height.saturating_sub(caption)),
        )
    }

    /// Draws the tile inside its rectangle.
    pub fn draw<D: DrawTarget<Color = Rgb888>>(
        &self,
        target: &mut D,
        theme: &Theme,
    ) -> Result<(), D::Error> {
        target.fill_solid(&self.rect, theme::BACKGROUND)?;
        let poster = Self::poster_rect(theme, self.rect);
        match self.poster {
            Some(image) => image.draw_into(target, poster)?,
            None => {
                // Until the poster arrives: a panel with the name on it.
                target.fill_solid(&poster, theme::SURFACE)?;
                let font = theme.small_font();
                let pad = theme.px(6);
                let inner = poster.size.width.saturating_sub(2 * pad as u32);
                let line_h = font.character_size.height as i32;
                let max_lines = ((poster.size.height as i32 - 2 * pad) / line_h).max(1) as usize;
                for (i, line) in text::wrap(
                    self.name,
                    text::chars_that_fit(font, inner),
                    max_lines.min(4),
                )
                .iter()
                .enumerate()
                {
                    let at = poster.top_left + Point::new(pad, pad + i as i32 * line_h);
                    text::draw_line(target, line, at, font, theme::DIM, inner)?;
                }
            }
        }
        let ring = theme.upx(4).max(2);
        if let Some(progress) = self.progress {
            // Inset by the ring's width, so focus never hides how much was watched.
            let h = theme.upx(5).max(2);
            let bar = Rectangle::new(
                poster.top_left + Point::new(ring as i32, (poster.size.height - ring - h) as i32),
                Size::new(poster.size.width.saturating_sub(2 * ring), h),
            );
            ProgressBar {
                rect: bar,
                fraction: progress,
                buffered: None,
            }
            .draw(target)?;
        }
        if self.instant {
            instant_mark(target, theme, poster, ring)?;
        }
        if self.focused {
            super::border(target, poster, theme::FOCUS, ring)?;
        }
        let font = theme.small_font();
        let color = if self.focused {
            theme::TEXT
        } else {
            theme::DIM
        };
        let at = Point::new(
            self.rect.top_left.x,
            poster.top_left.y + poster.size.height as i32 + theme.px(4),
        );
        text::draw_line(target, self.name, at, font, color, self.rect.size.width)?;
        Ok(())
    }
}

/// A green square with a play triangle in the poster's top-right corner,
/// inside the focus ring.
fn instant_mark<D: DrawTarget<Color = Rgb888>>(
    target: &mut D,
    theme: &Theme,
    poster: Rectangle,
    ring: u32,
) -> Result<(), D::Error> {
    let side = theme.upx(18).max(8).min(poster.size.width / 2);
    let inset = ring as i32 + theme.px(3);
    let top_left = Point::new(
        poster.top_left.x + poster.size.width as i32 - inset - side as i32,
        poster.top_left.y + inset,
    );
    let square = Rectangle::new(top_left, Size::new(side, side));
    target.fill_solid(&square, theme::INSTANT)?;
    let s = side as i32;
    Triangle::new(
        top_left + Point::new(s * 3 / 10, s / 4),
        top_left + Point::new(s * 3 / 10, s * 3 / 4),
        top_left + Point::new(s * 3 / 4, s / 2),
    )
    .into_styled(PrimitiveStyle::with_fill(theme::TEXT))
    .draw(target)
}

/// Height of the caption strip under the poster.
pub fn caption_height(theme: &Theme) -> u32 {
    theme.small_font().character_size.height + theme.upx(8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::mock_display::MockDisplay;

    fn rect() -> Rectangle {
        Rectangle::new(Point::new(2, 2), Size::new(50, 60))
    }

    #[test]
    fn a_focused_tile_has_the_focus_colour_on_its_border_and_stays_in_its_box() {
        let theme = Theme::for_size(Size::new(1280, 720));
        let mut display: MockDisplay<Rgb888> = MockDisplay::new();
        display.set_allow_overdraw(true);
        let tile = Tile {
            rect: rect(),
            name: "An extraordinarily long title name",
            poster: None,
            progress: Some(0.5),
            instant: false,
            focused: true,
        };
        tile.draw(&mut display, &theme).expect("draws");
        assert_eq!(
            display.affected_area(),
            rect(),
            "drawn exactly inside the tile"
        );
        assert_eq!(display.get_pixel(Point::new(2, 2)), Some(theme::FOCUS));
        assert_eq!(display.get_pixel(Point::new(51, 20)), Some(theme::FOCUS));
        let poster = Tile::poster_rect(&theme, rect());
        // The progress bar is under the ring at the bottom; its middle shows red.
        let bar_y = poster.top_left.y + poster.size.height as i32 - 5;
        assert_eq!(
            display.get_pixel(Point::new(15, bar_y)),
            Some(theme::PROGRESS)
        );
    }

    #[test]
    fn an_unfocused_tile_has_no_focus_colour() {
        let theme = Theme::for_size(Size::new(1280, 720));
        let mut display: MockDisplay<Rgb888> = MockDisplay::new();
        display.set_allow_overdraw(true);
        let poster = Image::solid(
            Size::new(50, 60 - caption_height(&theme)),
            Rgb888::new(0, 0, 200),
        );
        Tile {
            rect: rect(),
            name: "Up",
            poster: Some(&poster),
            progress: None,
            instant: false,
            focused: false,
        }
        .draw(&mut display, &theme)
        .expect("draws");
        assert_eq!(
            display.get_pixel(Point::new(2, 2)),
            Some(Rgb888::new(0, 0, 200))
        );
        for y in 2..62 {
            for x in 2..52 {
                assert_ne!(display.get_pixel(Point::new(x, y)), Some(theme::FOCUS));
            }
        }
    }

    #[test]
    fn a_ready_title_carries_the_instant_mark_in_its_poster_corner_and_others_do_not() {
        let theme = Theme::for_size(Size::new(1280, 720));
        let poster = Image::solid(
            Size::new(50, 60 - caption_height(&theme)),
            Rgb888::new(0, 0, 200),
        );
        let draw = |instant: bool| {
            let mut display: MockDisplay<Rgb888> = MockDisplay::new();
            display.set_allow_overdraw(true);
            Tile {
                rect: rect(),
                name: "Up",
                poster: Some(&poster),
                progress: None,
                instant,
                focused: true,
            }
            .draw(&mut display, &theme)
            .expect("draws");
            display
        };
        let marked = draw(true);
        let area = Tile::poster_rect(&theme, rect());
        let green: Vec<Point> = area
            .points()
            .filter(|p| marked.get_pixel(*p) == Some(theme::INSTANT))
            .collect();
        assert!(!green.is_empty(), "the mark is drawn");
        let centre = area.center();
        // In the right half, within two marks' height of the top.
        let top = area.top_left.y + 2 * theme.upx(18) as i32;
        assert!(
            green.iter().all(|p| p.x >= centre.x && p.y < top),
            "only in the top-right corner: {green:?}"
        );
        assert_eq!(marked.affected_area(), rect(), "inside the tile");
        let plain = draw(false);
        assert!(
            area.points()
                .all(|p| plain.get_pixel(p) != Some(theme::INSTANT))
        );
    }
}
