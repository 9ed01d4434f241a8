//! The log store of [openraft](https://docs.rs/openraft/0.9.25) on `wal-core`: a Raft log
//! kept in a segmented, checksummed, crash-safe write-ahead log.
//!
//! [`LogStore`] implements openraft's `RaftLogStorage` and `RaftLogReader` (openraft
//! `=0.9.25`, features `storage-v2` and `serde`) for any `RaftTypeConfig`: entries are stored
//! as JSON in frames of the log, each at its Raft index; the vote, the committed log id and
//! the last purged log id are state records beside the log (`Wal::save_state`), replaced
//! whole and durably.
//!
//! ```no_run
//! # use std::io::Cursor;
//! # openraft::declare_raft_types!(pub TypeConfig: D = String, R = String);
//! use wal_openraft::LogStore;
//!
//! let log_store = LogStore::<TypeConfig>::open("/var/lib/my-node/raft-log")?;
//! // Hand `log_store` to `openraft::Raft::new` with your state machine.
//! # Ok::<(), wal_core::Error>(())
//! ```
//!
//! Durability: `append` returns once the entries are readable; the log's own syncer makes
//! them durable (group commit) and only then tells openraft, through its callback; the purged log id is saved before any entry is removed, so an interrupted purge
//! leaves a log that restarts (the next open finishes removing what was purged).

use std::fmt::Debug;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    AnyError, LogId, LogState, RaftLogId, RaftLogReader, RaftTypeConfig, StorageError,
    StorageIOError, Vote,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wal_core::{DecodeError, EncodeError, Entry, Options, SyncPolicy, Wal};

#[cfg(feature = "testing")]
pub mod testing;

/// State record holding the vote.
const VOTE: &str = "raft-vote";
/// State record holding the committed log id.
const COMMITTED: &str = "raft-committed";
/// State record holding the last purged log id.
const PURGED: &str = "raft-purged";
/// State record holding what is added to a Raft index to give its index in the log (1 for
/// a new log: Raft's first index is 0, the log's 1). It changes only while the log is
/// empty, when an entry must go below the log's next index: openraft may append at any
/// index to an empty or fully purged log.
const OFFSET: &str = "raft-offset";

/// One Raft entry in the log: its JSON bytes (type id 1).
struct Record(Vec<u8>);

impl Entry for Record {
    const TYPE_IDS: &'static [u8] = &[1];

    fn type_id(&self) -> u8 {
        1
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }

    fn decode(_: u8, payload: &[u8]) -> Result<Self, DecodeError> {
        Ok(Self(payload.to_vec()))
    }
}

/// openraft's log store on a `wal-core` log: cheap to clone (clones share the log), and its
/// own log reader.
pub struct LogStore<C: RaftTypeConfig> {
    wal: Arc<Wal>,
    /// The last log id in the log (or the last purged one when the log is empty), kept so
    /// that `get_log_state` reads nothing.
    last: Arc<Mutex<Option<LogId<C::NodeId>>>>,
    /// See [`OFFSET`].
    offset: Arc<AtomicU64>,
    _config: PhantomData<fn() -> C>,
}

impl<C: RaftTypeConfig> Clone for LogStore<C> {
    fn clone(&self) -> Self {
        Self {
            wal: Arc::clone(&self.wal),
            last: Arc::clone(&self.last),
            offset: Arc::clone(&self.offset),
            _config: PhantomData,
        }
    }
}

impl<C: RaftTypeConfig> Debug for LogStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("dir", &self.wal.dir())
            .field("first_index", &self.wal.first_index())
            .field("last_index", &self.wal.last_index())
            .finish_non_exhaustive()
    }
}

impl<C: RaftTypeConfig> LogStore<C> {
    /// Opens (or creates) the log store in `dir` with the default options and
    /// [`SyncPolicy::Always`] (required: openraft is told an entry is persisted only once it
    /// is).
    ///
    /// # Errors
    /// As [`Wal::open`]; [`wal_core::Error::Decode`] when the last entry does not decode as a
    /// `C::Entry`.
    pub fn open(dir: impl AsRef<Path>) -> wal_core::Result<Self> {
        Self::open_with(dir, Options::default())
    }

    /// Opens the log store in `dir` with `opts`, whose sync policy is replaced by
    /// [`SyncPolicy::Always`].
    ///
    /// # Errors
    /// As [`LogStore::open`].
    pub fn open_with(dir: impl AsRef<Path>, opts: Options) -> wal_core::Result<Self> {
        let wal = Wal::open(dir, opts.sync(SyncPolicy::Always))?;
        let store = Self {
            wal: Arc::new(wal),
            last: Arc::new(Mutex::new(None)),
            offset: Arc::new(AtomicU64::new(1)),
            _config: PhantomData,
        };
        if let Some(offset) = store.read_state(OFFSET)? {
            store.offset.store(offset, Ordering::Release);
        }
        // A purge interrupted after its id was saved is finished now.
        if let Some(purged) = store.read_state::<LogId<C::NodeId>>(PURGED)? {
            store.purge_upto(&purged)?;
        }
        let last = store.read_last()?;
        *store.last() = last;
        Ok(store)
    }

