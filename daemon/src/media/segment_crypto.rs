//! HLS `METHOD=AES-128`: whole-segment AES-128-CBC with PKCS#7 padding
//! (RFC 8216 §4.3.2.4, §5.2).
//!
//! Unlike Common Encryption, legacy HLS encrypts the whole segment file —
//! container and all — so it is decrypted before demuxing, here, not in the
//! pipeline. The IV is the `IV=0x…` attribute of `EXT-X-KEY` when present;
//! otherwise it is the segment's media sequence number as a 128-bit
//! big-endian integer ([`iv_from_sequence`]).
//!
//! ```
//! use ottboxd::media::segment_crypto::{decrypt_segment, iv_from_sequence, parse_iv};
//! # fn main() -> Result<(), ottboxd::media::segment_crypto::SegmentCryptoError> {
//! # let key = [0u8; 16];
//! # let encrypted: Vec<u8> = vec![];
//! let iv = match Some("0x000102030405060708090a0b0c0d0e0f") {
//!     Some(attr) => parse_iv(attr)?,
//!     None => iv_from_sequence(42),
//! };
//! # if !encrypted.is_empty() {
//! let plain: Vec<u8> = decrypt_segment(&key, &iv, encrypted)?;
//! # }
//! # Ok(()) }
//! ```

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};

/// AES block size in bytes.
const BLOCK: usize = 16;

/// Why a segment could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentCryptoError {
    /// The segment is empty or not a whole number of AES blocks: truncated
    /// in transit, or not encrypted at all.
    #[error("encrypted segment of {len} bytes is not a non-empty multiple of 16 (truncated?)")]
    NotBlockAligned {
        /// Bytes received.
        len: usize,
    },
    /// The last block does not end in valid PKCS#7 padding: wrong key or
    /// IV, or a damaged segment.
    #[error("bad PKCS#7 padding after decryption (wrong key or IV, or damaged segment)")]
    BadPadding,
    /// The `IV` attribute is not `0x` followed by 32 hex digits.
    #[error("EXT-X-KEY IV {0:?} is not 0x followed by 32 hex digits")]
    BadIv(String),
}

impl SegmentCryptoError {
    /// Stable machine-readable code, e.g. `segment.bad_padding`.
    pub fn code(&self) -> &'static str {
        match self {
            SegmentCryptoError::NotBlockAligned { .. } => "segment.not_block_aligned",
            SegmentCryptoError::BadPadding => "segment.bad_padding",
            SegmentCryptoError::BadIv(_) => "segment.bad_iv",
        }
    }
}

/// The IV of a segment whose `EXT-X-KEY` has no `IV` attribute: its media
/// sequence number, big-endian, in 16 bytes.
pub fn iv_from_sequence(media_sequence: u64) -> [u8; 16] {
    u128::from(media_sequence).to_be_bytes()
}

/// Parses an `EXT-X-KEY` `IV` attribute (`0x` or `0X` then 32 hex digits).
pub fn parse_iv(attr: &str) -> Result<[u8; 16], SegmentCryptoError> {
    let bad = || SegmentCryptoError::BadIv(attr.to_owned());
    let digits = attr
        .strip_prefix("0x")
        .or_else(|| attr.strip_prefix("0X"))
        .filter(|d| d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(bad)?;
    u128::from_str_radix(digits, 16)
        .map(u128::to_be_bytes)
        .map_err(|_| bad())
}

/// Decrypts a whole segment and strips its padding. Takes the buffer by
/// value and returns it shortened, so no copy is made.
pub fn decrypt_segment(
    key: &[u8; 16],
    iv: &[u8; 16],
    mut data: Vec<u8>,
) -> Result<Vec<u8>, SegmentCryptoError> {
    if data.is_empty() || !data.len().is_multiple_of(BLOCK) {
        return Err(SegmentCryptoError::NotBlockAligned { len: data.len() });
    }
    let plain_len = cbc::Decryptor::<Aes128>::new(key.into(), iv.into())
        .decrypt_padded_mut::<Pkcs7>(&mut data)
        .map_err(|_| SegmentCryptoError::BadPadding)?
        .len();
    data.truncate(plain_len);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockEncryptMut;

    const KEY: [u8; 16] = [0x3c; 16];

    fn encrypt(iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        let mut buf = plain.to_vec();
        buf.resize(plain.len() / BLOCK * BLOCK + BLOCK, 0);
        let n = cbc::Encryptor::<Aes128>::new(&KEY.into(), iv.into())
            .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
            .expect("room for the padding")
            .len();
        buf.truncate(n);
        buf
    }

    #[test]
    fn segments_round_trip_at_every_padding_length() {
        let iv = iv_from_sequence(7);
        for len in [0, 1, 15, 16, 17, 188 * 7] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 256) as u8).collect();
            let enc = encrypt(&iv, &plain);
            assert_eq!(
                decrypt_segment(&KEY, &iv, enc).expect("decrypts"),
                plain,
                "{len}"
            );
        }
    }

    #[test]
    fn sequence_number_iv_is_big_endian() {
        let iv = iv_from_sequence(0x0102);
        assert_eq!(iv[..14], [0; 14]);
        assert_eq!(iv[14..], [1, 2]);
        assert_eq!(
            parse_iv("0x00000000000000000000000000000102").expect("valid"),
            iv
        );
        assert_eq!(
            parse_iv("0XFFffFFffFFffFFffFFffFFffFFffFFff").expect("valid"),
            [0xff; 16]
        );
    }

    #[test]
    fn bad_ivs_are_rejected() {
        for attr in [
            "",
            "0x",
            "0102",
            "0x0102",
            "0x+0000000000000000000000000000001",
            "0xgg000000000000000000000000000000",
        ] {
            let err = parse_iv(attr).expect_err(attr);
            assert_eq!(err.code(), "segment.bad_iv");
        }
    }

    #[test]
    fn truncated_or_wrongly_keyed_segments_fail_clearly() {
        let iv = [9; 16];
        let enc = encrypt(&iv, &[0x47; 188 * 3]);
        let err = decrypt_segment(&KEY, &iv, enc[..enc.len() - 5].to_vec()).expect_err("truncated");
        assert_eq!(
            err,
            SegmentCryptoError::NotBlockAligned { len: enc.len() - 5 }
        );
        assert!(err.to_string().contains("truncated"));
        assert_eq!(
            decrypt_segment(&KEY, &iv, Vec::new()),
            Err(SegmentCryptoError::NotBlockAligned { len: 0 })
        );
        // A wrong key garbles the padding (with overwhelming probability;
        // this key is fixed, so the test is deterministic).
        let err = decrypt_segment(&[0x3d; 16], &iv, enc.clone()).expect_err("wrong key");
        assert_eq!(err.code(), "segment.bad_padding");
        // A block cut off at the end leaves data whose last byte is not padding.
        let err = decrypt_segment(&KEY, &iv, enc[..enc.len() - 16].to_vec()).expect_err("short");
        assert_eq!(err, SegmentCryptoError::BadPadding);
    }
}
