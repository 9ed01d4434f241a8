//! `wal` run as an operator runs it, on logs the tests build: clean, empty, with a torn
//! tail, with a flipped byte in a sealed segment, with a missing segment, not a log, and
//! one a writer is appending to meanwhile.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use assert_cmd::Command;
use wal_core::{Options, Wal, WalEntry};

#[derive(WalEntry, Debug, PartialEq)]
#[wal(type_id = 7)]
struct Note {
    text: String,
}

/// Runs `wal ARGS DIR`: exit code, stdout, stderr.
fn wal(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::cargo_bin("wal")
        .unwrap()
        .args(args.iter().map(OsStr::new))
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn opts() -> Options {
    Options::default().segment_size(4096)
}

fn note(k: u64) -> Note {
    Note {
        text: format!("note {k}"),
    }
}

/// A log of `n` notes in 4 KiB segments, closed.
fn log(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), opts()).unwrap();
    for k in 1..=n {
        wal.append(&note(k)).unwrap();
    }
    wal.close().unwrap();
    dir
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    v.sort();
    v
}

#[test]
fn info_dump_stats_and_verify_on_a_clean_log() {
    let dir = log(300);
    let (code, info, _) = wal(&["info"], dir.path());
    assert_eq!(code, 0);
    assert!(info.contains("entries    300 (indexes 1..=300)"), "{info}");
    assert!(info.contains("format     version 1"), "{info}");
    assert!(
        info.contains(" sealed\n") && info.contains(" open\n"),
        "{info}"
    );
    assert!(info.contains("recovery   nothing to do"), "{info}");

    let (code, dump, _) = wal(&["dump", "--from", "10", "--limit", "3"], dir.path());
    assert_eq!(code, 0);
    assert_eq!(
        dump,
        "#10  type 7  11 B  \\x07\\x00\\x00\\x00note 10\n#11  type 7  11 B  \\x07\\x00\\x00\\x00note 11\n#12  type 7  11 B  \\x07\\x00\\x00\\x00note 12\n"
    );
    let (_, json, _) = wal(&["dump", "--to", "1", "--format", "json"], dir.path());
    let line: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(
        (line["index"].as_u64(), line["type"].as_u64()),
        (Some(1), Some(7))
    );
    assert_eq!(line["payload"], "BgAAAG5vdGUgMQ==");
    let (_, hex, _) = wal(&["dump", "--to", "1", "--format", "hex"], dir.path());
    assert!(
        hex.contains("00000000  06 00 00 00 6e 6f 74 65 20 31"),
        "{hex}"
    );
    let (_, none, _) = wal(&["dump", "--type", "3"], dir.path());
    assert!(none.is_empty(), "{none}");

    let (code, stats, _) = wal(&["stats"], dir.path());
    assert_eq!(code, 0);
    assert!(stats.starts_with("300 entries, "), "{stats}");
    assert!(stats.contains("\n  7   "), "{stats}");
    assert!(stats.contains("payload size: p50 12 B"), "{stats}");

    let (code, verify, err) = wal(&["verify"], dir.path());
    assert_eq!(code, 0, "{verify}");
    assert!(verify.starts_with("ok: "), "{verify}");
    assert!(err.is_empty(), "nothing on stderr when piped: {err}");
}

