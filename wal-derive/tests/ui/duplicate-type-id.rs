use wal_core::WalEntry;

#[derive(WalEntry)]
enum Op {
    #[wal(type_id = 1)]
    Put(String),
    #[wal(type_id = 2)]
    Get(String),
    #[wal(type_id = 1)]
    Delete(String),
}

fn main() {}
