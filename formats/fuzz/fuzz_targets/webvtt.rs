//! WebVTT: any bytes as a subtitle segment, then the text on screen at a
//! few instants. Errors are fine; a panic, a hang or an out-of-memory is a
//! bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ottbox_formats::subtitles::{Subtitles, parse};

fuzz_target!(|data: &[u8]| {
    let _ = parse(data);
    let mut subs = Subtitles::new(Vec::new(), 0.0);
    if subs.add(data).is_ok() {
        for t in [0.0, 1.5, 3600.0] {
            let _ = subs.text_at(t);
        }
    }
});
