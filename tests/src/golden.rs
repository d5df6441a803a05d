//! Screenshots compared with committed golden PNGs, tolerantly.
//!
//! Two renders of the same screen by the same code are identical, but a
//! golden must survive what legitimately moves: a font's anti-aliasing on
//! another machine, a poster re-encoded, and above all the parts of a
//! screen that are different every run (a fresh login code and its QR, the
//! video's clock). So a comparison
//!
//! - ignores [`Mask`]ed rectangles altogether,
//! - counts a pixel as different only when one of its channels is off by
//!   more than [`Tolerance::channel`],
//! - and fails only when more than [`Tolerance::max_fraction`] of the
//!   compared pixels differ.
//!
//! A failure leaves `NAME.actual.png` and `NAME.diff.png` (differing pixels
//! red over a faded golden, masks blue) in the output directory and names
//! both. `OTTBOX_BLESS=1` writes the actual screenshots over the goldens
//! instead; look at every one before committing it.

use std::path::{Path, PathBuf};

/// A rectangle left out of the comparison, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mask {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Mask {
    /// The rectangle at (`x`, `y`) of `width` × `height`.
    pub const fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    fn contains(&self, x: u32, y: u32) -> bool {
        (self.x..self.x + self.width).contains(&x) && (self.y..self.y + self.height).contains(&y)
    }
}

/// How different a screenshot may be and still match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Largest difference in any of R, G, B that still counts as the same.
    pub channel: u8,
    /// Largest fraction of compared pixels that may differ.
    pub max_fraction: f64,
}

impl Default for Tolerance {
    /// Small enough that a changed word or a moved focus ring fails (a
    /// line of body text is about 0.3 % of a 1280×720 screen), large
    /// enough for a few pixels of anti-aliasing.
    fn default() -> Self {
        Self {
            channel: 24,
            max_fraction: 0.001,
        }
    }
}

/// An RGB image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// R, G, B bytes, row by row.
    pub pixels: Vec<u8>,
}

impl Rgb {
    /// Reads a PNG (grey, RGB or RGBA, 8 bits) as RGB.
    pub fn read(path: &Path) -> Result<Self, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder
            .read_info()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
        let info = reader
            .next_frame(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let channels = info.color_type.samples();
        let pixels = buf[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|p| match p.len() {
                1 | 2 => [p[0], p[0], p[0]],
                _ => [p[0], p[1], p[2]],
            })
            .collect();
        Ok(Self {
            width: info.width,
            height: info.height,
            pixels,
        })
    }

    /// Writes the image as an RGB PNG.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut w| w.write_image_data(&self.pixels))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn at(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }
}

/// What a comparison found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    /// Pixels compared (outside the masks).
    pub compared: u64,
    /// Of those, pixels off by more than the channel tolerance.
    pub differing: u64,
}

impl Difference {
    /// The differing fraction.
    pub fn fraction(&self) -> f64 {
        if self.compared == 0 {
            0.0
        } else {
            self.differing as f64 / self.compared as f64
        }
    }
}

/// Compares `actual` with `golden` outside `masks`; also returns the diff
/// image. Images of different sizes differ everywhere.
pub fn compare(
    actual: &Rgb,
    golden: &Rgb,
    masks: &[Mask],
    tolerance: Tolerance,
) -> (Difference, Rgb) {
    let (width, height) = (golden.width, golden.height);
    let mut diff = Rgb {
        width,
        height,
        pixels: Vec::with_capacity((width * height * 3) as usize),
    };
    let same_size = actual.width == width && actual.height == height;
    let mut result = Difference {
        compared: 0,
        differing: 0,
    };
    for y in 0..height {
        for x in 0..width {
            let g = golden.at(x, y);
            // The golden faded to grey, so that red differences stand out.
            let grey = ((u32::from(g[0]) + u32::from(g[1]) + u32::from(g[2])) / 3 / 3 + 40) as u8;
            if masks.iter().any(|m| m.contains(x, y)) {
                diff.pixels
                    .extend([grey / 2, grey / 2, grey.saturating_add(80)]);
                continue;
            }
            result.compared += 1;
            let off = !same_size
                || actual
                    .at(x, y)
                    .iter()
                    .zip(g)
                    .any(|(a, g)| a.abs_diff(g) > tolerance.channel);
            if off {
                result.differing += 1;
                diff.pixels.extend([255, 0, 0]);
            } else {
                diff.pixels.extend([grey, grey, grey]);
            }
        }
    }
    (result, diff)
}

