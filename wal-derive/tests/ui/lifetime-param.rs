use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = 1)]
struct Borrowed<'a> {
    name: &'a str,
}

fn main() {}
