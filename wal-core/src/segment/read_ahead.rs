//! Reading a segment's bytes ahead of a sequential pass, on a thread of its own, so the
//! copy out of the page cache runs beside the pass's checks instead of between them.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::io::{self, File};

/// Bytes kept free before each chunk's data, where the pass moves the part of a frame the
/// previous chunk held, so the frame is whole without copying the chunk.
pub(crate) const HEADROOM: usize = 64 << 10;
/// Bytes read at a time.
const CHUNK: u64 = 1 << 20;
/// Chunks read ahead of the pass, at most.
const AHEAD: usize = 2;

/// Bytes of a segment read ahead: the file's bytes from `start` are `data[HEADROOM..]`.
pub(crate) struct Chunk {
    pub(crate) start: u64,
    pub(crate) data: Vec<u8>,
}

/// The pass's end of a read-ahead thread: chunks in file order, and buffers handed back.
pub(crate) struct ReadAhead {
    chunks: Receiver<std::io::Result<Chunk>>,
    free: SyncSender<Vec<u8>>,
}

impl ReadAhead {
    /// The next chunk; `None` when the thread stopped (after the last chunk, or a failed
    /// read it already sent).
    pub(crate) fn next(&self) -> Option<std::io::Result<Chunk>> {
        self.chunks.recv().ok()
    }

    /// Hands a buffer back for a later chunk.
    pub(crate) fn recycle(&self, buf: Vec<u8>) {
        // Never blocks: no more buffers circulate than the channel holds.
        let _ = self.free.try_send(buf);
    }
}

/// Runs `pass` with a thread reading `file` from `from` to `end` ahead of it, a chunk at a
/// time; the thread ends when the pass returns (or at the end, or at a failed read).
pub(crate) fn with_read_ahead<R>(
    file: &dyn File,
    from: u64,
    end: u64,
    pass: impl FnOnce(&ReadAhead) -> R,
) -> R {
    std::thread::scope(|s| {
        let (chunk_tx, chunks) = sync_channel(AHEAD - 1);
        let (free, free_rx) = sync_channel::<Vec<u8>>(AHEAD + 1);
        for _ in 0..AHEAD {
            let _ = free.try_send(Vec::new());
        }
        s.spawn(move || read_chunks(file, from, end, &free_rx, &chunk_tx));
        pass(&ReadAhead { chunks, free })
    })
}

fn read_chunks(
    file: &dyn File,
    mut at: u64,
    end: u64,
    free: &Receiver<Vec<u8>>,
    chunks: &SyncSender<std::io::Result<Chunk>>,
) {
    while at < end {
        // Either channel closed: the pass is over.
        let Ok(mut data) = free.recv() else { return };
        let len = usize::try_from((end - at).min(CHUNK)).unwrap_or(0);
        data.resize(HEADROOM + len, 0);
        let read = io::read_exact_at(file, &mut data[HEADROOM..], at);
        let failed = read.is_err();
        if chunks
            .send(read.map(|()| Chunk { start: at, data }))
            .is_err()
            || failed
        {
            return;
        }
        at += len as u64;
    }
}
