//! The ISO BMFF segment index box (`sidx`, ISO/IEC 14496-12 §8.16.3).
//!
//! A DASH `SegmentBase` representation is one MP4 file; its
//! `indexRange` points at a `sidx` box that lists the file's
//! subsegments: a byte size and a duration each, laid end to end after
//! the box (plus `first_offset`). [`parse`] reads the box; [`segments`]
//! turns it into the model's [`Segment`]s.
//!
//! ```text
//! size:u32 'sidx' version:u8 flags:u24 reference_ID:u32 timescale:u32
//! v0: earliest_presentation_time:u32 first_offset:u32
//! v1: earliest_presentation_time:u64 first_offset:u64
//! reserved:u16 reference_count:u16
//! reference_count × { type:1 size:31  duration:u32  SAP:u32 }
//! ```

use super::{ByteRange, Format, IndexRef, Limits, ManifestError, Segment};

/// A parsed `sidx` box, with absolute byte offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sidx {
    /// Ticks per second of the durations.
    pub timescale: u32,
    /// Presentation time of the first subsegment, in ticks.
    pub earliest_presentation_time: u64,
    /// The subsegments, in order.
    pub references: Vec<Reference>,
}

/// One subsegment of a [`Sidx`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// Where it is in the file.
    pub range: ByteRange,
    /// Its duration, in ticks.
    pub duration: u32,
    /// Whether it starts with a stream access point (can be played from).
    pub starts_with_sap: bool,
}

/// A cursor over big-endian fields that fails instead of panicking.
pub(super) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(super) fn position(&self) -> usize {
        self.pos
    }

    pub(super) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(super) fn bytes(&mut self, n: usize) -> Result<&'a [u8], ManifestError> {
        if self.remaining() < n {
            return Err(ManifestError::malformed(Format::Bmff, "box truncated"));
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], ManifestError> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self) -> Result<u8, ManifestError> {
        Ok(self.array::<1>()?[0])
    }

    pub(super) fn u16(&mut self) -> Result<u16, ManifestError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(super) fn u32(&mut self) -> Result<u32, ManifestError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(super) fn u64(&mut self) -> Result<u64, ManifestError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Reads a box header; returns the type and the body (the bytes after
    /// the header, up to the box's end).
    pub(super) fn boxed(&mut self) -> Result<([u8; 4], &'a [u8]), ManifestError> {
        let start = self.pos;
        let size32 = self.u32()?;
        let kind: [u8; 4] = self.array()?;
        let size = match size32 {
            0 => (self.data.len() - start) as u64,
            1 => self.u64()?,
            n => u64::from(n),
        };
        let header = (self.pos - start) as u64;
        if size < header || size - header > self.remaining() as u64 {
            return Err(ManifestError::malformed(
                Format::Bmff,
                format!(
                    "box {} of {size} bytes overruns its data",
                    String::from_utf8_lossy(&kind)
                ),
            ));
        }
        let body = self.bytes((size - header) as usize)?;
        Ok((kind, body))
    }
}

