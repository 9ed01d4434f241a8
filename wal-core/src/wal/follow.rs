//! [`Follower`]: entries from an index on, as they become durable.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use super::{Inner, Wal};
use crate::entry::RawEntry;
use crate::error::{Error, Result};
use crate::lock::lock;

/// Entries of a log from an index on, yielded as they become durable (never one a power
/// loss could still take back, unless [`Follower::include_unsynced`] asks for them), waiting
/// for new ones: [`Iterator::next`] blocks, [`Follower::next_timeout`] waits at most a
/// while, [`Follower::try_next`] does not wait. Made by [`Wal::follow`].
///
/// It reports what it cannot yield, then goes on: when `truncate_front` or retention removed
/// entries it had not yielded yet, [`Error::IndexOutOfRange`] naming the first index still
/// present (it continues from there); when `truncate_back` removed entries it had already
/// yielded, [`Error::Truncated`] naming the new last index (it continues after it). A
/// follower holds no lock while it waits, and costs nothing while idle. When the log is
/// closed (or dropped), it ends: `next` returns `None`.
#[derive(Debug)]
pub struct Follower {
    inner: Arc<Inner>,
    next: u64,
    unsynced: bool,
    cuts_seen: u64,
}

impl Wal {
    /// A follower of the entries from `index` on (see [`Follower`]).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] unless `first_index() <= index <= last_index() + 1`.
    pub fn follow(&self, index: u64) -> Result<Follower> {
        let cuts_seen = self.inner.cuts.generation();
        let (first, last) = (self.first_index(), self.last_index());
        if index < first || index > last + 1 {
            return Err(Error::IndexOutOfRange { index, first, last });
        }
        // Counted before it ever checks the log: with the fence, a commit that finds no
        // follower to wake made its progress visible to this one's first check (and every
        // wait checks again under the lock the waker takes).
        self.inner.followers.fetch_add(1, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        Ok(Follower {
            inner: Arc::clone(&self.inner),
            next: index,
            unsynced: false,
            cuts_seen,
        })
    }
}

impl Follower {
    /// Also yields entries written but not yet synced (a power loss may take them back; a
    /// process crash does not). Default: off.
    #[must_use]
    pub fn include_unsynced(mut self, on: bool) -> Self {
        self.unsynced = on;
        self
    }

    /// The index of the next entry it yields.
    #[must_use]
    pub fn next_index(&self) -> u64 {
        self.next
    }

    /// Whether the log was closed: nothing more will come.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        *lock(&self.inner.stop)
    }

    /// The next entry if one is ready, without waiting; `None` when there is none yet (or
    /// the log was closed).
    ///
    /// # Errors
    /// (as an item) [`Error::IndexOutOfRange`], [`Error::Truncated`] as described on
    /// [`Follower`]; [`Error::Poisoned`] once the log is poisoned and every durable entry
    /// was yielded; a read's [`Error::Corruption`] or [`Error::Io`].
    pub fn try_next(&mut self) -> Option<Result<RawEntry>> {
        let inner = Arc::clone(&self.inner);
        let generation = inner.cuts.generation();
        if generation != self.cuts_seen {
            let kept = inner.cuts.lowest_since(self.cuts_seen);
            self.cuts_seen = generation;
            if let Some(kept) = kept.filter(|&k| k + 1 < self.next) {
                let yielded = self.next - 1;
                self.next = kept + 1;
                return Some(Err(Error::Truncated {
                    yielded,
                    last: kept,
                }));
            }
        }
        if let Some(e) = self.overtaken() {
            return Some(Err(e));
        }
        if self.next > self.end() {
            return inner.poison.get().map(|source| {
                Err(Error::Poisoned {
                    source: Arc::clone(source),
                })
            });
        }
        if self.unsynced
            && let Err(e) = inner.flush_for_readers(self.next)
        {
            return Some(Err(e));
        }
        match inner.read_at_index(self.next) {
            Ok(raw) => {
                self.next += 1;
                Some(Ok(raw))
            }
            // Removed while it read: say so plainly.
            Err(_) if self.next < inner.cuts.first_index() => self.overtaken().map(Err),
            Err(_) if inner.cuts.generation() != self.cuts_seen => self.try_next(),
            Err(e) => Some(Err(e)),
        }
    }

    /// The next entry, waiting at most `timeout` for one; `None` when none came (or the log
    /// was closed).
    ///
    /// # Errors
    /// As [`Follower::try_next`].
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<RawEntry>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(item) = self.try_next() {
                return Some(item);
            }
            let now = Instant::now();
            if now >= deadline || self.is_closed() {
                return None;
            }
            self.wait(deadline - now);
        }
    }

    /// Entries it still needed were removed from the front: the error, and it goes on
    /// from the first index still present.
    fn overtaken(&mut self) -> Option<Error> {
        let first = self.inner.cuts.first_index();
        if self.next >= first {
            return None;
        }
        let index = self.next;
        self.next = first;
        Some(Error::IndexOutOfRange {
            index,
            first,
            last: self.inner.assigned.load(Ordering::Acquire),
        })
    }

    /// The last index it may yield now.
    fn end(&self) -> u64 {
        if self.unsynced {
            self.inner.assigned.load(Ordering::Acquire)
        } else {
            self.inner.durable.load(Ordering::Acquire)
        }
    }

    /// Waits until the log makes progress (entries durable or written, a truncation, the
    /// close) or `limit` passes.
    fn wait(&self, limit: Duration) {
        let guard = lock(&self.inner.progress);
        // Checked under the lock the notifier takes: a notice is never missed.
        if self.next <= self.end() || *lock(&self.inner.stop) {
            return;
        }
        let _ = self
            .inner
            .progress_cv
            .wait_timeout(guard, limit)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

impl Iterator for Follower {
    type Item = Result<RawEntry>;

    /// The next entry, waiting for it as long as it takes; `None` once the log is closed.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.try_next() {
                return Some(item);
            }
            if self.is_closed() {
                return None;
            }
            self.wait(Duration::from_secs(1));
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.inner.followers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    /// Wakes every follower waiting for progress; costs one fence and a load when there is
    /// none (the commit path calls it on every sync).
    pub(crate) fn wake_followers(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.followers.load(Ordering::SeqCst) == 0 {
            return;
        }
        let _g = lock(&self.progress);
        self.progress_cv.notify_all();
    }
}
