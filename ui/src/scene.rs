//! The retained scene: what is on screen, as a list of nodes, and how two
//! scenes differ.
//!
//! Screens do not draw directly. After every key, update or tick, the
//! current screen describes itself as a [`Scene`]: a painter's-order list of
//! [`Node`]s (fills, lines of text, tiles, progress bars, a QR code), each
//! with the rectangle it paints. [`Scene::diff`] compares the new scene with
//! the one on screen: a node that appeared, disappeared or changed damages
//! its rectangle, and nothing else is stale. So damage tracking is not
//! bookkeeping spread through the key handlers — it falls out of the
//! comparison, and moving focus from one tile to the next damages exactly
//! the two tiles whose `focused` flag changed.
//!
//! [`Scene::render`] then repaints only the damaged rectangles (each clipped,
//! background first, then every node that overlaps it, in order).

use embedded_graphics::mono_font::MonoFont;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use crate::damage::{Damage, overlaps};
use crate::theme::{self, Theme};
use crate::widgets::image::ImageCache;
use crate::widgets::progress::ProgressBar;
use crate::widgets::qr::Qr;
use crate::widgets::text;
use crate::widgets::tile::Tile;

/// The fonts a node may use; the [`Theme`] picks the bitmap for the screen size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    /// Captions, badges.
    Small,
    /// Body text.
    Body,
    /// Headings.
    Heading,
    /// Titles and the login code.
    Large,
}

impl Font {
    /// The bitmap font for `theme`.
    pub fn mono(self, theme: &Theme) -> &'static MonoFont<'static> {
        match self {
            Font::Small => theme.small_font(),
            Font::Body => theme.body_font(),
            Font::Heading => theme.heading_font(),
            Font::Large => theme.large_font(),
        }
    }
}

/// One thing on screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A filled rectangle (panels, buttons, the preview window).
    Fill {
        /// Where.
        rect: Rectangle,
        /// Colour.
        color: Rgb888,
    },
    /// A border inside a rectangle.
    Border {
        /// Where.
        rect: Rectangle,
        /// Colour.
        color: Rgb888,
        /// Thickness in pixels.
        width: u32,
    },
    /// One line of text, already shortened to fit its rectangle.
    Text {
        /// The rectangle the text occupies.
        rect: Rectangle,
        /// The text as drawn.
        text: String,
        /// Font.
        font: Font,
        /// Colour.
        color: Rgb888,
    },
    /// A title tile.
    Tile {
        /// Where.
        rect: Rectangle,
        /// Title name.
        name: String,
        /// Poster path on the headend.
        poster: String,
        /// True once the poster is decoded (so its arrival damages the tile).
        poster_ready: bool,
        /// Watched fraction (Continue watching).
        progress: Option<f32>,
        /// Its start is ready: Play starts at once (predictive prefetch).
        instant: bool,
        /// Focus.
        focused: bool,
    },
    /// A progress bar.
    Progress {
        /// Where.
        rect: Rectangle,
        /// Watched fraction.
        fraction: f32,
        /// Buffered fraction.
        buffered: Option<f32>,
    },
    /// A QR code.
    Qr {
        /// The square it is centred in.
        rect: Rectangle,
        /// What it encodes.
        data: String,
    },
}

impl Node {
    /// The rectangle the node paints.
    pub fn rect(&self) -> Rectangle {
        match self {
            Node::Fill { rect, .. }
            | Node::Border { rect, .. }
            | Node::Text { rect, .. }
            | Node::Tile { rect, .. }
            | Node::Progress { rect, .. }
            | Node::Qr { rect, .. } => *rect,
        }
    }

    /// A line of text at `top_left`, shortened to `max_width` pixels.
    pub fn text(
        theme: &Theme,
        top_left: Point,
        text: &str,
        font: Font,
        color: Rgb888,
        max_width: u32,
    ) -> Node {
        let mono = font.mono(theme);
        let line = text::ellipsize(text, text::chars_that_fit(mono, max_width));
        let size = Size::new(text::width(&line, mono), mono.character_size.height);
        Node::Text {
            rect: Rectangle::new(top_left, size),
            text: line,
            font,
            color,
        }
    }

