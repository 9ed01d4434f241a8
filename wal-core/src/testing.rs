//! Tools for testing programs that use the log: a simulated file system that loses power
//! and fails chosen operations. Behind the `testing` feature.
//!
//! ```
//! use std::sync::Arc;
//! use wal_core::testing::{Crash, SimFs};
//! use wal_core::{Options, Wal};
//! # use wal_core::{Entry, EncodeError, DecodeError};
//! # struct Bytes(Vec<u8>);
//! # impl Entry for Bytes { const TYPE_IDS: &'static [u8] = &[1]; fn type_id(&self) -> u8 { 1 }
//! #   fn encode(&self, o: &mut Vec<u8>) -> Result<(), EncodeError> { o.extend_from_slice(&self.0); Ok(()) }
//! #   fn decode(_: u8, p: &[u8]) -> Result<Self, DecodeError> { Ok(Bytes(p.to_vec())) } }
//!
//! let fs = SimFs::new();
//! let wal = Wal::open("/log", Options::default().file_system(Arc::new(fs.clone())))?;
//! wal.append(&Bytes(b"acknowledged".to_vec()))?;
//! // Power fails: unsynced bytes are gone, synced ones stay.
//! let after = fs.crash(Crash::DropUnsynced);
//! drop(wal);
//! let wal = Wal::open("/log", Options::default().file_system(Arc::new(after)))?;
//! assert_eq!(wal.last_index(), 1);
//! # Ok::<(), wal_core::Error>(())
//! ```

pub use crate::io::sim::{Crash, Fault, FaultError, Op, SimFs, Stats};
