//! Derive an enum, append, reopen, replay typed.
use wal_core::{Options, Wal, WalEntry};
use wal_examples::{Outcome, check};

#[derive(WalEntry, Debug, PartialEq)]
enum Op {
    #[wal(type_id = 1)]
    Put { key: String, value: Vec<u8> },
    #[wal(type_id = 2)]
    Delete { key: String },
    #[wal(type_id = 3)]
    Clear,
}

fn main() -> Outcome {
    let dir = tempfile::tempdir()?;
    let ops = vec![
        Op::Put {
            key: "apple".into(),
            value: b"red".to_vec(),
        },
        Op::Put {
            key: "kiwi".into(),
            value: b"green".to_vec(),
        },
        Op::Delete {
            key: "apple".into(),
        },
        Op::Clear,
    ];

    let wal = Wal::open(dir.path(), Options::default())?; // durable: each append is fsynced
    for op in &ops {
        let index = wal.append(op)?;
        println!("appended #{index}: {op:?}");
    }
    wal.close()?;

    let wal = Wal::open(dir.path(), Options::default())?;
    let mut replayed = Vec::new();
    wal.replay(|index, op: Op| replayed.push((index, op)))?;
    println!(
        "reopened: {} entries, indexes {}..={}",
        replayed.len(),
        wal.first_index(),
        wal.last_index()
    );
    for (index, op) in &replayed {
        println!("replayed #{index}: {op:?}");
    }
    let expected: Vec<(u64, Op)> = (1..).zip(ops).collect();
    check(
        replayed == expected,
        "the replay returns every entry, typed, in order",
    )?;
    println!("ok: {} entries replayed exactly", expected.len());
    Ok(())
}
