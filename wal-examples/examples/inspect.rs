//! Your own log inspector in three lines: `wal_cli::run::<YourEntry>()` is the `wal` tool
//! with payloads decoded by your entry type and types named by it.
//!
//! Run with arguments, it is that inspector (`inspect dump DIR`, `inspect stats DIR`, …).
//! Run without, it writes a small log, runs itself on it as an operator would, and checks
//! that entries come out decoded and types named.
use std::process::{Command, ExitCode};

use wal_core::{Options, Wal, WalEntry};

#[derive(WalEntry, Debug, PartialEq)]
enum Op {
    #[wal(type_id = 1)]
    Put { key: String, value: Vec<u8> },
    #[wal(type_id = 2)]
    Delete { key: String },
}

fn main() -> ExitCode {
    if std::env::args_os().len() > 1 {
        // The three lines: this is the whole inspector.
        return wal_cli::run::<Op>();
    }
    match demo() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("inspect: {e}");
            ExitCode::FAILURE
        }
    }
}

fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), Options::default())?;
    for k in 0..5 {
        wal.append(&Op::Put {
            key: format!("user:{k}"),
            value: vec![k; 3],
        })?;
    }
    wal.append(&Op::Delete {
        key: "user:2".into(),
    })?;
    wal.close()?;
    let me = std::env::current_exe()?;
    let run = |args: &[&str]| -> Result<String, Box<dyn std::error::Error>> {
        let out = Command::new(&me).args(args).arg(dir.path()).output()?;
        if !out.status.success() {
            return Err(format!(
                "inspect {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(String::from_utf8(out.stdout)?)
    };
    let dump = run(&["dump", "--type", "Delete"])?;
    print!("$ inspect dump --type Delete DIR\n{dump}");
    if !dump.contains(r#"#6  type 2 (Delete)  10 B  Delete { key: "user:2" }"#)
        || dump.lines().count() != 1
    {
        return Err("dump did not show the Delete entry decoded".into());
    }
    let stats = run(&["stats"])?;
    print!("$ inspect stats DIR\n{stats}");
    if !stats.contains("1 (Put)") || !stats.contains("2 (Delete)") {
        return Err("stats did not name the types".into());
    }
    let verify = run(&["verify"])?;
    print!("$ inspect verify DIR\n{verify}");
    println!("ok: entries shown decoded and types named by the application's own enum");
    Ok(())
}
