use wal_core::WalCodec;

mod checked {
    pub fn encode(v: &u32, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    pub fn decode(r: &mut wal_core::codec::Reader<'_>) -> Result<u32, wal_core::DecodeError> {
        <u32 as wal_core::Codec>::decode(r)
    }
}

#[derive(WalCodec)]
struct Inner {
    #[wal(with = "checked")]
    value: u32,
}

fn main() {}
