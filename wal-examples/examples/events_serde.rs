//! Event sourcing with the types an application already has: events deriving serde's
//! `Serialize`/`Deserialize`, with nested structs, ids and timestamps from crates.io-style
//! newtypes, appended as postcard with lz4 compression, replayed typed. Prints the bytes on
//! disk with and without compression, and checks the replay.
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use wal_core::{Compression, Options, Wal, WalEntry};
use wal_examples::{Outcome, check};

/// An id as `uuid::Uuid` holds one: 16 bytes.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
struct Id([u8; 16]);

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Line {
    sku: String,
    quantity: u32,
    cents: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Address {
    street: String,
    city: String,
    country: String,
}

#[derive(WalEntry, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[wal(serde = postcard)]
enum OrderEvent {
    #[wal(type_id = 1)]
    Placed {
        order: Id,
        at: SystemTime,
        customer: String,
        lines: Vec<Line>,
        ship_to: Address,
    },
    #[wal(type_id = 2)]
    Shipped {
        order: Id,
        at: SystemTime,
        carrier: String,
    },
    #[wal(type_id = 3)]
    Cancelled { order: Id, reason: String },
}

fn events(n: u64) -> Vec<OrderEvent> {
    (0..n)
        .map(|i| {
            let order = Id((u128::from(i) * 0x9e37_79b9_7f4a_7c15).to_le_bytes());
            let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i * 60);
            match i % 5 {
                4 => OrderEvent::Cancelled {
                    order,
                    reason: "customer changed their mind about the colour".into(),
                },
                3 => OrderEvent::Shipped {
                    order,
                    at,
                    carrier: "Parcel Express Europe".into(),
                },
                _ => OrderEvent::Placed {
                    order,
                    at,
                    customer: format!("customer-{:05}@example.com", i % 977),
                    lines: (0..=i % 12)
                        .map(|k| Line {
                            sku: format!("SKU-{:04}-BLUE-MEDIUM", (i + k) % 300),
                            quantity: 1 + (k % 3) as u32,
                            cents: 1999 + 100 * k,
                        })
                        .collect(),
                    ship_to: Address {
                        street: format!("{} Market Street", 1 + i % 400),
                        city: "San Francisco".into(),
                        country: "United States".into(),
                    },
                },
            }
        })
        .collect()
}

fn bytes_on_disk(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.path().extension().is_some_and(|x| x == "wal") {
            // Preallocated space is not data: count up to the last byte written.
            let bytes = std::fs::read(e.path())?;
            total += bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1) as u64;
        }
    }
    Ok(total)
}

fn write(dir: &Path, compression: Option<Compression>, all: &[OrderEvent]) -> Outcome {
    let wal = Wal::open(
        dir,
        Options::default()
            .compression(compression)
            .compress_above(256),
    )?;
    wal.append_batch(all)?;
    wal.close()?;
    Ok(())
}

#[expect(clippy::cast_precision_loss, reason = "a ratio")]
fn main() -> Outcome {
    let all = events(5_000);
    let plain = tempfile::tempdir()?;
    let packed = tempfile::tempdir()?;
    write(plain.path(), None, &all)?;
    write(packed.path(), Some(Compression::Lz4), &all)?;
    let (p, c) = (bytes_on_disk(plain.path())?, bytes_on_disk(packed.path())?);
    println!(
        "{} events: {p} bytes on disk as postcard, {c} with lz4 ({:.2}x smaller)",
        all.len(),
        p as f64 / c as f64
    );

    let wal = Wal::open(packed.path(), Options::default())?;
    let mut replayed = Vec::new();
    wal.replay(|_, e: OrderEvent| replayed.push(e))?;
    check(
        replayed == all,
        "every event replays typed, equal to what was appended",
    )?;
    let cancelled = wal
        .iter_as::<OrderEvent>(1)?
        .filter(|r| matches!(r, Ok((_, OrderEvent::Cancelled { .. }))))
        .count();
    check(cancelled == 1_000, "a fifth of the orders were cancelled")?;
    check(c < p, "compression saved space")?;
    println!(
        "ok: {} events replayed from the compressed log",
        replayed.len()
    );
    Ok(())
}
