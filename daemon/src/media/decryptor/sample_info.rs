//! Reading a sample's encryption side information out of the
//! `GstProtectionMeta` structure that `qtdemux` attaches.
//!
//! GStreamer 1.22's `qtdemux` fills an `application/x-cenc` structure with
//! the track defaults from `tenc` and the per-sample values from `senc`:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `encrypted` | bool | false for a clear sample in a protected track |
//! | `kid` | buffer (16) | key id |
//! | `cipher-mode` | string | `cenc` or `cbcs` |
//! | `iv_size` | uint | per-sample IV size; 0 with a constant IV |
//! | `iv` | buffer (8/16) | per-sample IV, or the constant IV |
//! | `constant_iv_size` | uint | set with a constant IV (`cbcs`) |
//! | `subsample_count` | uint | entries in `subsamples` |
//! | `subsamples` | buffer | 6-byte big-endian entries |
//! | `crypt_byte_block`, `skip_byte_block` | uint | `cbcs` pattern, absent for 0:0 |

use gstreamer as gst;

use super::DecryptError;
use crate::media::keyring::Kid;
use ottbox_formats::cenc::{self, Scheme, Subsample};

/// Everything needed to decrypt one sample, except the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleInfo {
    /// Key id naming the content key.
    pub kid: Kid,
    /// Scheme and, for `cbcs`, pattern.
    pub scheme: Scheme,
    /// 8- or 16-byte IV (the constant IV for `cbcs` tracks that use one).
    pub iv: Vec<u8>,
    /// Subsample map; empty for whole-sample encryption.
    pub subsamples: Vec<Subsample>,
}

impl SampleInfo {
    /// Reads the protection meta structure `s`. Returns `Ok(None)` for a
    /// sample marked `encrypted=false`. `cbcs_caps` says whether the stream
    /// caps are `application/x-cbcs`, used when `cipher-mode` is missing.
    pub fn from_structure(
        s: &gst::StructureRef,
        cbcs_caps: bool,
    ) -> Result<Option<Self>, DecryptError> {
        if !s
            .get_optional::<bool>("encrypted")
            .map_err(bad)?
            .unwrap_or(true)
        {
            return Ok(None);
        }
        let kid_buf = s.get::<gst::Buffer>("kid").map_err(bad)?;
        let kid = Kid(read_buffer(&kid_buf, "kid")?
            .try_into()
            .map_err(|v: Vec<u8>| {
                DecryptError::BadMeta(format!("kid has {} bytes, not 16", v.len()))
            })?);
        let cbcs = match s.get_optional::<&str>("cipher-mode").map_err(bad)? {
            Some("cbcs") => true,
            Some("cenc") => false,
            Some(other) => {
                return Err(DecryptError::BadMeta(format!(
                    "cipher-mode {other:?} is not supported (cenc, cbcs are)"
                )));
            }
            None => cbcs_caps,
        };
        let scheme = if cbcs {
            Scheme::Cbcs {
                crypt: pattern_field(s, "crypt_byte_block")?,
                skip: pattern_field(s, "skip_byte_block")?,
            }
        } else {
            Scheme::Cenc
        };
        let iv = read_buffer(&s.get::<gst::Buffer>("iv").map_err(bad)?, "iv")?;
        let count = s
            .get_optional::<u32>("subsample_count")
            .map_err(bad)?
            .unwrap_or(0);
        let subsamples = if count == 0 {
            Vec::new()
        } else {
            let map = read_buffer(
                &s.get::<gst::Buffer>("subsamples").map_err(bad)?,
                "subsamples",
            )?;
            cenc::parse_subsamples(&map, count as usize)
                .map_err(|source| DecryptError::Cenc { kid, source })?
        };
        Ok(Some(SampleInfo {
            kid,
            scheme,
            iv,
            subsamples,
        }))
    }
}

fn bad(e: impl std::fmt::Display) -> DecryptError {
    DecryptError::BadMeta(e.to_string())
}

fn read_buffer(buf: &gst::Buffer, field: &str) -> Result<Vec<u8>, DecryptError> {
    let map = buf
        .map_readable()
        .map_err(|_| DecryptError::BadMeta(format!("{field} buffer is not readable")))?;
    Ok(map.as_slice().to_vec())
}

