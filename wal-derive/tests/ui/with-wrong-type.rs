use wal_core::WalEntry;

mod as_text {
    pub fn encode(v: &String, out: &mut Vec<u8>) {
        out.extend_from_slice(v.as_bytes());
    }
    pub fn decode(_: &mut wal_core::codec::Reader<'_>) -> Result<String, wal_core::DecodeError> {
        Ok(String::new())
    }
}

#[derive(WalEntry)]
#[wal(type_id = 1)]
struct Event {
    #[wal(with = "as_text")]
    count: u64,
}

fn main() {}
