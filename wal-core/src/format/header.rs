//! The 64-byte segment header.

use super::{FORMAT_VERSION, HEADER_LEN, SEGMENT_MAGIC, crc, mask};
use crate::le::{le_u32, le_u64};

/// The fields of a segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Log identity shared by every segment of one log.
    pub log_id: u64,
    /// Segment sequence number, strictly increasing along the log.
    pub seq: u64,
    /// Index of the first entry the segment holds.
    pub first_index: u64,
    /// Last index of the previous segment (`first_index - 1`).
    pub prev_last_index: u64,
    /// Stored CRC of the previous segment's footer frame; `0` for the first segment.
    pub prev_crc: u32,
}

/// Why a segment header did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than [`HEADER_LEN`] bytes.
    Truncated,
    /// The magic bytes are wrong: this is not a segment.
    BadMagic,
    /// The version is one this crate does not know.
    UnsupportedVersion(u32),
    /// The header CRC does not match.
    Checksum,
}

impl SegmentHeader {
    /// Encodes the header into its 64 bytes.
    #[must_use]
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[16..24].copy_from_slice(&self.log_id.to_le_bytes());
        b[24..32].copy_from_slice(&self.seq.to_le_bytes());
        b[32..40].copy_from_slice(&self.first_index.to_le_bytes());
        b[40..48].copy_from_slice(&self.prev_last_index.to_le_bytes());
        b[48..52].copy_from_slice(&self.prev_crc.to_le_bytes());
        let c = mask(crc(0, &b[..60]));
        b[60..64].copy_from_slice(&c.to_le_bytes());
        b
    }

    /// Decodes a header from the first 64 bytes of `bytes`.
    ///
    /// # Errors
    /// A [`HeaderError`] saying what is wrong with it.
    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderError> {
        let Some(b) = bytes.get(..HEADER_LEN) else {
            return Err(HeaderError::Truncated);
        };
        if b.get(0..8) != Some(&SEGMENT_MAGIC[..]) {
            return Err(HeaderError::BadMagic);
        }
        let version = le_u32(b, 8).unwrap_or(0);
        if version != FORMAT_VERSION {
            return Err(HeaderError::UnsupportedVersion(version));
        }
        if le_u32(b, 60) != Some(mask(crc(0, &b[..60]))) {
            return Err(HeaderError::Checksum);
        }
        Ok(Self {
            log_id: le_u64(b, 16).unwrap_or(0),
            seq: le_u64(b, 24).unwrap_or(0),
            first_index: le_u64(b, 32).unwrap_or(0),
            prev_last_index: le_u64(b, 40).unwrap_or(0),
            prev_crc: le_u32(b, 48).unwrap_or(0),
        })
    }
}
