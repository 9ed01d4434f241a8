//! Locking a mutex whose holder panicked: the log's state under its locks stays consistent
//! (a panic never leaves a half-made change there), so the poison is ignored.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, ignoring poison.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
