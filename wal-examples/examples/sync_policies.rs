//! One workload under each sync policy: the measured rate, and what each promises after a
//! power loss. `-- --appends N --durable M` sets the counts (M for `Always`).
use std::sync::Arc;
use std::time::{Duration, Instant};

use wal_core::{Options, SyncPolicy, Wal, WalEntry};
use wal_examples::{Outcome, check};

#[derive(WalEntry)]
#[wal(type_id = 1)]
struct Payload(#[wal(with = "raw")] Vec<u8>);

/// The 100 bytes are written as they are, with no length prefix.
mod raw {
    pub fn encode(v: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(v);
    }
    pub fn decode(r: &mut wal_core::Reader<'_>) -> Result<Vec<u8>, wal_core::DecodeError> {
        Ok(r.take(r.remaining())?.to_vec())
    }
}

fn arg(name: &str, default: u64) -> Result<u64, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args.get(i + 1).ok_or("missing value")?.parse()?),
        None => Ok(default),
    }
}

fn main() -> Outcome {
    let appends = arg("--appends", 200_000)?;
    let durable = arg("--durable", 2_000)?;
    let policies = [
        (
            SyncPolicy::Always,
            durable,
            "acknowledged = durable: survives power loss",
        ),
        (
            SyncPolicy::Batch {
                max_delay: Duration::from_millis(5),
                max_bytes: 1 << 20,
            },
            appends,
            "may lose up to 5 ms or 1 MiB of acknowledged entries",
        ),
        (
            SyncPolicy::Interval(Duration::from_millis(10)),
            appends,
            "may lose the last 10 ms of acknowledged entries",
        ),
        (
            SyncPolicy::Never,
            appends,
            "may lose anything not covered by sync()/close(); a prefix survives",
        ),
    ];
    let payload = Payload(vec![0x5a; 100]);
    println!(
        "{:<60} {:>9} {:>14} {:>10}",
        "policy", "appends", "appends/s", "MB/s"
    );
    for (policy, n, promise) in policies {
        let dir = tempfile::tempdir()?;
        let wal = Arc::new(Wal::open(dir.path(), Options::default().sync(policy))?);
        let start = Instant::now();
        for _ in 0..n {
            wal.append(&payload)?;
        }
        wal.sync()?;
        let secs = start.elapsed().as_secs_f64();
        #[expect(clippy::cast_precision_loss, reason = "a rate to print")]
        let rate = n as f64 / secs;
        println!(
            "{:<60} {n:>9} {rate:>14.0} {:>10.1}",
            format!("{policy:?}"),
            rate * 100.0 / 1e6
        );
        println!("    {promise}");
        check(wal.durable_index() == n, "sync() made every entry durable")?;
        drop(wal);
        let reopened = Wal::open(dir.path(), Options::default())?;
        check(
            reopened.last_index() == n,
            "every entry is there after reopening",
        )?;
    }
    println!("ok");
    Ok(())
}
