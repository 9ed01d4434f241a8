//! `wal stats`: count and bytes per entry type and per segment, payload size percentiles.

use std::io::Write;
use std::path::Path;

use wal_core::{RecoveryMode, Wal};

use super::io;
use crate::open::open;
use crate::show::Types;

/// Entries per type id (count, payload bytes), the payloads' sizes, and which indexes
/// were read: for the count of each segment.
struct Tally {
    by_type: Vec<(u64, u64)>,
    sizes: Sizes,
    read: Indexes,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            by_type: vec![(0, 0); 256],
            sizes: Sizes::default(),
            read: Indexes::default(),
        }
    }
}

/// The indexes a pass told of, in order: the first and last, and the gaps between them
/// (damage skipped in salvage mode). A comparison per entry, not a list of them.
#[derive(Default)]
struct Indexes {
    span: Option<(u64, u64)>,
    gaps: Vec<(u64, u64)>,
}

impl Indexes {
    fn add(&mut self, i: u64) {
        self.span = match self.span {
            None => Some((i, i)),
            Some((first, last)) => {
                if i > last + 1 {
                    self.gaps.push((last + 1, i - 1));
                }
                Some((first, i))
            }
        };
    }

    /// How many of `first..=last` were told of.
    fn count_in(&self, first: u64, last: u64) -> u64 {
        let Some((seen_first, seen_last)) = self.span else {
            return 0;
        };
        let within = |a: u64, b: u64| {
            let (a, b) = (a.max(first), b.min(last));
            (b + 1).saturating_sub(a)
        };
        let skipped: u64 = self.gaps.iter().map(|&(a, b)| within(a, b)).sum();
        within(seen_first, seen_last) - skipped
    }
}

/// Payload sizes, counted exactly: a count per size below [`Sizes::SMALL`], and each larger
/// size kept. Adding one costs an increment, not a growing list of every size.
#[derive(Default)]
struct Sizes {
    small: Vec<u64>,
    large: Vec<u32>,
    count: u64,
}

impl Sizes {
    const SMALL: usize = 4096;

    fn add(&mut self, n: usize) {
        if self.small.is_empty() {
            self.small = vec![0; Self::SMALL];
        }
        self.count += 1;
        match self.small.get_mut(n) {
            Some(c) => *c += 1,
            None => self.large.push(u32::try_from(n).unwrap_or(u32::MAX)),
        }
    }

    /// The `k`-th smallest size (from 0), once `large` is sorted; 0 when there is none.
    fn nth(&self, k: u64) -> u64 {
        let mut left = k;
        for (size, &c) in self.small.iter().enumerate() {
            if left < c {
                return size as u64;
            }
            left -= c;
        }
        usize::try_from(left)
            .ok()
            .and_then(|i| self.large.get(i))
            .map_or(0, |&n| u64::from(n))
    }
}

/// Counts every entry of the log by its header, in one pass that checks every frame.
fn tally(wal: &Wal) -> Result<Tally, wal_core::Error> {
    let mut t = Tally::default();
    wal.verify_each(|h| {
        let n = h.payload_len() as usize;
        let slot = &mut t.by_type[usize::from(h.type_id())];
        slot.0 += 1;
        slot.1 += n as u64;
        t.sizes.add(n);
        t.read.add(h.index());
    })?;
    t.sizes.large.sort_unstable();
    Ok(t)
}

#[expect(clippy::cast_precision_loss, reason = "shares are percentages")]
pub(crate) fn run(dir: &Path, types: &Types, out: &mut impl Write) -> Result<u8, String> {
    let mut wal = open(dir, RecoveryMode::TolerateTornTail)?;
    let Tally {
        by_type,
        sizes,
        read,
    } = match tally(&wal) {
        Ok(t) => t,
        // Damage in a sealed segment: count what can be read past it, and say so.
        Err(e @ wal_core::Error::Corruption { .. }) => {
            writeln!(
                out,
                "damaged: {e}; counted past the damage (see `wal verify`)"
            )
            .map_err(io)?;
            wal = open(dir, RecoveryMode::Salvage)?;
            tally(&wal).map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    let total: u64 = by_type.iter().map(|v| v.1).sum();
    writeln!(out, "{} entries, {total} payload bytes", sizes.count).map_err(io)?;
    writeln!(
        out,
        "\nby type:\n  {:<24} {:>12} {:>14} {:>7}",
        "type", "entries", "bytes", "share"
    )
    .map_err(io)?;
    let present = (0u8..=255).zip(&by_type).filter(|(_, (n, _))| *n > 0);
    for (t, (n, bytes)) in present {
        let share = if total == 0 {
            0.0
        } else {
            100.0 * *bytes as f64 / total as f64
        };
        writeln!(
            out,
            "  {:<24} {n:>12} {bytes:>14} {share:>6.1}%",
            types.label(t)
        )
        .map_err(io)?;
    }
    let last = sizes.count.saturating_sub(1);
    let at = |p: u64| sizes.nth((sizes.count * p / 100).min(last));
    writeln!(
        out,
        "\npayload size: p50 {} B, p90 {} B, p99 {} B, max {} B",
        at(50),
        at(90),
        at(99),
        sizes.nth(last)
    )
    .map_err(io)?;
    writeln!(out, "\nby segment:").map_err(io)?;
    for s in wal.segments() {
        let name = crate::show::file_name(&s);
        writeln!(
            out,
            "  {name}  {:>8} entries  {:>12} bytes  {}",
            read.count_in(s.first_index, s.last_index),
            s.bytes,
            if s.sealed { "sealed" } else { "open" }
        )
        .map_err(io)?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::{Indexes, Sizes};

    #[test]
    fn indexes_count_what_was_told_of_in_any_range() {
        let mut read = Indexes::default();
        assert_eq!(read.count_in(1, 10), 0);
        // 5..=20 without 9, 12..=13 and 17.
        for i in (5..=20).filter(|i| ![9, 12, 13, 17].contains(i)) {
            read.add(i);
        }
        let told = |a: u64, b: u64| {
            (a..=b)
                .filter(|i| (5..=20).contains(i) && ![9, 12, 13, 17].contains(i))
                .count() as u64
        };
        for a in 0..25 {
            for b in a..25 {
                assert_eq!(read.count_in(a, b), told(a, b), "{a}..={b}");
            }
        }
    }

    #[test]
    fn sizes_give_the_same_order_statistics_as_a_sorted_list() {
        let mut sizes = Sizes::default();
        let mut all: Vec<u64> = Vec::new();
        let mut x = 7u64;
        for _ in 0..5_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            // Most below the counted range, some above it, a few far above.
            let n = match x >> 60 {
                0..=11 => (x >> 20) % 4096,
                12..=14 => 4096 + (x >> 20) % 10_000,
                _ => (x >> 20) % (1 << 24),
            };
            sizes.add(usize::try_from(n).unwrap());
            all.push(n);
        }
        sizes.large.sort_unstable();
        all.sort_unstable();
        assert_eq!(sizes.count, 5_000);
        for (k, &want) in all.iter().enumerate() {
            assert_eq!(sizes.nth(k as u64), want, "the {k}-th smallest");
        }
        assert_eq!(Sizes::default().nth(0), 0);
    }
}
