//! The Linux framebuffer (`/dev/fb0`), as on the box.
//!
//! The geometry comes from sysfs (`/sys/class/graphics/fb0/virtual_size`,
//! `bits_per_pixel`, `stride`); the device is an ordinary file, so damaged
//! rows are written at `y * stride + x * bytes_per_pixel` with plain
//! `seek` + `write` (no `mmap`, no `unsafe`). Only damaged spans are written:
//! moving focus costs two tiles' worth of bytes, not a full frame.
//!
//! Pixel layouts, as the common drivers (simplefb, vc4, virtio-gpu,
//! bochs) present them on little-endian ARM and x86: 32 bpp XRGB8888 (bytes
//! B, G, R, X), 24 bpp BGR888, 16 bpp RGB565.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use super::{Backend, DisplayError, Framebuffer};

/// A framebuffer's shape, read from sysfs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FbGeometry {
    /// Pixels per line, and lines.
    pub size: Size,
    /// 16, 24 or 32.
    pub bits_per_pixel: u32,
    /// Bytes from one line to the next (may exceed width × bytes per pixel).
    pub stride: u32,
}

impl FbGeometry {
    /// Reads the geometry from a sysfs directory such as `/sys/class/graphics/fb0`.
    pub fn read(sysfs: &Path) -> Result<Self, DisplayError> {
        let size_path = sysfs.join("virtual_size");
        let size = read_text(&size_path)?;
        let (w, h) = size
            .split_once(',')
            .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
            .filter(|(w, h)| *w > 0 && *h > 0)
            .ok_or_else(|| DisplayError::BadGeometry {
                path: size_path.clone(),
                value: size.clone(),
            })?;
        let bits_per_pixel = read_number(&sysfs.join("bits_per_pixel"))?;
        if ![16, 24, 32].contains(&bits_per_pixel) {
            return Err(DisplayError::UnsupportedDepth(bits_per_pixel));
        }
        let stride_path = sysfs.join("stride");
        let stride = read_number(&stride_path)?;
        if stride < w * bits_per_pixel / 8 {
            return Err(DisplayError::BadGeometry {
                path: stride_path,
                value: stride.to_string(),
            });
        }
        Ok(Self {
            size: Size::new(w, h),
            bits_per_pixel,
            stride,
        })
    }

    /// Bytes per pixel.
    pub fn bytes_per_pixel(&self) -> u32 {
        self.bits_per_pixel / 8
    }
}

fn read_text(path: &Path) -> Result<String, DisplayError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|source| DisplayError::Io {
            path: path.to_path_buf(),
            source,
        })
}

fn read_number(path: &Path) -> Result<u32, DisplayError> {
    let text = read_text(path)?;
    text.parse().map_err(|_| DisplayError::BadGeometry {
        path: path.to_path_buf(),
        value: text,
    })
}

