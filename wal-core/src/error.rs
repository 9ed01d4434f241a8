//! The one error type of the crate.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

mod display;

/// Everything that can go wrong in `wal-core`.
///
/// Data errors say where: the segment file and byte offset, or the entry index. The
/// one-line `Display` carries the cause too (the operating system's error, the decoder's
/// reason), so `{}` in a log line is enough to act on; `source()` therefore returns only
/// what that line does not already say (the cause's own source, if any).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation failed.
    Io {
        /// The operation that failed (`"write"`, `"sync"`, `"read"`, …).
        op: &'static str,
        /// The file or directory it was applied to.
        path: PathBuf,
        /// What the operating system reported.
        source: std::io::Error,
    },
    /// An earlier write or sync failed, so the log accepts no more writes: what is on disk
    /// after that failure is unknown. Drop the `Wal` and reopen it (best after a restart).
    Poisoned {
        /// The failure that poisoned the log.
        source: Arc<std::io::Error>,
    },
    /// Another `Wal` (in this or another process) holds the directory's lock.
    Locked {
        /// The log directory.
        path: PathBuf,
    },
    /// The log path exists and is not a directory.
    NotADirectory {
        /// The path given to `open`.
        path: PathBuf,
    },
    /// The log directory does not exist and `create_if_missing` is off.
    NotFound {
        /// The path given to `open`.
        path: PathBuf,
    },
    /// The log was opened read-only (`Wal::open_read_only`, or `RecoveryMode::Salvage`) and
    /// a write was attempted.
    ReadOnly,
    /// The log was shut down ([`Wal::shutdown`](crate::Wal::shutdown)) and a write was
    /// attempted.
    Closed,
    /// An option is out of range.
    InvalidOptions(String),
    /// A state record's name or value is not one the log keeps (see `Wal::save_state`).
    InvalidState(String),
    /// A batch is larger than one segment can hold: its frames and their footer entries
    /// must fit in a segment addressed by 32-bit offsets (about 4 GiB). Nothing was
    /// appended.
    BatchTooLarge {
        /// Bytes encoded when the batch was refused (frames, and 4 per entry for the footer).
        size: u64,
        /// The most a batch can take.
        max: u64,
    },
    /// An entry's payload is larger than `Options::max_entry_size`.
    EntryTooLarge {
        /// Payload size in bytes.
        size: usize,
        /// The configured maximum.
        max: u32,
    },
    /// A segment's bytes are damaged where damage cannot be a torn tail.
    Corruption {
        /// The segment file.
        segment: PathBuf,
        /// Byte offset of the damage in that file.
        offset: u64,
        /// What is wrong.
        kind: CorruptionKind,
    },
    /// A file named like a segment does not start with the segment magic.
    NotASegment {
        /// The file.
        path: PathBuf,
    },
    /// A segment was written by a newer, unknown format version.
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version found in its header.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A segment belongs to another log (its log identity differs).
    ForeignSegment {
        /// The file.
        path: PathBuf,
        /// This log's identity.
        expected: u64,
        /// The identity in the file.
        found: u64,
    },
    /// An entry has a type id that the decoding type or registry does not know.
    UnknownEntryType {
        /// The entry's index.
        index: u64,
        /// Its type id.
        type_id: u8,
    },
    /// An entry's payload did not decode.
    Decode {
        /// The entry's index.
        index: u64,
        /// Its type id.
        type_id: u8,
        /// What the decoder reported.
        source: DecodeError,
    },
    /// A compressed entry's payload could not be restored: its codec is not in this build
    /// (enable the feature the message names), it would exceed the maximum entry size (a
    /// decompression bomb is refused before anything is allocated), or its bytes are
    /// damaged.
    Compression {
        /// The entry's index.
        index: u64,
        /// The codec its frame names (`lz4`, `zstd`).
        codec: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// An entry did not encode.
    Encode {
        /// The entry's type id.
        type_id: u8,
        /// What the encoder reported.
        source: EncodeError,
    },
    /// Two entry types were registered for one type id.
    DuplicateEntryType {
        /// The type id.
        type_id: u8,
        /// The type registered first.
        first: &'static str,
        /// The type registered second.
        second: &'static str,
    },
    /// Type id 0 belongs to the log and cannot be used by an entry.
    ReservedEntryType,
    /// `append_at` was given an index other than the next one.
    IndexMismatch {
        /// The index the log would give the entry (`last_index() + 1`).
        expected: u64,
        /// The index given.
        given: u64,
    },
    /// A [`Follower`](crate::Follower) yielded entries up to `yielded` that `truncate_back`
    /// then removed: the log now ends at `last`, and the follower goes on after it.
    Truncated {
        /// The last index the follower had yielded.
        yielded: u64,
        /// The log's last index after the truncation.
        last: u64,
    },
    /// An index outside the log was asked for.
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The log's first index.
        first: u64,
        /// The log's last index (`first - 1` when empty).
        last: u64,
    },
}

