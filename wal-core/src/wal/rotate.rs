//! Rotation: sealing the tail segment and starting the next one.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Inner;
use crate::error::{Error, Result};
use crate::format::{HEADER_LEN, SegmentHeader};
use crate::marks;
use crate::options::Options;
use crate::segment::{self, OpenFiles, Segment};
use crate::writer::{PREALLOCATE_STEP, Tail};

/// The size a new segment is preallocated to, if preallocation is on.
pub(crate) fn initial_allocation(opts: &Options) -> Option<u64> {
    opts.preallocate
        .then(|| opts.segment_size.min(PREALLOCATE_STEP))
}

/// Creates a segment file durably and returns it with its writable file.
pub(crate) fn create_segment(
    opts: &Options,
    files: &Arc<OpenFiles>,
    dir: &Path,
    header: &SegmentHeader,
) -> Result<(Arc<Segment>, Arc<dyn crate::io::File>)> {
    let prealloc = initial_allocation(opts).unwrap_or(0);
    let (path, file) = segment::create(&*opts.fs, dir, header, prealloc)?;
    let seg = Segment::loaded(
        Arc::clone(files),
        path,
        Some(Arc::clone(&file)),
        *header,
        HEADER_LEN as u64,
        header.first_index - 1,
        Vec::new(),
        None,
    );
    Ok((Arc::new(seg), file))
}

impl Inner {
    /// Seals the tail segment, starts the next one, and applies retention.
    pub(crate) fn rotate(&self, tail: &mut Tail) -> Result<()> {
        self.rotate_to(tail, tail.last_written + 1)
    }

    /// Seals the tail segment and starts the next one at `first_index` (past the sealed
    /// one's last index + 1 for `restart_at`: the new header then records the restart), and
    /// applies retention.
    pub(crate) fn rotate_to(&self, tail: &mut Tail, first_index: u64) -> Result<()> {
        let _span =
            tracing::debug_span!("wal.rotate", sealed = %tail.seg.path.display(), first_index)
                .entered();
        let crc = tail
            .seal()
            .and_then(|crc| self.write_behind.settle().map(|()| crc))
            .map_err(|e| self.poison(Error::io("seal", &tail.seg.path, e)))?;
        // The seal synced every entry of the old segment.
        self.durable.fetch_max(tail.last_written, Ordering::AcqRel);
        self.positions.touch(&tail.seg);
        // Its file now counts against the bound on open files: the writer never holds one
        // per sealed segment.
        tail.seg.unpin();
        self.count_rotation();
        if let Some(hook) = &self.opts.on_sealed {
            (hook.0)(&crate::SealedSegment {
                path: tail.seg.path.clone(),
                first_index: tail.seg.first_index(),
                last_index: tail.seg.last_index(),
                bytes: tail.pos,
            });
        }
        let header = SegmentHeader {
            log_id: self.log_id,
            seq: tail.next_seq,
            first_index,
            prev_last_index: tail.last_written,
            prev_crc: crc,
        };
        let (seg, file) = create_segment(&self.opts, &self.files, &self.dir, &header)
            .map_err(|e| self.poison(e))?;
        // Before anything is appended to it: a later loss of this segment is then detected.
        marks::write_mark(
            &*self.opts.fs,
            &self.dir,
            marks::HIGH_WATER_MARK,
            self.log_id,
            header.seq,
        )
        .map_err(|e| self.poison(e))?;
        self.replace_segments(|list| list.push(Arc::clone(&seg)));
        *tail = Tail::new(
            seg,
            file,
            HEADER_LEN as u64,
            HEADER_LEN as u64,
            self.seed,
            self.seed,
            self.opts.segment_size,
        );
        tail.allocated = initial_allocation(&self.opts);
        // The rotation is done; retention is housekeeping whose failure loses nothing (the
        // low-water mark goes first, and segments it could not remove are removed at the
        // next open). It must not fail the append that rotated.
        if let Err(e) = self.apply_retention() {
            tracing::warn!(error = %e, "wal: retention failed; the segments it kept are removed at the next open");
        }
        Ok(())
    }
}
