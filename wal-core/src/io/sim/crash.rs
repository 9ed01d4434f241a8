//! Crash models: what of the page cache and the directory operations survives.

use std::sync::{Arc, Mutex};

use super::{Dir, Inode, SimFs, State, UnsyncedChange, apply};

/// What survives a simulated crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Crash {
    /// The process dies, the machine does not: everything written survives (M0).
    ProcessKill,
    /// Power loss: every file is its last synced image, every directory its last synced
    /// entries (M1).
    DropUnsynced,
    /// Power loss that keeps the first `n` bytes of each file's unsynced writes, in the order
    /// they were made (M2).
    TornPrefix(u64),
    /// Power loss that treats every `sector`-byte piece touched by an unsynced write on its
    /// own: it holds the new data, the old data, zeros or garbage; the file keeps its new or
    /// its old size (M3). With `psow` (power-safe overwrite) only the bytes written are
    /// affected; without it, the whole sector.
    SectorChaos {
        /// Seed of the choices.
        seed: u64,
        /// Sector size: 512 or 4096.
        sector: u64,
        /// Power-safe overwrite.
        psow: bool,
    },
    /// Power loss with synced data (as `DropUnsynced`) but a namespace in which every create,
    /// remove and rename since the directory's last sync may or may not have happened, and a
    /// rename may have happened halfway (both names present) (M4).
    NamespaceChaos {
        /// Seed of the choices.
        seed: u64,
    },
}

/// A small deterministic generator (splitmix64) for the crash models.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

impl SimFs {
    /// The file system as it is after `crash`: a new, independent `SimFs`.
    #[must_use]
    pub fn crash(&self, crash: Crash) -> SimFs {
        let s = self.lock();
        let mut out = State {
            next_inode: s.next_inode,
            ..State::default()
        };
        let seed = match crash {
            Crash::SectorChaos { seed, .. } | Crash::NamespaceChaos { seed } => seed,
            _ => 0,
        };
        let mut rng = Rng(seed);
        for (path, dir) in &s.dirs {
            let entries = match crash {
                Crash::ProcessKill => dir.entries.clone(),
                Crash::NamespaceChaos { .. } => dir.chaos(&mut rng),
                _ => dir.durable.clone(),
            };
            for &ino in entries.values() {
                let Some(f) = s.files.get(&ino) else { continue };
                let image = match crash {
                    Crash::ProcessKill => f.data.clone(),
                    Crash::DropUnsynced | Crash::NamespaceChaos { .. } => f.durable.clone(),
                    Crash::TornPrefix(n) => torn_prefix(f, n),
                    Crash::SectorChaos { sector, psow, .. } => {
                        sector_chaos(f, sector.max(1), psow, &mut rng)
                    }
                };
                out.files.insert(
                    ino,
                    Inode {
                        data: image.clone(),
                        durable: image,
                        pending: Vec::new(),
                    },
                );
            }
            out.dirs.insert(
                path.clone(),
                Dir {
                    durable: entries.clone(),
                    entries,
                    ops: Vec::new(),
                },
            );
        }
        SimFs {
            state: Arc::new(Mutex::new(out)),
        }
    }
}

/// M3: each sector touched by an unsynced write holds new data, old data, zeros or garbage.
fn sector_chaos(f: &Inode, sector: u64, psow: bool, rng: &mut Rng) -> Vec<u8> {
    let len = if rng.below(2) == 0 {
        f.data.len()
    } else {
        f.durable.len()
    };
    let mut written = vec![false; f.data.len().max(f.durable.len())];
    for op in &f.pending {
        if let UnsyncedChange::Write { offset, data } = op {
            let start = usize::try_from(*offset).unwrap_or(usize::MAX);
            for w in written.iter_mut().skip(start).take(data.len()) {
                *w = true;
            }
        }
    }
    let old = |i: usize| f.durable.get(i).copied().unwrap_or(0);
    let mut image: Vec<u8> = (0..len).map(old).collect();
    let sector = usize::try_from(sector).unwrap_or(usize::MAX);
    for start in (0..len).step_by(sector) {
        let end = (start + sector).min(len);
        if !written[start..end].iter().any(|&w| w) {
            continue;
        }
        let outcome = rng.below(4);
        for (i, byte) in image.iter_mut().enumerate().take(end).skip(start) {
            // With power-safe overwrite, bytes not written keep their old value.
            if !written[i] && (psow || outcome < 2) {
                continue;
            }
            *byte = match outcome {
                0 => f.data.get(i).copied().unwrap_or(0),
                1 => old(i),
                2 => 0,
                _ => u8::try_from(rng.below(256)).unwrap_or(0),
            };
        }
    }
    image
}

fn torn_prefix(f: &Inode, mut budget: u64) -> Vec<u8> {
    let mut image = f.durable.clone();
    for op in &f.pending {
        match op {
            UnsyncedChange::Write { offset, data } => {
                let take = usize::try_from(budget.min(data.len() as u64)).unwrap_or(usize::MAX);
                apply(
                    &mut image,
                    &UnsyncedChange::Write {
                        offset: *offset,
                        data: data[..take].to_vec(),
                    },
                );
                budget -= take as u64;
                if take < data.len() {
                    break;
                }
            }
            UnsyncedChange::SetLen(_) => apply(&mut image, op),
        }
    }
    image
}
