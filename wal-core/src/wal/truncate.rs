//! Truncation at either end, and retention: removing entries crash-safely.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::notify::FireOnDrop;
use super::{Inner, Wal};
use crate::error::{CorruptionKind, Error, Result};
use crate::format::{FLAG_BATCH_MORE, FRAME_HEADER_LEN, HEADER_LEN};
use crate::io;
use crate::lock::lock;
use crate::segment::{self, Segment, Stop};
use crate::writer::{Pending, Tail};
use crate::{marks, recovery};

impl Wal {
    /// Removes every entry and makes `index` the next one: the log continues at a later
    /// index, as a consensus log does after it installs a snapshot past its last entry, or
    /// starts at one (a new follower whose first entry is 5,000). `first_index()` becomes
    /// `index` and the next append gets it. For `index == last_index() + 1` it is
    /// `truncate_front(index)`.
    ///
    /// Crash-safe: everything appended is synced first; then a new segment starting at
    /// `index` is made durable, whose header records the restart, so that from then on a
    /// crash recovers the empty log at `index` (and the next open removes the old segments
    /// if a crash came before they were); before it, the log as it was.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when `index <= last_index()` (use `truncate_back` and
    /// `truncate_front`) or `index` is 0; [`Error::Io`] when the sync or the new segment
    /// fails (the log is poisoned), or when removing the old segments fails (they are
    /// removed at the next open); [`Error::Poisoned`], [`Error::ReadOnly`].
    pub fn restart_at(&self, index: u64) -> Result<()> {
        let _span = tracing::info_span!("wal.restart_at", index).entered();
        self.with_writer(|inner, tail| {
            let (first, last) = (self.first_index(), self.last_index());
            if index <= last || index == 0 {
                return Err(Error::IndexOutOfRange { index, first, last });
            }
            let pending = inner.sync_everything(tail)?;
            inner.count_truncation();
            if index == last + 1 {
                drop(pending);
                return inner.truncate_front_locked(index);
            }
            inner.restart_locked(tail, pending, index)
        })
    }

    /// Removes every entry after `index` (a consensus log's conflicting suffix); appends
    /// continue at `index + 1`.
    ///
    /// When it returns, every entry up to `index` is durable. Crash-safe: everything
    /// appended is synced first; later segments are removed newest
    /// first and the directory synced; the segment holding `index` is cut after it and
    /// synced; all before this returns, so a removed entry never reappears after a crash.
    /// Appends made concurrently with it are ordered before or after it.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] unless `first_index() - 1 <= index <= last_index()`;
    /// [`Error::Io`] (the log is poisoned: its state on disk is then unknown);
    /// [`Error::Corruption`] when the kept part of the segment does not verify.
    pub fn truncate_back(&self, index: u64) -> Result<()> {
        let _span = tracing::info_span!("wal.truncate_back", index).entered();
        self.with_writer(|inner, tail| {
            let (first, last) = (self.first_index(), self.last_index());
            if index.saturating_add(1) < first || index > last {
                return Err(Error::IndexOutOfRange { index, first, last });
            }
            let mut pending = inner.sync_everything(tail)?;
            if index == last {
                return Ok(());
            }
            inner.count_truncation();
            let next = inner.cut_after(tail, index)?;
            pending.reset(index + 1, tail.pos, index + 1 - next.first_index());
            inner.assigned.store(index, Ordering::Release);
            inner.durable.store(index, Ordering::Release);
            // After the last index drops (an iterator that sees this cut's generation also
            // sees the lower last index) and before the writer lock is released (no frame
            // appended in place of a removed one is on disk yet).
            inner.cuts.record(index);
            inner.end_epoch(pending);
            Ok(())
        })
    }

    /// Removes every entry before `index` (a checkpoint): readers stop seeing them at once,
    /// a durable low-water mark keeps them from coming back after a crash, and whole
    /// segments below `index` are deleted. The segment being written is never deleted.
    /// Entries below `index` not yet durable are synced first.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when `index > last_index() + 1`; [`Error::Io`] when the
    /// low-water mark or a removal fails (the log stays consistent; segments not removed
    /// now are removed at the next open).
    pub fn truncate_front(&self, index: u64) -> Result<()> {
        let _span = tracing::info_span!("wal.truncate_front", index).entered();
        self.with_writer(|inner, tail| {
            let last = self.last_index();
            if index > last + 1 {
                return Err(Error::IndexOutOfRange {
                    index,
                    first: self.first_index(),
                    last,
                });
            }
            // The mark must never pass the end of the log on disk: what it covers is
            // synced first.
            if index > self.durable_index() + 1 {
                inner.sync_locked(tail)?;
            }
            if index > self.first_index() {
                inner.count_truncation();
            }
            inner.truncate_front_locked(index)
        })
    }

