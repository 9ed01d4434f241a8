//! Helpers shared by the integration tests.
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "test code"
)]
#![allow(dead_code, reason = "each test file uses a part")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wal_core::testing::SimFs;
use wal_core::{DecodeError, EncodeError, Entry, Options, Wal};

const fn all_ids() -> [u8; 255] {
    let mut a = [0u8; 255];
    let mut i = 0;
    while i < 255 {
        a[i] = (i + 1) as u8;
        i += 1;
    }
    a
}

thread_local! {
    /// Counts the calls of `Blob::decode` made by this thread, to prove lazy iteration
    /// never decodes (per thread: tests run side by side in one binary).
    pub static DECODES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// An entry of any type id with raw bytes as its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub ty: u8,
    pub data: Vec<u8>,
}

impl Blob {
    pub fn new(ty: u8, data: impl Into<Vec<u8>>) -> Self {
        Self {
            ty,
            data: data.into(),
        }
    }

    /// The `i`-th entry of a deterministic test sequence.
    pub fn nth(i: u64) -> Self {
        let len = (i * 7 % 61) as usize;
        Self {
            ty: (i % 5 + 1) as u8,
            data: (0..len).map(|k| (i as usize + k) as u8).collect(),
        }
    }
}

impl Entry for Blob {
    const TYPE_IDS: &'static [u8] = &all_ids();

    fn type_id(&self) -> u8 {
        self.ty
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.data);
        Ok(())
    }

    fn decode(type_id: u8, payload: &[u8]) -> Result<Self, DecodeError> {
        DECODES.set(DECODES.get() + 1);
        Ok(Self {
            ty: type_id,
            data: payload.to_vec(),
        })
    }
}

pub fn dir() -> PathBuf {
    PathBuf::from("/log")
}

pub fn sim_opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(64 * 1024)
}

/// Every entry in the log, decoded.
pub fn read_all(wal: &Wal) -> Vec<(u64, Blob)> {
    let mut out = Vec::new();
    wal.replay(|i, b: Blob| out.push((i, b))).expect("replay");
    out
}

pub fn segment_files(fs: &SimFs, dir: &Path) -> Vec<PathBuf> {
    fs.file_names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".wal"))
        .map(|n| dir.join(n))
        .collect()
}

/// Prints a line that shows in the test output even when the test passes (the harness
/// captures only the `print!` family): the suites report how much they checked.
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Whether a thread working beside others goes on: until `done`, then for at most
/// `spare` more rounds while it is still `idle` (has not done its part yet): a loaded
/// machine may first schedule it only after the others finished.
pub fn goes_on(done: &std::sync::atomic::AtomicBool, idle: bool, spare: &mut u32) -> bool {
    if !done.load(std::sync::atomic::Ordering::SeqCst) {
        return true;
    }
    if !idle || *spare == 0 {
        return false;
    }
    *spare -= 1;
    true
}

/// Runs `f` on its own thread and returns its result; panics if it takes longer than
/// `limit` (a hang is a failure, not a slow test).
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|e| panic!("no answer within {limit:?}: {e}"))
}

/// Every crash model: a kill, power loss dropping or tearing what was not synced, sectors
/// torn (with power-safe overwrite) and directory operations reordered; `seeds` variants of
/// each random one.
pub fn crash_models(seeds: u64) -> Vec<wal_core::testing::Crash> {
    use wal_core::testing::Crash;
    let mut models = vec![Crash::ProcessKill, Crash::DropUnsynced];
    for seed in 0..seeds {
        models.push(Crash::TornPrefix(seed * 37 + 5));
        models.push(Crash::SectorChaos {
            seed,
            sector: 512,
            psow: true,
        });
        models.push(Crash::NamespaceChaos { seed });
    }
    models
}

/// The first index of each segment in `dir` (segment files are named after it).
pub fn first_indexes(fs: &SimFs, dir: &Path) -> Vec<u64> {
    segment_files(fs, dir)
        .iter()
        .map(|p| p.file_stem().unwrap().to_str().unwrap().parse().unwrap())
        .collect()
}

/// A copy of the files of `fixture` (a checked-in log) in a new temporary directory, so a
/// test may open it for writing.
pub fn copy_fixture(fixture: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), tmp.path().join(entry.file_name())).unwrap();
    }
    tmp
}

/// A log in `dir()` of five synced entries (`Blob::nth(1..=5)`) and a sixth written but not
/// synced, then power lost with the first `kept` bytes of the sixth frame on disk: the
/// file system after the crash.
pub fn torn_sixth_entry(opts: impl Fn(&SimFs) -> Options, kept: u64) -> SimFs {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs).sync(wal_core::SyncPolicy::Never)).unwrap();
    for k in 1..=5 {
        wal.append(&Blob::nth(k)).unwrap();
    }
    wal.sync().unwrap();
    wal.append(&Blob::nth(6)).unwrap();
    assert_eq!(
        wal.iter().unwrap().count(),
        6,
        "the sixth is written, not synced"
    );
    std::mem::forget(wal); // a crash: no close
    fs.crash(wal_core::testing::Crash::TornPrefix(kept))
}
