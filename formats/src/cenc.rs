//! Common Encryption (ISO/IEC 23001-7) sample decryption, without GStreamer.
//!
//! An encrypted fMP4 sample (one video frame, one audio frame) arrives with
//! a little side information from the demuxer:
//!
//! - the **key id** (KID) that names the content key — looking it up is the
//!   caller's business (the daemon keeps them in a key ring);
//! - an **IV**, 8 or 16 bytes, per sample or constant for the track;
//! - optionally a **subsample map**: `(clear, protected)` byte counts that
//!   tile the sample, so that NAL unit headers stay readable for parsers;
//! - for `cbcs`, an **encryption pattern** of `crypt:skip` 16-byte blocks,
//!   usually `1:9` for video.
//!
//! Two schemes are supported, and they differ in more than the cipher:
//!
//! | | `cenc` | `cbcs` |
//! |---|---|---|
//! | cipher | AES-128-CTR | AES-128-CBC |
//! | across subsamples | one keystream, continued over every protected range | IV reset to the sample IV at each protected range |
//! | pattern | none: protected ranges are wholly encrypted | `crypt` blocks encrypted, `skip` blocks clear, repeated |
//! | partial block at the end of a range | encrypted (CTR needs no padding) | left clear |
//!
//! Everything here works in place on one sample's bytes:
//!
//! ```
//! use ottbox_formats::cenc::{self, Scheme, Subsample};
//! # fn main() -> Result<(), cenc::CencError> {
//! let key = [0x11; 16];
//! let mut sample = vec![0u8; 100]; // as read from the mdat
//! // 5 clear header bytes, then 95 protected bytes.
//! let map = [Subsample { clear: 5, protected: 95 }];
//! cenc::decrypt_sample(&key, &[0x22; 8], Scheme::Cenc, &map, &mut sample)?;
//! # Ok(()) }
//! ```
//!
//! The subsample map comes off the wire as 6-byte big-endian entries
//! (`u16` clear, `u32` protected); [`parse_subsamples`] turns it into
//! [`Subsample`]s and rejects truncated maps, so it is the natural entry
//! point for fuzzing.

use aes::Aes128;
use aes::cipher::inout::InOutBuf;
use aes::cipher::{BlockDecryptMut, InnerIvInit, KeyInit, KeyIvInit, StreamCipher};

/// AES-CTR with the block counter in the low 64 bits of the IV, big-endian.
///
/// ISO/IEC 23001-7 §9.2: an 8-byte IV is the upper half of the counter
/// block and the lower half counts blocks from zero; Shaka Packager and
/// other packagers increment 16-byte IVs the same way.
type Aes128Ctr = ctr::Ctr64BE<Aes128>;
type Aes128CbcDec = cbc::Decryptor<Aes128>;

/// AES block size in bytes; the unit of `cbcs` patterns.
pub const BLOCK: usize = 16;
/// Size of one serialized subsample entry: `u16` clear + `u32` protected.
pub const SUBSAMPLE_ENTRY_SIZE: usize = 6;

/// Why a sample could not be decrypted.
///
/// Every variant has a stable [`code`](CencError::code) for logs and bus
/// messages; the `Display` text is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CencError {
    /// The serialized subsample map is shorter than its entry count says.
    #[error("subsample map truncated: {count} entries need {needed} bytes, got {got}")]
    SubsamplesTruncated {
        /// Entries announced.
        count: usize,
        /// Bytes those entries take.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The subsamples do not tile the sample exactly.
    #[error("subsamples cover {covered} bytes but the sample has {sample}")]
    SubsamplesMismatch {
        /// Sum of clear and protected bytes over all entries.
        covered: u64,
        /// Sample size in bytes.
        sample: usize,
    },
    /// The IV is neither 8 nor 16 bytes.
    #[error("IV must be 8 or 16 bytes, got {0}")]
    BadIvSize(usize),
    /// A `cbcs` pattern that encrypts nothing (`0:n`, n > 0).
    #[error("encryption pattern {crypt}:{skip} encrypts no block")]
    BadPattern {
        /// Encrypted blocks per pattern.
        crypt: u8,
        /// Clear blocks per pattern.
        skip: u8,
    },
}

