//! A horizontal row of tiles that scrolls to keep the focused tile in view.
//!
//! [`RowLayout`] is geometry only: where tile `i` is on screen for a given
//! scroll offset, which tiles are visible, how far to scroll so the focus
//! stays in view, and which tile is nearest to a point on the x axis (how
//! Down from one row picks its landing tile in the next: the one under the
//! viewer's eye, not the one with the same index).

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

/// Where a row's tiles go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLayout {
    /// Top-left of the first visible tile.
    pub origin: Point,
    /// Size of a tile.
    pub tile: Size,
    /// Gap between tiles.
    pub gap: u32,
    /// How many tiles fit on screen.
    pub visible: usize,
}

impl RowLayout {
    /// The layout for tiles of `tile` size in a strip `width` pixels wide.
    pub fn fit(origin: Point, width: u32, tile: Size, gap: u32) -> Self {
        let visible = ((width + gap) / (tile.width + gap).max(1)).max(1) as usize;
        Self {
            origin,
            tile,
            gap,
            visible,
        }
    }

    /// Pixels from one tile's left edge to the next.
    pub fn pitch(&self) -> i32 {
        (self.tile.width + self.gap) as i32
    }

    /// The rectangle of tile `index` when the row is scrolled by `scroll`
    /// tiles, or `None` when that tile is off screen.
    pub fn tile_rect(&self, index: usize, scroll: usize) -> Option<Rectangle> {
        let slot = index
            .checked_sub(scroll)
            .filter(|slot| *slot < self.visible)?;
        let x = self.origin.x + slot as i32 * self.pitch();
        Some(Rectangle::new(Point::new(x, self.origin.y), self.tile))
    }

    /// The scroll offset that shows `focus`, moving as little as possible
    /// from `scroll`.
    pub fn scroll_for(&self, focus: usize, scroll: usize) -> usize {
        if focus < scroll {
            focus
        } else if focus >= scroll + self.visible {
            focus + 1 - self.visible
        } else {
            scroll
        }
    }

    /// The visible tile (of `len`) whose centre is nearest to `x`, at `scroll`.
    pub fn nearest(&self, x: i32, scroll: usize, len: usize) -> Option<usize> {
        (scroll..len.min(scroll + self.visible)).min_by_key(|i| {
            let centre =
                self.origin.x + (i - scroll) as i32 * self.pitch() + self.tile.width as i32 / 2;
            (centre - x).abs()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> RowLayout {
        RowLayout::fit(Point::new(40, 300), 1200, Size::new(100, 170), 16)
    }

    #[test]
    fn as_many_tiles_as_fit_are_visible() {
        let l = layout();
        assert_eq!(l.visible, 10);
        assert_eq!(
            l.tile_rect(0, 0),
            Some(Rectangle::new(Point::new(40, 300), Size::new(100, 170)))
        );
        assert_eq!(l.tile_rect(3, 2).map(|r| r.top_left.x), Some(40 + 116));
        assert_eq!(l.tile_rect(1, 2), None, "scrolled out to the left");
        assert_eq!(l.tile_rect(12, 2), None, "beyond the right edge");
    }

    #[test]
    fn scrolling_keeps_the_focus_in_view_and_moves_as_little_as_possible() {
        let l = layout();
        assert_eq!(l.scroll_for(5, 0), 0);
        assert_eq!(l.scroll_for(10, 0), 1);
        assert_eq!(l.scroll_for(3, 5), 3);
        assert_eq!(l.scroll_for(7, 5), 5);
    }

    #[test]
    fn the_nearest_tile_is_the_one_under_the_point() {
        let l = layout();
        // Centre of slot 4 at scroll 0.
        let x = 40 + 4 * 116 + 50;
        assert_eq!(l.nearest(x, 0, 20), Some(4));
        // A short row: the last tile is nearest to anything right of it.
        assert_eq!(l.nearest(x, 0, 3), Some(2));
        // Scrolled: slot 4 is tile 7.
        assert_eq!(l.nearest(x, 3, 20), Some(7));
        assert_eq!(l.nearest(x, 0, 0), None);
    }
}
