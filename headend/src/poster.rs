//! Generated posters: 200×300 PNGs with the title's name and year on a
//! colour that its main genre picks, drawn with embedded-graphics (the same
//! drawing library as the box's UI). Cheap enough to render on request.

use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::{FONT_6X10, FONT_8X13_BOLD};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::Text;

/// Poster width in pixels.
pub const WIDTH: u32 = 200;
/// Poster height in pixels.
pub const HEIGHT: u32 = 300;

/// An RGB frame buffer embedded-graphics can draw on.
struct Canvas {
    pixels: Vec<u8>,
}

impl OriginDimensions for Canvas {
    fn size(&self) -> Size {
        Size::new(WIDTH, HEIGHT)
    }
}

impl DrawTarget for Canvas {
    type Color = Rgb888;
    type Error = std::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Rgb888>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            if (0..WIDTH as i32).contains(&p.x) && (0..HEIGHT as i32).contains(&p.y) {
                let i = (p.y as usize * WIDTH as usize + p.x as usize) * 3;
                self.pixels[i..i + 3].copy_from_slice(&[c.r(), c.g(), c.b()]);
            }
        }
        Ok(())
    }
}

/// The background colour of a genre.
fn genre_colour(genre: &str) -> Rgb888 {
    match genre {
        "Action" | "Adventure" => Rgb888::new(150, 40, 30),
        "Comedy" => Rgb888::new(200, 150, 20),
        "Drama" => Rgb888::new(40, 60, 110),
        "Horror" | "Thriller" => Rgb888::new(30, 30, 30),
        "Animation" | "Children" => Rgb888::new(30, 140, 160),
        "Sci-Fi" | "Fantasy" => Rgb888::new(80, 40, 130),
        "Romance" => Rgb888::new(170, 50, 100),
        "Documentary" => Rgb888::new(60, 110, 60),
        _ => Rgb888::new(90, 90, 90),
    }
}

/// Breaks `text` into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.chars().take(width).collect()),
        }
    }
    lines
}

/// Renders the poster of a title as PNG bytes.
pub fn render(name: &str, year: Option<u16>, genres: &[String]) -> Vec<u8> {
    let mut canvas = Canvas {
        pixels: vec![0; (WIDTH * HEIGHT * 3) as usize],
    };
    let background = genre_colour(genres.first().map_or("", String::as_str));
    let white = Rgb888::new(245, 245, 245);
    let _ = Rectangle::new(Point::zero(), Size::new(WIDTH, HEIGHT))
        .into_styled(PrimitiveStyle::with_fill(background))
        .draw(&mut canvas);
    let _ = Rectangle::new(Point::new(8, 8), Size::new(WIDTH - 16, HEIGHT - 16))
        .into_styled(PrimitiveStyle::with_stroke(white, 2))
        .draw(&mut canvas);
    // Only ASCII glyphs exist in the font: keep what it can draw.
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect();
    let title_style = MonoTextStyle::new(&FONT_8X13_BOLD, white);
    for (i, line) in wrap(&ascii, 20).iter().take(8).enumerate() {
        let _ = Text::new(line, Point::new(20, 60 + 18 * i as i32), title_style).draw(&mut canvas);
    }
    let small = MonoTextStyle::new(&FONT_6X10, white);
    if let Some(y) = year {
        let _ = Text::new(&y.to_string(), Point::new(20, 250), small).draw(&mut canvas);
    }
    let genre_line: String = genres
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(" / ");
    let _ = Text::new(&genre_line, Point::new(20, 270), small).draw(&mut canvas);
    encode(&canvas.pixels)
}

fn encode(rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing to a Vec cannot fail; an empty poster is the worst case.
    if let Ok(mut writer) = encoder.write_header() {
        let _ = writer.write_image_data(rgb);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poster_is_a_png_of_the_right_size_and_genre_colour() {
        let bytes = render("Toy Story", Some(1995), &["Animation".into()]);
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("PNG");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("frame");
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        assert_eq!(&buf[..3], &[30, 140, 160], "corner in the genre's colour");
        // The title is drawn: some white pixels in the text area.
        let row = 60 * WIDTH as usize * 3;
        assert!(
            buf[row - 13 * WIDTH as usize * 3..row]
                .chunks(3)
                .any(|p| p == [245, 245, 245])
        );
    }

    #[test]
    fn long_titles_wrap() {
        assert_eq!(
            wrap("Dr. Strangelove or: How I Learned to Stop Worrying", 20)[0],
            "Dr. Strangelove or:"
        );
    }
}
