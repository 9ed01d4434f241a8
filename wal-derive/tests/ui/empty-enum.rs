use wal_core::WalEntry;

#[derive(WalEntry)]
enum Nothing {}

fn main() {}
