//! Syncing: group commit (the buffer, sync markers and fdatasync, shared by appenders),
//! the background flusher of `Interval` and `Batch`, and the final sync of a close.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::Inner;
use crate::error::{Error, Result};
use crate::lock::lock;
use crate::options::SyncPolicy;
use crate::writer::Tail;

/// The longest a leader gathers appenders before it syncs.
const MAX_GATHER: Duration = Duration::from_millis(1);

impl Inner {
    /// Group commit: returns once an fsync covering `target` (an index assigned in `epoch`)
    /// has succeeded. The first waiter with no sync in flight leads: it writes everything
    /// buffered and syncs, outside the group lock, then wakes the others, who wait for a
    /// sync that covers them. A thread appending alone never waits on or wakes anyone.
    pub(crate) fn commit(&self, target: u64, epoch: u64) -> Result<()> {
        let result = self.commit_group(target, epoch);
        // Outside every lock: notices the syncs made due run now.
        self.fire_durable();
        result
    }

    fn commit_group(&self, target: u64, epoch: u64) -> Result<()> {
        // A later epoch means `truncate_back` synced everything assigned before it.
        let covered = || {
            self.durable.load(Ordering::Acquire) >= target
                || self.epoch.load(Ordering::Acquire) != epoch
        };
        let mut g = lock(&self.group);
        loop {
            if covered() {
                return Ok(());
            }
            self.check_healthy()?;
            if g.leading {
                // Parked, not on a condition variable: a woken waiter checks the durable
                // index without taking the group lock again, so the waiters a sync releases
                // do not queue on it one by one before they can append again.
                let generation = self.group_generation.load(Ordering::Acquire);
                g.waiters.push(std::thread::current());
                drop(g);
                // `park` may return spuriously; a new generation means this waiter was woken.
                // A return before it may have used up a token the application's own
                // `unpark` left this thread: one is given back, so the application's next
                // `park` returns (at worst spuriously, which `park` allows).
                let mut early = false;
                while self.group_generation.load(Ordering::Acquire) == generation {
                    std::thread::park();
                    early |= self.group_generation.load(Ordering::Acquire) == generation;
                }
                if early {
                    std::thread::current().unpark();
                }
                if covered() {
                    return Ok(());
                }
                g = lock(&self.group);
                continue;
            }
            g.leading = true;
            let (want, patience) = (g.last_covered.max(g.released), g.last_sync / 2);
            drop(g);
            self.gather(want, patience);
            let (before, started) = (self.durable.load(Ordering::Acquire), Instant::now());
            let result = self.sync_now();
            g = lock(&self.group);
            g.last_covered = self.durable.load(Ordering::Acquire).saturating_sub(before);
            g.last_sync = started.elapsed();
            g.leading = false;
            g.released = g.waiters.len() as u64 + 1;
            let waiters = self.next_generation(&mut g);
            drop(g);
            for w in waiters {
                w.unpark();
            }
            result?;
            g = lock(&self.group);
        }
    }

    /// Before a leader syncs: waits, for at most `patience` (half the last sync's time),
    /// until `want` entries (as many as the last sync covered, and at least one per
    /// appender it released) are buffered beyond the durable index. The appenders the last sync released are appending again; without
    /// the wait the sync would start before them and each would wait for the one after,
    /// so every sync would cover half the appenders. A thread appending alone (`want` of
    /// one) never waits.
    fn gather(&self, want: u64, patience: Duration) {
        if want <= 1 {
            return;
        }
        let deadline = Instant::now() + patience.min(MAX_GATHER);
        while self
            .assigned
            .load(Ordering::Acquire)
            .saturating_sub(self.durable.load(Ordering::Acquire))
            < want
            && Instant::now() < deadline
        {
            std::thread::yield_now();
        }
    }