#[test]
fn stats_output_is_stable() {
    let dir = log(300);
    let (code, stats, _) = wal(&["stats"], dir.path());
    assert_eq!(code, 0);
    let names: Vec<String> = segments(dir.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let head = "300 entries, 3492 payload bytes

by type:
  type                          entries          bytes   share
  7                                 300           3492  100.0%

payload size: p50 12 B, p90 12 B, p99 12 B, max 12 B

by segment:
";
    assert!(stats.starts_with(head), "{stats}");
    let rows: Vec<&str> = stats[head.len()..].lines().collect();
    assert_eq!(rows.len(), names.len());
    for (row, name) in rows.iter().zip(&names) {
        assert!(row.starts_with(&format!("  {name}  ")), "{row}");
    }
}

/// A log of 300 entries with a bit flipped in its first, sealed segment: the log and that
/// segment's file.
fn damaged_log() -> (tempfile::TempDir, PathBuf) {
    let dir = log(300);
    let first = segments(dir.path()).remove(0);
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[300] ^= 0x01;
    std::fs::write(&first, &bytes).unwrap();
    (dir, first)
}

/// On a damaged log, `stats` counts past the damage: each segment's row has the entries
/// that could be read in it (they add up to the total) and the same bytes and state as
/// `info` gives it.
#[test]
fn stats_on_a_damaged_log_agree_with_info_segment_by_segment() {
    let (dir, _) = damaged_log();
    let (code, stats, _) = wal(&["stats"], dir.path());
    assert_eq!(code, 0, "{stats}");
    assert!(stats.starts_with("damaged: "), "{stats}");
    let total: u64 = stats
        .lines()
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((290..300).contains(&total), "{stats}");
    let rows: Vec<Vec<&str>> = stats
        .lines()
        .skip_while(|l| *l != "by segment:")
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let counted: u64 = rows.iter().map(|r| r[1].parse::<u64>().unwrap()).sum();
    assert_eq!(counted, total, "{stats}");
    let (_, info, _) = wal(&["info"], dir.path());
    let described: Vec<Vec<&str>> = info
        .lines()
        .filter(|l| l.trim_start().ends_with("sealed") || l.trim_start().ends_with("open"))
        .filter(|l| l.contains(".wal"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), described.len(), "{info}");
    for (row, d) in rows.iter().zip(&described) {
        // Name, bytes and state; info: name seq N indexes A..=B BYTES bytes STATE.
        assert_eq!(
            (row[0], row[3], row[5]),
            (d[0], d[5], d[7]),
            "{stats}\n{info}"
        );
    }
}

#[test]
fn an_empty_log_and_a_directory_that_is_not_a_log() {
    let dir = log(0);
    let (code, info, _) = wal(&["info"], dir.path());
    assert_eq!(code, 0);
    assert!(info.contains("entries    0 (indexes 1..=0)"), "{info}");
    let (code, dump, _) = wal(&["dump"], dir.path());
    assert_eq!((code, dump.as_str()), (0, ""));
    assert_eq!(wal(&["verify"], dir.path()).0, 0);

    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), b"hello").unwrap();
    let (code, _, err) = wal(&["info"], other.path());
    assert_eq!(code, 2);
    assert!(
        err.contains("not a wal-core log") && err.lines().count() == 1,
        "{err}"
    );
    let (code, _, err) = wal(&["info"], &other.path().join("missing"));
    assert_eq!(code, 2);
    assert!(err.contains("no such directory"), "{err}");
    let (code, _, err) = wal(&["info"], &other.path().join("notes.txt"));
    assert_eq!(code, 2);
    assert!(err.contains("not a directory"), "{err}");
}

#[test]
fn a_torn_tail_is_reported_and_left_alone() {
    let dir = log(20);
    let tail = segments(dir.path()).pop().unwrap();
    let (_, info, _) = wal(&["info"], dir.path());
    let bytes = std::fs::read(&tail).unwrap();
    // A frame header cut short where the next frame would start: a crash mid-write.
    let end = Wal::open_read_only(dir.path(), opts())
        .unwrap()
        .segments()
        .last()
        .unwrap()
        .bytes;
    let mut torn = bytes.clone();
    torn[usize::try_from(end).unwrap()..][..6].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x20, 0]);
    std::fs::write(&tail, &torn).unwrap();
    let (code, info2, _) = wal(&["info"], dir.path());
    assert_eq!(code, 0);
    assert!(info.contains("nothing to do"), "{info}");
    assert!(info2.contains("recovery   would cut"), "{info2}");
    let (code, dump, _) = wal(&["dump"], dir.path());
    assert_eq!(code, 0);
    assert_eq!(dump.lines().count(), 20);
    assert_eq!(
        std::fs::read(&tail).unwrap(),
        torn,
        "the inspector changed the file"
    );
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_is_named_by_verify_and_salvage_copies_the_rest() {
    let (dir, first) = damaged_log();
    let (code, verify, _) = wal(&["verify"], dir.path());
    assert_eq!(code, 1, "{verify}");
    let name = first.file_name().unwrap().to_string_lossy().into_owned();
    let damage: Vec<&str> = verify
        .lines()
        .filter(|l| l.starts_with("damage: "))
        .collect();
    assert!(!damage.is_empty(), "{verify}");
    assert!(
        damage[0].contains(&name) && damage[0].contains("at offset"),
        "{verify}"
    );

    // Reading through it stops at the damage with the place named.
    let (code, _, err) = wal(&["dump"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains(&name), "{err}");

    let to = dir.path().with_extension("salvaged");
    let out = Command::cargo_bin("wal")
        .unwrap()
        .arg("salvage")
        .arg(dir.path())
        .arg("--to")
        .arg(&to)
        .output()
        .unwrap();
    let report = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(
        report.contains("skipped: ") && report.contains(&name),
        "{report}"
    );
    let salvaged = Wal::open(&to, opts()).unwrap();
    let copied = salvaged.last_index();
    assert!((290..300).contains(&copied), "{report}");
    assert_eq!(salvaged.get::<Note>(copied).unwrap(), note(300));
    assert_eq!(wal(&["verify"], &to).0, 0);
    // Never in place, never over a log.
    let (code, _, err) = wal(&["salvage", "--to", to.to_str().unwrap()], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("not empty"), "{err}");
    std::fs::remove_dir_all(&to).unwrap();
}

#[test]
fn a_missing_segment_refuses_the_open_in_one_line_and_verify_names_it() {
    let dir = log(300);
    let segs = segments(dir.path());
    std::fs::remove_file(&segs[1]).unwrap();
    let (code, _, err) = wal(&["info"], dir.path());
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("wal: "), "{err}");
    let (code, verify, _) = wal(&["verify"], dir.path());
    assert_eq!(code, 1, "{verify}");
    assert!(verify.contains("damage: "), "{verify}");
}

