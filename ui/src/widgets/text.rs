//! Text that stays inside its box: one line with an ellipsis, or wrapped lines.
//!
//! The fonts are monospaced bitmap fonts (ProFont, Latin-1), so fitting text
//! is counting characters: a box `w` pixels wide holds `w / advance`
//! characters. Characters the font lacks are drawn as a close ASCII stand-in
//! (`—` as a dash) or `?`, never as nothing.

use embedded_graphics::mono_font::{MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use embedded_graphics::text::{Baseline, Text};

/// What ends a shortened line.
pub const ELLIPSIS: &str = "...";

/// Pixels from one character to the next.
pub fn advance(font: &MonoFont<'_>) -> u32 {
    font.character_size.width + font.character_spacing
}

/// How many characters fit in `width` pixels.
pub fn chars_that_fit(font: &MonoFont<'_>, width: u32) -> usize {
    (width / advance(font).max(1)) as usize
}

/// The text with characters the fonts cannot draw replaced by stand-ins.
pub fn drawable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            // Drawn as a rule by `draw_line` (the fonts have no dash that long).
            '—' => '—',
            '–' | '‐' => '-',
            '‘' | '’' => '\'',
            '“' | '”' => '"',
            '…' => '.',
            c if c == ' ' || ('!'..='~').contains(&c) || ('\u{a0}'..='ÿ').contains(&c) => c,
            _ => '?',
        })
        .collect()
}

/// The text cut to `max_chars` characters, ending in [`ELLIPSIS`] when cut.
pub fn ellipsize(text: &str, max_chars: usize) -> String {
    let text = drawable(text);
    if text.chars().count() <= max_chars {
        return text;
    }
    with_ellipsis(&text, max_chars)
}

/// `text` (already fitting `max_chars`) marked as cut: an ellipsis appended,
/// shortening the text if the ellipsis would not fit.
fn with_ellipsis(text: &str, max_chars: usize) -> String {
    if max_chars <= ELLIPSIS.len() {
        return ".".repeat(max_chars);
    }
    let kept: String = text.chars().take(max_chars - ELLIPSIS.len()).collect();
    format!("{}{ELLIPSIS}", kept.trim_end())
}

/// Word-wraps `text` into at most `max_lines` lines of `max_chars`; the last
/// line ends in an ellipsis when text was left over.
pub fn wrap(text: &str, max_chars: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let max_chars = max_chars.max(1);
    for word in drawable(text).split_whitespace() {
        let mut word = word.to_string();
        // A word longer than a line is split.
        while word.chars().count() > max_chars {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            let head: String = word.chars().take(max_chars).collect();
            word = word.chars().skip(max_chars).collect();
            lines.push(head);
        }
        let needed =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if needed > max_chars && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            *last = with_ellipsis(last, max_chars);
        }
    }
    lines
}

/// Draws one line of text with its top-left corner at `top_left`, shortened
/// to fit `max_width` pixels. Returns the rectangle the text occupies.
pub fn draw_line<D: DrawTarget<Color = Rgb888>>(
    target: &mut D,
    text: &str,
    top_left: Point,
    font: &MonoFont<'_>,
    color: Rgb888,
    max_width: u32,
) -> Result<Rectangle, D::Error> {
    let line = ellipsize(text, chars_that_fit(font, max_width));
    let style = MonoTextStyle::new(font, color);
    let step = advance(font) as i32;
    let mut x = top_left.x;
    for (i, part) in line.split('—').enumerate() {
        if i > 0 {
            // An em dash: a rule across its character cell at the
            // strikethrough line, where a dash sits.
            let y = top_left.y + font.strikethrough.offset as i32;
            let h = font.strikethrough.height.max(1);
            target.fill_solid(
                &Rectangle::new(Point::new(x, y), Size::new(step as u32, h)),
                color,
            )?;
            x += step;
        }
        Text::with_baseline(part, Point::new(x, top_left.y), style, Baseline::Top).draw(target)?;
        x += step * part.chars().count() as i32;
    }
    Ok(Rectangle::new(
        top_left,
        Size::new(
            advance(font) * line.chars().count() as u32,
            font.character_size.height,
        ),
    ))
}

/// The width in pixels `text` takes in `font` (after stand-ins).
pub fn width(text: &str, font: &MonoFont<'_>) -> u32 {
    advance(font) * drawable(text).chars().count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::mock_display::MockDisplay;

    #[test]
    fn long_text_is_cut_with_an_ellipsis_and_short_text_is_untouched() {
        assert_eq!(ellipsize("Toy Story", 20), "Toy Story");
        assert_eq!(ellipsize("The Lord of the Rings", 10), "The Lor...");
        assert_eq!(ellipsize("Offline – saved", 20), "Offline - saved");
        assert_eq!(
            ellipsize("Offline — saved", 20),
            "Offline — saved",
            "kept: drawn as a rule"
        );
        assert_eq!(ellipsize("abcdef", 2), "..");
    }

    #[test]
    fn wrapping_keeps_words_and_marks_the_cut() {
        let lines = wrap("one two three four five six", 9, 2);
        assert_eq!(lines, vec!["one two", "three..."]);
        assert!(lines.iter().all(|l| l.chars().count() <= 9));
        assert_eq!(
            wrap("a supercalifragilistic b", 5, 9),
            vec!["a", "super", "calif", "ragil", "istic", "b"],
            "a word longer than a line is split"
        );
    }

    #[test]
    fn an_em_dash_is_a_rule_one_character_wide() {
        let font = &profont::PROFONT_12_POINT;
        let mut display: MockDisplay<Rgb888> = MockDisplay::new();
        let bounds =
            draw_line(&mut display, "a—b", Point::zero(), font, Rgb888::WHITE, 100).expect("draws");
        assert_eq!(bounds.size.width, 3 * advance(font));
        let y = font.strikethrough.offset as i32;
        let step = advance(font) as i32;
        for x in step..2 * step {
            assert_eq!(
                display.get_pixel(Point::new(x, y)),
                Some(Rgb888::WHITE),
                "rule at x={x}"
            );
        }
    }

    #[test]
    fn a_drawn_line_never_leaves_its_box() {
        let font = &profont::PROFONT_7_POINT;
        let mut display: MockDisplay<Rgb888> = MockDisplay::new();
        let bounds = draw_line(
            &mut display,
            "A title much too long for the box",
            Point::new(2, 2),
            font,
            Rgb888::WHITE,
            40,
        )
        .expect("draws");
        let drawn = display.affected_area();
        assert!(drawn.size.width > 0, "something was drawn");
        assert!(drawn.top_left.x >= 2 && drawn.top_left.x + drawn.size.width as i32 <= 42);
        assert!(bounds.size.width <= 40);
    }
}
