//! The on-screen keyboard for search: letters, digits, space and delete.
//!
//! A remote has no letters, so search is typed by moving over a grid of
//! keys and pressing OK. The layout is alphabetical (what TV viewers
//! expect, unlike QWERTY), six keys to a row, with Space and Delete last.

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use super::grid::Grid;
use super::text;
use crate::theme::{self, Theme};

/// Keys per row.
pub const COLS: usize = 6;

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// Types a character.
    Char(char),
    /// Types a space.
    Space,
    /// Deletes the last character.
    Delete,
}

/// The keys, in grid order.
pub fn keys() -> Vec<KeyAction> {
    ('a'..='z')
        .chain('0'..='9')
        .map(KeyAction::Char)
        .chain([KeyAction::Space, KeyAction::Delete])
        .collect()
}

/// The label on a key.
pub fn label(action: KeyAction) -> String {
    match action {
        KeyAction::Char(c) => c.to_ascii_uppercase().to_string(),
        KeyAction::Space => "Space".into(),
        KeyAction::Delete => "Del".into(),
    }
}

/// Draws key `index` of `grid`, focused or not.
pub fn draw_key<D: DrawTarget<Color = Rgb888>>(
    target: &mut D,
    theme: &Theme,
    grid: &Grid,
    index: usize,
    focused: bool,
) -> Result<Rectangle, D::Error> {
    let rect = grid.cell_rect(index);
    let Some(action) = keys().get(index).copied() else {
        return Ok(rect);
    };
    let (bg, fg) = if focused {
        (theme::FOCUS, theme::BACKGROUND)
    } else {
        (theme::SURFACE, theme::TEXT)
    };
    target.fill_solid(&rect, bg)?;
    let font = theme.body_font();
    let label = label(action);
    let w = text::width(&label, font).min(rect.size.width);
    let at = rect.top_left
        + Point::new(
            (rect.size.width - w) as i32 / 2,
            (rect.size.height as i32 - font.character_size.height as i32) / 2,
        );
    text::draw_line(target, &label, at, font, fg, rect.size.width)?;
    Ok(rect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::mock_display::MockDisplay;

    #[test]
    fn the_layout_is_alphabetical_then_digits_then_space_and_delete() {
        let keys = keys();
        assert_eq!(keys.len(), 38);
        assert_eq!(keys[0], KeyAction::Char('a'));
        assert_eq!(keys[26], KeyAction::Char('0'));
        assert_eq!(keys[37], KeyAction::Delete);
        assert_eq!(label(keys[36]), "Space");
    }

    #[test]
    fn the_focused_key_is_filled_with_the_focus_colour() {
        let theme = Theme::for_size(Size::new(1280, 720));
        let grid = Grid {
            cols: COLS,
            count: keys().len(),
            origin: Point::new(0, 0),
            cell: Size::new(20, 18),
            gap: 2,
        };
        let mut display: MockDisplay<Rgb888> = MockDisplay::new();
        display.set_allow_overdraw(true);
        let rect = draw_key(&mut display, &theme, &grid, 1, true).expect("draws");
        assert_eq!(rect, Rectangle::new(Point::new(22, 0), Size::new(20, 18)));
        assert_eq!(display.get_pixel(Point::new(22, 0)), Some(theme::FOCUS));
        assert_eq!(display.affected_area(), rect);
    }
}