    /// The log underneath, for inspection (its entries are JSON-encoded `C::Entry` values).
    #[must_use]
    pub fn wal(&self) -> &Wal {
        &self.wal
    }

    /// The log index of Raft index `raft`.
    fn wal_index(&self, raft: u64) -> u64 {
        raft.saturating_add(self.offset.load(Ordering::Acquire))
    }

    fn last(&self) -> std::sync::MutexGuard<'_, Option<LogId<C::NodeId>>> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The last entry's log id, or the last purged one when the log is empty.
    fn read_last(&self) -> wal_core::Result<Option<LogId<C::NodeId>>> {
        let (first, last) = (self.wal.first_index(), self.wal.last_index());
        if last >= first {
            let entry: C::Entry = decode(self.wal.get_raw(last)?.payload(), last)?;
            return Ok(Some(entry.get_log_id().clone()));
        }
        self.read_state(PURGED)
    }

    fn read_state<T: DeserializeOwned>(&self, name: &str) -> wal_core::Result<Option<T>> {
        match self.wal.state(name)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                wal_core::Error::InvalidState(format!("record {name:?} does not decode: {e}"))
            }),
        }
    }

    fn save_state<T: Serialize>(&self, name: &str, value: &T) -> wal_core::Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| {
            wal_core::Error::InvalidState(format!("record {name:?} does not encode: {e}"))
        })?;
        self.wal.save_state(name, &bytes)
    }

    /// The entries with Raft indexes in `start..end`, clamped to the log.
    fn entries(&self, start: u64, end: u64) -> wal_core::Result<Vec<C::Entry>> {
        let (start, end) = (self.wal_index(start), self.wal_index(end));
        let start = start.max(self.wal.first_index());
        let end = end.min(self.wal.last_index().saturating_add(1));
        if start >= end {
            return Ok(Vec::new());
        }
        let n = usize::try_from(end - start).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(n.min(4096));
        for raw in self.wal.iter_from(start)?.take(n) {
            let raw = raw?;
            out.push(decode(raw.payload(), raw.index())?);
        }
        Ok(out)
    }

    /// Appends `entries` (consecutive Raft indexes) and returns once they are durable, as
    /// `RaftLogStorage::append` does before it calls its callback: for tools and tests,
    /// which cannot make openraft's callback. The first must follow the last entry, or come
    /// at any index when the log is empty (or fully purged).
    ///
    /// # Errors
    /// [`wal_core::Error::IndexMismatch`] for an entry that does not follow the last one;
    /// as [`Wal::append_batch_at`].
    pub fn append_entries(&self, entries: &[C::Entry]) -> wal_core::Result<()> {
        let Some((first, records)) = self.prepare(entries)? else {
            return Ok(());
        };
        self.wal.append_batch_at(first, &records)?;
        Ok(())
    }

    /// Makes room for `entries` (a restart, or a new offset, on an empty log), encodes them
    /// and records the new last log id: their first log index and records, or `None` for no
    /// entries.
    fn prepare(&self, entries: &[C::Entry]) -> wal_core::Result<Option<(u64, Vec<Record>)>> {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return Ok(None);
        };
        let raft_first = first.get_log_id().index;
        let mut first_index = self.wal_index(raft_first);
        let next = self.wal.last_index() + 1;
        if self.wal.last_index() < self.wal.first_index() {
            // An empty log takes the entries at any index.
            if first_index > next {
                self.wal.restart_at(first_index)?;
            } else if first_index < next {
                let offset = next - raft_first;
                self.save_state(OFFSET, &offset)?;
                self.offset.store(offset, Ordering::Release);
                first_index = next;
            }
        }
        let records = entries
            .iter()
            .map(|e| {
                serde_json::to_vec(e)
                    .map(Record)
                    .map_err(|err| wal_core::Error::Encode {
                        type_id: 1,
                        source: EncodeError::new(err),
                    })
            })
            .collect::<wal_core::Result<Vec<_>>>()?;
        if first_index != self.wal.last_index() + 1 {
            return Err(wal_core::Error::IndexMismatch {
                expected: self.wal.last_index() + 1,
                given: first_index,
            });
        }
        *self.last() = Some(last.get_log_id().clone());
        Ok(Some((first_index, records)))
    }

    /// Removes the entries from Raft index `index` on (nothing when it is past the end).
    fn truncate_from(&self, index: u64) -> wal_core::Result<()> {
        let index = self.wal_index(index);
        if index > self.wal.last_index() {
            return Ok(());
        }
        let keep = index.saturating_sub(1).max(self.wal.first_index() - 1);
        self.wal.truncate_back(keep)?;
        let last = self.read_last()?;
        *self.last() = last;
        Ok(())
    }

    /// Purges the entries up to `log_id`: the purged id is saved first, then the entries are
    /// removed (the log restarts after it when it is past the last entry).
    fn purge_upto(&self, log_id: &LogId<C::NodeId>) -> wal_core::Result<()> {
        let purged: Option<LogId<C::NodeId>> = self.read_state(PURGED)?;
        // Never lowered; a repeated purge still removes what it covers.
        if purged.as_ref().is_none_or(|p| p.index < log_id.index) {
            self.save_state(PURGED, log_id)?;
        }
        let next = self.wal_index(log_id.index) + 1;
        if next <= self.wal.first_index() {
            return Ok(());
        }
        if next > self.wal.last_index() + 1 {
            self.wal.restart_at(next)?;
            *self.last() = Some(log_id.clone());
        } else {
            self.wal.truncate_front(next)?;
            if next == self.wal.last_index() + 1 {
                *self.last() = Some(log_id.clone());
            }
        }
        Ok(())
    }
}

