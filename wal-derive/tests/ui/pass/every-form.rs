use wal_core::{Entry, WalCodec, WalEntry};

#[derive(WalCodec)]
struct Inner<T> {
    value: T,
}

#[derive(WalEntry)]
#[wal(type_id = 255, ignorable, crate = "::wal_core")]
struct Wrapped<T>(Inner<T>, #[wal(skip)] Option<T>);

#[derive(WalEntry)]
enum Op {
    #[wal(type_id = 1)]
    Unit,
    #[wal(type_id = 2)]
    Tuple(u8, #[wal(default)] u16),
    #[wal(type_id = 3, ignorable)]
    Named { a: Vec<u8>, #[wal(default)] b: Option<String> },
}

fn main() {
    let _ = Wrapped::<u32>::TYPE_ID;
    let _ = <Wrapped<String> as Entry>::TYPE_IDS;
    let _ = Op::registry();
    let _ = (Op::Unit, Op::Tuple(1, 2), Op::Named { a: vec![], b: None });
}