    /// Runs `f` with the writer's lock held, for a change other than an append: refused on
    /// a poisoned or read-only log; the notices its syncs made due run once the lock is
    /// released.
    fn with_writer<T>(&self, f: impl FnOnce(&Inner, &mut Tail) -> Result<T>) -> Result<T> {
        let inner = &self.inner;
        inner.check_writable()?;
        let _fire = FireOnDrop(inner);
        let mut guard = lock(&inner.tail);
        let Some(tail) = guard.as_mut() else {
            return Err(inner.no_writer());
        };
        f(inner, tail)
    }
}

impl Inner {
    /// Cuts the log after `index`; returns the segment that is now the tail.
    ///
    /// Everything that can refuse (a damaged footer, a read) is checked before the first
    /// change on disk, and then nothing is changed; a failure after it poisons the log.
    fn cut_after(&self, tail: &mut Tail, index: u64) -> Result<Arc<Segment>> {
        let segments = self.segments();
        // The segment that holds the first entry to remove.
        let k = segments
            .partition_point(|s| s.first_index() <= index + 1)
            .saturating_sub(1);
        let seg = Arc::clone(&segments[k]);
        let cut = seg
            .position_of(index + 1, self.seed)?
            .unwrap_or(HEADER_LEN as u64);
        let file = if Arc::ptr_eq(&seg, &tail.seg) {
            Arc::clone(&tail.file)
        } else {
            self.opts
                .fs
                .open_write(&seg.path)
                .map_err(|e| Error::io("open", &seg.path, e))?
        };
        // Frames are never rewritten: a cut inside a batch gets a batch-end frame instead.
        let inside_batch = match seg.position_of(index, self.seed)? {
            Some(p) => {
                let head = io::read_range(&*file, p, FRAME_HEADER_LEN)
                    .map_err(|e| Error::io("read", &seg.path, e))?;
                crate::format::FrameHeader::peek(&head)
                    .is_some_and(|h| h.flags & FLAG_BATCH_MORE != 0)
            }
            None => false,
        };
        self.apply_cut(tail, &segments, k, file, cut, index, inside_batch)
            .map_err(|e| self.poison(e))?;
        Ok(seg)
    }

    /// The changing half of `cut_after`: removes the segments after `segments[k]`, cuts it
    /// at byte `cut` (after entry `index`), and makes it the tail.
    #[expect(clippy::too_many_arguments, reason = "the checked plan of `cut_after`")]
    fn apply_cut(
        &self,
        tail: &mut Tail,
        segments: &[Arc<Segment>],
        k: usize,
        file: Arc<dyn io::File>,
        cut: u64,
        index: u64,
        inside_batch: bool,
    ) -> Result<()> {
        let fs = &self.opts.fs;
        let seg = &segments[k];
        let removed = &segments[k + 1..];
        if !removed.is_empty() {
            // Lower the high-water mark before the newer segments go: recovery drops any
            // segment above it that a crash leaves behind.
            marks::write_mark(
                &**fs,
                &self.dir,
                marks::HIGH_WATER_MARK,
                self.log_id,
                seg.header.seq,
            )?;
        }
        for s in removed.iter().rev() {
            s.mark_removed();
            fs.remove(&s.path)
                .map_err(|e| Error::io("remove", &s.path, e))?;
        }
        if !removed.is_empty() {
            fs.sync_dir(&self.dir)
                .map_err(|e| Error::io("sync directory", &self.dir, e))?;
        }
        // Frames are never rewritten: a cut inside a batch leaves its kept frames saying
        // "more follows" until a batch-end frame is synced after them. The `CUT` mark tells
        // recovery, if a crash comes between, that the batch ends at `index`.
        let closed_at = inside_batch.then_some(index);
        if inside_batch {
            marks::write_mark(&**fs, &self.dir, marks::CUT_MARK, self.log_id, index)?;
        }
        seg.truncate_to(cut, index, self.seed)?;
        file.set_len(cut)
            .map_err(|e| Error::io("truncate", &seg.path, e))?;
        // The cut is made durable before anything is written where the removed frames were:
        // otherwise a power loss could keep the old length, with the old frames (and a valid
        // sync marker after them) behind a half-written new one: damage that looks proven.
        file.sync_data()
            .and_then(|()| self.write_behind.settle())
            .map_err(|e| Error::io("sync", &seg.path, e))?;
        // Rebuild the writer's window from what is left, as recovery would.
        let n = usize::try_from(cut).unwrap_or(usize::MAX);
        let bytes = io::read_range(&*file, 0, n).map_err(|e| Error::io("read", &seg.path, e))?;
        let scan = segment::scan(
            &bytes,
            seg.first_index(),
            self.seed,
            self.opts.max_entry_size,
            closed_at,
        );
        if scan.stop != Stop::Eof || scan.valid_end != cut {
            let kind = match scan.stop {
                Stop::Damage(kind) => kind,
                _ => CorruptionKind::Truncated,
            };
            return Err(seg.corrupt(scan.stop_offset, kind));
        }
        let next_seq = tail.next_seq;
        *tail = Tail::new(
            Arc::clone(seg),
            file,
            cut,
            scan.marker_end,
            scan.window_crc,
            self.seed,
            self.opts.segment_size,
        );
        tail.allocated = self.opts.preallocate.then_some(cut);
        tail.next_seq = next_seq.max(tail.next_seq);
        if inside_batch {
            tail.write_batch_end()
                .map_err(|e| Error::io("write", &seg.path, e))?;
        }
        tail.write_marker()
            .map_err(|e| Error::io("write", &seg.path, e))?;
        self.sync_tail(tail)
            .map_err(|e| Error::io("sync", &seg.path, e))?;
        if inside_batch {
            marks::remove_mark(&**fs, &self.dir, marks::CUT_MARK)?;
        }
        self.replace_segments(|list| list.truncate(k + 1));
        Ok(())
    }

