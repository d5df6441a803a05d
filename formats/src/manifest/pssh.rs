//! The protection system specific header box (`pssh`, ISO/IEC 23001-7
//! §8.1).
//!
//! DASH carries these in `<cenc:pssh>` (base64). The box names a DRM system
//! by a 16-byte id and, from version 1 on, lists the key ids it covers;
//! the W3C ClearKey system (`1077efec-c0b2-4d02-ace3-3c1e52e2fb4b`) that
//! the headend's `CommonSystem` emits is exactly that list.

use super::sidx::Reader;
use super::{Format, Kid, ManifestError};

/// The W3C Common PSSH / ClearKey system id.
pub const COMMON_SYSTEM_ID: [u8; 16] = [
    0x10, 0x77, 0xef, 0xec, 0xc0, 0xb2, 0x4d, 0x02, 0xac, 0xe3, 0x3c, 0x1e, 0x52, 0xe2, 0xfb, 0x4b,
];

/// A `pssh` box, read enough to route it to a DRM system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pssh {
    /// The DRM system it is for.
    pub system_id: [u8; 16],
    /// Key ids listed in the box (version 1 only).
    pub kids: Vec<Kid>,
    /// The whole box, as a CDM wants it.
    pub raw: Vec<u8>,
}

/// Reads one `pssh` box.
pub fn parse(raw: &[u8]) -> Result<Pssh, ManifestError> {
    let mut top = Reader::new(raw);
    let (kind, body) = top.boxed()?;
    if &kind != b"pssh" {
        return Err(ManifestError::malformed(
            Format::Bmff,
            format!(
                "expected a pssh box, found {:?}",
                String::from_utf8_lossy(&kind)
            ),
        ));
    }
    let mut r = Reader::new(body);
    let version = r.u8()?;
    let _flags = r.bytes(3)?;
    let system_id = r.array()?;
    let mut kids = Vec::new();
    if version >= 1 {
        let count = r.u32()?;
        // Each id is 16 bytes: a count beyond what the box holds is a lie.
        if u64::from(count) * 16 > r.remaining() as u64 {
            return Err(ManifestError::malformed(
                Format::Bmff,
                format!("pssh claims {count} key ids"),
            ));
        }
        for _ in 0..count {
            kids.push(r.array()?);
        }
    }
    let size = r.u32()?;
    r.bytes(size as usize)?;
    Ok(Pssh {
        system_id,
        kids,
        raw: raw[..top.position()].to_vec(),
    })
}