/// A thread appending notes 11, 12, … to the log in `dir` (opened with `opts`), one per
/// `pause`, until `stop` is set; it returns the last index it appended.
fn writer(
    dir: &Path,
    opts: Options,
    pause: std::time::Duration,
) -> (Arc<AtomicBool>, std::thread::JoinHandle<u64>) {
    let (dir, stop) = (dir.to_path_buf(), Arc::new(AtomicBool::new(false)));
    let flag = Arc::clone(&stop);
    let handle = std::thread::spawn(move || {
        let wal = Wal::open(&dir, opts).unwrap();
        let mut k = 11;
        while !flag.load(Ordering::Relaxed) {
            wal.append(&note(k)).unwrap();
            k += 1;
            std::thread::sleep(pause);
        }
        wal.close().unwrap();
        k - 1
    });
    (stop, handle)
}

#[test]
fn dump_verify_and_follow_beside_a_writer() {
    let dir = log(10);
    let (stop, writer) = writer(dir.path(), opts(), std::time::Duration::from_micros(300));
    let (code, follow, err) = wal(
        &[
            "follow",
            "--from",
            "1",
            "--limit",
            "200",
            "--interval-ms",
            "20",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    let indexes: Vec<u64> = follow
        .lines()
        .map(|l| l[1..l.find(' ').unwrap()].parse().unwrap())
        .collect();
    assert_eq!(indexes, (1..=200).collect::<Vec<_>>());
    for _ in 0..5 {
        let (code, dump, err) = wal(&["dump"], dir.path());
        assert_eq!(code, 0, "{err}");
        assert!(dump.lines().count() >= 200);
        let (code, verify, err) = wal(&["verify"], dir.path());
        assert_eq!(code, 0, "{verify}{err}");
    }
    stop.store(true, Ordering::Relaxed);
    let last = writer.join().unwrap();
    let (_, info, _) = wal(&["info"], dir.path());
    assert!(info.contains(&format!("(indexes 1..={last})")), "{info}");
}

#[test]
fn help_has_examples_for_every_subcommand() {
    for sub in ["info", "dump", "stats", "verify", "follow", "salvage"] {
        let out = Command::cargo_bin("wal")
            .unwrap()
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains("Example"), "{sub}: {help}");
    }
}

#[test]
fn a_log_of_a_newer_format_version_is_refused_in_one_line() {
    let dir = log(5);
    let seg = segments(dir.path()).remove(0);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    std::fs::write(&seg, &bytes).unwrap();
    for cmd in ["info", "dump", "stats", "verify"] {
        let (code, _, err) = wal(&[cmd], dir.path());
        assert_eq!(code, 2, "{cmd}: {err}");
        assert_eq!(err.lines().count(), 1, "{cmd}: {err}");
        assert!(
            err.contains("version 2") && err.contains(&*seg.to_string_lossy()),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn info_and_follow_keep_working_while_retention_removes_segments() {
    let dir = log(10);
    let (stop, writer) = writer(
        dir.path(),
        opts().max_segments(Some(3)),
        std::time::Duration::from_micros(100),
    );
    for _ in 0..20 {
        let (code, info, err) = wal(&["info"], dir.path());
        assert_eq!(code, 0, "{info}{err}");
    }
    let (code, follow, err) = wal(
        &["follow", "--limit", "300", "--interval-ms", "10"],
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    let indexes: Vec<u64> = follow
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l[1..l.find(' ').unwrap()].parse().unwrap())
        .collect();
    assert_eq!(indexes.len(), 300);
    assert!(indexes.windows(2).all(|w| w[0] < w[1]), "in order");
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}
