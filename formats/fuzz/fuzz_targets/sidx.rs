//! ISO BMFF boxes: any bytes as a `sidx` (at any file offset) and as a
//! `pssh`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ottbox_formats::manifest::{pssh, sidx};

fuzz_target!(|data: &[u8]| {
    let anchor = data
        .get(..8)
        .map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap_or_default()));
    let _ = sidx::parse(data, anchor);
    let _ = pssh::parse(data);
});