/// A `cbcs` pattern count: a 4-bit field in `tenc`, absent meaning 0.
fn pattern_field(s: &gst::StructureRef, name: &str) -> Result<u8, DecryptError> {
    let v = s.get_optional::<u32>(name).map_err(bad)?.unwrap_or(0);
    u8::try_from(v)
        .ok()
        .filter(|v| *v < 16)
        .ok_or_else(|| DecryptError::BadMeta(format!("{name} = {v} does not fit in 4 bits")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        gst::init().expect("gstreamer initialises");
    }

    fn base() -> gst::structure::Builder {
        gst::Structure::builder("application/x-cenc")
            .field("encrypted", true)
            .field("kid", gst::Buffer::from_slice([7u8; 16]))
            .field("iv_size", 8u32)
            .field("iv", gst::Buffer::from_slice([1u8; 8]))
    }

    #[test]
    fn qtdemux_cenc_fields_are_read() {
        init();
        let map = [0u8, 4, 0, 0, 0, 12, 0, 2, 0, 0, 1, 0];
        let s = base()
            .field("cipher-mode", "cenc")
            .field("subsample_count", 2u32)
            .field("subsamples", gst::Buffer::from_slice(map))
            .build();
        let info = SampleInfo::from_structure(&s, false)
            .expect("valid")
            .expect("encrypted");
        assert_eq!(info.kid, Kid([7; 16]));
        assert_eq!(info.scheme, Scheme::Cenc);
        assert_eq!(info.iv, [1; 8]);
        assert_eq!(
            info.subsamples,
            [
                Subsample {
                    clear: 4,
                    protected: 12
                },
                Subsample {
                    clear: 2,
                    protected: 256
                }
            ]
        );
    }

    #[test]
    fn cbcs_pattern_and_clear_samples() {
        init();
        let s = base()
            .field("cipher-mode", "cbcs")
            .field("iv_size", 0u32)
            .field("constant_iv_size", 16u32)
            .field("iv", gst::Buffer::from_slice([2u8; 16]))
            .field("crypt_byte_block", 1u32)
            .field("skip_byte_block", 9u32)
            .build();
        let info = SampleInfo::from_structure(&s, false)
            .expect("valid")
            .expect("encrypted");
        assert_eq!(info.scheme, Scheme::Cbcs { crypt: 1, skip: 9 });
        assert!(info.subsamples.is_empty());

        // No cipher-mode: the caps decide.
        let s = base().build();
        let info = SampleInfo::from_structure(&s, true)
            .expect("valid")
            .expect("encrypted");
        assert_eq!(info.scheme, Scheme::Cbcs { crypt: 0, skip: 0 });

        let s = base().field("encrypted", false).build();
        assert_eq!(SampleInfo::from_structure(&s, false), Ok(None));
    }

    #[test]
    fn malformed_meta_gets_a_clear_error() {
        init();
        let s = gst::Structure::builder("application/x-cenc")
            .field("iv", gst::Buffer::from_slice([1u8; 8]))
            .build();
        let err = SampleInfo::from_structure(&s, false).expect_err("no kid");
        assert_eq!(err.code(), "decrypt.bad_meta");
        assert!(err.to_string().contains("kid"), "{err}");

        let s = base()
            .field("kid", gst::Buffer::from_slice([7u8; 5]))
            .build();
        let err = SampleInfo::from_structure(&s, false).expect_err("short kid");
        assert!(err.to_string().contains("5 bytes"), "{err}");

        let s = base()
            .field("subsample_count", 3u32)
            .field("subsamples", gst::Buffer::from_slice([0u8; 12]))
            .build();
        let err = SampleInfo::from_structure(&s, false).expect_err("truncated map");
        assert_eq!(err.code(), "cenc.subsamples_truncated");
        assert_eq!(err.kid(), Some(Kid([7; 16])));

        let s = base().field("cipher-mode", "cens").build();
        let err = SampleInfo::from_structure(&s, false).expect_err("cens");
        assert!(
            err.to_string().contains("\"cens\" is not supported"),
            "{err}"
        );

        let s = base()
            .field("cipher-mode", "cbcs")
            .field("crypt_byte_block", 300u32)
            .build();
        let err = SampleInfo::from_structure(&s, false).expect_err("pattern");
        assert!(err.to_string().contains("crypt_byte_block = 300"), "{err}");
    }
}
