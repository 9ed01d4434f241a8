//! How an [`Error`] reads: one line that names what failed, where, and why.

use std::fmt;

use super::Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { op, path, source } => {
                write!(f, "I/O error during {op} on {}: {source}", path.display())?;
                write_hint(f, source)
            }
            Self::Poisoned { source } => write!(
                f,
                "the log is poisoned by an earlier failed write or sync: {source}"
            ),
            Self::Locked { path } => write!(
                f,
                "log directory {} is locked by another open log",
                path.display()
            ),
            Self::NotADirectory { path } => write!(f, "{} is not a directory", path.display()),
            Self::NotFound { path } => {
                write!(f, "log directory {} does not exist", path.display())
            }
            Self::ReadOnly => {
                f.write_str("the log was opened read-only (open_read_only or salvage mode)")
            }
            Self::Closed => f.write_str("the log was shut down; reopen it to write"),
            Self::InvalidOptions(what) => write!(f, "invalid options: {what}"),
            Self::InvalidState(what) => write!(f, "invalid state record: {what}"),
            Self::BatchTooLarge { size, max } => write!(
                f,
                "batch of {size} bytes (and counting) is larger than the {max} bytes a segment can hold"
            ),
            Self::EntryTooLarge { size, max } => write!(
                f,
                "entry payload of {size} bytes is larger than the maximum of {max} bytes"
            ),
            Self::Corruption {
                segment,
                offset,
                kind,
            } => write!(
                f,
                "corrupt log: {kind} in {} at offset {offset}",
                segment.display()
            ),
            Self::NotASegment { path } => write!(
                f,
                "{} is named like a segment but is not one (bad magic)",
                path.display()
            ),
            Self::UnsupportedVersion {
                path,
                found,
                supported,
            } => write!(
                f,
                "{} has format version {found}; this build reads version {supported}",
                path.display()
            ),
            Self::ForeignSegment {
                path,
                expected,
                found,
            } => write!(
                f,
                "{} belongs to another log (identity {found:#018x}, expected {expected:#018x})",
                path.display()
            ),
            Self::UnknownEntryType { index, type_id } => {
                write!(f, "unknown entry type {type_id} at index {index}")
            }
            Self::Compression {
                index,
                codec,
                reason,
            } => write!(f, "cannot decompress entry {index} ({codec}): {reason}"),
            Self::Decode {
                index,
                type_id,
                source,
            } => write!(
                f,
                "failed to decode entry type {type_id} at index {index}: {source}"
            ),
            Self::Encode { type_id, source } => {
                write!(f, "failed to encode entry type {type_id}: {source}")
            }
            Self::DuplicateEntryType {
                type_id,
                first,
                second,
            } => write!(
                f,
                "entry type {type_id} is registered twice: {first} and {second}"
            ),
            Self::ReservedEntryType => {
                f.write_str("entry type id 0 is reserved for the log's own frames")
            }
            Self::IndexMismatch { expected, given } => write!(
                f,
                "append at index {given} refused: the next index is {expected}"
            ),
            Self::Truncated { yielded, last } => write!(
                f,
                "entries up to index {yielded} were yielded, but truncate_back removed every entry after {last}"
            ),
            Self::IndexOutOfRange { index, first, last } => write!(
                f,
                "index {index} is not in the log (first {first}, last {last})"
            ),
        }
    }
}

/// What to do about an error whose cause is a limit of the process or the system.
fn write_hint(f: &mut fmt::Formatter<'_>, source: &std::io::Error) -> fmt::Result {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    match source.raw_os_error() {
        Some(EMFILE) => f.write_str(
            " (this process has no file descriptor left: raise its limit, `ulimit -n`, or lower `Options::max_open_files`)",
        ),
        Some(ENFILE) => f.write_str(
            " (the system has no file descriptor left: raise `fs.file-max` or close files elsewhere)",
        ),
        _ => Ok(()),
    }
}

impl std::error::Error for Error {
    /// What the one-line `Display` does not already say: the cause's own source.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => source.source(),
            Self::Poisoned { source } => source.source(),
            Self::Decode { source, .. } => source.source(),
            Self::Encode { source, .. } => source.source(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::io;
    use std::sync::Arc;

    use crate::error::{DecodeError, EncodeError, Error};

    fn io_error(op: &'static str, code: i32) -> Error {
        Error::io(
            op,
            "/log/00000000000000000001.wal",
            io::Error::from_raw_os_error(code),
        )
    }

    #[test]
    fn the_one_line_display_carries_the_cause_and_source_does_not_repeat_it() {
        let e = io_error("sync directory", 24);
        let line = e.to_string();
        assert!(
            line.starts_with("I/O error during sync directory on /log/"),
            "{line}"
        );
        assert!(line.contains("(os error 24)"), "{line}");
        assert!(line.contains("ulimit -n"), "{line}");
        assert!(e.source().is_none(), "the OS error is in the line already");

        let enfile = io_error("open", 23).to_string();
        assert!(
            enfile.contains("(os error 23)") && enfile.contains("system"),
            "{enfile}"
        );
        let eio = io_error("write", 5).to_string();
        assert!(
            eio.contains("(os error 5)") && !eio.contains("descriptor"),
            "{eio}"
        );

        let poisoned = Error::Poisoned {
            source: Arc::new(io::Error::other(io_error("sync", 5).to_string())),
        };
        let line = poisoned.to_string();
        assert!(
            line.contains("poisoned") && line.contains("during sync on /log/"),
            "{line}"
        );
        assert!(line.contains("(os error 5)"), "{line}");

        let decode = Error::Decode {
            index: 7,
            type_id: 3,
            source: DecodeError::custom("field `amount` is negative"),
        };
        assert_eq!(
            decode.to_string(),
            "failed to decode entry type 3 at index 7: custom decoder failed: field `amount` is negative"
        );
        let short = Error::Decode {
            index: 1,
            type_id: 1,
            source: DecodeError::UnexpectedEnd {
                at: 4,
                needed: 8,
                remaining: 2,
            },
        };
        assert!(
            short
                .to_string()
                .ends_with("8 bytes needed at byte 4, 2 remain")
        );
        let encode = Error::Encode {
            type_id: 2,
            source: EncodeError::new("map too large"),
        };
        assert_eq!(
            encode.to_string(),
            "failed to encode entry type 2: encoding failed: map too large"
        );
    }

    #[test]
    fn a_source_the_line_does_not_carry_is_still_reachable() {
        #[derive(Debug)]
        struct Inner;
        impl std::fmt::Display for Inner {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("disk controller reset")
            }
        }
        impl std::error::Error for Inner {}
        #[derive(Debug)]
        struct Outer(Inner);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("device gone")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Error::io("read", "/log/x.wal", io::Error::other(Outer(Inner)));
        assert!(e.to_string().ends_with(": device gone"), "{e}");
        assert_eq!(e.source().unwrap().to_string(), "disk controller reset");
    }
}
