use wal_core::WalEntry;

#[derive(WalEntry)]
struct Event {
    id: u64,
}

fn main() {}
