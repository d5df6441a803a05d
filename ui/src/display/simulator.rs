//! The SDL2 simulator: the UI in a desktop window, the PC keyboard as remote.
//!
//! Built only with `--features simulator` (it links SDL2: `apt-get install
//! libsdl2-dev`). Arrows move, Enter is OK, Escape or Backspace is Back,
//! Home is Home, Space is play/pause, and letters and digits type (search).
//! There is no daemon link yet, so the window shows "waiting for ottboxd"
//! until the integrator wires one in.

use std::time::{Duration, Instant};

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use embedded_graphics_simulator::sdl2::Keycode;
use embedded_graphics_simulator::{OutputSettings, SimulatorDisplay, SimulatorEvent, Window};

use super::{Backend, DisplayError, Framebuffer};
use crate::app::App;
use crate::daemon::{DaemonLink, Disconnected};
use crate::input::Key;
use crate::wake;

/// The key a PC keyboard key means.
pub fn map_keycode(code: Keycode) -> Option<Key> {
    Some(match code {
        Keycode::Up => Key::Up,
        Keycode::Down => Key::Down,
        Keycode::Left => Key::Left,
        Keycode::Right => Key::Right,
        Keycode::Return | Keycode::KpEnter => Key::Ok,
        Keycode::Escape => Key::Back,
        Keycode::Backspace => Key::Char('\u{8}'),
        Keycode::Home => Key::Home,
        Keycode::Space => Key::PlayPause,
        other => {
            let name = other.name();
            let mut chars = name.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_alphanumeric() => Key::Char(c.to_ascii_lowercase()),
                _ => return None,
            }
        }
    })
}

/// A window showing the canvas.
pub struct Simulator {
    canvas: Framebuffer,
    display: SimulatorDisplay<Rgb888>,
    window: Window,
}

impl Simulator {
    /// A window of `size`.
    pub fn new(size: Size) -> Self {
        Self {
            canvas: Framebuffer::new(size),
            display: SimulatorDisplay::new(size),
            window: Window::new("ottbox-ui", &OutputSettings::default()),
        }
    }
}

impl Backend for Simulator {
    fn canvas(&mut self) -> &mut Framebuffer {
        &mut self.canvas
    }

    fn present(&mut self, damage: &[Rectangle]) -> Result<(), DisplayError> {
        for rect in damage {
            let pixels = rect
                .points()
                .filter_map(|p| self.canvas.pixel(p).map(|c| Pixel(p, c)));
            let Ok(()) = self.display.draw_iter(pixels);
        }
        self.window.update(&self.display);
        Ok(())
    }
}

/// Runs the UI in a window until it is closed.
pub fn run(size: Size) -> Result<(), DisplayError> {
    let mut backend = Simulator::new(size);
    let mut app = App::new(size);
    let (sink, events) = wake::channel();
    let mut daemon = Disconnected;
    daemon
        .start(sink)
        .map_err(|e| DisplayError::Simulator(e.to_string()))?;
    let start = Instant::now();
    loop {
        while let Ok(wake::Event::Update(update)) = events.try_recv() {
            app.update(*update);
        }
        app.tick(start.elapsed());
        for command in app.take_commands() {
            let _ = daemon.send(command);
        }
        let Ok(damage) = app.draw(backend.canvas());
        backend.present(&damage)?;
        // SDL delivers window events only when asked; ask at a frame rate.
        for event in backend.window.events() {
            match event {
                SimulatorEvent::Quit => return Ok(()),
                SimulatorEvent::KeyDown { keycode, .. } => {
                    if let Some(key) = map_keycode(keycode) {
                        app.key(key);
                    }
                }
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(16));
    }
}
