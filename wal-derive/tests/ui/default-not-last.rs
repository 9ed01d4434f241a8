use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = 1)]
struct Event {
    id: u64,
    #[wal(default)]
    note: String,
    count: u32,
}

fn main() {}
