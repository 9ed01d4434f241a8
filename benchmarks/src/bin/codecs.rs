//! Compression and entry formats on a realistic payload: JSON-like events of 300 to 2,000
//! bytes with repetition, 100,000 of them.
//!
//! - Bytes on disk per entry, appends/s (`SyncPolicy::Never`, one sync) and replay
//!   entries/s for no compression, lz4 and zstd (level 3); each the median of `--runs`.
//! - Encode and decode cost per entry of the same event as `#[derive(WalEntry)]` (the
//!   crate's own `Codec`), as serde + postcard and as serde + JSON.
//!
//!   cargo run --release --bin codecs -- [--runs N] [--dir DIR]

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use wal_benchmarks::args::{Args, median};
use wal_core::{Compression, Entry, Options, SyncPolicy, Wal, WalEntry};

use wal_benchmarks::Result;

const N: u64 = 100_000;

#[derive(WalEntry, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[wal(type_id = 1)]
struct Event {
    id: u64,
    kind: String,
    customer: String,
    items: Vec<Item>,
    note: String,
}

#[derive(wal_core::WalCodec, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Item {
    sku: String,
    quantity: u32,
    cents: u64,
}

#[derive(WalEntry, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[wal(type_id = 2, serde = postcard)]
struct PostcardEvent(Event);

#[derive(WalEntry, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[wal(type_id = 3, serde = json)]
struct JsonEvent(Event);

fn event(i: u64) -> Event {
    Event {
        id: i,
        kind: ["order_placed", "order_shipped", "payment_captured"][(i % 3) as usize].into(),
        customer: format!("customer-{:05}@example.com", i % 977),
        items: (0..3 + i % 32)
            .map(|k| Item {
                sku: format!("SKU-{:04}-BLUE-MEDIUM", (i + k) % 300),
                quantity: 1 + (k % 3) as u32,
                cents: 1999 + 100 * k,
            })
            .collect(),
        note: "left at the front door; customer asked to ring twice".into(),
    }
}

/// The payload the log stores: the event as JSON text (what most event logs hold).
fn payload(i: u64) -> JsonEvent {
    JsonEvent(event(i))
}

fn on_disk(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "wal") {
            let bytes = std::fs::read(&p)?;
            total += bytes.iter().rposition(|&b| b != 0).map_or(0, |k| k + 1) as u64;
        }
    }
    Ok(total)
}

/// (appends/s, replay entries/s, bytes on disk per entry) with `codec`.
fn run(root: &Path, codec: Option<Compression>, events: &[JsonEvent]) -> Result<(f64, f64, f64)> {
    let tmp = tempfile::tempdir_in(root)?;
    let opts = Options::default()
        .sync(SyncPolicy::Never)
        .compression(codec);
    let start = Instant::now();
    let wal = Wal::open(tmp.path(), opts.clone())?;
    for e in events {
        wal.append(e)?;
    }
    wal.sync()?;
    let append = N as f64 / start.elapsed().as_secs_f64();
    wal.close()?;
    let wal = Wal::open(tmp.path(), opts)?;
    let start = Instant::now();
    let mut n = 0u64;
    wal.replay(|_, e: JsonEvent| n += e.0.id.min(1))?;
    let replay = N as f64 / start.elapsed().as_secs_f64();
    if n + 1 != N {
        return Err(format!("replayed {n}").into());
    }
    Ok((append, replay, on_disk(tmp.path())? as f64 / N as f64))
}

/// Nanoseconds per encode and per decode of `entries`.
fn codec_cost<E: Entry + PartialEq>(entries: &[E]) -> Result<(f64, f64, f64)> {
    let start = Instant::now();
    let mut bufs = Vec::with_capacity(entries.len());
    for e in entries {
        let mut out = Vec::new();
        e.encode(&mut out)?;
        bufs.push(out);
    }
    let enc = start.elapsed().as_secs_f64() * 1e9 / entries.len() as f64;
    let start = Instant::now();
    for (b, e) in bufs.iter().zip(entries) {
        let d = E::decode(e.type_id(), b)?;
        if &d != e {
            return Err("a value changed".into());
        }
    }
    let dec = start.elapsed().as_secs_f64() * 1e9 / entries.len() as f64;
    let size = bufs.iter().map(Vec::len).sum::<usize>() as f64 / entries.len() as f64;
    Ok((enc, dec, size))
}

fn main() -> Result<()> {
    let Args {
        runs, dir: root, ..
    } = Args::parse()?;
    let events: Vec<JsonEvent> = (0..N).map(payload).collect();
    let sizes: Vec<usize> = events
        .iter()
        .map(|e| {
            let mut out = Vec::new();
            e.encode(&mut out).map(|()| out.len())
        })
        .collect::<std::result::Result<_, _>>()?;
    println!(
        "100,000 JSON events of {} to {} bytes (mean {:.0}), median of {runs}:\n",
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0),
        sizes.iter().sum::<usize>() as f64 / sizes.len() as f64
    );
    println!(
        "| compression | bytes on disk per entry | appends/s | replay entries/s | disk vs none | append time vs none |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut base = None;
    for (name, codec) in [
        ("none", None),
        ("lz4", Some(Compression::Lz4)),
        ("zstd (level 3)", Some(Compression::Zstd { level: 3 })),
    ] {
        let (mut a, mut r, mut d) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let (append, replay, disk) = run(&root, codec, &events)?;
            a.push(append);
            r.push(replay);
            d.push(disk);
        }
        let (a, r, d) = (median(a), median(r), median(d));
        let (bd, ba) = *base.get_or_insert((d, a));
        println!(
            "| {name} | {d:.0} | {a:.0} | {r:.0} | {:.2}x smaller | {:.2}x |",
            bd / d,
            ba / a
        );
    }
    let plain: Vec<Event> = (0..N).map(event).collect();
    let post: Vec<PostcardEvent> = plain.iter().cloned().map(PostcardEvent).collect();
    println!("\n| entry format | encode ns/entry | decode ns/entry | payload bytes |");
    println!("|---|---:|---:|---:|");
    let (e, d, s) = codec_cost(&plain)?;
    println!("| `#[derive(WalEntry)]` (Codec) | {e:.0} | {d:.0} | {s:.0} |");
    let (e, d, s) = codec_cost(&post)?;
    println!("| `serde = postcard` | {e:.0} | {d:.0} | {s:.0} |");
    let (e, d, s) = codec_cost(&events)?;
    println!("| `serde = json` | {e:.0} | {d:.0} | {s:.0} |");
    Ok(())
}
