//! HLS: any bytes as a multivariant playlist, then as every media
//! playlist it asks for. Errors are fine; a panic, a hang or an
//! out-of-memory is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ottbox_formats::manifest::{Limits, Presentation, hls};
use url::Url;

fuzz_target!(|data: &[u8]| {
    let url = Url::parse("https://cdn.example/title/master.m3u8").expect("url");
    let limits = Limits::default();
    let _ = hls::parse_media(&url, data, &limits);
    if let Ok(mut p) = hls::parse_multivariant(&url, data, &limits) {
        for fetch in p.pending() {
            let _ = p.supply(&fetch, data);
        }
    }
    let _ = Presentation::parse(&url, data, &limits);
});