    /// `sync_now` at open, which must not need free space: when there is no room for the
    /// sync marker, the entries after the last one are made durable by an fdatasync alone
    /// (recovery keeps complete frames after the last marker), and the marker waits for
    /// the next sync.
    pub(super) fn sync_at_open(&self) -> Result<()> {
        let mut guard = lock(&self.tail);
        let Some(tail) = guard.as_mut() else {
            return Ok(());
        };
        match tail.write_marker() {
            Ok(false) => return Ok(()),
            Ok(true) => lock(&self.pending).note_marker(),
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                tracing::warn!(segment = %tail.seg.path.display(), "wal: no room for a sync marker at open; synced without one");
            }
            Err(e) => return Err(self.poison(Error::io("write", &tail.seg.path, e))),
        }
        self.sync_tail(tail)
            .map_err(|e| self.poison(Error::io("sync", &tail.seg.path, e)))?;
        self.durable.fetch_max(tail.last_written, Ordering::AcqRel);
        Ok(())
    }

    /// Writes the buffer, a sync marker, and fdatasyncs. Publishes the new durable index.
    pub(crate) fn sync_now(&self) -> Result<()> {
        let mut guard = lock(&self.tail);
        let Some(tail) = guard.as_mut() else {
            return Err(self.no_writer());
        };
        self.sync_locked(tail)
    }

    pub(crate) fn sync_locked(&self, tail: &mut Tail) -> Result<()> {
        *lock(&self.oldest_unsynced) = None;
        lock(&self.pending).since_sync = 0;
        // The marker goes with the last buffered frames, or alone if nothing is buffered.
        let wrote = self.write_pending(tail, true)?
            || tail
                .write_marker()
                .map_err(|e| self.poison(Error::io("write", &tail.seg.path, e)))?;
        if wrote {
            lock(&self.pending).note_marker();
            self.sync_tail(tail)
                .map_err(|e| self.poison(Error::io("sync", &tail.seg.path, e)))?;
        }
        self.durable.fetch_max(tail.last_written, Ordering::AcqRel);
        Ok(())
    }

    /// fdatasyncs the tail's file, then settles with write-behind (a background sync in
    /// flight finished, none failed): only then is everything written to it on disk.
    pub(super) fn sync_tail(&self, tail: &Tail) -> std::io::Result<()> {
        tail.file.sync_data()?;
        self.write_behind.settle()
    }

    /// Writes buffered entries to the file without syncing.
    pub(crate) fn flush(&self) -> Result<()> {
        let mut guard = lock(&self.tail);
        let Some(tail) = guard.as_mut() else {
            return Ok(());
        };
        let result = self.write_pending(tail, false).map(drop);
        drop(guard);
        // Written entries (and any a rotation made durable) for followers.
        self.fire_durable();
        result
    }

    /// Writes buffered entries to the file without syncing; with `marker`, a sync marker
    /// follows the last of them in the same write. Returns whether it wrote a marker.
    pub(super) fn write_pending(&self, tail: &mut Tail, marker: bool) -> Result<bool> {
        let chunks = lock(&self.pending).take();
        let n = chunks.len();
        for (i, mut chunk) in chunks.into_iter().enumerate() {
            // The buffered entries are taken: any failure now loses them, so it poisons.
            if chunk.rotate {
                self.rotate(tail).map_err(|e| self.poison(e))?;
            }
            tail.write_chunk(&mut chunk, marker && i + 1 == n)
                .map_err(|e| self.poison(Error::io("write", &tail.seg.path, e)))?;
            self.count_written(chunk.bytes.len() as u64);
            if self
                .opts
                .write_behind
                .is_some_and(|every| tail.behind_due(every))
            {
                self.write_behind.kick(&tail.file);
            }
            lock(&self.pending).recycle(chunk.bytes);
        }
        Ok(marker && n > 0)
    }

    pub(super) fn shutdown(&self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.check_healthy()?;
        let (target, epoch) = self.target();
        self.commit(target, epoch)?;
        // The record that the last window was synced (see `Tail::write_close_record`).
        let mut guard = lock(&self.tail);
        let Some(tail) = guard.as_mut() else {
            return Ok(());
        };
        if tail
            .write_close_record()
            .map_err(|e| self.poison(Error::io("write", &tail.seg.path, e)))?
        {
            lock(&self.pending).note_marker();
            self.sync_tail(tail)
                .map_err(|e| self.poison(Error::io("sync", &tail.seg.path, e)))?;
        }
        drop(guard);
        self.fire_durable();
        Ok(())
    }

    /// The background thread of `Interval` and `Batch`: syncs on time until told to stop.
    pub(super) fn flusher(&self) {
        let mut stop = lock(&self.stop);
        loop {
            // Checked under the lock before every wait, so a stop is never missed.
            if *stop {
                return;
            }
            let wait = match self.opts.sync {
                SyncPolicy::Interval(d) => d,
                SyncPolicy::Batch { max_delay, .. } => {
                    let oldest = *lock(&self.oldest_unsynced);
                    oldest.map_or(max_delay, |t| {
                        max_delay
                            .saturating_sub(t.elapsed())
                            .max(Duration::from_micros(100))
                    })
                }
                _ => return,
            };
            stop = self
                .stop_cv
                .wait_timeout(stop, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if *stop || self.is_poisoned() {
                return;
            }
            let due = match self.opts.sync {
                SyncPolicy::Batch { max_delay, .. } => {
                    lock(&self.oldest_unsynced).is_some_and(|t| t.elapsed() >= max_delay)
                }
                _ => true,
            };
            let (target, epoch) = self.target();
            if due && target > self.durable.load(Ordering::Acquire) {
                drop(stop);
                // A failure poisons the log; appenders see it on their next call.
                let _ = self.commit(target, epoch);
                stop = lock(&self.stop);
            }
        }
    }
}
