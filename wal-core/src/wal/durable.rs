//! Async appends: [`Durable`], a future that resolves when the group commit that covers its
//! entries has synced them. No thread waits per pending append: the log's syncer thread
//! syncs everything buffered and wakes the futures it made durable.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::{Until, Wal};
use crate::entry::Entry;
use crate::error::Result;
use crate::lock::lock;

/// A future that resolves once entries appended by [`Wal::append_async`] or
/// [`Wal::append_batch_async`] are durable (`Ok` with their index or indexes), or with the
/// error that kept them from being appended or synced.
///
/// The entries are appended (given their indexes, in order with every other append) when
/// the method is called, not when the future is first polled; dropping the future does
/// not take them back, it only stops waiting. Runtime-agnostic: any executor can poll it.
#[derive(Debug)]
#[must_use = "the entries are appended already; await the future to know they are durable"]
pub struct Durable<T> {
    state: State<T>,
}

#[derive(Debug)]
enum State<T> {
    /// The append was refused, or the future already resolved.
    Done(Option<crate::Error>),
    Waiting {
        value: T,
        slot: Arc<Slot>,
    },
}

/// Where the syncer leaves the outcome, and whom to wake.
#[derive(Debug, Default)]
struct Slot(Mutex<SlotState>);

#[derive(Debug, Default)]
struct SlotState {
    outcome: Option<Result<()>>,
    waker: Option<Waker>,
}

impl<T: Clone + Unpin> Future for Durable<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &mut this.state {
            State::Done(err) => match err.take() {
                Some(e) => Poll::Ready(Err(e)),
                None => panic!("`Durable` polled after it resolved"),
            },
            State::Waiting { value, slot } => {
                let mut s = lock(&slot.0);
                if let Some(outcome) = s.outcome.take() {
                    let value = value.clone();
                    drop(s);
                    this.state = State::Done(None);
                    return Poll::Ready(outcome.map(|()| value));
                }
                match &mut s.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    w => *w = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl Wal {
    /// Appends one entry without blocking on an fsync and returns a future that resolves
    /// with its index once it is durable, whatever [`Options::sync`](crate::Options::sync)
    /// says: the log's syncer thread (one per log, started on first use) writes everything
    /// buffered and fdatasyncs it, so concurrent async appends share fsyncs as threads do
    /// under `Always`. The call itself only encodes the entry into the log's buffer (it
    /// takes the buffer's lock for a moment, never the writer's), so it is safe on an
    /// async runtime's worker threads.
    ///
    /// # Errors
    /// The future resolves with what [`Wal::append`] returns: [`Error::Encode`],
    /// [`Error::EntryTooLarge`] (nothing appended), [`Error::Poisoned`] when the log was
    /// poisoned before the entry was synced, [`Error::Closed`] after
    /// [`Wal::shutdown`], [`Error::Io`] when the syncer cannot start.
    ///
    /// [`Error::Encode`]: crate::Error::Encode
    /// [`Error::EntryTooLarge`]: crate::Error::EntryTooLarge
    /// [`Error::Poisoned`]: crate::Error::Poisoned
    /// [`Error::Closed`]: crate::Error::Closed
    /// [`Error::Io`]: crate::Error::Io
    pub fn append_async<E: Entry>(&self, entry: &E) -> Durable<u64> {
        self.submit(std::slice::from_ref(entry), |last| last)
    }

    /// Appends entries as one batch (as [`Wal::append_batch`]: all or none after a crash)
    /// without blocking on an fsync; the future resolves with their range of indexes once
    /// they are durable (see [`Wal::append_async`]).
    ///
    /// # Errors
    /// As [`Wal::append_async`]; [`Error::BatchTooLarge`](crate::Error::BatchTooLarge).
    pub fn append_batch_async<E: Entry>(&self, entries: &[E]) -> Durable<Range<u64>> {
        let n = entries.len() as u64;
        self.submit(entries, |last| last + 1 - n..last + 1)
    }

    fn submit<E: Entry, T>(&self, entries: &[E], value: impl FnOnce(u64) -> T) -> Durable<T> {
        let inner = &self.inner;
        let last = match inner
            .append_with(entries, None, Until::Buffered)
            .and_then(|last| inner.request_sync().map(|()| last))
        {
            Ok(last) => last,
            Err(e) => {
                return Durable {
                    state: State::Done(Some(e)),
                };
            }
        };
        let slot = Arc::new(Slot::default());
        let notified = Arc::clone(&slot);
        inner.notify_at(
            last,
            Box::new(move |outcome| {
                let waker = {
                    let mut s = lock(&notified.0);
                    s.outcome = Some(outcome);
                    s.waker.take()
                };
                if let Some(w) = waker {
                    w.wake();
                }
            }),
        );
        Durable {
            state: State::Waiting {
                value: value(last),
                slot,
            },
        }
    }
}
