use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = "one")]
struct Event(u8);

fn main() {}
