//! JSON-encoded CREATE/UPDATE/DELETE operations replayed into a map (mhmeteren/wal): the
//! payload may be any encoding; here a hand-written `Entry` uses `serde_json`.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use wal_core::{DecodeError, EncodeError, Entry, Options, SyncPolicy, Wal};
use wal_examples::{Outcome, check};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "op", rename_all = "UPPERCASE")]
enum JsonOp {
    Create {
        id: String,
        doc: serde_json::Value,
    },
    Update {
        id: String,
        field: String,
        value: serde_json::Value,
    },
    Delete {
        id: String,
    },
}

impl Entry for JsonOp {
    const TYPE_IDS: &'static [u8] = &[1];

    fn type_id(&self) -> u8 {
        1
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        serde_json::to_writer(out, self).map_err(EncodeError::new)
    }

    fn decode(_: u8, payload: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(payload).map_err(DecodeError::custom)
    }
}

fn apply(map: &mut HashMap<String, serde_json::Value>, op: JsonOp) {
    match op {
        JsonOp::Create { id, doc } => {
            map.insert(id, doc);
        }
        JsonOp::Update { id, field, value } => {
            if let Some(doc) = map.get_mut(&id) {
                doc[field] = value;
            }
        }
        JsonOp::Delete { id } => {
            map.remove(&id);
        }
    }
}

fn main() -> Outcome {
    let dir = tempfile::tempdir()?;
    let ops = vec![
        JsonOp::Create {
            id: "u1".into(),
            doc: serde_json::json!({"name": "Ada", "age": 36}),
        },
        JsonOp::Create {
            id: "u2".into(),
            doc: serde_json::json!({"name": "Alan", "age": 41}),
        },
        JsonOp::Update {
            id: "u1".into(),
            field: "age".into(),
            value: serde_json::json!(37),
        },
        JsonOp::Delete { id: "u2".into() },
        JsonOp::Create {
            id: "u3".into(),
            doc: serde_json::json!({"name": "Grace", "tags": ["navy", "cobol"]}),
        },
    ];
    let wal = Wal::open(dir.path(), Options::default().sync(SyncPolicy::Always))?;
    let mut live = HashMap::new();
    for op in &ops {
        wal.append(op)?;
        apply(&mut live, op.clone());
    }
    wal.close()?;

    let wal = Wal::open(dir.path(), Options::default())?;
    let first = wal.iter()?.next().ok_or("empty log")??;
    println!(
        "entry 1 on disk: {}",
        String::from_utf8_lossy(first.payload())
    );
    let mut rebuilt = HashMap::new();
    wal.replay(|_, op: JsonOp| apply(&mut rebuilt, op))?;
    let mut ids: Vec<_> = rebuilt.keys().cloned().collect();
    ids.sort();
    println!(
        "replayed {} JSON operations into {} documents: {ids:?}",
        wal.last_index(),
        rebuilt.len()
    );
    println!("u1 = {}", rebuilt["u1"]);
    check(rebuilt == live, "the replayed map equals the live one")?;
    check(rebuilt["u1"]["age"] == 37, "the update was applied")?;
    println!("ok");
    Ok(())
}
