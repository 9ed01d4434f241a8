//! On-disk format, version 1: the byte-level specification.
//!
//! Everything is little-endian. Nothing in this module does I/O; every function works on
//! byte slices and never panics, whatever the bytes.
//!
//! # Segment files
//!
//! A log is a directory of segment files, each named by the index of its first entry,
//! zero-padded to 20 digits so names sort: `00000000000000000001.wal`. A segment is written
//! under `NAME.wal.tmp`, synced, renamed and its directory synced before any entry in it is
//! acknowledged. Other file names in the directory are ignored.
//!
//! ## Segment header (64 bytes)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"TYPEDWAL"` |
//! | 8 | 4 | format version, `1` |
//! | 12 | 4 | header flags, reserved, `0` |
//! | 16 | 8 | log identity: a random `u64` chosen when the log is created, the same in every segment |
//! | 24 | 8 | segment sequence number: strictly increasing along the log, never reused |
//! | 32 | 8 | first index: the index of the first entry this segment holds (or will hold) |
//! | 40 | 8 | previous segment's last index (`first index - 1`, or less in a segment that restarts the log at a later index; `0` for a log's first segment) |
//! | 48 | 4 | previous segment's footer CRC (the chain; `0` for a log's first segment) |
//! | 52 | 8 | reserved, `0` |
//! | 60 | 4 | masked CRC-32 of bytes `0..60` |
//!
//! A segment whose first index is above its previous segment's last index + 1 restarts the
//! log there (`Wal::restart_at`): every entry before it is removed, and recovery takes its
//! first index as the log's first index (raising `LOW_WATER` to it if a crash came first).
//!
//! ## Frames
//!
//! After the header come frames, back to back, with no padding:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | masked CRC-32 of bytes `4..18 + len`, seeded with the log identity |
//! | 4 | 4 | payload length `len` |
//! | 8 | 1 | entry type: `1..=255` for user entries, `0` for the log's own frames |
//! | 9 | 1 | flags: bit 0 [`FLAG_IGNORABLE`], bit 1 [`FLAG_BATCH_MORE`], bits 2–3 [`FLAG_CODEC`]; the others are reserved and must be `0` |
//! | 10 | 8 | index: the entry's 1-based position in the log |
//! | 18 | len | payload |
//!
//! - The CRC is seeded with [`crc_seed`] of the log identity, so a frame copied from another
//!   log never verifies, and stored masked (`LevelDB`'s mask) so CRCs of data that contains CRCs
//!   stay strong.
//! - A reader skips a frame by its length alone: no user code runs to find the next frame.
//! - A length above the configured maximum entry size is damage, never an allocation.
//! - An all-zero frame header is never valid (type 0 frames always carry a kind byte, user
//!   frames have index ≥ 1): zeros, as left by preallocation, read as the end of the segment.
//! - A payload compressed ([`FLAG_CODEC`] not `00`) is stored as `original length u32 |
//!   compressed bytes`; the length is at most the maximum entry size (checked before
//!   anything is allocated), and the CRC covers the stored bytes. The entry type stays
//!   outside the compressed part.
//! - [`FLAG_BATCH_MORE`] is set on every frame of an `append_batch` but the last: recovery
//!   drops a batch whose last frame is missing, so a batch is all or nothing after a crash.
//!
//! ## The log's own frames (type 0)
//!
//! The first payload byte says which:
//!
//! - **Sync marker** ([`KIND_SYNC_MARKER`], payload 9 bytes): `kind u8 | window_len u32 |
//!   window_crc u32`. Written right before each fsync. `window_len` is the number of bytes
//!   between the end of the previous marker (or of the header) and this marker's first byte,
//!   and `window_crc` their seeded CRC. Its index field holds the last entry index before it.
//!   At recovery, damage after the last marker whose frame and window both verify is a torn
//!   tail (never acknowledged); damage before it is damage to acknowledged data.
//! - **Footer** ([`KIND_FOOTER`]): `kind u8 | entry_count u32 | first_index u64 |
//!   last_index u64 | position u32 × entry_count | footer_offset u32 | b"WFTR"`. Written when a
//!   segment is sealed, as its last frame: the file ends right after it, so its last 8 bytes
//!   locate it. (The writer trims preallocated space before writing it; a footer followed
//!   only by zeros, which a crash between the two left in logs of older writers, is read as
//!   sealed and trimmed at open.) `position` is the byte offset of each entry's frame; its index field holds
//!   `last_index`. Its stored CRC is the chain value the next segment's header repeats.
//! - **Batch end** ([`KIND_BATCH_END`], payload 1 byte): closes a batch whose last frames
//!   were removed, so the frames kept count as complete. `truncate_back` writes it when it
//!   cuts inside a batch (frames are never rewritten). Its index field holds the last index
//!   kept.
//!
//! # The mark files
//!
//! Three small files, each written whole (temporary name, sync, rename, directory sync), each
//! 28 bytes: magic (8) | log identity `u64` | value `u64` | masked CRC-32 of the 24 bytes
//! before it. A log without them (made by an older writer) is read without their checks.
//!
//! - `LOW_WATER` (magic `b"TWALLOW1"`): the log's first index. Written when the log is created
//!   and by every `truncate_front` before any segment is removed, so entries below it never
//!   come back.
//! - `HIGH_WATER` (magic `b"TWALHIW1"`): the sequence number of the newest segment. Written
//!   after a new segment is durable and before anything is appended to it, and lowered before
//!   `truncate_back` removes segments; a log whose newest segment is older than it has lost a
//!   segment that may have held acknowledged entries, and is refused. Segments newer than it
//!   were being removed when a crash came, and are removed at open.
//! - `CUT` (magic `b"TWALCUT1"`): the last index `truncate_back` keeps when it cuts inside a
//!   batch. Written before the segment is shortened and removed once the batch-end frame
//!   after the kept entries is synced: a crash between the two leaves the kept entries as
//!   an unfinished batch that ends exactly at this index, which recovery then reads as
//!   finished (and finishes with a batch-end frame) instead of cutting it as torn.
//!
//! # State records
//!
//! Small values an application keeps beside the log (a consensus vote, the last applied
//! index), one file each, named `STATE.` followed by the record's name (`a-z`, `0-9`, `_`,
//! `-`; 1 to 64 characters), replaced whole like a mark file: magic `b"TWALSTA1"` (8) | log
//! identity `u64` | value length `u32` (at most [`MAX_STATE_LEN`]) | value | masked CRC-32 of
//! every byte before it. After a crash a record holds its old or its new value, never a mix.

