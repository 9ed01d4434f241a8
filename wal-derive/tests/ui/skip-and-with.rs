use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = 1)]
struct Event {
    #[wal(skip, with = "codec")]
    cache: Vec<u8>,
}

fn main() {}
