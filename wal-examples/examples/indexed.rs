//! gowal's model: key and value written at a chosen index, a duplicate index refused, get by
//! index, iteration, and repair of a damaged log that reports what it removed.
use wal_core::{Error, Options, RecoveryMode, SyncPolicy, Wal, WalEntry};
use wal_examples::{Outcome, check};

#[derive(WalEntry, Debug, PartialEq)]
#[wal(type_id = 1)]
struct Record {
    key: String,
    value: Vec<u8>,
}

fn main() -> Outcome {
    let dir = tempfile::tempdir()?;
    let opts = Options::default()
        .segment_size(4096)
        .sync(SyncPolicy::Always);
    let wal = Wal::open(dir.path(), opts.clone())?;
    for i in 1..=200u64 {
        wal.append_at(
            i,
            &Record {
                key: format!("key-{i}"),
                value: format!("value-{i}").into_bytes(),
            },
        )?;
    }
    match wal.append_at(
        150,
        &Record {
            key: "again".into(),
            value: vec![],
        },
    ) {
        Err(e @ Error::IndexMismatch { .. }) => println!("write at a used index: {e}"),
        other => return Err(format!("a duplicate index was not refused: {other:?}").into()),
    }
    let r: Record = wal.get(150)?;
    println!(
        "get(150) = {} -> {}",
        r.key,
        String::from_utf8_lossy(&r.value)
    );
    check(r.key == "key-150", "get by index")?;
    let keys: Vec<String> = wal
        .iter_from(198)?
        .map(|raw| Ok::<_, Error>(raw?.decode::<Record>()?.key))
        .collect::<Result<_, _>>()?;
    println!("iterate from 198: {keys:?}");
    check(
        keys == ["key-198", "key-199", "key-200"],
        "iteration from an index",
    )?;
    wal.close()?;

    // A torn write at the end of the newest segment (power loss mid-write): repair on open.
    let newest = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .max()
        .ok_or("no segment")?;
    let mut f = std::fs::OpenOptions::new().append(true).open(&newest)?;
    std::io::Write::write_all(&mut f, b"\x17\x00\x00\x00half a record")?;
    drop(f);
    let wal = Wal::open(dir.path(), opts.clone())?;
    for cut in &wal.recovery_report().cuts {
        println!(
            "repair removed {} bytes at offset {} of {} ({})",
            cut.bytes,
            cut.offset,
            cut.segment.display(),
            cut.reason
        );
    }
    check(
        wal.recovery_report().cuts.len() == 1,
        "the torn write was reported",
    )?;
    check(wal.last_index() == 200, "nothing acknowledged was lost")?;
    wal.append_at(
        201,
        &Record {
            key: "key-201".into(),
            value: b"after repair".to_vec(),
        },
    )?;
    wal.close()?;

    // Damage inside acknowledged data is refused by default; point-in-time repair keeps the
    // prefix before it and reports what it removed.
    let first = dir.path().join("00000000000000000001.wal");
    let mut bytes = std::fs::read(&first)?;
    bytes[400] ^= 0xff;
    std::fs::write(&first, bytes)?;
    let refused = Wal::open(dir.path(), opts.clone().recovery(RecoveryMode::Strict));
    println!(
        "strict open: {}",
        refused
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    check(
        refused.is_err(),
        "strict mode refuses damaged acknowledged data",
    )?;
    let wal = Wal::open(dir.path(), opts.recovery(RecoveryMode::PointInTime))?;
    let report = wal.recovery_report();
    println!(
        "point-in-time repair: kept 1..={}, cut {:?} bytes, removed {} later segments",
        wal.last_index(),
        report.cuts.iter().map(|c| c.bytes).collect::<Vec<_>>(),
        report.removed_segments.len()
    );
    check(
        wal.last_index() < 200 && !report.removed_segments.is_empty(),
        "the repair reported what it removed",
    )?;
    println!("ok");
    Ok(())
}
