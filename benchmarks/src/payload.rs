//! The bytes every subject writes: an entry's number in the first 8 bytes, then filler that
//! does not compress, so no library gains from compression and reads can be checked.

use crate::Result;

/// Calls `f` with payloads number 0 to `n - 1` of `size` bytes, in one reused buffer.
pub fn each(n: u64, size: usize, mut f: impl FnMut(&mut Vec<u8>) -> Result<()>) -> Result<()> {
    let mut p = noise(size);
    (0..n).try_for_each(|i| {
        stamp(&mut p, i);
        f(&mut p)
    })
}

/// Payload number `i` of `size` bytes (at least 8): `i` little-endian, then fixed noise.
#[must_use]
pub fn payload(i: u64, size: usize) -> Vec<u8> {
    let mut p = noise(size);
    stamp(&mut p, i);
    p
}

/// Overwrites the number in a payload buffer made by [`payload`] or [`noise`].
pub fn stamp(p: &mut [u8], i: u64) {
    p[..8].copy_from_slice(&i.to_le_bytes());
}

/// The number stamped in a payload, if it has 8 bytes.
#[must_use]
pub fn number(p: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(p.get(..8)?.try_into().ok()?))
}

/// `size` bytes of xorshift noise, the same every time.
#[must_use]
pub fn noise(size: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}
