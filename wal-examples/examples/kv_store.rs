//! A key/value store rebuilt from its log on restart (`FlashLogGo`, `gowal`), with lazy
//! iteration that skips a type of entry without decoding it.
use std::collections::BTreeMap;
use std::path::Path;

use wal_core::{Options, SyncPolicy, Wal, WalEntry};
use wal_examples::{Outcome, check};

#[derive(WalEntry, Debug)]
enum KvOp {
    #[wal(type_id = 1)]
    Put { key: String, value: Vec<u8> },
    #[wal(type_id = 2)]
    Delete { key: String },
    /// Bulky diagnostics the store itself never needs to read back.
    #[wal(type_id = 3, ignorable)]
    Audit { note: String, blob: Vec<u8> },
}

struct Store {
    wal: Wal,
    map: BTreeMap<String, Vec<u8>>,
}

impl Store {
    /// Opens the store and rebuilds its map from the log, decoding only Put and Delete.
    fn open(dir: &Path) -> wal_core::Result<(Self, usize)> {
        let wal = Wal::open(dir, Options::default().sync(SyncPolicy::Always))?;
        let mut map = BTreeMap::new();
        let mut skipped = 0;
        for raw in wal.iter()? {
            let raw = raw?;
            if raw.type_id() == KvOp::TYPE_IDS[2] {
                skipped += 1; // skipped by its type byte: its payload is never decoded
                continue;
            }
            match raw.decode::<KvOp>()? {
                KvOp::Put { key, value } => {
                    map.insert(key, value);
                }
                KvOp::Delete { key } => {
                    map.remove(&key);
                }
                KvOp::Audit { .. } => unreachable!("skipped above"),
            }
        }
        Ok((Self { wal, map }, skipped))
    }

    fn put(&mut self, key: &str, value: &[u8]) -> wal_core::Result<()> {
        self.wal.append(&KvOp::Put {
            key: key.into(),
            value: value.to_vec(),
        })?;
        self.map.insert(key.into(), value.to_vec());
        Ok(())
    }

    fn delete(&mut self, key: &str) -> wal_core::Result<()> {
        self.wal.append(&KvOp::Delete { key: key.into() })?;
        self.map.remove(key);
        Ok(())
    }
}

fn main() -> Outcome {
    let dir = tempfile::tempdir()?;
    let (mut store, _) = Store::open(dir.path())?;
    for i in 0..100 {
        store.put(
            &format!("user:{i:03}"),
            format!("{{\"visits\": {i}}}").as_bytes(),
        )?;
        if i % 10 == 0 {
            store.wal.append(&KvOp::Audit {
                note: format!("checkpoint {i}"),
                blob: vec![0; 4096],
            })?;
        }
    }
    for i in (0..100).step_by(3) {
        store.delete(&format!("user:{i:03}"))?;
    }
    store.put("user:001", b"{\"visits\": 1000}")?;
    let before = store.map.clone();
    println!(
        "before restart: {} keys, {} log entries",
        before.len(),
        store.wal.last_index()
    );
    store.wal.close()?;

    let (store, skipped) = Store::open(dir.path())?;
    println!(
        "after restart: {} keys rebuilt; {skipped} audit entries skipped undecoded",
        store.map.len()
    );
    println!(
        "user:001 = {}",
        String::from_utf8_lossy(&store.map["user:001"])
    );
    check(
        store.map == before,
        "the rebuilt map equals the map before restart",
    )?;
    check(skipped == 10, "all 10 audit entries were skipped")?;
    check(
        !store.map.contains_key("user:003"),
        "deleted keys stay deleted",
    )?;
    println!("ok: state rebuilt from the log");
    Ok(())
}
