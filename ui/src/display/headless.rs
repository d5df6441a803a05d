//! An RGB framebuffer in memory, and a backend that writes it out as PNGs.
//!
//! [`Framebuffer`] is the canvas every backend draws on; on its own it is the
//! headless display that tests read pixels from. [`Headless`] adds PNG output:
//! each presented frame becomes `frame-0000.png`, `frame-0001.png`, ... in a
//! directory, so a scripted run leaves a strip of screenshots behind, and a
//! script's `shot:NAME` adds `NAME.png` beside them.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use super::{Backend, DisplayError};
use crate::theme;

/// RGB pixels in memory, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framebuffer {
    size: Size,
    pixels: Vec<Rgb888>,
}

impl Framebuffer {
    /// A framebuffer of `size`, filled with the background colour.
    pub fn new(size: Size) -> Self {
        Self {
            size,
            pixels: vec![theme::BACKGROUND; (size.width * size.height) as usize],
        }
    }

    /// The pixel at `p`, if on screen.
    pub fn pixel(&self, p: Point) -> Option<Rgb888> {
        let (x, y) = (u32::try_from(p.x).ok()?, u32::try_from(p.y).ok()?);
        (x < self.size.width && y < self.size.height)
            .then(|| self.pixels[(y * self.size.width + x) as usize])
    }

    /// One row of pixels from `x`, `len` long (clipped to the screen).
    pub fn row(&self, y: u32, x: u32, len: u32) -> &[Rgb888] {
        if y >= self.size.height || x >= self.size.width {
            return &[];
        }
        let start = (y * self.size.width + x) as usize;
        let len = len.min(self.size.width - x) as usize;
        &self.pixels[start..start + len]
    }

    /// The rectangle covering every pixel that differs from `other` (of the
    /// same size), or `None` when the frames are identical.
    pub fn changed_area(&self, other: &Framebuffer) -> Option<Rectangle> {
        let mut bounds: Option<(u32, u32, u32, u32)> = None;
        let w = self.size.width as usize;
        for (y, (a, b)) in self
            .pixels
            .chunks(w)
            .zip(other.pixels.chunks(w))
            .enumerate()
        {
            // Whole rows first: most rows of two frames are the same.
            if a == b {
                continue;
            }
            let first = a.iter().zip(b).position(|(p, q)| p != q).unwrap_or(0);
            let last = a.iter().zip(b).rposition(|(p, q)| p != q).unwrap_or(first);
            let (y, x0, x1) = (y as u32, first as u32, last as u32);
            let bb = bounds.get_or_insert((x0, y, x1, y));
            *bb = (bb.0.min(x0), bb.1.min(y), bb.2.max(x1), bb.3.max(y));
        }
        if other.size != self.size {
            return Some(Rectangle::new(Point::zero(), self.size));
        }
        bounds.map(|(x0, y0, x1, y1)| {
            Rectangle::new(
                Point::new(x0 as i32, y0 as i32),
                Size::new(x1 - x0 + 1, y1 - y0 + 1),
            )
        })
    }

    /// True when any pixel in `rect` has `color`.
    pub fn any_in(&self, rect: Rectangle, color: Rgb888) -> bool {
        rect.points().any(|p| self.pixel(p) == Some(color))
    }

    /// The frame as PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>, DisplayError> {
        let rgb: Vec<u8> = self
            .pixels
            .iter()
            .flat_map(|c| [c.r(), c.g(), c.b()])
            .collect();
        Ok(crate::widgets::image::encode_png(self.size, &rgb)?)
    }

    /// Writes the frame to `path` as a PNG.
    pub fn save_png(&self, path: &Path) -> Result<(), DisplayError> {
        std::fs::write(path, self.to_png()?).map_err(|source| DisplayError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl OriginDimensions for Framebuffer {
    fn size(&self) -> Size {
        self.size
    }
}

impl DrawTarget for Framebuffer {
    type Color = Rgb888;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        let (w, h) = (self.size.width as i32, self.size.height as i32);
        for Pixel(p, color) in pixels {
            if (0..w).contains(&p.x) && (0..h).contains(&p.y) {
                self.pixels[(p.y * w + p.x) as usize] = color;
            }
        }
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Self::Color) -> Result<(), Self::Error> {
        // Row slices instead of pixel by pixel: most of a frame is fills.
        let area = area.intersection(&self.bounding_box());
        let w = self.size.width as usize;
        for y in area.rows() {
            let start = y as usize * w + area.top_left.x as usize;
            self.pixels[start..start + area.size.width as usize].fill(color);
        }
        Ok(())
    }
}

/// The headless backend: frames to PNG files.
#[derive(Debug)]
pub struct Headless {
    canvas: Framebuffer,
    dir: PathBuf,
    frames: u32,
}

impl Headless {
    /// Frames of `size` written to `dir` (created if missing).
    pub fn new(size: Size, dir: impl Into<PathBuf>) -> Result<Self, DisplayError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| DisplayError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            canvas: Framebuffer::new(size),
            dir,
            frames: 0,
        })
    }

    /// How many frames were written.
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// The path of frame `n`.
    pub fn frame_path(&self, n: u32) -> PathBuf {
        self.dir.join(format!("frame-{n:04}.png"))
    }
}

impl Backend for Headless {
    fn canvas(&mut self) -> &mut Framebuffer {
        &mut self.canvas
    }

    fn present(&mut self, damage: &[Rectangle]) -> Result<(), DisplayError> {
        if damage.is_empty() {
            return Ok(());
        }
        self.canvas.save_png(&self.frame_path(self.frames))?;
        self.frames += 1;
        Ok(())
    }

    fn screenshot(&mut self, name: &str) -> Result<Option<PathBuf>, DisplayError> {
        let path = self.dir.join(format!("{name}.png"));
        self.canvas.save_png(&path)?;
        Ok(Some(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_off_screen_is_clipped_and_changes_are_found() {
        let mut fb = Framebuffer::new(Size::new(20, 10));
        let before = fb.clone();
        fb.fill_solid(
            &Rectangle::new(Point::new(15, 5), Size::new(10, 10)),
            Rgb888::RED,
        )
        .expect("infallible");
        assert_eq!(fb.pixel(Point::new(19, 9)), Some(Rgb888::RED));
        assert_eq!(fb.pixel(Point::new(20, 9)), None);
        assert_eq!(
            fb.changed_area(&before),
            Some(Rectangle::new(Point::new(15, 5), Size::new(5, 5)))
        );
        assert_eq!(fb.changed_area(&fb.clone()), None);
    }

    #[test]
    fn presented_frames_are_written_as_pngs_that_decode_to_the_same_pixels() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut headless = Headless::new(Size::new(8, 4), dir.path().join("shots")).expect("dir");
        headless
            .canvas()
            .fill_solid(
                &Rectangle::new(Point::zero(), Size::new(2, 2)),
                Rgb888::GREEN,
            )
            .expect("infallible");
        headless.present(&[]).expect("nothing to present");
        assert_eq!(headless.frames(), 0, "no damage, no frame");
        headless
            .present(&[Rectangle::new(Point::zero(), Size::new(2, 2))])
            .expect("writes");
        let bytes = std::fs::read(headless.frame_path(0)).expect("frame written");
        let image = crate::widgets::image::Image::decode_png(&bytes).expect("a PNG");
        assert_eq!(image.size(), Size::new(8, 4));
        assert_eq!(image.pixel(1, 1), Some(Rgb888::GREEN));
        assert_eq!(image.pixel(5, 3), Some(theme::BACKGROUND));
    }
}
