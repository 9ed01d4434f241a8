//! A typed write-ahead log.
//!
//! A program makes its state durable by appending typed entries to a segmented,
//! checksummed, append-only log, and rebuilds that state after a crash by replaying the log
//! as typed values.
//!
//! ```
//! use wal_core::{Options, Wal, WalEntry};
//!
//! #[derive(WalEntry, Debug, PartialEq)]
//! enum Op {
//!     #[wal(type_id = 1)]
//!     Put { key: String, value: Vec<u8> },
//!     #[wal(type_id = 2)]
//!     Delete { key: String },
//!     #[wal(type_id = 3)]
//!     Clear,
//! }
//!
//! # fn main() -> wal_core::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let wal = Wal::open(dir.path(), Options::default())?; // durable by default
//! assert_eq!(wal.append(&Op::Put { key: "a".into(), value: b"1".to_vec() })?, 1);
//! wal.append(&Op::Delete { key: "a".into() })?;
//! wal.append(&Op::Clear)?;
//! wal.close()?;
//!
//! let wal = Wal::open(dir.path(), Options::default())?;
//! let mut replayed = Vec::new();
//! wal.replay(|index, op: Op| replayed.push((index, op)))?;
//! assert_eq!(replayed, vec![
//!     (1, Op::Put { key: "a".into(), value: b"1".to_vec() }),
//!     (2, Op::Delete { key: "a".into() }),
//!     (3, Op::Clear),
//! ]);
//! # Ok(())
//! # }
//! ```
//!
//! Entries are plain Rust types: derive [`WalEntry`] (or implement [`Entry`] by hand) and
//! the log hands them back typed. Reading needs no decoding until asked: [`Wal::iter`]
//! yields [`RawEntry`] values that carry the type id and payload bytes.
//!
//! # Durability
//!
//! Under the default [`SyncPolicy::Always`], `append` returns only after an fdatasync that
//! covers the entry; appenders on many threads share fsyncs (group commit). A failed write
//! or sync poisons the log. See [`SyncPolicy`] for the others. Whatever the policy, every
//! 8 MiB written without a sync a background thread starts an fdatasync
//! ([`Options::write_behind`]), so a seal or a sync waits for less; it makes nothing count
//! as durable on its own, and one that fails fails the next sync.
//!
//! # Blocking, threads and async
//!
//! Which calls may block, and for how long (an fdatasync takes 0.1 to 10 ms on a healthy
//! disk, seconds on a sick one):
//!
//! | call | may block for |
//! |---|---|
//! | `append`, `append_batch`, `append_at` under `Always` | one or two fsyncs (its own group's, after the one in flight) |
//! | the same under `Never`, `Interval`, `Batch` | a write of the buffer, and the writer's lock while a sync holds it |
//! | `append_async`, `append_batch_async` | the buffer's lock for a moment: never an fsync or the writer's lock |
//! | `submit_batch_at` | a write, and the writer's lock while a sync holds it |
//! | `sync`, `wait_durable`, `close`, `shutdown`, `truncate_*`, `restart_at`, `save_state` | fsyncs and directory syncs |
//! | `get`, `iter`, `replay`, `Follower::try_next` | reads (page cache or disk), and a file open when the segment's file was closed |
//! | `Follower::next`, `next_timeout` | until an entry comes (or the close, or the timeout) |
//! | `Follower::next_async` (and `Stream`) | never: the task is woken when an entry comes |
//!
//! On an async runtime, await [`Wal::append_async`] rather than calling `append` on a worker
//! thread, and run the other calls that sync through `spawn_blocking` when their latency
//! matters. The futures are runtime-agnostic (std only); the log's syncer thread, started
//! on the first async append, does the fsyncs.
//!
//! # Observability
//!
//! [`Wal::stats`] gives counters and fsync latency percentiles; the `metrics` feature
//! publishes them through the `metrics` facade; `tracing` spans cover open (`wal.open`),
//! recovery (`wal.recover`), rotation (`wal.rotate`), truncation (`wal.truncate_back`,
//! `wal.truncate_front`, `wal.restart_at`) and retention (`wal.retention`), with a warning
//! for each cut recovery makes and each fsync slower than [`Options::slow_fsync`], and an
//! error event when the log is poisoned. The library prints nothing itself.
//!
//! # Recovery
//!
//! At open, damage after the last sync marker of the last segment is a torn tail: it is cut
//! and reported in [`Wal::recovery_report`]. Damage anywhere else refuses the open with an
//! error that names the file and offset, unless another [`RecoveryMode`] is chosen.
//!
//! # On-disk format
//!
//! The byte layout is specified in the [`format`](mod@format) module.

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
#[cfg(any(test, feature = "testing"))]
mod bytes_entry;
pub mod codec;
mod compression;
mod cuts;
mod entry;
mod error;
pub mod format;
pub mod formats;
pub mod io;
mod iter;
mod le;
mod lock;
mod marks;
mod meters;
mod options;
mod positions;
mod recovery;
mod registry;
mod sealed;
mod segment;
mod wal;
mod windows;
mod writer;

