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

/// Where a simulated crash happened: after the first `op` file-system operations of the
/// workload, with what survived decided by `crash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashPoint {
    /// Operations that completed before the crash.
    pub op: u64,
    /// What survived.
    pub crash: Crash,
}

/// Crashes a workload at every point and checks what survives each crash.
///
/// For `k = 0, 1, 2, …`: takes a fresh file system from `setup`, makes every file-system
/// operation after the first `k` fail (as if the process had died there), runs `workload`
/// (which must carry on or stop on errors, and returns what it needs to remember, such as
/// the entries acknowledged), then for each model in `models` builds the file system the
/// crash leaves and calls `check`. It stops after the first `k` the workload completes
/// without reaching. Returns the number of crash states checked.
///
/// ```
/// use std::sync::Arc;
/// use wal_core::testing::{Crash, SimFs, explore_crashes};
/// use wal_core::{Options, Wal};
/// # use wal_core::{Entry, EncodeError, DecodeError};
/// # struct Bytes(Vec<u8>);
/// # impl Entry for Bytes { const TYPE_IDS: &'static [u8] = &[1]; fn type_id(&self) -> u8 { 1 }
/// #   fn encode(&self, o: &mut Vec<u8>) -> Result<(), EncodeError> { o.extend_from_slice(&self.0); Ok(()) }
/// #   fn decode(_: u8, p: &[u8]) -> Result<Self, DecodeError> { Ok(Bytes(p.to_vec())) } }
///
/// let opts = |fs: &SimFs| Options::default().file_system(Arc::new(fs.clone()));
/// let states = explore_crashes(
///     SimFs::new,
///     &[Crash::DropUnsynced, Crash::TornPrefix(7)],
///     |fs| {
///         // Appends until the crash; returns how many were acknowledged.
///         let Ok(wal) = Wal::open("/log", opts(fs)) else { return 0 };
///         (0..3).take_while(|_| wal.append(&Bytes(vec![1; 10])).is_ok()).count() as u64
///     },
///     |point, image, &acked| {
///         let wal = Wal::open("/log", opts(&image)).expect("recovery never fails after a crash");
///         assert!(wal.last_index() >= acked, "{point:?} lost an acknowledged entry");
///     },
/// );
/// assert!(states > 10);
/// ```
pub fn explore_crashes<R>(
    setup: impl Fn() -> SimFs,
    models: &[Crash],
    workload: impl Fn(&SimFs) -> R,
    mut check: impl FnMut(CrashPoint, SimFs, &R),
) -> u64 {
    let mut states = 0;
    for op in 0.. {
        let fs = setup();
        fs.set_fault(Some(Fault {
            op: None,
            skip: op,
            persistent: true,
            error: FaultError::Eio,
        }));
        let outcome = workload(&fs);
        let reached = fs.fault_fired();
        fs.set_fault(None);
        for &crash in models {
            check(CrashPoint { op, crash }, fs.crash(crash), &outcome);
            states += 1;
        }
        if !reached {
            break;
        }
    }
    states
}
