//! Colours, fonts and the scale that makes one layout fit 720p and 1080p.
//!
//! Every screen is designed in 1280×720 "design pixels". [`Theme::px`]
//! converts a design length to screen pixels (×1 at 720p, ×1.5 at 1080p),
//! and the fonts step up with the scale, so a layout written once stays in
//! proportion on both screens a box meets.

use embedded_graphics::mono_font::MonoFont;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

/// The screen background.
pub const BACKGROUND: Rgb888 = Rgb888::new(16, 18, 24);
/// Panels, buttons and keys.
pub const SURFACE: Rgb888 = Rgb888::new(38, 42, 54);
/// Body text.
pub const TEXT: Rgb888 = Rgb888::new(236, 236, 236);
/// Secondary text.
pub const DIM: Rgb888 = Rgb888::new(150, 156, 168);
/// The focus ring and focused buttons: the one colour the eye looks for.
pub const FOCUS: Rgb888 = Rgb888::new(255, 196, 0);
/// Progress ("how much watched") and the playhead.
pub const PROGRESS: Rgb888 = Rgb888::new(229, 45, 39);
/// Buffered media ahead of the playhead.
pub const BUFFERED: Rgb888 = Rgb888::new(120, 124, 136);
/// The mark on a tile whose start is ready (predictive prefetch).
pub const INSTANT: Rgb888 = Rgb888::new(46, 160, 67);
/// Badges: offline, ads.
pub const BADGE: Rgb888 = Rgb888::new(230, 126, 34);
/// Error panels.
pub const ERROR: Rgb888 = Rgb888::new(190, 40, 40);
/// Behind subtitle text over the picture: near black, but not the black
/// the video shows through.
pub const SUBTITLE_BOX: Rgb888 = Rgb888::new(12, 12, 12);

/// Screen size and scale, with the fonts that go with it.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    size: Size,
    /// Scale as a fraction: screen pixels = design pixels × num / den.
    num: u32,
    den: u32,
}

impl Theme {
    /// The theme for a screen of `size`; the scale follows the height
    /// (720 → 1, 1080 → 1.5), so odd sizes still get a sensible layout.
    pub fn for_size(size: Size) -> Self {
        Self {
            size,
            num: size.height.max(1),
            den: 720,
        }
    }

    /// The screen size.
    pub fn size(&self) -> Size {
        self.size
    }

    /// The whole screen.
    pub fn screen(&self) -> Rectangle {
        Rectangle::new(Point::zero(), self.size)
    }

    /// A design length in screen pixels.
    pub fn px(&self, design: i32) -> i32 {
        // Lengths are small and scales near 1: no overflow in i64.
        (i64::from(design) * i64::from(self.num) / i64::from(self.den)) as i32
    }

    /// A design length in screen pixels, unsigned.
    pub fn upx(&self, design: u32) -> u32 {
        (u64::from(design) * u64::from(self.num) / u64::from(self.den)) as u32
    }

    /// A rectangle from design coordinates.
    pub fn rect(&self, x: i32, y: i32, w: u32, h: u32) -> Rectangle {
        Rectangle::new(
            Point::new(self.px(x), self.px(y)),
            Size::new(self.upx(w), self.upx(h)),
        )
    }

    fn large_screen(&self) -> bool {
        self.num * 4 >= self.den * 5
    }

    /// Captions, badges.
    pub fn small_font(&self) -> &'static MonoFont<'static> {
        if self.large_screen() {
            &profont::PROFONT_14_POINT
        } else {
            &profont::PROFONT_10_POINT
        }
    }

    /// Body text.
    pub fn body_font(&self) -> &'static MonoFont<'static> {
        if self.large_screen() {
            &profont::PROFONT_18_POINT
        } else {
            &profont::PROFONT_12_POINT
        }
    }

    /// Headings.
    pub fn heading_font(&self) -> &'static MonoFont<'static> {
        if self.large_screen() {
            &profont::PROFONT_24_POINT
        } else {
            &profont::PROFONT_18_POINT
        }
    }

    /// Titles and the login code.
    pub fn large_font(&self) -> &'static MonoFont<'static> {
        &profont::PROFONT_24_POINT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_1080p_layout_is_the_720p_layout_one_and_a_half_times_larger() {
        let hd = Theme::for_size(Size::new(1280, 720));
        let fhd = Theme::for_size(Size::new(1920, 1080));
        assert_eq!(hd.px(100), 100);
        assert_eq!(fhd.px(100), 150);
        assert_eq!(
            fhd.rect(40, 60, 100, 150),
            Rectangle::new(Point::new(60, 90), Size::new(150, 225))
        );
        assert!(
            fhd.body_font().character_size.height > hd.body_font().character_size.height,
            "text grows with the screen"
        );
    }
}