/// What is wrong with damaged bytes, in [`Error::Corruption`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptionKind {
    /// A frame's CRC does not match.
    Checksum {
        /// CRC stored in the frame.
        stored: u32,
        /// CRC computed over its bytes.
        computed: u32,
    },
    /// A frame's length is above the maximum entry size.
    BadLength(u32),
    /// A frame runs past the end of the file.
    Truncated,
    /// Zeros where frames should be, with data after them.
    Hole,
    /// A frame whose CRC verifies sets flag bits this version does not know.
    ReservedFlags(u8),
    /// A frame's index is not the one expected next.
    IndexOrder {
        /// The index expected.
        expected: u64,
        /// The index found.
        found: u64,
    },
    /// A type-0 frame of a kind this version does not know.
    UnknownInternalFrame,
    /// The segment header's CRC does not match.
    HeaderChecksum,
    /// The file is shorter than a segment header.
    TruncatedHeader,
    /// A sealed segment has no valid footer.
    MissingFooter,
    /// A footer disagrees with the frames it describes.
    BadFooter,
    /// A segment does not continue the previous one (first index, sequence or chain CRC).
    Chain,
    /// A batch is cut off where that cannot be a torn tail.
    IncompleteBatch,
    /// A sync marker's window CRC does not match where it is not the log's torn tail.
    BadMarker,
    /// A mark file (`LOW_WATER`, `HIGH_WATER`, `CUT`) is damaged (was `BadLowWater`).
    BadMarkFile,
    /// The newest segment is older than the high-water mark records: a newer segment, which
    /// may have held acknowledged entries, is missing.
    MissingSegment {
        /// Sequence number the high-water mark records.
        expected_seq: u64,
        /// Sequence number of the newest segment found.
        newest_seq: u64,
    },
    /// The low-water file says the log starts after its last entry: newer segments are missing.
    LowWater {
        /// First index the low-water file records.
        first_index: u64,
        /// Last index found in the segments.
        last_index: u64,
    },
}

impl fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Checksum { stored, computed } => {
                write!(
                    f,
                    "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
                )
            }
            Self::BadLength(len) => write!(f, "frame length {len} above the maximum entry size"),
            Self::Truncated => f.write_str("frame cut off by the end of the file"),
            Self::Hole => f.write_str("zeroed bytes where frames should be"),
            Self::ReservedFlags(flags) => write!(f, "reserved frame flags {flags:#04x}"),
            Self::IndexOrder { expected, found } => {
                write!(f, "index {found} where {expected} was expected")
            }
            Self::UnknownInternalFrame => f.write_str("unknown internal frame kind"),
            Self::HeaderChecksum => f.write_str("segment header checksum mismatch"),
            Self::TruncatedHeader => f.write_str("file shorter than a segment header"),
            Self::MissingFooter => f.write_str("sealed segment has no valid footer"),
            Self::BadFooter => f.write_str("footer disagrees with the segment's frames"),
            Self::Chain => f.write_str("segment does not continue the previous one"),
            Self::IncompleteBatch => f.write_str("batch without its last frame"),
            Self::BadMarker => f.write_str("sync marker does not match the bytes it covers"),
            Self::BadMarkFile => f.write_str("mark file damaged"),
            Self::MissingSegment {
                expected_seq,
                newest_seq,
            } => {
                write!(
                    f,
                    "the newest segment is number {newest_seq} but segment {expected_seq} existed: segments are missing"
                )
            }
            Self::LowWater {
                first_index,
                last_index,
            } => {
                write!(
                    f,
                    "the log starts at index {first_index} but its segments end at {last_index}: segments are missing"
                )
            }
        }
    }
}

/// `Result` with [`Error`] as its default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Why a payload did not decode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The type id is not one this type decodes.
    #[error("unknown entry type {0}")]
    UnknownType(u8),
    /// The payload ended before a value was complete.
    #[error("payload ended early: {needed} bytes needed at byte {at}, {remaining} remain")]
    UnexpectedEnd {
        /// Position in the payload.
        at: usize,
        /// Bytes the next value needs.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// Bytes were left after the value was complete.
    #[error("{0} unexpected bytes after the value")]
    TrailingBytes(usize),
    /// The bytes are not a valid encoding (bad UTF-8, bool not 0 or 1, unknown tag, …).
    #[error("invalid encoding: {0}")]
    Invalid(String),
    /// An error from a user's own decoder (its message is part of this one's).
    #[error("custom decoder failed: {0}")]
    Custom(Box<dyn std::error::Error + Send + Sync>),
    /// A field of a derived type did not decode: which one, and why.
    #[error("field `{ty}.{field}`: {inner}")]
    InField {
        /// The Rust type (`Event`, or `Op::Put` for an enum's variant).
        ty: &'static str,
        /// The field's name (or position, in a tuple struct).
        field: &'static str,
        /// Why it did not decode.
        inner: Box<DecodeError>,
    },
}

impl DecodeError {
    /// Wraps a user decoder's error.
    pub fn custom(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Custom(e.into())
    }
}

/// Why a value did not encode (the encoder's message is part of this one's).
#[derive(Debug, thiserror::Error)]
#[error("encoding failed: {0}")]
pub struct EncodeError(Box<dyn std::error::Error + Send + Sync>);

impl EncodeError {
    /// Wraps an encoder's error.
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(e.into())
    }
}
