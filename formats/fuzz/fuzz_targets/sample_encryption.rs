//! Sample encryption side data: any bytes as a subsample map (with any
//! entry count), then as IV, pattern and sample for `cenc` and `cbcs`
//! decryption. Every malformed combination must be an error, never a
//! panic or an out-of-bounds write.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ottbox_formats::cenc::{self, Scheme};

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(head);
    let map = cenc::parse_subsamples(rest, count).unwrap_or_default();
    let iv_len = if head & 1 == 0 { 8 } else { 16 };
    let (iv, sample) = rest.split_at(rest.len().min(iv_len));
    let pattern = Scheme::Cbcs {
        crypt: head >> 4,
        skip: head & 0x0f,
    };
    for scheme in [Scheme::Cenc, pattern] {
        let mut buf = sample.to_vec();
        let _ = cenc::decrypt_sample(&[7; 16], iv, scheme, &map, &mut buf);
        let mut buf = sample.to_vec();
        let _ = cenc::decrypt_sample(&[7; 16], iv, scheme, &[], &mut buf);
    }
});
