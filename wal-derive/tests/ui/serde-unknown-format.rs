use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = 1, serde = yaml)]
struct Event {
    id: u64,
}

fn main() {}
