//! An entry of raw bytes with type id 1: what the fuzz targets and unit tests append.

use crate::entry::Entry;
use crate::error::{DecodeError, EncodeError};

/// An entry of raw bytes with type id 1.
pub(crate) struct Bytes(pub Vec<u8>);

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