use crate::le::{le_u32, le_u64};

mod frame;
mod header;
mod own_frames;
mod state;
#[cfg(test)]
mod tests;

pub use frame::{FrameCheck, FrameHeader, check_frame, encode_frame};
pub(crate) use frame::{begin_frame, finish_frame};
pub use header::{HeaderError, SegmentHeader};
pub(crate) use own_frames::{FOOTER_SUMMARY_LEN, FooterSummary, footer_summary};
pub use own_frames::{
    Footer, Marker, decode_footer, decode_marker, encode_batch_end, encode_footer, encode_marker,
};
pub use state::{
    MAX_STATE_LEN, STATE_FIXED_LEN, STATE_MAGIC, STATE_PREFIX, decode_state, encode_state,
};

/// The eight bytes every segment file starts with.
pub const SEGMENT_MAGIC: [u8; 8] = *b"TYPEDWAL";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the segment header in bytes.
pub const HEADER_LEN: usize = 64;
/// Size of a frame header (everything before the payload) in bytes.
pub const FRAME_HEADER_LEN: usize = 18;
/// Frame flag: a reader that does not know this entry type may skip the entry.
pub const FLAG_IGNORABLE: u8 = 0b01;
/// Frame flag: this frame is part of a batch and is not its last frame.
pub const FLAG_BATCH_MORE: u8 = 0b10;
/// Flags a version-1 reader understands; any other bit set makes the frame invalid.
pub const KNOWN_FLAGS: u8 = FLAG_IGNORABLE | FLAG_BATCH_MORE | FLAG_CODEC;
/// Flag bits 2–3: the codec of a compressed payload: `01` lz4, `10` zstd (`11` is reserved
/// and refused); `00` a payload stored as its entry encoded it.
pub const FLAG_CODEC: u8 = 0b1100;
/// First payload byte of a sync-marker frame.
pub const KIND_SYNC_MARKER: u8 = 1;
/// First payload byte of a footer frame.
pub const KIND_FOOTER: u8 = 2;
/// First payload byte of a batch-end frame.
pub const KIND_BATCH_END: u8 = 3;
/// Payload length of a sync-marker frame.
pub const MARKER_PAYLOAD_LEN: usize = 9;
/// Total length of a sync-marker frame.
pub const MARKER_FRAME_LEN: usize = FRAME_HEADER_LEN + MARKER_PAYLOAD_LEN;
/// The last four bytes of a sealed segment.
pub const FOOTER_MAGIC: [u8; 4] = *b"WFTR";
/// Bytes of the footer payload that are not positions.
pub const FOOTER_FIXED_LEN: usize = 1 + 4 + 8 + 8 + 4 + 4;

const MASK_DELTA: u32 = 0xa282_ead8;

/// Magic bytes of the low-water file.
pub const LOW_WATER_MAGIC: [u8; 8] = *b"TWALLOW1";
/// Magic bytes of the high-water file.
pub const HIGH_WATER_MAGIC: [u8; 8] = *b"TWALHIW1";
/// Magic bytes of the cut file.
pub const CUT_MAGIC: [u8; 8] = *b"TWALCUT1";
/// Size of a mark file.
pub const MARK_LEN: usize = 28;

/// Encodes a mark file.
#[must_use]
pub fn encode_mark(magic: [u8; 8], log_id: u64, value: u64) -> [u8; MARK_LEN] {
    let mut b = [0u8; MARK_LEN];
    b[0..8].copy_from_slice(&magic);
    b[8..16].copy_from_slice(&log_id.to_le_bytes());
    b[16..24].copy_from_slice(&value.to_le_bytes());
    let c = mask(crc(0, &b[..24]));
    b[24..28].copy_from_slice(&c.to_le_bytes());
    b
}

/// Decodes a mark file: `(log_id, value)`, or `None` if it is damaged.
#[must_use]
pub fn decode_mark(magic: [u8; 8], b: &[u8]) -> Option<(u64, u64)> {
    if b.len() != MARK_LEN || b.get(0..8)? != magic || le_u32(b, 24)? != mask(crc(0, b.get(..24)?))
    {
        return None;
    }
    Some((le_u64(b, 8)?, le_u64(b, 16)?))
}

/// Masks a CRC before it is stored (`LevelDB`'s rotation and offset).
#[must_use]
#[inline]
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// The CRC seed derived from a log identity.
#[must_use]
pub fn crc_seed(log_id: u64) -> u32 {
    // Fold both halves so every bit of the identity changes the seed.
    #[expect(clippy::cast_possible_truncation, reason = "folding 64 bits into 32")]
    let folded = (log_id as u32) ^ ((log_id >> 32) as u32);
    folded
}

/// A CRC-32 over `bytes`, seeded with `seed`, unmasked.
#[must_use]
#[inline]
pub fn crc(seed: u32, bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(seed);
    h.update(bytes);
    h.finalize()
}