/// Reads the first `sidx` box in `data`, which starts at byte `anchor` of
/// the media file (the start of `indexRange`). Other boxes before it
/// (`styp`, a `free`) are skipped.
pub fn parse(data: &[u8], anchor: u64) -> Result<Sidx, ManifestError> {
    let mut top = Reader::new(data);
    let body = loop {
        if top.remaining() == 0 {
            return Err(ManifestError::malformed(
                Format::Bmff,
                "no sidx box in the index range",
            ));
        }
        let (kind, body) = top.boxed()?;
        if &kind == b"sidx" {
            break body;
        }
    };
    // Subsegments follow the box: its end, in file terms, is the anchor.
    let after_box = anchor.saturating_add(top.position() as u64);
    let mut r = Reader::new(body);
    let version = r.u8()?;
    let _flags = r.bytes(3)?;
    let _reference_id = r.u32()?;
    let timescale = r.u32()?;
    if timescale == 0 {
        return Err(ManifestError::invalid(Format::Bmff, "sidx timescale", "0"));
    }
    let (earliest_presentation_time, first_offset) = match version {
        0 => (u64::from(r.u32()?), u64::from(r.u32()?)),
        1 => (r.u64()?, r.u64()?),
        v => {
            return Err(ManifestError::unsupported(
                Format::Bmff,
                format!("sidx version {v}"),
            ));
        }
    };
    let _reserved = r.u16()?;
    let count = r.u16()?;
    if r.remaining() < usize::from(count) * 12 {
        return Err(ManifestError::malformed(
            Format::Bmff,
            format!(
                "sidx claims {count} references but holds {} bytes",
                r.remaining()
            ),
        ));
    }
    let mut offset = after_box.checked_add(first_offset).ok_or_else(|| {
        ManifestError::invalid(Format::Bmff, "sidx first_offset", first_offset.to_string())
    })?;
    let mut references = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let word = r.u32()?;
        let duration = r.u32()?;
        let sap = r.u32()?;
        if word >> 31 == 1 {
            // A reference to another sidx (a hierarchical index): rare in
            // VOD DASH and would need another fetch per level.
            return Err(ManifestError::unsupported(
                Format::Bmff,
                "hierarchical sidx (a reference to another sidx)",
            ));
        }
        let size = u64::from(word & 0x7fff_ffff);
        if size == 0 {
            return Err(ManifestError::invalid(
                Format::Bmff,
                "sidx referenced_size",
                "0",
            ));
        }
        references.push(Reference {
            range: ByteRange {
                offset,
                length: size,
            },
            duration,
            starts_with_sap: sap >> 31 == 1,
        });
        offset = offset.checked_add(size).ok_or_else(|| {
            ManifestError::invalid(Format::Bmff, "sidx referenced_size", size.to_string())
        })?;
    }
    Ok(Sidx {
        timescale,
        earliest_presentation_time,
        references,
    })
}

/// The segments a `SegmentBase` rendition's index lists. `budget` is how
/// many segments the presentation may still hold.
pub(crate) fn segments(
    index: &IndexRef,
    data: &[u8],
    limits: &Limits,
    budget: usize,
) -> Result<Vec<Segment>, ManifestError> {
    limits.check_size(Format::Bmff, data)?;
    let sidx = parse(data, index.range.offset)?;
    if sidx.references.len() > budget {
        return Err(ManifestError::TooManySegments {
            limit: limits.max_segments,
        });
    }
    let scale = f64::from(sidx.timescale);
    // Presentation time of a tick count, shifted by the offset the MPD
    // gives (media time `presentationTimeOffset` is the period's start).
    let mut ticks = sidx.earliest_presentation_time;
    let mut out = Vec::with_capacity(sidx.references.len());
    for (i, reference) in sidx.references.iter().enumerate() {
        let media = ticks as f64 / scale - index.presentation_time_offset;
        out.push(Segment {
            url: index.url.clone(),
            range: Some(reference.range),
            number: index.first_number.saturating_add(i as u64),
            start: index.period_start + media,
            duration: f64::from(reference.duration) / scale,
            discontinuity: index.discontinuity && i == 0,
            init: index.init.clone(),
            protection: index.protection.clone(),
        });
        ticks = ticks.saturating_add(u64::from(reference.duration));
    }
    Ok(out)
}

/// Builds a `sidx` box, for tests and fixtures: version 0 if the values
/// fit in 32 bits, else version 1.
#[cfg(test)]
pub(crate) fn build(
    timescale: u32,
    earliest: u64,
    first_offset: u64,
    refs: &[(u32, u32)],
) -> Vec<u8> {
    let v1 = earliest > u64::from(u32::MAX) || first_offset > u64::from(u32::MAX);
    let mut body = vec![u8::from(v1), 0, 0, 0];
    body.extend(1u32.to_be_bytes());
    body.extend(timescale.to_be_bytes());
    if v1 {
        body.extend(earliest.to_be_bytes());
        body.extend(first_offset.to_be_bytes());
    } else {
        body.extend((earliest as u32).to_be_bytes());
        body.extend((first_offset as u32).to_be_bytes());
    }
    body.extend(0u16.to_be_bytes());
    body.extend((refs.len() as u16).to_be_bytes());
    for (size, duration) in refs {
        body.extend(size.to_be_bytes());
        body.extend(duration.to_be_bytes());
        body.extend((1u32 << 31).to_be_bytes());
    }
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend(b"sidx");
    out.extend(body);
    out
}
