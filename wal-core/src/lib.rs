//! A typed write-ahead log.
//!
//! A program makes its state durable by appending typed entries to a segmented,
//! checksummed, append-only log, and rebuilds that state after a crash by replaying the log
//! as typed values.
//!
//! ```
//! use wal_core::{DecodeError, EncodeError, Entry, Options, Wal};
//!
//! #[derive(Debug, PartialEq)]
//! struct Deposit { account: u32, cents: u64 }
//!
//! impl Entry for Deposit {
//!     const TYPE_IDS: &'static [u8] = &[1];
//!     fn type_id(&self) -> u8 { 1 }
//!     fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
//!         out.extend_from_slice(&self.account.to_le_bytes());
//!         out.extend_from_slice(&self.cents.to_le_bytes());
//!         Ok(())
//!     }
//!     fn decode(_type_id: u8, p: &[u8]) -> Result<Self, DecodeError> {
//!         let bytes: [u8; 12] = p.try_into().map_err(|_| DecodeError::Invalid("length".into()))?;
//!         let (a, c) = bytes.split_at(4);
//!         Ok(Deposit { account: u32::from_le_bytes(a.try_into().unwrap()), cents: u64::from_le_bytes(c.try_into().unwrap()) })
//!     }
//! }
//!
//! # fn main() -> wal_core::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let wal = Wal::open(dir.path(), Options::default())?; // durable by default
//! assert_eq!(wal.append(&Deposit { account: 7, cents: 250 })?, 1);
//! assert_eq!(wal.append(&Deposit { account: 9, cents: 100 })?, 2);
//! wal.close()?;
//!
//! let wal = Wal::open(dir.path(), Options::default())?;
//! let mut total = 0;
//! wal.replay(|_index, d: Deposit| total += d.cents)?;
//! assert_eq!(total, 350);
//! # Ok(())
//! # }
//! ```
//!
//! # Durability
//!
//! Under the default [`SyncPolicy::Always`], `append` returns only after an fdatasync that
//! covers the entry; appenders on many threads share fsyncs (group commit). A failed write
//! or sync poisons the log. See [`SyncPolicy`] for the others.
//!
//! # Recovery
//!
//! At open, damage after the last sync marker of the last segment is a torn tail: it is cut
//! and reported in [`Wal::recovery_report`]. Damage anywhere else refuses the open with an
//! error that names the file and offset, unless another [`RecoveryMode`] is chosen.
//!
//! # On-disk format
//!
//! The byte layout is specified in the [`format`] module.

mod entry;
mod error;
pub mod format;
pub mod io;
mod iter;
mod le;
mod options;
mod recovery;
mod registry;
mod segment;
mod wal;
mod writer;

#[cfg(feature = "testing")]
pub mod testing;

pub use entry::{DecodeError, EncodeError, Entry, RawEntry};
pub use error::{CorruptionKind, Error, Result};
pub use iter::Iter;
pub use options::{Options, SyncPolicy};
pub use recovery::{Cut, RecoveryMode, RecoveryReport};
pub use registry::{Dispatcher, EntryRegistry};
pub use wal::Wal;
