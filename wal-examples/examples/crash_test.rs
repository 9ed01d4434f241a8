//! Test your own program's recovery with `wal_core::testing`: a bank ledger whose balance is
//! rebuilt from its log is crashed after every file-system operation, under several power-loss
//! models, and must never lose a transfer it acknowledged nor show money that was never moved.
use std::collections::BTreeMap;
use std::sync::Arc;

use wal_core::testing::{Crash, SimFs, explore_crashes};
use wal_core::{Options, Wal, WalEntry};
use wal_examples::{Outcome, check};

#[derive(WalEntry, Debug, Clone, PartialEq)]
enum Ledger {
    #[wal(type_id = 1)]
    Open { account: String, cents: i64 },
    #[wal(type_id = 2)]
    Transfer {
        from: String,
        to: String,
        cents: i64,
    },
}

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
}

/// Your program's recovery: rebuild the balances from the log.
fn balances(wal: &Wal) -> wal_core::Result<BTreeMap<String, i64>> {
    let mut b = BTreeMap::new();
    wal.replay(|_, op: Ledger| match op {
        Ledger::Open { account, cents } => {
            b.insert(account, cents);
        }
        Ledger::Transfer { from, to, cents } => {
            *b.entry(from).or_default() -= cents;
            *b.entry(to).or_default() += cents;
        }
    })?;
    Ok(b)
}

/// Your program's operations: two accounts opened, then 40 transfers.
fn ops() -> Vec<Ledger> {
    let open = [
        Ledger::Open {
            account: "ann".into(),
            cents: 10_000,
        },
        Ledger::Open {
            account: "bo".into(),
            cents: 0,
        },
    ];
    open.into_iter()
        .chain((0..40).map(|i| Ledger::Transfer {
            from: "ann".into(),
            to: "bo".into(),
            cents: 100 + i,
        }))
        .collect()
}

/// The books after the first `n` operations, worked out by hand (not by replaying a log).
fn books_after(n: u64) -> BTreeMap<String, i64> {
    let moved: i64 = (100..)
        .take(usize::try_from(n.saturating_sub(2)).unwrap_or(0))
        .sum();
    let mut b = BTreeMap::new();
    if n >= 1 {
        b.insert("ann".to_string(), 10_000 - moved);
    }
    if n >= 2 {
        b.insert("bo".to_string(), moved);
    }
    b
}

/// Your program's workload; returns how many operations were acknowledged.
fn workload(fs: &SimFs) -> u64 {
    let Ok(wal) = Wal::open("/ledger", opts(fs)) else {
        return 0;
    };
    let mut acked = 0;
    for op in ops() {
        if wal.append(&op).is_err() {
            break;
        }
        acked += 1;
    }
    acked
}

fn main() -> Outcome {
    let mut models = vec![Crash::ProcessKill, Crash::DropUnsynced];
    for seed in 0..4 {
        models.push(Crash::TornPrefix(seed * 31 + 7));
        models.push(Crash::SectorChaos {
            seed,
            sector: 512,
            psow: true,
        });
        models.push(Crash::NamespaceChaos { seed });
    }
    let mut failures = Vec::new();
    let states = explore_crashes(SimFs::new, &models, workload, |point, image, &acked| {
        let result = Wal::open("/ledger", opts(&image))
            .and_then(|wal| Ok((wal.last_index(), balances(&wal)?)));
        match result {
            // Every acknowledged operation, at most the one in flight after them, and the
            // books exactly as those operations leave them.
            Ok((recovered, b)) => {
                if recovered < acked || recovered > acked + 1 || b != books_after(recovered) {
                    failures.push(format!(
                        "{point:?}: {recovered} recovered, {acked} acknowledged, books {b:?}"
                    ));
                }
            }
            Err(e) => failures.push(format!("{point:?}: recovery failed: {e}")),
        }
    });
    println!(
        "crashed the ledger at {states} points x models; every acknowledged transfer survived: {}",
        failures.is_empty()
    );
    for f in failures.iter().take(5) {
        println!("  {f}");
    }
    check(
        failures.is_empty(),
        "no crash loses an acknowledged transfer or breaks the books",
    )?;
    check(states > 1_000, "enough crash states were explored")?;
    println!("ok");
    Ok(())
}
