//! Faults to inject: which operation fails, how, and how often.

use std::io;

/// An operation of the simulated file system, for counting and for fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// `read_at`.
    Read,
    /// `write_at`.
    Write,
    /// `sync_data`.
    Sync,
    /// `sync_dir`.
    SyncDir,
    /// `create_new`, `create_dir_all`.
    Create,
    /// `open_read`, `open_write`.
    Open,
    /// `rename`.
    Rename,
    /// `remove`.
    Remove,
    /// `set_len`.
    SetLen,
    /// `allocate`.
    Allocate,
    /// `list`, `is_dir`, `len`.
    Stat,
}

/// The error a fault injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultError {
    /// `EIO`.
    Eio,
    /// `ENOSPC`.
    NoSpace,
    /// `EACCES`.
    PermissionDenied,
    /// `EINTR`: the call was interrupted and did nothing; callers retry.
    Interrupted,
    /// `EMFILE`: the process has no descriptor left (its `ulimit -n`).
    TooManyOpenFiles,
    /// `EIO` from `sync_data`, and the data it was to sync is lost from the disk though it
    /// stays readable, so a later sync "succeeds" without it: Linux's behaviour (M5).
    EioLosingData,
}

impl FaultError {
    pub(super) fn to_io(self) -> io::Error {
        match self {
            Self::Eio | Self::EioLosingData => io::Error::from_raw_os_error(5),
            Self::NoSpace => io::Error::from_raw_os_error(28),
            Self::PermissionDenied => io::Error::from_raw_os_error(13),
            Self::Interrupted => io::Error::from(io::ErrorKind::Interrupted),
            Self::TooManyOpenFiles => io::Error::from_raw_os_error(24),
        }
    }
}

/// A planned failure: the operation that matches `op` after `skip` matching ones have passed
/// fails, and with `persistent` every matching one after it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Which operations it applies to; `None` for every operation.
    pub op: Option<Op>,
    /// How many matching operations succeed first.
    pub skip: u64,
    /// Whether every later matching operation fails too.
    pub persistent: bool,
    /// The error returned.
    pub error: FaultError,
}