    /// A line of text centred horizontally in `area`, at `y`.
    pub fn centred(
        theme: &Theme,
        area: Rectangle,
        y: i32,
        text: &str,
        font: Font,
        color: Rgb888,
    ) -> Node {
        let mono = font.mono(theme);
        let line = text::ellipsize(text, text::chars_that_fit(mono, area.size.width));
        let w = text::width(&line, mono);
        let x = area.top_left.x + (area.size.width.saturating_sub(w) / 2) as i32;
        Node::text(theme, Point::new(x, y), &line, font, color, area.size.width)
    }
}

/// A screenful of nodes, in painting order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scene {
    /// The nodes; later ones paint over earlier ones.
    pub nodes: Vec<Node>,
}

/// When damage covers more than this share of the screen (in percent), or
/// is in more pieces than [`MAX_RECTS`], one full repaint is cheaper than
/// many small clipped ones.
const FULL_REPAINT_PERCENT: u64 = 60;
/// See [`FULL_REPAINT_PERCENT`].
const MAX_RECTS: usize = 32;

impl Scene {
    /// Adds a node.
    pub fn push(&mut self, node: Node) {
        self.nodes.push(node);
    }

    /// The text of every text node, in order (what a viewer can read).
    pub fn texts(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                Node::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The first text node containing `needle`.
    pub fn find_text(&self, needle: &str) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| matches!(n, Node::Text { text, .. } if text.contains(needle)))
    }

    /// True when `needle` is in a line of text or in a tile's name (what a
    /// script's `until:` waits for: search results are tiles).
    pub fn shows(&self, needle: &str) -> bool {
        self.nodes.iter().any(|n| match n {
            Node::Text { text, .. } => text.contains(needle),
            Node::Tile { name, .. } => name.contains(needle),
            _ => false,
        })
    }

    /// Adds to `damage` the rectangles of nodes that differ between `old`
    /// (on screen) and `self` (wanted).
    pub fn diff(&self, old: &Scene, screen: Rectangle, damage: &mut Damage) {
        let mut matched = vec![false; old.nodes.len()];
        let mut fresh = Damage::default();
        for (i, node) in self.nodes.iter().enumerate() {
            // Usually a node sits at the same index as before; look there first.
            let found = if old.nodes.get(i) == Some(node) && !matched[i] {
                Some(i)
            } else {
                old.nodes
                    .iter()
                    .enumerate()
                    .position(|(j, o)| !matched[j] && o == node)
            };
            match found {
                Some(j) => matched[j] = true,
                None => fresh.add(node.rect().intersection(&screen)),
            }
        }
        for (node, seen) in old.nodes.iter().zip(&matched) {
            if !seen {
                fresh.add(node.rect().intersection(&screen));
            }
        }
        let screen_area = u64::from(screen.size.width) * u64::from(screen.size.height);
        if fresh.rects().len() > MAX_RECTS
            || fresh.area() * 100 > screen_area * FULL_REPAINT_PERCENT
        {
            damage.add(screen);
        } else {
            for rect in fresh.take() {
                damage.add(rect);
            }
        }
    }

    /// Repaints the `damage`d rectangles of this scene on `target`.
    pub fn render<D: DrawTarget<Color = Rgb888>>(
        &self,
        target: &mut D,
        theme: &Theme,
        images: &ImageCache,
        damage: &[Rectangle],
    ) -> Result<(), D::Error> {
        for area in damage {
            let mut clipped = target.clipped(area);
            clipped.fill_solid(area, theme::BACKGROUND)?;
            for node in self.nodes.iter().filter(|n| overlaps(&n.rect(), area)) {
                draw_node(&mut clipped, theme, images, node)?;
            }
        }
        Ok(())
    }
}

