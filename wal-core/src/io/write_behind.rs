//! Write-behind: a background thread that starts fdatasyncs of a file being appended to, so
//! the disk writes while the writer goes on and the writer's own sync waits only for what
//! came after the last one.
//!
//! It never makes anything count as durable: only the writer's syncs do that, and each of
//! them first settles with this thread ([`WriteBehind::settle`]): it waits for a background
//! sync in flight and reports one that failed. That matters because both sync the same
//! open file: after a failed fdatasync the kernel may have marked the unwritten pages clean
//! and reported the error once, to whichever call came first, so the writer's next
//! fdatasync can succeed without the data.

use std::io;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::File;
use crate::lock::lock;

/// The background syncer of one log's tail files. Started on the first [`WriteBehind::kick`],
/// stopped by [`WriteBehind::stop`] or when dropped.
#[derive(Debug, Default)]
pub(crate) struct WriteBehind {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    cv: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The file to sync next (a newer kick replaces one not yet started).
    next: Option<Arc<dyn File>>,
    /// A background sync is running.
    running: bool,
    /// The first background sync that failed since the last settle.
    failed: Option<io::Error>,
    stop: bool,
}

impl WriteBehind {
    /// Asks the background thread to fdatasync `file`, starting the thread on first use.
    /// Returns at once. A thread that cannot start is no error: write-behind is only a head
    /// start, and the writer's own syncs still write everything.
    pub(crate) fn kick(&self, file: &Arc<dyn File>) {
        {
            let mut state = lock(&self.shared.state);
            if state.stop {
                return;
            }
            state.next = Some(Arc::clone(file));
        }
        self.shared.cv.notify_all();
        let mut thread = lock(&self.thread);
        if thread.is_none() {
            let shared = Arc::clone(&self.shared);
            match std::thread::Builder::new()
                .name("wal-write-behind".into())
                .spawn(move || shared.run())
            {
                Ok(handle) => *thread = Some(handle),
                Err(e) => {
                    lock(&self.shared.state).next = None;
                    tracing::warn!(error = %e, "wal: write-behind thread could not start; syncs will write everything");
                }
            }
        }
    }

    /// Called by the writer right after its own fdatasync succeeded, before it counts
    /// anything as durable: drops a queued background sync (the writer's covered it), waits
    /// for one in flight, and returns the error of any that failed since the last settle.
    ///
    /// # Errors
    /// The error of a failed background fdatasync: the data it was syncing may be lost
    /// even though the writer's own sync succeeded.
    pub(crate) fn settle(&self) -> io::Result<()> {
        let mut state = lock(&self.shared.state);
        state.next = None;
        while state.running {
            state = self
                .shared
                .cv
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.failed.take().map_or(Ok(()), Err)
    }

    /// Stops the background thread, if it runs, after the sync in flight; waits for it.
    pub(crate) fn stop(&self) {
        {
            let mut state = lock(&self.shared.state);
            state.stop = true;
            state.next = None;
        }
        self.shared.cv.notify_all();
        if let Some(handle) = lock(&self.thread).take() {
            // A thread that panicked has nothing left to report.
            let _ = handle.join();
        }
    }
}

impl Drop for WriteBehind {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    /// The background thread: syncs each file it is handed until told to stop.
    fn run(&self) {
        let mut state = lock(&self.state);
        loop {
            if state.stop {
                return;
            }
            let Some(file) = state.next.take() else {
                state = self.cv.wait(state).unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            state.running = true;
            drop(state);
            let result = file.sync_data();
            drop(file);
            state = lock(&self.state);
            state.running = false;
            if let Err(e) = result {
                tracing::error!(error = %e, "wal: a write-behind fdatasync failed; the next sync fails with it");
                state.failed.get_or_insert(e);
            }
            self.cv.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::WriteBehind;
    use crate::io::FileSystem;
    use crate::io::sim::{Crash, Fault, FaultError, Op, SimFs};

    fn wait_for(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_kick_makes_the_file_durable_in_the_background() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let file = fs.create_new(Path::new("/d/f")).unwrap();
        fs.sync_dir(Path::new("/d")).unwrap();
        file.write_at(b"hello", 0).unwrap();
        let behind = WriteBehind::default();
        behind.kick(&file);
        wait_for("the background sync", || fs.stats().syncs == 1);
        behind.settle().unwrap();
        let after = fs.crash(Crash::DropUnsynced);
        assert_eq!(after.read_file(Path::new("/d/f")).unwrap(), b"hello");
        behind.stop();
    }

    #[test]
    fn settle_reports_a_failed_background_sync_once() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).unwrap();
        let file = fs.create_new(Path::new("/d/f")).unwrap();
        fs.set_fault(Some(Fault {
            op: Some(Op::Sync),
            skip: 0,
            persistent: false,
            error: FaultError::EioLosingData,
        }));
        let behind = WriteBehind::default();
        behind.kick(&file);
        wait_for("the fault", || fs.fault_fired());
        let err = behind.settle().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(5), "{err}");
        behind.settle().unwrap();
        drop(behind);
        assert!(
            Arc::strong_count(&file) == 1,
            "the thread let go of the file"
        );
    }
}
