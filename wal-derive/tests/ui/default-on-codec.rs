use wal_core::WalCodec;

#[derive(WalCodec)]
struct Point {
    x: f32,
    #[wal(default)]
    y: f32,
}

fn main() {}
