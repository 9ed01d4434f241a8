use wal_core::WalCodec;

#[derive(WalCodec)]
#[wal(type_id = 1)]
struct Point(f32, f32);

fn main() {}
