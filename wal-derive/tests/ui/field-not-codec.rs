use wal_core::WalEntry;

struct NotEncodable;

#[derive(WalEntry)]
#[wal(type_id = 1)]
struct Event {
    inner: NotEncodable,
}

fn main() {}
