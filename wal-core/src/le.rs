//! Little-endian reads from byte slices that return `None` instead of panicking.

/// The little-endian `u32` at `at`, or `None` when fewer than 4 bytes remain.
#[inline]
pub(crate) fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The little-endian `u64` at `at`, or `None` when fewer than 8 bytes remain.
#[inline]
pub(crate) fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}