    /// Makes everything assigned so far durable, appends that slip in between a sync and
    /// taking the buffer's lock included; returns the buffer's lock, held so that no append
    /// slips in before the caller resets the buffer.
    fn sync_everything(&self, tail: &mut Tail) -> Result<std::sync::MutexGuard<'_, Pending>> {
        loop {
            self.sync_locked(tail)?;
            let p = lock(&self.pending);
            if p.chunks.is_empty() {
                return Ok(p);
            }
        }
    }

    /// `restart_at` with the writer lock held and everything assigned durable; `p` is the
    /// buffer's lock, held so that no append slips in.
    fn restart_locked(
        &self,
        tail: &mut Tail,
        mut p: std::sync::MutexGuard<'_, Pending>,
        index: u64,
    ) -> Result<()> {
        // The new segment's header says where the log restarts and where the old one
        // ended: once it is durable, recovery treats everything before it as removed.
        self.rotate_to(tail, index)?;
        p.reset(index, tail.pos, 0);
        self.assigned.store(index - 1, Ordering::Release);
        self.durable.store(index - 1, Ordering::Release);
        self.end_epoch(p);
        // The rest is the ordinary removal below the first index: a crash in it is
        // finished at the next open.
        self.truncate_front_locked(index)
    }

    /// `truncate_front` with the writer lock held. Also removes sealed segments wholly
    /// below the first index that an earlier call could not (the tail is never removed).
    pub(crate) fn truncate_front_locked(&self, index: u64) -> Result<()> {
        let index = index.max(self.cuts.first_index());
        if index > self.cuts.first_index() {
            marks::write_mark(
                &*self.opts.fs,
                &self.dir,
                marks::LOW_WATER_MARK,
                self.log_id,
                index,
            )?;
            self.cuts.set_first_index(index);
        }
        let segments = self.segments();
        // Whole segments below `index`; never the last one.
        let below = segments
            .windows(2)
            .take_while(|w| w[1].first_index() <= index)
            .count();
        if below == 0 {
            return Ok(());
        }
        self.replace_segments(|list| drop(list.drain(..below)));
        // Readers keep reading the files they have open (their entries are still what
        // they were); only `truncate_back` ends them.
        for s in &segments[..below] {
            self.opts
                .fs
                .remove(&s.path)
                .map_err(|e| Error::io("remove", &s.path, e))?;
            tracing::info!(segment = %s.path.display(), first = s.first_index(), last = s.last_index(), "wal: removed segment below first index {index}");
        }
        // Quarantined bytes of a removed segment go with it (one listing per truncation).
        let names = self
            .opts
            .fs
            .list(&self.dir)
            .map_err(|e| Error::io("list", &self.dir, e))?;
        for name in names {
            if recovery::quarantined_segment(&name).is_some_and(|first| first < index) {
                let path = self.dir.join(&name);
                self.opts
                    .fs
                    .remove(&path)
                    .map_err(|e| Error::io("remove", &path, e))?;
            }
        }
        self.opts
            .fs
            .sync_dir(&self.dir)
            .map_err(|e| Error::io("sync directory", &self.dir, e))
    }

    /// Deletes the oldest sealed segments beyond `max_segments` / `max_total_bytes`, and
    /// those wholly below the first index (left by a `truncate_front` past the entries of
    /// the segment then being written).
    pub(crate) fn apply_retention(&self) -> Result<()> {
        let _span = tracing::debug_span!("wal.retention").entered();
        let (max_segments, max_bytes) = (self.opts.max_segments, self.opts.max_total_bytes);
        if max_segments.is_none() && max_bytes.is_none() {
            return self.truncate_front_locked(self.cuts.first_index());
        }
        let segments = self.segments();
        let sealed = segments.len().saturating_sub(1);
        let mut drop = max_segments.map_or(0, |m| segments.len().saturating_sub(m));
        if let Some(max) = max_bytes {
            let mut total: u64 = segments.iter().map(|s| s.end()).sum();
            total -= segments[..drop].iter().map(|s| s.end()).sum::<u64>();
            while total > max && drop < sealed {
                total -= segments[drop].end();
                drop += 1;
            }
        }
        let drop = drop.min(sealed);
        if drop == 0 {
            return self.truncate_front_locked(self.cuts.first_index());
        }
        tracing::info!(
            segments = drop,
            "wal: retention removes the oldest segments"
        );
        self.truncate_front_locked(segments[drop].first_index())
    }
}
