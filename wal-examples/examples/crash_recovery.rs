//! Recovery after a crash. A child process appends under `SyncPolicy::Always`, reporting
//! each acknowledged index over a pipe, and is killed (SIGKILL) mid-stream; the parent
//! reopens the log and finds every acknowledged entry. Then a torn write is simulated (the
//! tail cut off mid-frame, as power loss can leave it): recovery cuts it and reports it.
//! Last, a byte of acknowledged data is damaged: opening refuses, naming file and offset.
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use wal_core::{Error, Options, RecoveryMode, Wal, WalEntry};
use wal_examples::{Outcome, check};

#[derive(WalEntry, Debug)]
#[wal(type_id = 1)]
struct Record {
    seq: u64,
    data: Vec<u8>,
}

fn opts() -> Options {
    Options::default().segment_size(256 * 1024)
}

/// The child: append durably forever, printing each acknowledged index.
fn child(dir: &Path) -> Outcome {
    let wal = Wal::open(dir, opts())?;
    let mut out = std::io::stdout().lock();
    for seq in 0.. {
        let index = wal.append(&Record {
            seq,
            data: vec![(seq % 251) as u8; 100 + (seq % 300) as usize],
        })?;
        writeln!(out, "{index}")?;
        out.flush()?;
    }
    Ok(())
}

/// Verifies the log holds exactly entries `1..=n`, each the one the child wrote at its index.
fn verify(wal: &Wal) -> Result<u64, Box<dyn std::error::Error>> {
    let mut n = 0;
    wal.replay(|index, r: Record| {
        let len = 100 + (r.seq % 300) as usize;
        let byte = (r.seq % 251) as u8;
        if r.seq + 1 == index && r.data.len() == len && r.data.iter().all(|&b| b == byte) {
            n += 1;
        }
    })?;
    check(
        wal.first_index() == 1 && n == wal.last_index(),
        "every entry is the one written at its index, from the first",
    )?;
    Ok(n)
}

fn main() -> Outcome {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("child") {
        return child(Path::new(&args.next().ok_or("child needs a directory")?));
    }
    let dir = tempfile::tempdir()?;

    // 1. kill -9 in the middle of durable appends.
    let mut proc = Command::new(std::env::current_exe()?)
        .arg("child")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(proc.stdout.take().ok_or("no pipe")?).lines();
    let mut acked = 0u64;
    while acked < 500 {
        acked = lines.next().ok_or("child ended early")??.parse()?;
    }
    proc.kill()?;
    proc.wait()?;
    // Acknowledgements already in the pipe count too.
    for line in lines {
        acked = acked.max(line?.parse()?);
    }
    let wal = Wal::open(dir.path(), opts())?;
    let report = wal.recovery_report().clone();
    println!("killed the child after {acked} acknowledged appends");
    println!(
        "reopened: {} entries; report: {} segments scanned, cuts {:?}",
        wal.last_index(),
        report.segments_scanned,
        report.cuts
    );
    let n = verify(&wal)?;
    check(n >= acked, "every acknowledged entry survived the kill")?;
    println!("ok: all {acked} acknowledged entries present ({n} in the log)");
    let entries = wal.last_index();
    let tail = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .max()
        .ok_or("no segment")?;
    wal.close()?;

    // 2. A torn write: power loss kept only part of the last frame.
    let bytes = std::fs::read(&tail)?;
    let end = bytes.iter().rposition(|&b| b != 0).ok_or("empty segment")? + 1;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&tail)?
        .set_len((end - 10) as u64)?;
    let wal = Wal::open(dir.path(), opts())?;
    let cut = wal
        .recovery_report()
        .cuts
        .first()
        .cloned()
        .ok_or("the torn tail was not reported")?;
    println!(
        "torn tail: cut {} bytes at offset {} of {} ({}); kept in {:?}",
        cut.bytes,
        cut.offset,
        cut.segment.display(),
        cut.reason,
        wal.recovery_report().quarantined
    );
    // The cut takes the torn frame only: at most the last entry.
    check(
        (entries - 1..=entries).contains(&wal.last_index()) && verify(&wal)? == wal.last_index(),
        "after the cut the log is every entry but at most the torn one",
    )?;
    let seq = wal.last_index();
    let next = wal.append(&Record {
        seq,
        data: vec![(seq % 251) as u8; 100 + (seq % 300) as usize],
    })?;
    println!("appending continues at index {next}");
    wal.close()?;
    check(
        Wal::open(dir.path(), opts())?.recovery_report().is_clean(),
        "the second reopen is clean",
    )?;

    // 3. Damage to acknowledged data is refused, not truncated.
    let first = dir.path().join("00000000000000000001.wal");
    let mut bytes = std::fs::read(&first)?;
    bytes[300] ^= 0x40;
    std::fs::write(&first, &bytes)?;
    match Wal::open(dir.path(), opts()) {
        Err(e @ Error::Corruption { .. }) => println!("damaged byte 300: open refused: {e}"),
        other => return Err(format!("expected a corruption error, got {other:?}").into()),
    }
    let salvage = Wal::open(dir.path(), opts().recovery(RecoveryMode::Salvage))?;
    let readable = salvage.iter()?.flatten().count() as u64;
    println!("salvage mode (read-only) still reads {readable} entries");
    // One entry's frame holds byte 300: every other one comes back, and the skip is reported.
    check(
        readable == next - 1 && !salvage.recovery_report().cuts.is_empty(),
        "salvage reads every undamaged entry and reports the damage",
    )?;
    println!("ok");
    Ok(())
}
