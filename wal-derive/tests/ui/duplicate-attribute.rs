use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = 1)]
#[wal(type_id = 2)]
struct Event(u8);

fn main() {}