#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod fuzz;
#[cfg(feature = "testing")]
pub mod testing;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "derive"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

pub use compression::Compression;
pub use entry::{DecodeError, EncodeError, Entry, EntryRef, RawEntry};
pub use error::{CorruptionKind, Error, Result};
pub use iter::Iter;
pub use options::RecoveryMode;
pub use options::{Options, SyncPolicy};
pub use recovery::{Cut, RecoveryReport};
pub use registry::{Dispatcher, EntryRegistry};
pub use sealed::{SealedHook, SealedSegment};
pub use segment::EntryHeader;
pub use wal::{Durable, Follower, Latency, RecoverySummary, SegmentInfo, Stats, Wal};

pub use codec::{Codec, Reader};

/// Derives [`Entry`] for a struct or an enum.
///
/// ```
/// use wal_core::WalEntry;
///
/// #[derive(WalEntry, Debug, PartialEq)]
/// enum Op {
///     #[wal(type_id = 1)]
///     Put { key: String, value: Vec<u8> },
///     #[wal(type_id = 2)]
///     Delete { key: String },
/// }
///
/// #[derive(WalEntry)]
/// #[wal(type_id = 3)]
/// struct Checkpoint(u64);
///
/// assert_eq!(Op::TYPE_IDS, &[1, 2]);
/// assert_eq!(Checkpoint::TYPE_ID, 3);
/// ```
///
/// # Attributes
///
/// | where | attribute | meaning |
/// |---|---|---|
/// | struct, variant | `type_id = N` | the entry's type byte, N in `1..=255` (required; `0` is the log's) |
/// | struct, variant | `ignorable` | readers that do not know the type may skip it |
/// | struct, enum | `crate = "path"` | where `wal_core` is, if renamed |
/// | field | `skip` | not written; `Default::default()` when read |
/// | field | `default` | may be missing at the end of an old payload; `Default::default()` then |
/// | field | `with = "module"` | `module::encode(&T, &mut Vec<u8>)` and `module::decode(&mut Reader) -> Result<T, DecodeError>`; on an entry's field `encode` may also return `Result<(), E>` (its error is the append's [`Error::Encode`]) |
/// | field | `with = "module", each` | on an `Option<T>` or `Vec<T>` field: the module handles each `T` (laid out as `Option` and `Vec` are) |
/// | struct, enum | `serde = json` (`postcard`, `bincode`) | the payload is the value in that serde format (features of those names; see [`formats`]) |
///
/// Fields are encoded in declaration order with [`Codec`]; see the [`codec`] module for the
/// byte layout. Type parameters get a `Codec` bound; lifetimes are refused.
///
/// # Compatibility rules
///
/// A log outlives the code that wrote it. Changes that old entries still decode after:
/// - adding a field at the end of a struct or variant, marked `#[wal(default)]`;
/// - adding a variant to an enum (with a new type id);
/// - renaming a type, variant or field (names are not written);
/// - adding or removing `#[wal(skip)]` fields.
///
/// Changes that break old entries: removing or reordering fields, changing a field's type,
/// changing or reusing a type id, a `#[wal(default)]` field followed by one without. New
/// entries cannot be read by old code once they carry fields it does not know: decoding
/// refuses trailing bytes rather than dropping data silently.
#[cfg(feature = "derive")]
pub use wal_derive::WalEntry;

/// Derives [`Codec`] for a struct or enum used as a field of an entry.
///
/// Structs encode their fields in order; enums a `u8` tag (the variant's position, so add
/// variants only at the end) and then the variant's fields. Takes `crate`, and on fields
/// `skip` and `with`, as [`WalEntry`] does.
///
/// ```
/// use wal_core::{WalCodec, WalEntry};
///
/// #[derive(WalCodec, Debug, PartialEq)]
/// struct Point { x: f32, y: f32 }
///
/// #[derive(WalEntry)]
/// #[wal(type_id = 1)]
/// struct Path { points: Vec<Point> }
/// ```
#[cfg(feature = "derive")]
pub use wal_derive::WalCodec;