fn draw_node<D: DrawTarget<Color = Rgb888>>(
    target: &mut D,
    theme: &Theme,
    images: &ImageCache,
    node: &Node,
) -> Result<(), D::Error> {
    match node {
        Node::Fill { rect, color } => target.fill_solid(rect, *color),
        Node::Border { rect, color, width } => {
            crate::widgets::border(target, *rect, *color, *width)
        }
        Node::Text {
            rect,
            text,
            font,
            color,
        } => text::draw_line(
            target,
            text,
            rect.top_left,
            font.mono(theme),
            *color,
            rect.size.width,
        )
        .map(|_| ()),
        Node::Tile {
            rect,
            name,
            poster,
            progress,
            instant,
            focused,
            ..
        } => {
            let poster_size = Tile::poster_rect(theme, *rect).size;
            Tile {
                rect: *rect,
                name,
                poster: images.get(poster, poster_size),
                progress: *progress,
                instant: *instant,
                focused: *focused,
            }
            .draw(target, theme)
        }
        Node::Progress {
            rect,
            fraction,
            buffered,
        } => ProgressBar {
            rect: *rect,
            fraction: *fraction,
            buffered: *buffered,
        }
        .draw(target),
        Node::Qr { rect, data } => match Qr::new(data) {
            Ok(qr) => qr.draw(target, *rect),
            // Too long to encode: the code and URL are still shown as text.
            Err(_) => target.fill_solid(rect, theme::SURFACE),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme() -> Theme {
        Theme::for_size(Size::new(1280, 720))
    }

    fn fill(x: i32, color: Rgb888) -> Node {
        Node::Fill {
            rect: Rectangle::new(Point::new(x, 0), Size::new(10, 10)),
            color,
        }
    }

    #[test]
    fn only_changed_nodes_are_damaged() {
        let screen = theme().screen();
        let old = Scene {
            nodes: vec![
                fill(0, Rgb888::RED),
                fill(20, Rgb888::RED),
                fill(40, Rgb888::RED),
            ],
        };
        let new = Scene {
            nodes: vec![
                fill(0, Rgb888::RED),
                fill(20, Rgb888::BLUE),
                fill(40, Rgb888::RED),
            ],
        };
        let mut damage = Damage::default();
        new.diff(&old, screen, &mut damage);
        assert_eq!(
            damage.rects(),
            &[Rectangle::new(Point::new(20, 0), Size::new(10, 10))]
        );
        let mut none = Damage::default();
        new.diff(&new.clone(), screen, &mut none);
        assert!(none.is_empty(), "an identical scene needs no drawing");
    }

    #[test]
    fn a_removed_node_damages_where_it_was_and_reordering_is_not_a_change() {
        let screen = theme().screen();
        let old = Scene {
            nodes: vec![fill(0, Rgb888::RED), fill(20, Rgb888::GREEN)],
        };
        let swapped = Scene {
            nodes: vec![fill(20, Rgb888::GREEN), fill(0, Rgb888::RED)],
        };
        let mut damage = Damage::default();
        swapped.diff(&old, screen, &mut damage);
        assert!(damage.is_empty());
        let fewer = Scene {
            nodes: vec![fill(0, Rgb888::RED)],
        };
        fewer.diff(&old, screen, &mut damage);
        assert_eq!(
            damage.rects(),
            &[Rectangle::new(Point::new(20, 0), Size::new(10, 10))]
        );
    }

    #[test]
    fn big_changes_become_one_full_repaint() {
        let screen = theme().screen();
        let new = Scene {
            nodes: vec![Node::Fill {
                rect: Rectangle::new(Point::zero(), Size::new(1280, 500)),
                color: Rgb888::RED,
            }],
        };
        let mut damage = Damage::default();
        new.diff(&Scene::default(), screen, &mut damage);
        assert_eq!(damage.rects(), &[screen]);
    }

    #[test]
    fn rendering_paints_only_inside_the_damage() {
        let theme = theme();
        let scene = Scene {
            nodes: vec![Node::Fill {
                rect: Rectangle::new(Point::zero(), Size::new(100, 100)),
                color: Rgb888::RED,
            }],
        };
        let mut fb = crate::display::Framebuffer::new(Size::new(100, 100));
        let before = fb.clone();
        let area = Rectangle::new(Point::new(10, 10), Size::new(5, 5));
        scene
            .render(
                &mut fb,
                &theme,
                &ImageCache::new(Size::new(1, 1), 1),
                &[area],
            )
            .expect("infallible");
        assert_eq!(fb.changed_area(&before), Some(area));
    }
}
