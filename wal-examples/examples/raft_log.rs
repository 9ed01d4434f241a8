//! walrus's model: a consensus log of entries with a term; `get_range` for replication, a
//! conflicting suffix removed with `truncate_back`, a snapshot with `truncate_front`, and the
//! last index after reopening.
use wal_core::{Options, SyncPolicy, Wal, WalEntry};
use wal_examples::{Outcome, check};

#[derive(WalEntry, Debug, Clone, PartialEq)]
#[wal(type_id = 1)]
struct RaftEntry {
    term: u64,
    data: Vec<u8>,
}

fn main() -> Outcome {
    let dir = tempfile::tempdir()?;
    let opts = Options::default()
        .segment_size(8192)
        .sync(SyncPolicy::Always);
    let wal = Wal::open(dir.path(), opts.clone())?;
    // Term 1: entries 1..=100; term 2: 101..=150 from a leader that then lost its lead.
    for i in 1..=150u64 {
        let term = if i <= 100 { 1 } else { 2 };
        wal.append_at(
            i,
            &RaftEntry {
                term,
                data: format!("cmd-{i}").into_bytes(),
            },
        )?;
    }
    let batch: Vec<RaftEntry> = wal.get_range(95..105)?;
    println!(
        "get_range(95..105) terms: {:?}",
        batch.iter().map(|e| e.term).collect::<Vec<_>>()
    );
    check(
        batch.len() == 10 && batch[5].term == 1 && batch[6].term == 2,
        "get_range returns the entries in order",
    )?;

    // The new leader's log diverges after 120: drop the conflicting suffix, append its entries.
    wal.truncate_back(120)?;
    println!("truncate_back(120): last index {}", wal.last_index());
    for i in 121..=130u64 {
        wal.append_at(
            i,
            &RaftEntry {
                term: 3,
                data: format!("leader3-{i}").into_bytes(),
            },
        )?;
    }
    // A snapshot covers 1..=60: compact the log.
    wal.truncate_front(61)?;
    println!(
        "truncate_front(61): entries {}..={}",
        wal.first_index(),
        wal.last_index()
    );
    wal.close()?;

    let wal = Wal::open(dir.path(), opts)?;
    println!(
        "after reopen: first {}, last {}",
        wal.first_index(),
        wal.last_index()
    );
    let e125: RaftEntry = wal.get(125)?;
    println!(
        "entry 125: term {} {:?}",
        e125.term,
        String::from_utf8_lossy(&e125.data)
    );
    check(
        wal.first_index() == 61 && wal.last_index() == 130,
        "first and last index survive a reopen",
    )?;
    check(e125.term == 3, "the conflicting suffix was replaced")?;
    check(
        wal.get::<RaftEntry>(60).is_err(),
        "compacted entries are gone",
    )?;
    let terms: Vec<u64> = wal
        .get_range::<RaftEntry>(61..131)?
        .into_iter()
        .map(|e| e.term)
        .collect();
    check(
        terms.windows(2).all(|w| w[0] <= w[1]),
        "terms never decrease",
    )?;
    println!("ok");
    Ok(())
}
