//! The typed face of the log: [`Entry`], and [`RawEntry`], an entry read but not decoded.

use std::fmt;
use std::sync::Arc;

use crate::compression::CODEC_MASK;
pub use crate::error::{DecodeError, EncodeError};
use crate::error::{Error, Result};
use crate::format::FLAG_IGNORABLE;

/// A value that can be appended to the log and decoded back.
///
/// `#[derive(WalEntry)]` implements it; a hand-written impl is four items:
///
/// ```
/// use wal_core::{DecodeError, EncodeError, Entry};
///
/// struct Note(String);
///
/// impl Entry for Note {
///     const TYPE_IDS: &'static [u8] = &[7];
///     fn type_id(&self) -> u8 { 7 }
///     fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
///         out.extend_from_slice(self.0.as_bytes());
///         Ok(())
///     }
///     fn decode(_type_id: u8, payload: &[u8]) -> Result<Self, DecodeError> {
///         String::from_utf8(payload.to_vec()).map(Note).map_err(DecodeError::custom)
///     }
/// }
/// ```
///
/// The log never calls user code to find the next entry: each frame carries its length, so
/// reading the payload bytes of an entry out of a frame ([`RawEntry::payload`]) and skipping
/// entries costs no decoding.
pub trait Entry: Sized {
    /// Every type id a value of this type can have, each in `1..=255` (`0` is the log's).
    const TYPE_IDS: &'static [u8];

    /// The type id of this value, one of [`Entry::TYPE_IDS`].
    fn type_id(&self) -> u8;

    /// Whether a reader that does not know this type may skip it (the frame's ignorable flag).
    ///
    /// Default: `false`.
    fn ignorable(&self) -> bool {
        false
    }

    /// Appends the payload of this value to `out` (which may already hold other bytes).
    ///
    /// # Errors
    /// Whatever the encoding reports; the log does not append the entry.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Builds a value from its type id and payload.
    ///
    /// # Errors
    /// [`DecodeError`] when the payload is not a valid encoding or the type id is unknown.
    fn decode(type_id: u8, payload: &[u8]) -> Result<Self, DecodeError>;

    /// A name for the entries of type id `type_id`, for people reading a log (the `wal`
    /// inspector's `dump` and `stats`, and its `--type` filter): `#[derive(WalEntry)]`
    /// gives a struct's name, or an enum variant's.
    ///
    /// Default: `None` (the inspector shows the number).
    #[must_use]
    fn type_name(type_id: u8) -> Option<&'static str> {
        let _ = type_id;
        None
    }
}

/// An entry as read from the log: index, type, flags and payload, not decoded.
///
/// Cheap to clone (clones share the payload). An iterator hands out entries that share its
/// read buffer until it finds one of them still held when it reads on; from then on each
/// entry owns a copy of its payload. So entries a caller keeps cost their payloads plus at
/// most one read buffer (1 MiB) per iterator; `get` entries own their payload.
#[derive(Clone)]
pub struct RawEntry {
    index: u64,
    type_id: u8,
    flags: u8,
    payload: Payload,
}

/// Where a `RawEntry`'s payload lives.
#[derive(Clone)]
enum Payload {
    /// A range of an iterator's read buffer.
    Shared(Arc<Vec<u8>>, std::ops::Range<usize>),
    /// Its own allocation.
    Owned(Arc<[u8]>),
}

/// An entry borrowed from an iterator's read buffer, valid until the iterator moves on:
/// what [`Iter::next_ref`](crate::Iter::next_ref) hands out and `replay` decodes, with no
/// copy, allocation or reference count per entry.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    pub(crate) index: u64,
    pub(crate) type_id: u8,
    pub(crate) flags: u8,
    /// The payload as stored: compressed when `flags` name a codec.
    pub(crate) payload: &'a [u8],
    /// The most a compressed payload may restore to (the maximum entry size).
    pub(crate) max: u32,
}

impl<'a> EntryRef<'a> {
    /// The entry's index in the log (1-based).
    #[must_use]
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The entry's type id: the byte [`Entry::type_id`] wrote.
    #[must_use]
    pub fn type_id(&self) -> u8 {
        self.type_id
    }

    /// Whether the writer marked the entry as skippable by readers that do not know its type.
    #[inline]
    #[must_use]
    pub fn is_ignorable(&self) -> bool {
        self.flags & FLAG_IGNORABLE != 0
    }

    /// Whether the payload is stored compressed (see `Options::compression`): then
    /// [`EntryRef::payload`] allocates to restore it.
    #[must_use]
    pub fn is_compressed(&self) -> bool {
        self.flags & CODEC_MASK != 0
    }

