use wal_core::WalEntry;

#[derive(WalEntry)]
enum Op {
    #[wal(type_id = 0)]
    A,
    #[wal(type_id = 2, colour = "red")]
    B,
    C,
    #[wal(type_id = 2)]
    D,
}

fn main() {}
