//! A model test of the `Wal` API (P-01, see `docs/testing.md`): random sequences of appends,
//! batches, syncs, crashes under every model, reopens, reads and truncations, under `Never`
//! and `Always`, run against a reference model; proptest shrinks a failure to a minimal
//! sequence.
use crate::common;

use std::sync::Arc;

use common::{Blob, dir};
use proptest::prelude::*;
use wal_core::testing::{Crash, SimFs};
use wal_core::{Options, SyncPolicy, Wal};

#[derive(Debug, Clone)]
enum Op {
    Append(u8),
    Batch(u8),
    Sync,
    Crash(u8, u64),
    Reopen,
    Read(u16),
    TruncateBack(u16),
    TruncateFront(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<u8>().prop_map(Op::Append),
        2 => (1u8..6).prop_map(Op::Batch),
        2 => Just(Op::Sync),
        2 => (0u8..5, any::<u64>()).prop_map(|(m, s)| Op::Crash(m, s)),
        1 => Just(Op::Reopen),
        2 => any::<u16>().prop_map(Op::Read),
        1 => any::<u16>().prop_map(Op::TruncateBack),
        1 => any::<u16>().prop_map(Op::TruncateFront),
    ]
}

fn crash(model: u8, seed: u64) -> Crash {
    match model {
        0 => Crash::ProcessKill,
        1 => Crash::DropUnsynced,
        2 => Crash::TornPrefix(seed % 2048),
        3 => Crash::SectorChaos {
            seed,
            sector: 512,
            psow: true,
        },
        _ => Crash::NamespaceChaos { seed },
    }
}

/// The reference: the entries from `first` on, and how many of them are durable.
struct Model {
    first: u64,
    entries: Vec<Blob>,
    durable: u64,
    /// A counter so that entries re-appended after a truncation differ from the old ones.
    generation: u64,
}

impl Model {
    fn last(&self) -> u64 {
        self.first + self.entries.len() as u64 - 1
    }

    fn next_entry(&mut self, size: u8) -> Blob {
        self.generation += 1;
        Blob::new(
            (self.generation % 250 + 1) as u8,
            (0..u64::from(size) % 90)
                .map(|k| (k ^ self.generation) as u8)
                .collect::<Vec<_>>(),
        )
    }
}

fn opts(fs: &SimFs, policy: SyncPolicy) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        // Many segments, so that files are closed and reopened all the time.
        .max_segment_entries(Some(5))
        .max_open_files(MAX_OPEN)
        .sync(policy)
}

/// The bound on open sealed-segment files the model runs under.
const MAX_OPEN: usize = 2;
/// Descriptors besides the bound: the tail segment's file and the directory lock.
const BESIDES: usize = 2;

fn run(ops: &[Op], policy: SyncPolicy) -> Result<(), TestCaseError> {
    let always = policy == SyncPolicy::Always;
    let options = |fs: &SimFs| opts(fs, policy);
    let mut fs = SimFs::new();
    let mut wal = Wal::open(dir(), options(&fs)).unwrap();
    let mut m = Model {
        first: 1,
        entries: Vec::new(),
        durable: 0,
        generation: 0,
    };
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Append(size) => {
                let e = m.next_entry(size);
                prop_assert_eq!(wal.append(&e).unwrap(), m.last() + 1);
                m.entries.push(e);
                if always {
                    m.durable = m.last();
                }
            }
            Op::Batch(n) => {
                let batch: Vec<Blob> = (0..n).map(|k| m.next_entry(k.wrapping_mul(37))).collect();
                let range = wal.append_batch(&batch).unwrap();
                prop_assert_eq!(range.start, m.last() + 1);
                m.entries.extend(batch);
                if always {
                    m.durable = m.last();
                }
            }
            Op::Sync => {
                wal.sync().unwrap();
                m.durable = m.last();
            }
            Op::Crash(model, seed) => {
                let image = fs.crash(crash(model, seed));
                std::mem::forget(wal);
                fs = image;
                wal = Wal::open(dir(), options(&fs))
                    .map_err(|e| TestCaseError::fail(format!("step {step}: {e}")))?;
                let last = wal.last_index();
                prop_assert!(
                    last >= m.durable,
                    "step {}: durable entry lost ({} < {})",
                    step,
                    last,
                    m.durable
                );
                prop_assert!(last <= m.last(), "step {}: entries never appended", step);
                prop_assert_eq!(wal.first_index(), m.first, "step {}", step);
                // What came back is what was appended, entry for entry, checked now (the
                // model then keeps exactly that: a crash may keep what was not yet durable).
                let kept = (last + 1 - m.first) as usize;
                let recovered: Vec<Blob> = wal
                    .iter()
                    .unwrap()
                    .map(|r| r.unwrap().decode().unwrap())
                    .collect();
                prop_assert_eq!(&recovered[..], &m.entries[..kept], "step {}", step);
                m.entries.truncate(kept);
                m.durable = last;
            }
            Op::Reopen => {
                wal.close().unwrap();
                wal = Wal::open(dir(), options(&fs)).unwrap();
                prop_assert!(
                    wal.recovery_report().is_clean(),
                    "step {}: {:?}",
                    step,
                    wal.recovery_report()
                );
            }
            Op::Read(k) => {
                if !m.entries.is_empty() {
                    let i = m.first + u64::from(k) % m.entries.len() as u64;
                    prop_assert_eq!(
                        &wal.get::<Blob>(i).unwrap(),
                        &m.entries[(i - m.first) as usize],
                        "step {}",
                        step
                    );
                }
            }
            Op::TruncateBack(k) => {
                let keep = u64::from(k) % (m.entries.len() as u64 + 1);
                wal.truncate_back(m.first + keep - 1).unwrap();
                m.entries.truncate(keep as usize);
                m.durable = m.last();
            }
            Op::TruncateFront(k) => {
                let drop = u64::from(k) % (m.entries.len() as u64 + 1);
                wal.truncate_front(m.first + drop).unwrap();
                m.entries.drain(..drop as usize);
                m.first += drop;
                m.durable = m.durable.max(m.first - 1);
            }
        }
        prop_assert_eq!(
            (wal.first_index(), wal.last_index()),
            (m.first, m.last()),
            "step {} {:?}",
            step,
            op
        );
        // INV-FILES: the log never holds more files than its bound allows; for a moment a
        // few more: the directory's during a sync, a file opened before another is closed,
        // and during a truncation the segment being cut and a mark file.
        prop_assert!(
            fs.open_files() <= MAX_OPEN + BESIDES,
            "step {} {:?}: {} files open",
            step,
            op,
            fs.open_files()
        );
        prop_assert!(
            fs.peak_open_files() <= MAX_OPEN + BESIDES + 3,
            "step {} {:?}: {} files open at once",
            step,
            op,
            fs.peak_open_files()
        );
    }
    let all: Vec<Blob> = wal
        .iter()
        .unwrap()
        .map(|r| r.unwrap().decode().unwrap())
        .collect();
    prop_assert_eq!(all, m.entries);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn p01_the_log_behaves_like_its_model(
        ops in proptest::collection::vec(op(), 1..64),
        always in any::<bool>(),
    ) {
        // Under `Always` every append is durable when it returns: a crash keeps them all.
        run(&ops, if always { SyncPolicy::Always } else { SyncPolicy::Never })?;
    }
}
