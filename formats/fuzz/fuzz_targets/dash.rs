//! DASH: any bytes as an MPD; every segment index it asks for gets the
//! same bytes. Errors are fine; a panic, a hang or an out-of-memory is a
//! bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ottbox_formats::manifest::{Limits, dash};
use url::Url;

fuzz_target!(|data: &[u8]| {
    let url = Url::parse("https://cdn.example/title/manifest.mpd").expect("url");
    if let Ok(mut p) = dash::parse(&url, data, &Limits::default()) {
        for fetch in p.pending() {
            let _ = p.supply(&fetch, data);
        }
    }
});