impl CencError {
    /// Stable machine-readable code, e.g. `cenc.subsamples_truncated`.
    pub fn code(&self) -> &'static str {
        match self {
            CencError::SubsamplesTruncated { .. } => "cenc.subsamples_truncated",
            CencError::SubsamplesMismatch { .. } => "cenc.subsamples_mismatch",
            CencError::BadIvSize(_) => "cenc.bad_iv_size",
            CencError::BadPattern { .. } => "cenc.bad_pattern",
        }
    }
}

/// One entry of a subsample map: `clear` bytes left as they are, followed
/// by `protected` bytes that are encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subsample {
    /// Leading bytes in the clear.
    pub clear: u16,
    /// Following bytes under encryption.
    pub protected: u32,
}

/// The protection scheme of a track (`schm` box, `cipher-mode` in
/// GStreamer's protection meta).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// AES-CTR, whole protected ranges.
    Cenc,
    /// AES-CBC with a `crypt:skip` block pattern (ISO/IEC 23001-7 §10.4).
    /// `0:0` means every full block is encrypted (audio, typically).
    Cbcs {
        /// Encrypted 16-byte blocks at the start of each pattern.
        crypt: u8,
        /// Clear 16-byte blocks after them.
        skip: u8,
    },
}

/// Parses `count` serialized subsample entries (6 bytes each, big-endian
/// `u16` clear then `u32` protected) from the start of `bytes`.
///
/// Extra trailing bytes are ignored (demuxers may hand over a larger
/// buffer); too few is an error. Never panics, whatever the input.
pub fn parse_subsamples(bytes: &[u8], count: usize) -> Result<Vec<Subsample>, CencError> {
    let needed = count.saturating_mul(SUBSAMPLE_ENTRY_SIZE);
    if bytes.len() < needed {
        return Err(CencError::SubsamplesTruncated {
            count,
            needed,
            got: bytes.len(),
        });
    }
    Ok(bytes[..needed]
        .chunks_exact(SUBSAMPLE_ENTRY_SIZE)
        .map(|e| Subsample {
            clear: u16::from_be_bytes([e[0], e[1]]),
            protected: u32::from_be_bytes([e[2], e[3], e[4], e[5]]),
        })
        .collect())
}

/// Decrypts one sample in place.
///
/// `subsamples` empty means the whole sample is one protected range. An IV
/// of 8 bytes is extended with 8 zero bytes, as the standard says.
pub fn decrypt_sample(
    key: &[u8; 16],
    iv: &[u8],
    scheme: Scheme,
    subsamples: &[Subsample],
    sample: &mut [u8],
) -> Result<(), CencError> {
    let iv = full_iv(iv)?;
    if let Scheme::Cbcs { crypt: 0, skip } = scheme
        && skip > 0
    {
        return Err(CencError::BadPattern { crypt: 0, skip });
    }
    if !subsamples.is_empty() {
        let covered: u64 = subsamples
            .iter()
            .map(|s| u64::from(s.clear) + u64::from(s.protected))
            .sum();
        if covered != sample.len() as u64 {
            return Err(CencError::SubsamplesMismatch {
                covered,
                sample: sample.len(),
            });
        }
    }
    let ranges = protected_ranges(subsamples, sample.len());
    match scheme {
        Scheme::Cenc => {
            // One keystream for the whole sample: clear bytes consume none of it.
            let mut cipher = Aes128Ctr::new(key.into(), (&iv).into());
            for (start, end) in ranges {
                cipher.apply_keystream(&mut sample[start..end]);
            }
        }
        Scheme::Cbcs { crypt, skip } => {
            let aes = Aes128::new(key.into());
            for (start, end) in ranges {
                decrypt_cbcs_range(&aes, &iv, crypt, skip, &mut sample[start..end]);
            }
        }
    }
    Ok(())
}

