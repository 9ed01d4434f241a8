//! [`Follower`]: entries from an index on, as they become durable.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::{Inner, Wal};
use crate::entry::RawEntry;
use crate::error::{Error, Result};
use crate::iter::Iter;
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
    /// Its key among the wakers of async followers.
    id: u64,
    next: u64,
    unsynced: bool,
    cuts_seen: u64,
    /// A sequential reader over a backlog of entries ready to yield (see `BACKLOG`).
    backlog: Option<Iter>,
}

/// From how many entries ready at once a follower reads them sequentially (one buffered
/// read for many entries) rather than one positioned read each.
const BACKLOG: u64 = 16;

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
        let n = self.inner.followers.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.syncs.meters.set_followers(n);
        std::sync::atomic::fence(Ordering::SeqCst);
        Ok(Follower {
            inner: Arc::clone(&self.inner),
            id: self.inner.wakers.next_id(),
            next: index,
            unsynced: false,
            cuts_seen,
            backlog: None,
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
        let generation = self.inner.cuts.generation();
        if generation != self.cuts_seen {
            self.backlog = None;
            let kept = self.inner.cuts.lowest_since(self.cuts_seen);
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
        let end = self.end();
        if self.next > end {
            return self.inner.poison.get().map(|source| {
                Err(Error::Poisoned {
                    source: Arc::clone(source),
                })
            });
        }
        if self.unsynced
            && let Err(e) = self.inner.flush_for_readers(self.next)
        {
            return Some(Err(e));
        }
        if let Some(raw) = self.next_from_backlog(end) {
            self.next += 1;
            return Some(Ok(raw));
        }
        let inner = &self.inner;
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

    /// The next entry from the sequential reader, when a backlog of entries up to `end` is
    /// ready; `None` to read it by position instead (few entries ready, or the reader
    /// stopped: a cut ended it, or it met an error the positioned read reports again).
    fn next_from_backlog(&mut self, end: u64) -> Option<RawEntry> {
        if self.backlog.is_none() {
            if end - self.next + 1 < BACKLOG {
                return None;
            }
            let inner = &self.inner;
            self.backlog = Iter::new(
                inner.segments(),
                (Arc::clone(&inner.cuts), self.cuts_seen),
                inner.sparse(),
                self.next,
                end,
                inner.seed,
                inner.opts.max_entry_size,
            )
            .ok();
        }
        match self.backlog.as_mut()?.next() {
            Some(Ok(raw)) if raw.index() == self.next => Some(raw),
            _ => {
                self.backlog = None;
                None
            }
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
        self.backlog = None;
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

impl Follower {
    /// The next entry, waiting for it without blocking a thread: the async form of
    /// [`Iterator::next`] (with the `stream` feature, `Follower` is also a
    /// `futures_core::Stream`). Resolves to `None` once the log is closed. Reading the
    /// entry itself is a synchronous read of the page cache or the disk.
    ///
    /// # Errors
    /// As [`Follower::try_next`].
    pub fn next_async(&mut self) -> impl Future<Output = Option<Result<RawEntry>>> + '_ {
        std::future::poll_fn(|cx| self.poll_next_entry(cx))
    }

    /// Polls for the next entry: ready with it (or the end), or pending with `cx`'s waker
    /// registered to be woken on the log's next progress.
    pub(crate) fn poll_next_entry(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<RawEntry>>> {
        if let Some(item) = self.try_next() {
            return Poll::Ready(Some(item));
        }
        if self.is_closed() {
            return Poll::Ready(None);
        }
        self.inner.wakers.register(self.id, cx.waker());
        // Checked again after registering: progress made before it was registered was
        // published before the waker list was taken, so this check sees it.
        if let Some(item) = self.try_next() {
            return Poll::Ready(Some(item));
        }
        if self.is_closed() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

#[cfg(feature = "stream")]
impl futures_core::Stream for Follower {
    type Item = Result<RawEntry>;

    /// As [`Follower::next_async`].
    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.inner.wakers.forget(self.id);
        let n = self.inner.followers.fetch_sub(1, Ordering::SeqCst) - 1;
        self.inner.syncs.meters.set_followers(n);
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
        {
            let _g = lock(&self.progress);
            self.progress_cv.notify_all();
        }
        self.wakers.wake_all();
    }
}

/// The wakers of followers polled by an async task, by follower.
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    next_id: AtomicU64,
    waiting: Mutex<Vec<(u64, Waker)>>,
}

impl Wakers {
    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Wakes `waker` at the next progress (replacing the follower's earlier one).
    fn register(&self, id: u64, waker: &Waker) {
        let mut w = lock(&self.waiting);
        match w.iter_mut().find(|(i, _)| *i == id) {
            Some((_, old)) => old.clone_from(waker),
            None => w.push((id, waker.clone())),
        }
    }

    fn forget(&self, id: u64) {
        lock(&self.waiting).retain(|(i, _)| *i != id);
    }

    fn wake_all(&self) {
        let woken = std::mem::take(&mut *lock(&self.waiting));
        for (_, w) in woken {
            w.wake();
        }
    }
}
