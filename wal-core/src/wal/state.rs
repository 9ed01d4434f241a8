//! State records: small values kept durably beside the log, each replaced whole.

use super::Wal;
use crate::error::{CorruptionKind, Error, Result};
use crate::format::{self, MAX_STATE_LEN, STATE_PREFIX};
use crate::io;
use crate::lock::lock;

impl Wal {
    /// Replaces the state record `name` with `value`, durably: when it returns, the record
    /// holds `value` and keeps it across crashes and reopens. For small values an
    /// application keeps beside its log and must never lose or see torn: a consensus vote,
    /// the last index applied or purged. The record is written whole under a temporary
    /// name, synced, renamed over the old one and the directory synced (a few fsyncs: not
    /// for every entry). Saves of any records are serialized; appends run meanwhile.
    ///
    /// A name is 1 to 64 of `a-z`, `0-9`, `_`, `-`; a value at most 1 MiB.
    ///
    /// # Errors
    /// [`Error::InvalidState`] for a bad name or a value too large (nothing written);
    /// [`Error::ReadOnly`] in salvage mode; [`Error::Poisoned`]; [`Error::Io`] when a step
    /// fails: the record then holds the old or the new value (after a crash too), and the
    /// log's entries are not affected (the log is not poisoned); save again.
    pub fn save_state(&self, name: &str, value: &[u8]) -> Result<()> {
        check_name(name)?;
        if value.len() > MAX_STATE_LEN {
            return Err(Error::InvalidState(format!(
                "the value of {name:?} is {} bytes, more than the {MAX_STATE_LEN} a state record holds",
                value.len()
            )));
        }
        let inner = &self.inner;
        let _one_at_a_time = lock(&inner.state_lock);
        // Under the lock `shutdown` also takes: no save runs after the log is closed.
        inner.check_writable()?;
        let bytes = format::encode_state(inner.log_id, value);
        io::create_durably(
            &*inner.opts.fs,
            &inner.dir,
            &format!("{STATE_PREFIX}{name}"),
            &bytes,
            0,
        )
        .map(drop)
    }

    /// The value of the state record `name` as last saved, or `None` if it was never saved.
    ///
    /// # Errors
    /// [`Error::InvalidState`] for a bad name; [`Error::Corruption`] (kind
    /// [`CorruptionKind::BadMarkFile`]) naming the file when its bytes do not verify;
    /// [`Error::ForeignSegment`] when it belongs to another log; [`Error::Io`].
    pub fn state(&self, name: &str) -> Result<Option<Vec<u8>>> {
        check_name(name)?;
        let inner = &self.inner;
        let path = inner.dir.join(format!("{STATE_PREFIX}{name}"));
        let file = match inner.opts.fs.open_read(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open", &path, e)),
        };
        let bytes = io::read_range(&*file, 0, format::STATE_FIXED_LEN + MAX_STATE_LEN + 1)
            .map_err(|e| Error::io("read", &path, e))?;
        let (log_id, value) = format::decode_state(&bytes).ok_or_else(|| Error::Corruption {
            segment: path.clone(),
            offset: 0,
            kind: CorruptionKind::BadMarkFile,
        })?;
        if log_id != inner.log_id {
            return Err(Error::ForeignSegment {
                path,
                expected: inner.log_id,
                found: log_id,
            });
        }
        Ok(Some(value.to_vec()))
    }
}

/// Refuses a name that is not 1 to 64 of `a-z`, `0-9`, `_`, `-`.
fn check_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidState(format!(
            "{name:?} is not a state record name (1 to 64 of a-z, 0-9, _ and -)"
        )))
    }
}