/// The IV as a 16-byte block: 8-byte IVs get 8 zero bytes appended.
fn full_iv(iv: &[u8]) -> Result<[u8; 16], CencError> {
    let mut block = [0u8; 16];
    match iv.len() {
        8 | 16 => {
            block[..iv.len()].copy_from_slice(iv);
            Ok(block)
        }
        n => Err(CencError::BadIvSize(n)),
    }
}

/// `(start, end)` byte ranges of the protected parts, in order. The caller
/// has checked that the map tiles the sample.
fn protected_ranges(
    subsamples: &[Subsample],
    len: usize,
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let whole = subsamples.is_empty().then_some((0, len));
    let mut pos = 0usize;
    let mapped = subsamples.iter().filter_map(move |s| {
        let start = pos + usize::from(s.clear);
        // u32 → usize cannot fail on the 32- and 64-bit targets we build for.
        let end = start + s.protected as usize;
        pos = end;
        (end > start).then_some((start, end))
    });
    whole.into_iter().chain(mapped)
}

/// Decrypts one protected range of a `cbcs` sample: the CBC chain starts
/// afresh from `iv`, runs through the encrypted blocks of each pattern
/// (skipped blocks are not part of it) and a trailing partial block stays
/// clear. When fewer than `crypt` full blocks remain, all of them are
/// encrypted.
fn decrypt_cbcs_range(aes: &Aes128, iv: &[u8; 16], crypt: u8, skip: u8, range: &mut [u8]) {
    let mut cbc = Aes128CbcDec::inner_iv_init(aes.clone(), iv.into());
    let full = range.len() - range.len() % BLOCK;
    let range = &mut range[..full];
    if skip == 0 {
        // No pattern (0:0 or n:0): every full block is in the chain.
        decrypt_blocks(&mut cbc, range);
        return;
    }
    let crypt_bytes = usize::from(crypt) * BLOCK;
    let stride = crypt_bytes + usize::from(skip) * BLOCK;
    for pattern in range.chunks_mut(stride) {
        let n = pattern.len().min(crypt_bytes);
        decrypt_blocks(&mut cbc, &mut pattern[..n]);
    }
}

