//! Posters: PNGs from the headend, decoded once and kept in a small cache.
//!
//! Posters arrive as PNG bytes (`/api/v1/titles/{id}/poster.png`, 200×300).
//! [`Image::decode_png`] turns them into RGB pixels with the `png` crate;
//! [`ImageCache`] keeps each decoded poster by path together with a copy
//! already scaled to the tile size, so scrolling a row copies pixels and
//! never decodes or resamples. The cache holds a bounded number of posters
//! (oldest out first) so a long browse does not eat a small box's memory.

use std::collections::{HashMap, VecDeque};

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

/// Refusals when decoding a poster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The bytes are not a PNG the decoder understands (code `bad_png`).
    #[error("bad_png: {0}")]
    BadPng(#[from] png::DecodingError),
    /// The PNG is empty or absurdly large (code `bad_size`).
    #[error("bad_size: {width}×{height} is not a poster size")]
    BadSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

/// Largest side accepted, in pixels: posters are 200×300; this leaves room
/// for bigger art without letting one file take all memory.
const MAX_SIDE: u32 = 2048;

/// An RGB picture in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    size: Size,
    pixels: Vec<Rgb888>,
}

impl Image {
    /// Decodes PNG bytes (any colour type and bit depth; alpha is dropped
    /// onto black, as posters are opaque).
    pub fn decode_png(bytes: &[u8]) -> Result<Self, ImageError> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let header = decoder.read_header_info()?;
        let (width, height) = (header.width, header.height);
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(ImageError::BadSize { width, height });
        }
        let mut reader = decoder.read_info()?;
        let mut buf = vec![
            0;
            reader
                .output_buffer_size()
                .ok_or(ImageError::BadSize { width, height })?
        ];
        let info = reader.next_frame(&mut buf)?;
        let channels = info.color_type.samples();
        let pixels = buf[..info.buffer_size()]
            .chunks_exact(info.line_size)
            .flat_map(|line| line.chunks_exact(channels).take(width as usize))
            .map(|px| match px {
                [g] | [g, _] => Rgb888::new(*g, *g, *g),
                [r, g, b] => Rgb888::new(*r, *g, *b),
                [r, g, b, a] => {
                    let scale = |c: u8| (u16::from(c) * u16::from(*a) / 255) as u8;
                    Rgb888::new(scale(*r), scale(*g), scale(*b))
                }
                _ => Rgb888::BLACK,
            })
            .collect();
        Ok(Self {
            size: Size::new(width, height),
            pixels,
        })
    }

    /// A solid image (tests, placeholders).
    pub fn solid(size: Size, color: Rgb888) -> Self {
        Self {
            size,
            pixels: vec![color; (size.width * size.height) as usize],
        }
    }

    /// Width and height.
    pub fn size(&self) -> Size {
        self.size
    }

    /// The pixel at `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> Option<Rgb888> {
        (x < self.size.width && y < self.size.height)
            .then(|| self.pixels[(y * self.size.width + x) as usize])
    }

    /// A copy resampled to `size` (nearest neighbour: posters are flat art).
    pub fn scaled(&self, size: Size) -> Self {
        if size == self.size {
            return self.clone();
        }
        let mut pixels = Vec::with_capacity((size.width * size.height) as usize);
        for y in 0..size.height {
            let sy = y * self.size.height / size.height.max(1);
            for x in 0..size.width {
                let sx = x * self.size.width / size.width.max(1);
                pixels.push(self.pixels[(sy * self.size.width + sx) as usize]);
            }
        }
        Self { size, pixels }
    }

    /// Draws the image into `rect`, resampling on the fly if the sizes differ
    /// (the cache's pre-scaled copy makes that the rare case).
    pub fn draw_into<D: DrawTarget<Color = Rgb888>>(
        &self,
        target: &mut D,
        rect: Rectangle,
    ) -> Result<(), D::Error> {
        if rect.size == self.size {
            return target.fill_contiguous(&rect, self.pixels.iter().copied());
        }
        let (w, h) = (rect.size.width.max(1), rect.size.height.max(1));
        let colors = (0..h).flat_map(move |y| {
            let sy = y * self.size.height / h;
            (0..w).map(move |x| {
                self.pixels[(sy * self.size.width + x * self.size.width / w) as usize]
            })
        });
        target.fill_contiguous(&rect, colors)
    }
}

