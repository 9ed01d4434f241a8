use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = 0)]
struct Event(u8);

fn main() {}