/// Appends `color` in the framebuffer's layout.
fn encode(color: Rgb888, bits_per_pixel: u32, out: &mut Vec<u8>) {
    match bits_per_pixel {
        32 => out.extend_from_slice(&[color.b(), color.g(), color.r(), 0xff]),
        24 => out.extend_from_slice(&[color.b(), color.g(), color.r()]),
        _ => {
            let v = (u16::from(color.r() >> 3) << 11)
                | (u16::from(color.g() >> 2) << 5)
                | u16::from(color.b() >> 3);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// The Linux framebuffer backend.
#[derive(Debug)]
pub struct FbDev {
    file: File,
    path: PathBuf,
    geometry: FbGeometry,
    canvas: Framebuffer,
    line: Vec<u8>,
}

impl FbDev {
    /// Opens `device` (e.g. `/dev/fb0`) with the geometry in `sysfs`
    /// (e.g. `/sys/class/graphics/fb0`).
    pub fn open(device: &Path, sysfs: &Path) -> Result<Self, DisplayError> {
        let geometry = FbGeometry::read(sysfs)?;
        let file = OpenOptions::new()
            .write(true)
            .open(device)
            .map_err(|source| DisplayError::Io {
                path: device.to_path_buf(),
                source,
            })?;
        Ok(Self {
            file,
            path: device.to_path_buf(),
            geometry,
            canvas: Framebuffer::new(geometry.size),
            line: Vec::new(),
        })
    }

    /// The geometry in use.
    pub fn geometry(&self) -> FbGeometry {
        self.geometry
    }

    fn io(&self, source: std::io::Error) -> DisplayError {
        DisplayError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl Backend for FbDev {
    fn canvas(&mut self) -> &mut Framebuffer {
        &mut self.canvas
    }

    fn present(&mut self, damage: &[Rectangle]) -> Result<(), DisplayError> {
        let screen = Rectangle::new(Point::zero(), self.geometry.size);
        for rect in damage {
            let rect = rect.intersection(&screen);
            if rect.is_zero_sized() {
                continue;
            }
            let x = rect.top_left.x as u32;
            for y in rect.rows() {
                let y = y as u32;
                self.line.clear();
                for &color in self.canvas.row(y, x, rect.size.width) {
                    encode(color, self.geometry.bits_per_pixel, &mut self.line);
                }
                let offset = u64::from(y) * u64::from(self.geometry.stride)
                    + u64::from(x) * u64::from(self.geometry.bytes_per_pixel());
                let result = self
                    .file
                    .seek(SeekFrom::Start(offset))
                    .and_then(|_| self.file.write_all(&self.line));
                result.map_err(|e| self.io(e))?;
            }
        }
        self.file.flush().map_err(|e| self.io(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sysfs(size: &str, bpp: &str, stride: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("virtual_size"), size).expect("write");
        std::fs::write(dir.path().join("bits_per_pixel"), bpp).expect("write");
        std::fs::write(dir.path().join("stride"), stride).expect("write");
        dir
    }

    #[test]
    fn geometry_is_read_from_sysfs() {
        let dir = sysfs("1920,1080\n", "32\n", "7680\n");
        let g = FbGeometry::read(dir.path()).expect("reads");
        assert_eq!(g.size, Size::new(1920, 1080));
        assert_eq!((g.bits_per_pixel, g.stride), (32, 7680));
    }

    #[test]
    fn bad_geometry_is_named() {
        let dir = sysfs("wide", "32", "7680");
        assert!(matches!(
            FbGeometry::read(dir.path()),
            Err(DisplayError::BadGeometry { .. })
        ));
        let dir = sysfs("640,480", "8", "640");
        assert!(matches!(
            FbGeometry::read(dir.path()),
            Err(DisplayError::UnsupportedDepth(8))
        ));
        let dir = sysfs("640,480", "32", "100");
        assert!(matches!(
            FbGeometry::read(dir.path()),
            Err(DisplayError::BadGeometry { .. })
        ));
        assert!(matches!(
            FbGeometry::read(&dir.path().join("none")),
            Err(DisplayError::Io { .. })
        ));
    }

    #[test]
    fn damaged_rectangles_are_written_at_their_offsets_in_the_devices_layout() {
        // A padded stride (extra bytes per line), as some drivers have.
        for (bpp, red) in [
            (32u32, vec![0, 0, 255, 255]),
            (24, vec![0, 0, 255]),
            (16, vec![0x00, 0xf8]),
        ] {
            let stride = 10 * bpp / 8 + 4;
            let dir = sysfs("10,6", &bpp.to_string(), &stride.to_string());
            let device = dir.path().join("fb0");
            std::fs::write(&device, vec![0u8; (stride * 6) as usize]).expect("fake device");
            let mut fb = FbDev::open(&device, dir.path()).expect("opens");
            let rect = Rectangle::new(Point::new(2, 3), Size::new(3, 2));
            fb.canvas()
                .fill_solid(&rect, Rgb888::RED)
                .expect("infallible");
            fb.present(&[rect]).expect("writes");
            let bytes = std::fs::read(&device).expect("read back");
            assert_eq!(
                bytes.len(),
                (stride * 6) as usize,
                "nothing written past the end"
            );
            let bpp_bytes = (bpp / 8) as usize;
            let at =
                |x: usize, y: usize| &bytes[y * stride as usize + x * bpp_bytes..][..bpp_bytes];
            assert_eq!(at(2, 3), red.as_slice(), "{bpp} bpp");
            assert_eq!(at(4, 4), red.as_slice(), "{bpp} bpp");
            assert!(
                at(5, 3).iter().all(|b| *b == 0),
                "right of the damage untouched"
            );
            assert!(
                at(2, 2).iter().all(|b| *b == 0),
                "above the damage untouched"
            );
        }
    }
}
