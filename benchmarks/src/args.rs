//! What the single-purpose benchmark binaries (`live`, `codecs`, `inspect`) share: their
//! command line, the median of runs, and the entry they append.

use std::path::PathBuf;

use wal_core::{DecodeError, EncodeError, Entry};

use crate::Result;

/// `--runs N` (default 3), `--dir DIR` (default the temporary directory) and, where a
/// binary takes it, `--entry BYTES`.
#[derive(Debug, Clone)]
pub struct Args {
    pub runs: usize,
    pub dir: PathBuf,
    pub entry: Option<usize>,
}

impl Args {
    /// The process's arguments.
    ///
    /// # Errors
    /// An unknown argument, or a value that does not parse.
    pub fn parse() -> Result<Self> {
        let mut out = Self {
            runs: 3,
            dir: std::env::temp_dir(),
            entry: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--runs" => out.runs = args.next().ok_or("--runs N")?.parse()?,
                "--dir" => out.dir = args.next().ok_or("--dir DIR")?.into(),
                "--entry" => out.entry = Some(args.next().ok_or("--entry BYTES")?.parse()?),
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(out)
    }
}

/// The median of `v` (the upper one of an even count).
///
/// # Panics
/// If `v` is empty.
#[must_use]
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A payload appended as it is, type id 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Entry for Bytes {
    const TYPE_IDS: &'static [u8] = &[1];
    fn type_id(&self) -> u8 {
        1
    }
    fn encode(&self, out: &mut Vec<u8>) -> std::result::Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
    fn decode(_: u8, payload: &[u8]) -> std::result::Result<Self, DecodeError> {
        Ok(Self(payload.to_vec()))
    }
}
