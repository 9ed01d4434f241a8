use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = 1)]
struct Event {
    #[wal(each)]
    tags: Vec<String>,
}

#[derive(WalEntry)]
#[wal(type_id = 2)]
struct Other {
    #[wal(with = "m", each)]
    tag: String,
}

mod m {}

fn main() {}