/// Whether `OTTBOX_BLESS` asks for goldens to be rewritten.
pub fn blessing() -> bool {
    std::env::var_os("OTTBOX_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The committed golden called `name`: `tests/tests/golden/NAME.png`.
pub fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.png"))
}

/// Checks the screenshot `actual` against the golden `name`, or, when
/// [`blessing`], makes it the golden. On a mismatch writes
/// `OUT/NAME.actual.png` and `OUT/NAME.diff.png` and says so in the error.
pub fn check(
    name: &str,
    actual: &Path,
    masks: &[Mask],
    tolerance: Tolerance,
    out: &Path,
) -> Result<(), String> {
    let golden = golden_path(name);
    if blessing() {
        if let Some(dir) = golden.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::copy(actual, &golden).map_err(|e| format!("blessing {name}: {e}"))?;
        eprintln!("blessed {}", golden.display());
        return Ok(());
    }
    let shot = Rgb::read(actual)?;
    let expected = Rgb::read(&golden).map_err(|e| {
        format!("golden {name}: {e} (OTTBOX_BLESS=1 writes it from this run; look at it before committing)")
    })?;
    let (difference, diff) = compare(&shot, &expected, masks, tolerance);
    let size_ok = shot.width == expected.width && shot.height == expected.height;
    if size_ok && difference.fraction() <= tolerance.max_fraction {
        return Ok(());
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let actual_copy = out.join(format!("{name}.actual.png"));
    let diff_path = out.join(format!("{name}.diff.png"));
    std::fs::copy(actual, &actual_copy).map_err(|e| format!("{}: {e}", actual_copy.display()))?;
    diff.write(&diff_path)?;
    Err(format!(
        "screenshot `{name}` differs from {}: {} of {} pixels ({:.3} %, at most {:.3} % allowed){}; \
         actual: {}, diff (red: different, blue: masked): {}; \
         if the change is wanted, OTTBOX_BLESS=1 rewrites the golden",
        golden.display(),
        difference.differing,
        difference.compared,
        difference.fraction() * 100.0,
        tolerance.max_fraction * 100.0,
        if size_ok {
            String::new()
        } else {
            format!(
                ", size {}x{} instead of {}x{}",
                shot.width, shot.height, expected.width, expected.height
            )
        },
        actual_copy.display(),
        diff_path.display(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: u32, height: u32, rgb: [u8; 3]) -> Rgb {
        Rgb {
            width,
            height,
            pixels: rgb.repeat((width * height) as usize),
        }
    }

    fn set(img: &mut Rgb, x: u32, y: u32, rgb: [u8; 3]) {
        let i = ((y * img.width + x) * 3) as usize;
        img.pixels[i..i + 3].copy_from_slice(&rgb);
    }

    #[test]
    fn small_channel_changes_pass_and_masks_hide_big_ones() {
        let golden = image(10, 10, [100, 100, 100]);
        let mut actual = image(10, 10, [110, 95, 100]);
        set(&mut actual, 9, 9, [255, 0, 0]);
        let tol = Tolerance {
            channel: 16,
            max_fraction: 0.0,
        };
        let (d, _) = compare(&actual, &golden, &[], tol);
        assert_eq!(d.differing, 1, "only the red pixel is off");
        let (d, diff) = compare(&actual, &golden, &[Mask::new(8, 8, 2, 2)], tol);
        assert_eq!((d.compared, d.differing), (96, 0));
        assert!(diff.at(9, 9)[2] > diff.at(9, 9)[0], "masks are blue");
    }

    #[test]
    fn pngs_round_trip_and_differing_pixels_are_red_in_the_diff() {
        let dir = tempfile::tempdir().expect("tempdir");
        let golden = image(4, 4, [0, 0, 0]);
        let golden_file = dir.path().join("g.png");
        golden.write(&golden_file).expect("write");
        assert_eq!(Rgb::read(&golden_file).expect("read"), golden);
        let mut actual = golden.clone();
        set(&mut actual, 1, 1, [200, 200, 200]);
        let (d, diff) = compare(&actual, &golden, &[], Tolerance::default());
        assert_eq!(d.differing, 1);
        assert_eq!(diff.at(1, 1), [255, 0, 0]);
        assert_eq!(diff.at(0, 0), [40, 40, 40]);
    }
}