    /// The payload bytes, as the entry's `encode` wrote them: borrowed from the read
    /// buffer, or restored into an allocation when stored compressed.
    ///
    /// # Errors
    /// [`Error::Compression`] for a compressed payload that cannot be restored.
    #[inline]
    pub fn payload(&self) -> Result<std::borrow::Cow<'a, [u8]>> {
        if self.flags & CODEC_MASK == 0 {
            return Ok(std::borrow::Cow::Borrowed(self.payload));
        }
        crate::compression::decompress(self.index, self.flags, self.payload, self.max)
            .map(std::borrow::Cow::Owned)
    }

    /// Decodes the entry as a `T`, straight from the read buffer.
    ///
    /// # Errors
    /// As [`RawEntry::decode`], and [`Error::Compression`] for a compressed payload that
    /// cannot be restored.
    #[inline]
    pub fn decode<T: Entry>(&self) -> Result<T> {
        if !T::TYPE_IDS.contains(&self.type_id) {
            return Err(Error::UnknownEntryType {
                index: self.index,
                type_id: self.type_id,
            });
        }
        let decoded = if self.flags & CODEC_MASK == 0 {
            T::decode(self.type_id, self.payload)
        } else {
            // Decompressed only now, after the type matched: skipping by type costs nothing.
            T::decode(self.type_id, &self.payload()?)
        };
        decoded.map_err(|e| self.decode_error(e))
    }

    fn decode_error(&self, e: DecodeError) -> Error {
        match e {
            DecodeError::UnknownType(type_id) => Error::UnknownEntryType {
                index: self.index,
                type_id,
            },
            source => Error::Decode {
                index: self.index,
                type_id: self.type_id,
                source,
            },
        }
    }

    /// The entry as a [`RawEntry`] owning a copy of its payload (decompressed, if it was
    /// stored compressed), to keep after the iterator moves on.
    ///
    /// # Errors
    /// [`Error::Compression`] for a compressed payload that cannot be restored.
    pub fn into_raw(self) -> Result<RawEntry> {
        if self.flags & CODEC_MASK != 0 {
            return self.decompressed();
        }
        Ok(self.with_payload(Payload::Owned(Arc::from(self.payload))))
    }

    /// The entry, sharing `buf`, whose `range` is this entry's payload (or owning it
    /// decompressed, if it was stored compressed).
    ///
    /// # Errors
    /// As [`EntryRef::into_raw`].
    pub(crate) fn shared(
        self,
        buf: &Arc<Vec<u8>>,
        range: std::ops::Range<usize>,
    ) -> Result<RawEntry> {
        if self.flags & CODEC_MASK != 0 {
            return self.decompressed();
        }
        debug_assert_eq!(buf.get(range.clone()), Some(self.payload));
        Ok(self.with_payload(Payload::Shared(Arc::clone(buf), range)))
    }

    fn decompressed(self) -> Result<RawEntry> {
        let plain = self.payload()?.into_owned();
        let mut raw = self.with_payload(Payload::Owned(Arc::from(plain)));
        raw.flags &= !CODEC_MASK;
        Ok(raw)
    }

    fn with_payload(self, payload: Payload) -> RawEntry {
        RawEntry {
            index: self.index,
            type_id: self.type_id,
            flags: self.flags,
            payload,
        }
    }
}

impl RawEntry {
    fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            index: self.index,
            type_id: self.type_id,
            flags: self.flags,
            payload: self.payload(),
            // A `RawEntry` holds its payload restored: nothing left to decompress.
            max: u32::MAX,
        }
    }

    /// The entry's index in the log (1-based).
    #[must_use]
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The entry's type id: the byte [`Entry::type_id`] wrote.
    #[must_use]
    pub fn type_id(&self) -> u8 {
        self.type_id
    }

    /// The entry's type id (the old name of [`RawEntry::type_id`]).
    #[must_use]
    #[deprecated(since = "0.1.0", note = "renamed to `type_id`, the name `Entry` uses")]
    pub fn entry_type(&self) -> u8 {
        self.type_id
    }

    /// Whether the writer marked the entry as skippable by readers that do not know its type.
    #[must_use]
    pub fn is_ignorable(&self) -> bool {
        self.flags & FLAG_IGNORABLE != 0
    }

    /// The payload bytes, as the entry's `encode` wrote them.
    #[must_use]
    #[inline]
    pub fn payload(&self) -> &[u8] {
        match &self.payload {
            Payload::Shared(buf, range) => buf.get(range.clone()).unwrap_or_default(),
            Payload::Owned(bytes) => bytes,
        }
    }

    /// Decodes the entry as a `T`.
    ///
    /// # Errors
    /// [`Error::UnknownEntryType`] when `T` does not have this type id, [`Error::Decode`] when
    /// the payload does not decode; both name the index.
    pub fn decode<T: Entry>(&self) -> Result<T> {
        self.as_ref().decode()
    }

    pub(crate) fn decode_error(&self, e: DecodeError) -> Error {
        self.as_ref().decode_error(e)
    }
}

impl fmt::Debug for RawEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawEntry")
            .field("index", &self.index)
            .field("type_id", &self.type_id)
            .field("flags", &self.flags)
            .field("payload_len", &self.payload().len())
            .finish_non_exhaustive()
    }
}
