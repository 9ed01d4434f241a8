//! State records: small values kept beside the log, each replaced whole.

use super::{crc, mask};
use crate::le::{le_u32, le_u64};

/// Magic bytes of a state record.
pub const STATE_MAGIC: [u8; 8] = *b"TWALSTA1";
/// Bytes of a state record besides its value.
pub const STATE_FIXED_LEN: usize = 8 + 8 + 4 + 4;
/// The largest value a state record holds.
pub const MAX_STATE_LEN: usize = 1 << 20;
/// What a state record's file name starts with; the record's name follows.
pub const STATE_PREFIX: &str = "STATE.";

/// Encodes a state record of the log `log_id` holding `value` (at most [`MAX_STATE_LEN`]
/// bytes; longer values are cut there, which [`decode_state`] then refuses).
#[must_use]
pub fn encode_state(log_id: u64, value: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(STATE_FIXED_LEN + value.len());
    b.extend_from_slice(&STATE_MAGIC);
    b.extend_from_slice(&log_id.to_le_bytes());
    let len = u32::try_from(value.len().min(MAX_STATE_LEN)).unwrap_or(u32::MAX);
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(value);
    let c = mask(crc(0, &b));
    b.extend_from_slice(&c.to_le_bytes());
    b
}

/// Decodes a state record: `(log_id, value)`, or `None` if it is damaged.
#[must_use]
pub fn decode_state(b: &[u8]) -> Option<(u64, &[u8])> {
    let len = le_u32(b, 16)? as usize;
    if b.get(0..8)? != STATE_MAGIC || len > MAX_STATE_LEN || b.len() != STATE_FIXED_LEN + len {
        return None;
    }
    let body = b.get(..20 + len)?;
    if le_u32(b, 20 + len)? != mask(crc(0, body)) {
        return None;
    }
    Some((le_u64(b, 8)?, b.get(20..20 + len)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_record_round_trips_and_any_damage_is_refused() {
        let b = encode_state(7, b"vote: term 3, node 2");
        assert_eq!(b.len(), STATE_FIXED_LEN + 20);
        assert_eq!(&b[..8], b"TWALSTA1");
        assert_eq!(decode_state(&b), Some((7, &b"vote: term 3, node 2"[..])));
        assert_eq!(decode_state(&encode_state(1, b"")), Some((1, &b""[..])));
        for at in 0..b.len() {
            let mut d = b.clone();
            d[at] ^= 0x10;
            assert_eq!(decode_state(&d), None, "a flipped bit at {at}");
        }
        for len in 0..b.len() {
            assert_eq!(decode_state(&b[..len]), None, "cut to {len}");
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(decode_state(&long), None, "trailing byte");
    }
}
