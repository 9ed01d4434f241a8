use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = 1, skip)]
struct Event(u8);

fn main() {}
