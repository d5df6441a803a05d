//! Ad plans: any bytes as a VMAP document with inline VAST ads, from an ad
//! server the box does not control. Errors are fine; a panic, a hang or an
//! out-of-memory is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ottbox_formats::ad_plan::AdPlan;

fuzz_target!(|data: &[u8]| {
    if let Ok(xml) = std::str::from_utf8(data) {
        let _ = AdPlan::parse(xml, 600.0);
    }
});
