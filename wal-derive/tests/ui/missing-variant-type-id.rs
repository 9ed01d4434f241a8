use wal_core::WalEntry;

#[derive(WalEntry)]
enum Op {
    #[wal(type_id = 1)]
    Put(String),
    Delete(String),
}

fn main() {}
