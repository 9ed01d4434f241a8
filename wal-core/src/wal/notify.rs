//! Durability notices: callbacks run once entries are durable (or with the error that
//! poisoned the log), and the background syncer that makes entries submitted without
//! waiting durable. No thread waits per pending notice: they are run by whichever thread
//! makes the entries durable.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::Inner;
use crate::error::{Error, Result};
use crate::lock::lock;

/// A notice: called once, with `Ok` when durable or the error that poisoned the log.
pub(crate) type OnDurable = Box<dyn FnOnce(Result<()>) + Send>;

/// The notices by `(index, registration number)`, and how many were registered.
#[derive(Default)]
struct Waiting {
    by_index: BTreeMap<(u64, u64), OnDurable>,
    registered: u64,
}

/// Runs the notices that became due when it is dropped: declared before a lock guard, it
/// runs them after the lock is released.
pub(crate) struct FireOnDrop<'a>(pub &'a Inner);

impl Drop for FireOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fire_durable();
    }
}

/// The notices waiting for the durable index, and the background syncer.
#[derive(Default)]
pub(crate) struct Notices {
    waiting: Mutex<Waiting>,
    /// Whether any notice waits: a commit with none takes no lock for them.
    any: AtomicBool,
    /// A sync was asked for (by a submit) since the syncer last started one.
    requested: Mutex<bool>,
    requested_cv: Condvar,
    syncer: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for Notices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notices")
            .field("waiting", &lock(&self.waiting).by_index.len())
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Runs `notice` once every entry up to `index` is durable: now if they are, else when
    /// a sync covers them; with the error if the log is (or becomes) poisoned first.
    pub(crate) fn notify_at(&self, index: u64, notice: OnDurable) {
        let outcome = {
            let mut w = lock(&self.notices.waiting);
            if let Some(source) = self.poison.get() {
                Err(Error::Poisoned {
                    source: Arc::clone(source),
                })
            } else if self.durable.load(Ordering::Acquire) >= index {
                Ok(())
            } else {
                w.registered += 1;
                let key = (index, w.registered);
                w.by_index.insert(key, notice);
                self.notices.any.store(true, Ordering::Release);
                return;
            }
        };
        notice(outcome);
    }

    /// Runs the notices the durable index now covers.
    pub(crate) fn fire_durable(&self) {
        self.syncs
            .meters
            .set_durable(self.durable.load(Ordering::Acquire));
        self.wake_followers();
        if !self.notices.any.load(Ordering::Acquire) {
            return;
        }
        let due = {
            let mut w = lock(&self.notices.waiting);
            let durable = self.durable.load(Ordering::Acquire);
            let rest = w.by_index.split_off(&(durable.saturating_add(1), 0));
            let due = std::mem::replace(&mut w.by_index, rest);
            self.notices
                .any
                .store(!w.by_index.is_empty(), Ordering::Release);
            due
        };
        for (_, notice) in due {
            notice(Ok(()));
        }
    }

    /// Runs every waiting notice with the error that poisoned the log.
    pub(crate) fn fire_poisoned(&self) {
        self.wake_followers();
        let Some(source) = self.poison.get() else {
            return;
        };
        let all = {
            let mut w = lock(&self.notices.waiting);
            self.notices.any.store(false, Ordering::Release);
            std::mem::take(&mut w.by_index)
        };
        for (_, notice) in all {
            notice(Err(Error::Poisoned {
                source: Arc::clone(source),
            }));
        }
    }

    /// Asks the background syncer for a sync, starting it on first use.
    pub(crate) fn request_sync(self: &Arc<Self>) -> Result<()> {
        *lock(&self.notices.requested) = true;
        self.notices.requested_cv.notify_one();
        let mut syncer = lock(&self.notices.syncer);
        if syncer.is_none() {
            let inner = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name("wal-syncer".into())
                .spawn(move || inner.syncer());
            *syncer = Some(spawned.map_err(|e| Error::io("spawn syncer", "", e))?);
        }
        Ok(())
    }

    /// The background syncer: a group commit of everything assigned whenever one is asked
    /// for, until the log stops.
    fn syncer(&self) {
        loop {
            {
                let mut requested = lock(&self.notices.requested);
                while !*requested && !*lock(&self.stop) {
                    requested = self
                        .notices
                        .requested_cv
                        .wait(requested)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                if *lock(&self.stop) {
                    return;
                }
                *requested = false;
            }
            if self.is_poisoned() {
                self.fire_poisoned();
                continue;
            }
            let (target, epoch) = self.target();
            // A failure poisons the log, which runs the notices with it.
            let _ = self.commit(target, epoch);
        }
    }

    /// Stops the background syncer, if it runs, and waits for it.
    pub(crate) fn stop_syncer(&self) {
        {
            let _requested = lock(&self.notices.requested);
            self.notices.requested_cv.notify_all();
        }
        let handle = lock(&self.notices.syncer).take();
        if let Some(handle) = handle {
            // A syncer that panicked has nothing left to report.
            let _ = handle.join();
        }
    }
}