/// Decoded posters by path, each with a copy at the tile size.
#[derive(Debug)]
pub struct ImageCache {
    tile_size: Size,
    capacity: usize,
    entries: HashMap<String, (Image, Image)>,
    order: VecDeque<String>,
}

impl ImageCache {
    /// A cache for `capacity` posters, pre-scaling each to `tile_size`.
    pub fn new(tile_size: Size, capacity: usize) -> Self {
        Self {
            tile_size,
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Decodes and keeps a poster. A bad PNG is refused and not kept.
    pub fn insert_png(&mut self, path: &str, bytes: &[u8]) -> Result<(), ImageError> {
        let image = Image::decode_png(bytes)?;
        let tile = image.scaled(self.tile_size);
        if self
            .entries
            .insert(path.to_string(), (image, tile))
            .is_none()
        {
            self.order.push_back(path.to_string());
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.entries.remove(&old);
            }
        }
        Ok(())
    }

    /// True when the poster is decoded and kept.
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// The poster at the best size for `size`: the pre-scaled tile copy when
    /// it matches, the original otherwise.
    pub fn get(&self, path: &str, size: Size) -> Option<&Image> {
        self.entries
            .get(path)
            .map(|(original, tile)| if tile.size == size { tile } else { original })
    }

    /// How many posters are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no poster is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Encodes RGB pixels as a PNG (posters for tests, screenshots).
pub fn encode_png(size: Size, rgb: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size.width, size.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::mock_display::MockDisplay;

    fn poster(w: u32, h: u32, top: [u8; 3], bottom: [u8; 3]) -> Vec<u8> {
        let rgb: Vec<u8> = (0..h)
            .flat_map(|y| (0..w).flat_map(move |_| if y < h / 2 { top } else { bottom }))
            .collect();
        encode_png(Size::new(w, h), &rgb).expect("encodes")
    }

    #[test]
    fn a_png_decodes_to_its_pixels() {
        let image =
            Image::decode_png(&poster(4, 6, [200, 10, 10], [10, 10, 200])).expect("decodes");
        assert_eq!(image.size(), Size::new(4, 6));
        assert_eq!(image.pixel(0, 0), Some(Rgb888::new(200, 10, 10)));
        assert_eq!(image.pixel(3, 5), Some(Rgb888::new(10, 10, 200)));
        assert_eq!(image.pixel(4, 0), None);
    }

    #[test]
    fn garbage_is_refused_not_a_panic() {
        assert!(matches!(
            Image::decode_png(b"not a png"),
            Err(ImageError::BadPng(_))
        ));
        let mut cache = ImageCache::new(Size::new(2, 3), 4);
        assert!(cache.insert_png("/p", b"\x89PNG\r\n\x1a\n broken").is_err());
        assert!(cache.is_empty());
    }

    #[test]
    fn the_cache_keeps_a_tile_sized_copy_and_forgets_the_oldest() {
        let mut cache = ImageCache::new(Size::new(2, 3), 2);
        for path in ["/a", "/b", "/c"] {
            cache
                .insert_png(path, &poster(4, 6, [1, 2, 3], [4, 5, 6]))
                .expect("inserts");
        }
        assert_eq!(cache.len(), 2);
        assert!(!cache.contains("/a"), "oldest forgotten");
        assert_eq!(
            cache.get("/c", Size::new(2, 3)).map(Image::size),
            Some(Size::new(2, 3))
        );
        assert_eq!(
            cache.get("/c", Size::new(9, 9)).map(Image::size),
            Some(Size::new(4, 6))
        );
    }

    #[test]
    fn drawing_scales_into_the_rectangle() {
        let image =
            Image::decode_png(&poster(4, 6, [200, 10, 10], [10, 10, 200])).expect("decodes");
        let mut display: MockDisplay<Rgb888> = MockDisplay::new();
        let rect = Rectangle::new(Point::new(1, 1), Size::new(2, 4));
        image.draw_into(&mut display, rect).expect("draws");
        assert_eq!(display.affected_area(), rect);
        assert_eq!(
            display.get_pixel(Point::new(1, 1)),
            Some(Rgb888::new(200, 10, 10))
        );
        assert_eq!(
            display.get_pixel(Point::new(2, 4)),
            Some(Rgb888::new(10, 10, 200))
        );
    }
}