/// CBC-decrypts whole blocks in place, continuing the chain in `cbc`.
/// `data.len()` is a multiple of [`BLOCK`].
fn decrypt_blocks(cbc: &mut Aes128CbcDec, data: &mut [u8]) {
    let (blocks, _tail) = InOutBuf::from(data).into_chunks();
    cbc.decrypt_blocks_inout_mut(blocks);
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockEncryptMut;

    const KEY: [u8; 16] = *b"0123456789abcdef";

    /// A reference encryptor written the naive way (block by block, no
    /// shared code with the decryptor), to check round trips.
    fn encrypt_reference(iv: &[u8; 16], scheme: Scheme, subsamples: &[Subsample], data: &mut [u8]) {
        let ranges: Vec<(usize, usize)> = if subsamples.is_empty() {
            vec![(0, data.len())]
        } else {
            let mut pos = 0;
            subsamples
                .iter()
                .map(|s| {
                    let start = pos + s.clear as usize;
                    pos = start + s.protected as usize;
                    (start, pos)
                })
                .collect()
        };
        match scheme {
            Scheme::Cenc => {
                // Keystream block i = AES(iv with low 64 bits + i).
                let aes = Aes128::new(&KEY.into());
                let mut stream = Vec::new();
                let total: usize = ranges.iter().map(|(s, e)| e - s).sum();
                let hi = &iv[..8];
                let lo = u64::from_be_bytes(iv[8..].try_into().expect("8 bytes"));
                let mut i = 0u64;
                while stream.len() < total {
                    let mut block = [0u8; 16];
                    block[..8].copy_from_slice(hi);
                    block[8..].copy_from_slice(&lo.wrapping_add(i).to_be_bytes());
                    let mut b = block.into();
                    aes::cipher::BlockEncrypt::encrypt_block(&aes, &mut b);
                    stream.extend_from_slice(&b);
                    i += 1;
                }
                let mut k = 0;
                for (s, e) in ranges {
                    for byte in &mut data[s..e] {
                        *byte ^= stream[k];
                        k += 1;
                    }
                }
            }
            Scheme::Cbcs { crypt, skip } => {
                for (s, e) in ranges {
                    let mut enc = cbc::Encryptor::<Aes128>::new(&KEY.into(), iv.into());
                    let blocks = (e - s) / 16;
                    let (c, k) = if skip == 0 {
                        (1, 0)
                    } else {
                        (crypt as usize, skip as usize)
                    };
                    for b in 0..blocks {
                        if b % (c + k) < c {
                            let off = s + b * 16;
                            let block: [u8; 16] = data[off..off + 16].try_into().expect("block");
                            let mut g = block.into();
                            enc.encrypt_block_mut(&mut g);
                            data[off..off + 16].copy_from_slice(&g);
                        }
                    }
                }
            }
        }
    }

    fn plaintext(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn round_trip(iv: &[u8], scheme: Scheme, subsamples: &[Subsample], len: usize) {
        let plain = plaintext(len);
        let mut data = plain.clone();
        let iv16 = full_iv(iv).expect("iv");
        encrypt_reference(&iv16, scheme, subsamples, &mut data);
        decrypt_sample(&KEY, iv, scheme, subsamples, &mut data).expect("decrypts");
        assert_eq!(data, plain, "{scheme:?} {subsamples:?} len {len}");
    }

    #[test]
    fn subsample_map_parses_big_endian_entries() {
        let bytes = [
            0x00, 0x05, 0x00, 0x00, 0x01, 0x00, 0x01, 0x02, 0xde, 0xad, 0xbe, 0xef, 0xff,
        ];
        let map = parse_subsamples(&bytes, 2).expect("parses");
        assert_eq!(
            map,
            [
                Subsample {
                    clear: 5,
                    protected: 256
                },
                Subsample {
                    clear: 0x0102,
                    protected: 0xdead_beef
                }
            ]
        );
    }

    #[test]
    fn truncated_subsample_map_is_an_error() {
        let err = parse_subsamples(&[0; 11], 2).expect_err("11 < 12 bytes");
        assert_eq!(err.code(), "cenc.subsamples_truncated");
        assert!(err.to_string().contains("need 12 bytes, got 11"), "{err}");
        // A huge count must not overflow or allocate.
        assert!(parse_subsamples(&[0; 6], usize::MAX).is_err());
    }

    #[test]
    fn cenc_known_answer_matches_nist_ctr_vector() {
        // NIST SP 800-38A F.5.1 (CTR-AES128), first block: the CTR mode we
        // use must be standard AES-CTR, not merely self-consistent.
        let key: [u8; 16] = hex::decode("2b7e151628aed2a6abf7158809cf4f3c")
            .expect("hex")
            .try_into()
            .expect("16");
        let iv = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").expect("hex");
        let mut data = hex::decode("874d6191b620e3261bef6864990db6ce").expect("hex");
        decrypt_sample(&key, &iv, Scheme::Cenc, &[], &mut data).expect("decrypts");
        assert_eq!(hex::encode(data), "6bc1bee22e409f96e93d7e117393172a");
    }

    #[test]
    fn cenc_round_trips_whole_samples_and_subsamples() {
        round_trip(&[9; 8], Scheme::Cenc, &[], 1000);
        round_trip(&[9; 16], Scheme::Cenc, &[], 33);
        // The keystream continues across protected ranges, mid-block.
        let map = [
            Subsample {
                clear: 7,
                protected: 21,
            },
            Subsample {
                clear: 100,
                protected: 3,
            },
            Subsample {
                clear: 0,
                protected: 0,
            },
            Subsample {
                clear: 2,
                protected: 500,
            },
        ];
        round_trip(&[1, 2, 3, 4, 5, 6, 7, 8], Scheme::Cenc, &map, 633);
    }

    #[test]
    fn cenc_counter_wraps_in_the_low_64_bits() {
        let mut iv = [0xab; 16];
        iv[8..].copy_from_slice(&u64::MAX.to_be_bytes());
        round_trip(&iv, Scheme::Cenc, &[], 64);
    }

    #[test]
    fn cbcs_pattern_leaves_skipped_and_partial_blocks_clear() {
        let scheme = Scheme::Cbcs { crypt: 1, skip: 9 };
        // 2 patterns + 3 blocks + 5 bytes, behind a 10-byte clear header.
        let len = 10 + 23 * 16 + 5;
        let map = [Subsample {
            clear: 10,
            protected: (len - 10) as u32,
        }];
        round_trip(&[3; 16], scheme, &map, len);

        let plain = plaintext(len);
        let mut data = plain.clone();
        encrypt_reference(&[3; 16], scheme, &map, &mut data);
        // Bytes the pattern skips are untouched by encryption...
        assert_eq!(data[..10], plain[..10], "clear header");
        assert_ne!(data[10..26], plain[10..26], "first block encrypted");
        assert_eq!(data[26..170], plain[26..170], "nine skipped blocks");
        assert_eq!(data[len - 5..], plain[len - 5..], "partial block");
        // ...and by decryption.
        decrypt_sample(&KEY, &[3; 16], scheme, &map, &mut data).expect("decrypts");
        assert_eq!(data, plain);
    }

    #[test]
    fn cbcs_resets_the_iv_at_each_subsample() {
        let scheme = Scheme::Cbcs { crypt: 1, skip: 9 };
        let map = [
            Subsample {
                clear: 4,
                protected: 200,
            },
            Subsample {
                clear: 4,
                protected: 16 * 12 + 3,
            },
            Subsample {
                clear: 20,
                protected: 15,
            },
        ];
        let len = map
            .iter()
            .map(|s| s.clear as usize + s.protected as usize)
            .sum();
        round_trip(&[5; 16], scheme, &map, len);
        round_trip(&[5; 8], scheme, &map, len);
    }

    #[test]
    fn cbcs_without_pattern_encrypts_every_full_block() {
        round_trip(
            &[6; 16],
            Scheme::Cbcs { crypt: 0, skip: 0 },
            &[],
            16 * 40 + 7,
        );
        round_trip(&[6; 16], Scheme::Cbcs { crypt: 1, skip: 0 }, &[], 16 * 3);
        // A 5:5 pattern with fewer than 5 blocks left at the end.
        round_trip(&[6; 16], Scheme::Cbcs { crypt: 5, skip: 5 }, &[], 16 * 13);
    }

    #[test]
    fn bad_side_information_is_rejected() {
        let mut data = vec![0u8; 32];
        let err = decrypt_sample(&KEY, &[0; 12], Scheme::Cenc, &[], &mut data).expect_err("iv");
        assert_eq!(err, CencError::BadIvSize(12));
        let map = [Subsample {
            clear: 10,
            protected: 30,
        }];
        let err = decrypt_sample(&KEY, &[0; 8], Scheme::Cenc, &map, &mut data).expect_err("map");
        assert_eq!(err.code(), "cenc.subsamples_mismatch");
        assert!(
            err.to_string()
                .contains("cover 40 bytes but the sample has 32")
        );
        let err = decrypt_sample(
            &KEY,
            &[0; 16],
            Scheme::Cbcs { crypt: 0, skip: 9 },
            &[],
            &mut data,
        )
        .expect_err("pattern");
        assert_eq!(err.code(), "cenc.bad_pattern");
        assert_eq!(data, [0u8; 32], "nothing touched on error");
    }
}
