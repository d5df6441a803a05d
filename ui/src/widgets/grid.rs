//! Focus movement in a grid of cells (keyboard keys, search results, settings).
//!
//! Cells are numbered left to right, top to bottom, `cols` to a row; the last
//! row may be short. Arrow keys move one cell; moving down into a short last
//! row lands on its last cell (the nearest one), and moving off an edge is
//! reported as [`Move::Edge`] so the screen can hand focus to its neighbour.

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

/// A direction of an arrow key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Up.
    Up,
    /// Down.
    Down,
    /// Left.
    Left,
    /// Right.
    Right,
}

/// Where an arrow key takes focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// To this cell.
    To(usize),
    /// Off the grid on this side.
    Edge(Dir),
}

/// A grid's shape and where its cells go on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Cells per row.
    pub cols: usize,
    /// Number of cells.
    pub count: usize,
    /// Top-left of the first cell.
    pub origin: Point,
    /// Size of a cell.
    pub cell: Size,
    /// Gap between cells.
    pub gap: u32,
}

impl Grid {
    /// Where `dir` takes focus from `index`.
    pub fn step(&self, index: usize, dir: Dir) -> Move {
        let cols = self.cols.max(1);
        let (row, col) = (index / cols, index % cols);
        let rows = self.count.div_ceil(cols);
        match dir {
            Dir::Left if col == 0 => Move::Edge(Dir::Left),
            Dir::Left => Move::To(index - 1),
            Dir::Right if col + 1 == cols || index + 1 >= self.count => Move::Edge(Dir::Right),
            Dir::Right => Move::To(index + 1),
            Dir::Up if row == 0 => Move::Edge(Dir::Up),
            Dir::Up => Move::To(index - cols),
            Dir::Down if row + 1 >= rows => Move::Edge(Dir::Down),
            Dir::Down => Move::To((index + cols).min(self.count - 1)),
        }
    }

    /// The rectangle of cell `index`.
    pub fn cell_rect(&self, index: usize) -> Rectangle {
        let cols = self.cols.max(1);
        let (row, col) = ((index / cols) as i32, (index % cols) as i32);
        let x = self.origin.x + col * (self.cell.width + self.gap) as i32;
        let y = self.origin.y + row * (self.cell.height + self.gap) as i32;
        Rectangle::new(Point::new(x, y), self.cell)
    }

    /// The rectangle all cells cover.
    pub fn bounds(&self) -> Rectangle {
        let cols = self.cols.max(1).min(self.count.max(1));
        let rows = self.count.div_ceil(self.cols.max(1)).max(1);
        let w = cols as u32 * (self.cell.width + self.gap) - self.gap;
        let h = rows as u32 * (self.cell.height + self.gap) - self.gap;
        Rectangle::new(self.origin, Size::new(w, h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        // 3 columns, 8 cells: the last row has two.
        Grid {
            cols: 3,
            count: 8,
            origin: Point::new(10, 20),
            cell: Size::new(30, 20),
            gap: 5,
        }
    }

    #[test]
    fn arrows_move_one_cell_and_report_edges() {
        let g = grid();
        assert_eq!(g.step(0, Dir::Right), Move::To(1));
        assert_eq!(g.step(2, Dir::Right), Move::Edge(Dir::Right));
        assert_eq!(g.step(3, Dir::Left), Move::Edge(Dir::Left));
        assert_eq!(g.step(1, Dir::Up), Move::Edge(Dir::Up));
        assert_eq!(g.step(1, Dir::Down), Move::To(4));
        assert_eq!(g.step(7, Dir::Right), Move::Edge(Dir::Right));
        assert_eq!(g.step(6, Dir::Down), Move::Edge(Dir::Down));
    }

    #[test]
    fn down_into_a_short_last_row_lands_on_its_nearest_cell() {
        assert_eq!(grid().step(5, Dir::Down), Move::To(7));
    }

    #[test]
    fn cells_are_laid_out_with_gaps() {
        let g = grid();
        assert_eq!(
            g.cell_rect(4),
            Rectangle::new(Point::new(45, 45), Size::new(30, 20))
        );
        assert_eq!(
            g.bounds(),
            Rectangle::new(Point::new(10, 20), Size::new(100, 70))
        );
    }
}
