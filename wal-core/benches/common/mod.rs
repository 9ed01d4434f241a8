//! What the benchmarks share: an entry of raw bytes.

use wal_core::{DecodeError, EncodeError, Entry};

/// An entry of raw bytes with type id 1.
pub struct Bytes(pub Vec<u8>);

impl Entry for Bytes {
    const TYPE_IDS: &'static [u8] = &[1];
    fn type_id(&self) -> u8 {
        1
    }
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
    fn decode(_: u8, p: &[u8]) -> Result<Self, DecodeError> {
        Ok(Bytes(p.to_vec()))
    }
}
