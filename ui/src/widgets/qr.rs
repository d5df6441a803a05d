//! A QR code of the login URL, drawn as square modules.
//!
//! The `qrcode` crate does the encoding; this widget only lays the modules
//! out as big squares (with the four-module quiet zone scanners need) so a
//! phone camera reads it from the sofa.

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use qrcode::{Color, QrCode};

/// Modules of white border around the code, as the standard asks.
pub const QUIET_ZONE: u32 = 4;

/// The text could not be made into a QR code (code `qr_too_long`).
#[derive(Debug, thiserror::Error)]
#[error("qr_too_long: {0}")]
pub struct QrError(#[from] qrcode::types::QrError);

/// An encoded QR code.
#[derive(Debug, Clone)]
pub struct Qr {
    width: u32,
    dark: Vec<bool>,
}

impl Qr {
    /// Encodes `text`.
    pub fn new(text: &str) -> Result<Self, QrError> {
        let code = QrCode::new(text.as_bytes())?;
        Ok(Self {
            width: code.width() as u32,
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// Modules per side, without the quiet zone.
    pub fn modules(&self) -> u32 {
        self.width
    }

    /// True when module `(x, y)` is dark.
    pub fn is_dark(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.width && self.dark[(y * self.width + x) as usize]
    }

    /// The largest square, quiet zone included, that fits `area` with whole
    /// pixels per module, centred in it; and the pixels per module.
    pub fn fit(&self, area: Rectangle) -> (Rectangle, u32) {
        let total = self.width + 2 * QUIET_ZONE;
        let module = (area.size.width.min(area.size.height) / total).max(1);
        let side = module * total;
        let x = area.top_left.x + (area.size.width as i32 - side as i32) / 2;
        let y = area.top_left.y + (area.size.height as i32 - side as i32) / 2;
        (
            Rectangle::new(Point::new(x, y), Size::new(side, side)),
            module,
        )
    }

    /// Draws the code, centred in `area`.
    pub fn draw<D: DrawTarget<Color = Rgb888>>(
        &self,
        target: &mut D,
        area: Rectangle,
    ) -> Result<(), D::Error> {
        let (square, module) = self.fit(area);
        target.fill_solid(&square, Rgb888::WHITE)?;
        let origin = square.top_left
            + Point::new((QUIET_ZONE * module) as i32, (QUIET_ZONE * module) as i32);
        for y in 0..self.width {
            for x in 0..self.width {
                if self.is_dark(x, y) {
                    let at = origin + Point::new((x * module) as i32, (y * module) as i32);
                    target.fill_solid(
                        &Rectangle::new(at, Size::new(module, module)),
                        Rgb888::BLACK,
                    )?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::headless::Framebuffer;

    #[test]
    fn the_drawn_code_matches_the_encoded_modules() {
        let qr = Qr::new("http://127.0.0.1:8080/device?user_code=BCDF-GHJK").expect("encodes");
        let mut fb = Framebuffer::new(Size::new(200, 200));
        let area = Rectangle::new(Point::new(10, 10), Size::new(180, 180));
        qr.draw(&mut fb, area).expect("draws");
        let (square, module) = qr.fit(area);
        assert!(module >= 2, "modules big enough to scan from afar");
        let origin = square.top_left
            + Point::new((QUIET_ZONE * module) as i32, (QUIET_ZONE * module) as i32);
        for (x, y) in [
            (0, 0),
            (7, 7),
            (8, 3),
            (qr.modules() - 1, qr.modules() - 1),
            (10, 12),
        ] {
            let at = origin
                + Point::new(
                    (x * module + module / 2) as i32,
                    (y * module + module / 2) as i32,
                );
            let expected = if qr.is_dark(x, y) {
                Rgb888::BLACK
            } else {
                Rgb888::WHITE
            };
            assert_eq!(fb.pixel(at), Some(expected), "module ({x}, {y})");
        }
        // Finder pattern: the top-left corner module is dark, the quiet zone white.
        assert!(qr.is_dark(0, 0));
        assert_eq!(
            fb.pixel(square.top_left + Point::new(1, 1)),
            Some(Rgb888::WHITE)
        );
    }
}
