use serde::{Deserialize, Serialize};
use wal_core::WalEntry;

#[derive(WalEntry, Serialize, Deserialize)]
#[wal(type_id = 1, serde = json)]
struct Event {
    id: u64,
    #[wal(default)]
    note: Option<String>,
}

fn main() {}
