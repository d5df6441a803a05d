//! Throughput of the pure CENC decryption (`ottbox_formats::cenc`), in MB/s
//! (10^6 bytes of sample per second), for buffers of the sizes given on the
//! command line (default 16384 and 65536 bytes):
//!
//! ```text
//! cargo bench -p ottboxd --bench decrypt -- 16384 65536
//! ```
//!
//! Each line reads `decrypt <mode> <bytes> <MB/s>`, machine-readable for
//! `cargo xtask bench decrypt`, which puts `openssl speed` beside it:
//! - `cenc`: AES-128-CTR over the whole buffer;
//! - `cbcs-full`: AES-128-CBC decryption of every block (pattern 0:0),
//!   the like-for-like comparison with `openssl speed -decrypt`;
//! - `cbcs-1:9`: the video pattern, one block in ten decrypted; MB/s of
//!   sample bytes, which is what the pipeline feels.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ottbox_formats::cenc::{Scheme, decrypt_sample};

/// How long each measurement runs (CPU time).
const RUN: Duration = Duration::from_secs(2);

/// CPU time this thread has used, from `/proc/thread-self/schedstat`
/// (Linux), so that a busy machine does not halve the figure — `openssl
/// speed` counts CPU time too. Falls back to wall time elsewhere.
struct CpuClock {
    wall: Instant,
}

impl CpuClock {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
        }
    }

    fn now(&self) -> Duration {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .map(Duration::from_nanos)
            .unwrap_or_else(|| self.wall.elapsed())
    }
}

fn measure(scheme: Scheme, size: usize) -> f64 {
    let key = [0x42u8; 16];
    let iv = [0x24u8; 16];
    let mut buf: Vec<u8> = (0..size).map(|i| i as u8).collect();
    // Warm up (page faults, CPU frequency).
    for _ in 0..16 {
        decrypt_sample(&key, &iv, scheme, &[], &mut buf).expect("valid input");
    }
    let clock = CpuClock::start();
    let start = clock.now();
    let mut bytes = 0u64;
    while clock.now() - start < RUN {
        for _ in 0..32 {
            decrypt_sample(&key, &iv, scheme, &[], black_box(&mut buf)).expect("valid input");
        }
        bytes += 32 * size as u64;
    }
    bytes as f64 / (clock.now() - start).as_secs_f64() / 1e6
}

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![16384, 65536];
    }
    let modes = [
        ("cenc", Scheme::Cenc),
        ("cbcs-full", Scheme::Cbcs { crypt: 0, skip: 0 }),
        ("cbcs-1:9", Scheme::Cbcs { crypt: 1, skip: 9 }),
    ];
    for size in sizes {
        for (name, scheme) in modes {
            println!("decrypt {name} {size} {:.1}", measure(scheme, size));
        }
    }
}
