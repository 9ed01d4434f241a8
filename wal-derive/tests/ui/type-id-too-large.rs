use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = 256)]
struct Event(u8);

fn main() {}
