use wal_core::WalEntry;

#[derive(WalEntry)]
#[wal(type_id = 1)]
union Bits {
    a: u32,
    b: f32,
}

fn main() {}