/// Decodes entry `index` from its JSON bytes.
fn decode<T: DeserializeOwned>(payload: &[u8], index: u64) -> wal_core::Result<T> {
    serde_json::from_slice(payload).map_err(|e| wal_core::Error::Decode {
        index,
        type_id: 1,
        source: DecodeError::custom(e),
    })
}

/// The bounds of `range` as `start..end`.
fn bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

fn read_logs<NID: openraft::NodeId>(e: &wal_core::Error) -> StorageError<NID> {
    StorageIOError::read_logs(AnyError::new(e)).into()
}

fn write_logs<NID: openraft::NodeId>(e: &wal_core::Error) -> StorageError<NID> {
    StorageIOError::write_logs(AnyError::new(e)).into()
}

impl<C: RaftTypeConfig> RaftLogReader<C> for LogStore<C> {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<C::Entry>, StorageError<C::NodeId>> {
        let (start, end) = bounds(&range);
        self.entries(start, end).map_err(|e| read_logs(&e))
    }
}

impl<C: RaftTypeConfig> RaftLogStorage<C> for LogStore<C> {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<C>, StorageError<C::NodeId>> {
        let last_purged_log_id = self.read_state(PURGED).map_err(|e| read_logs(&e))?;
        let last_log_id = self.last().clone();
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<C::NodeId>) -> Result<(), StorageError<C::NodeId>> {
        self.save_state(VOTE, vote)
            .map_err(|e| StorageIOError::write_vote(AnyError::new(&e)).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<C::NodeId>>, StorageError<C::NodeId>> {
        self.read_state(VOTE)
            .map_err(|e| StorageIOError::read_vote(AnyError::new(&e)).into())
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<C::NodeId>>,
    ) -> Result<(), StorageError<C::NodeId>> {
        self.save_state(COMMITTED, &committed)
            .map_err(|e| write_logs(&e))
    }

    async fn read_committed(
        &mut self,
    ) -> Result<Option<LogId<C::NodeId>>, StorageError<C::NodeId>> {
        self.read_state::<Option<LogId<C::NodeId>>>(COMMITTED)
            .map(Option::flatten)
            .map_err(|e| read_logs(&e))
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<C>,
    ) -> Result<(), StorageError<C::NodeId>>
    where
        I: IntoIterator<Item = C::Entry> + Send,
        I::IntoIter: Send,
    {
        // Readable when this returns; the log's syncer makes them durable and then (never
        // before) the callback runs, exactly once, with the error if the log is poisoned.
        let entries: Vec<C::Entry> = entries.into_iter().collect();
        let submitted = self.prepare(&entries).and_then(|prepared| match prepared {
            None => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Some((first, records)) => self
                .wal
                .submit_batch_at(first, &records, move |r| {
                    callback.log_io_completed(r.map_err(|e| std::io::Error::other(e.to_string())));
                })
                .map(drop),
        });
        submitted.map_err(|e| write_logs(&e))
    }

    async fn truncate(&mut self, log_id: LogId<C::NodeId>) -> Result<(), StorageError<C::NodeId>> {
        self.truncate_from(log_id.index).map_err(|e| write_logs(&e))
    }

    async fn purge(&mut self, log_id: LogId<C::NodeId>) -> Result<(), StorageError<C::NodeId>> {
        self.purge_upto(&log_id).map_err(|e| write_logs(&e))
    }
}
