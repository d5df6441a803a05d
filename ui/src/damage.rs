//! Damage tracking: which parts of the screen need drawing again.
//!
//! A weak ARM box cannot afford to repaint 1920×1080 pixels for every key
//! press. Whatever changes the UI's state also records the rectangles it made
//! stale; [`crate::app::App::draw`] repaints only those (clipped to them), and
//! a display backend copies only those to the screen. Moving focus from one
//! tile to the next damages exactly the two tiles.

use embedded_graphics::primitives::Rectangle;

/// A list of stale rectangles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Damage {
    rects: Vec<Rectangle>,
}

impl Damage {
    /// Marks `rect` stale. Rectangles inside one already listed are dropped,
    /// and listed ones inside the new one are replaced by it, so the list
    /// stays short without growing repaints beyond what changed.
    pub fn add(&mut self, rect: Rectangle) {
        if rect.is_zero_sized() || self.rects.iter().any(|r| contains(r, &rect)) {
            return;
        }
        self.rects.retain(|r| !contains(&rect, r));
        self.rects.push(rect);
    }

    /// The stale rectangles.
    pub fn rects(&self) -> &[Rectangle] {
        &self.rects
    }

    /// True when nothing needs drawing.
    pub fn is_empty(&self) -> bool {
        self.rects.is_empty()
    }

    /// Takes the list, leaving it empty.
    pub fn take(&mut self) -> Vec<Rectangle> {
        std::mem::take(&mut self.rects)
    }

    /// The number of pixels the list covers (overlaps counted twice).
    pub fn area(&self) -> u64 {
        self.rects
            .iter()
            .map(|r| u64::from(r.size.width) * u64::from(r.size.height))
            .sum()
    }
}

/// True when `inner` lies entirely inside `outer`.
pub fn contains(outer: &Rectangle, inner: &Rectangle) -> bool {
    let Some(ob) = outer.bottom_right() else {
        return false;
    };
    let Some(ib) = inner.bottom_right() else {
        return true;
    };
    inner.top_left.x >= outer.top_left.x
        && inner.top_left.y >= outer.top_left.y
        && ib.x <= ob.x
        && ib.y <= ob.y
}

/// True when the rectangles share at least one pixel.
pub fn overlaps(a: &Rectangle, b: &Rectangle) -> bool {
    !a.intersection(b).is_zero_sized()
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::prelude::*;

    fn r(x: i32, y: i32, w: u32, h: u32) -> Rectangle {
        Rectangle::new(Point::new(x, y), Size::new(w, h))
    }

    #[test]
    fn contained_rectangles_fold_into_the_larger_one() {
        let mut d = Damage::default();
        d.add(r(10, 10, 5, 5));
        d.add(r(100, 0, 5, 5));
        d.add(r(11, 11, 2, 2));
        assert_eq!(d.rects().len(), 2);
        d.add(r(0, 0, 50, 50));
        assert_eq!(d.rects(), &[r(100, 0, 5, 5), r(0, 0, 50, 50)]);
        assert_eq!(d.area(), 25 + 2500);
        assert_eq!(d.take().len(), 2);
        assert!(d.is_empty());
    }

    #[test]
    fn empty_rectangles_are_not_damage() {
        let mut d = Damage::default();
        d.add(r(5, 5, 0, 10));
        assert!(d.is_empty());
        assert!(overlaps(&r(0, 0, 10, 10), &r(9, 9, 5, 5)));
        assert!(!overlaps(&r(0, 0, 10, 10), &r(10, 0, 5, 5)));
    }
}
