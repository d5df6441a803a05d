//! Display backends: where the drawn frame goes.
//!
//! The UI always draws into a [`headless::Framebuffer`] in memory (RGB
//! pixels). A [`Backend`] owns that buffer and, after each frame, copies the
//! damaged rectangles to its output:
//!
//! - [`headless`]: no output device; writes a PNG per frame (tests, screenshots);
//! - [`fbdev`]: the Linux framebuffer, `/dev/fb0`, as on the box;
//! - `simulator` (cargo feature `simulator`): an SDL2 window for developers.

pub mod fbdev;
pub mod headless;
#[cfg(feature = "simulator")]
pub mod simulator;

use std::path::PathBuf;

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

pub use headless::Framebuffer;

/// Refusals and failures of a display backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DisplayError {
    /// A file could not be read or written (code `display_io`).
    #[error("display_io: {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A sysfs geometry file holds something unexpected (code `bad_geometry`).
    #[error("bad_geometry: {path} holds `{value}`")]
    BadGeometry {
        /// The file.
        path: PathBuf,
        /// What it holds.
        value: String,
    },
    /// The framebuffer's pixel depth is not one the UI can write (code `unsupported_depth`).
    #[error("unsupported_depth: {0} bits per pixel (16, 24 and 32 are supported)")]
    UnsupportedDepth(u32),
    /// A screenshot could not be encoded (code `png_encode`).
    #[error("png_encode: {0}")]
    Png(#[from] png::EncodingError),
    /// The simulator window failed or was closed (code `simulator`).
    #[error("simulator: {0}")]
    Simulator(String),
}

/// Something frames can be shown on.
pub trait Backend {
    /// The in-memory frame the UI draws on.
    fn canvas(&mut self) -> &mut Framebuffer;

    /// Shows the parts of the canvas listed in `damage` (all of it if the
    /// backend cannot do partial updates).
    fn present(&mut self, damage: &[Rectangle]) -> Result<(), DisplayError>;

    /// Saves the canvas as a screenshot called `name` (a script's
    /// `shot:NAME`) and says where, or `None` for backends that have no
    /// place for files.
    fn screenshot(&mut self, name: &str) -> Result<Option<PathBuf>, DisplayError> {
        let _ = name;
        Ok(None)
    }

    /// The screen size.
    fn size(&mut self) -> Size {
        self.canvas().size()
    }
}
