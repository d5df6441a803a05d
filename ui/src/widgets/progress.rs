//! A progress bar: how much of a title was watched, and how much is buffered.

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use crate::theme;

/// A horizontal bar filled to `fraction`, with an optional buffered span.
#[derive(Debug, Clone, Copy)]
pub struct ProgressBar {
    /// Where it goes.
    pub rect: Rectangle,
    /// Watched part, 0..=1 (values outside are clamped, NaN is 0).
    pub fraction: f32,
    /// Buffered up to this fraction, if shown.
    pub buffered: Option<f32>,
}

impl ProgressBar {
    /// Width of the filled part for `fraction`.
    fn span(&self, fraction: f32) -> u32 {
        let f = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        (self.rect.size.width as f32 * f).round() as u32
    }

    /// Draws the track, the buffered span and the watched span.
    pub fn draw<D: DrawTarget<Color = Rgb888>>(&self, target: &mut D) -> Result<(), D::Error> {
        target.fill_solid(&self.rect, theme::SURFACE)?;
        if let Some(buffered) = self.buffered {
            let size = Size::new(self.span(buffered), self.rect.size.height);
            target.fill_solid(&Rectangle::new(self.rect.top_left, size), theme::BUFFERED)?;
        }
        let size = Size::new(self.span(self.fraction), self.rect.size.height);
        target.fill_solid(&Rectangle::new(self.rect.top_left, size), theme::PROGRESS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::mock_display::MockDisplay;

    #[test]
    fn the_bar_fills_in_proportion_and_buffer_shows_ahead() {
        let mut display: MockDisplay<Rgb888> = MockDisplay::new();
        // The bar paints track, then buffer, then progress over each other.
        display.set_allow_overdraw(true);
        let bar = ProgressBar {
            rect: Rectangle::new(Point::new(0, 0), Size::new(40, 2)),
            fraction: 0.25,
            buffered: Some(0.5),
        };
        bar.draw(&mut display).expect("draws");
        assert_eq!(display.get_pixel(Point::new(9, 1)), Some(theme::PROGRESS));
        assert_eq!(display.get_pixel(Point::new(10, 1)), Some(theme::BUFFERED));
        assert_eq!(display.get_pixel(Point::new(19, 0)), Some(theme::BUFFERED));
        assert_eq!(display.get_pixel(Point::new(20, 0)), Some(theme::SURFACE));
        assert_eq!(display.affected_area(), bar.rect, "nothing outside the bar");
    }

    #[test]
    fn out_of_range_fractions_are_clamped() {
        let bar = ProgressBar {
            rect: Rectangle::new(Point::zero(), Size::new(10, 1)),
            fraction: f32::NAN,
            buffered: None,
        };
        assert_eq!(bar.span(f32::NAN), 0);
        assert_eq!(bar.span(7.0), 10);
        assert_eq!(bar.span(-1.0), 0);
    }
}
