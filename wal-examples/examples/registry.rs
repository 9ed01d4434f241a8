//! fgrosse/wal's two entry types as separate structs, one with a hand-written `Entry`, read
//! back through an `EntryRegistry`.
use wal_core::{DecodeError, EncodeError, Entry, EntryRegistry, Options, Reader, Wal, WalEntry};
use wal_examples::{Outcome, check};

/// fgrosse's `ExampleEntry1`, with a hand-written codec: id, then the floats.
#[derive(Debug, PartialEq)]
struct ExampleEntry1 {
    id: u32,
    point: Vec<f32>,
}

impl Entry for ExampleEntry1 {
    const TYPE_IDS: &'static [u8] = &[1];

    fn type_id(&self) -> u8 {
        1
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.id.to_le_bytes());
        for f in &self.point {
            out.extend_from_slice(&f.to_le_bytes());
        }
        Ok(())
    }

    fn decode(_: u8, payload: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(payload);
        let id = u32::from_le_bytes(r.take_array()?);
        if !r.remaining().is_multiple_of(4) {
            return Err(DecodeError::Invalid(format!(
                "{} bytes is not a whole number of f32",
                r.remaining()
            )));
        }
        let mut point = Vec::with_capacity(r.remaining() / 4);
        while !r.is_empty() {
            point.push(f32::from_le_bytes(r.take_array()?));
        }
        Ok(Self { id, point })
    }
}

/// fgrosse's `ExampleEntry2`, derived.
#[derive(WalEntry, Debug, PartialEq)]
#[wal(type_id = 2)]
struct ExampleEntry2 {
    name: String,
}

fn main() -> Outcome {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), Options::default())?;
    wal.append(&ExampleEntry1 {
        id: 42,
        point: vec![1.0, 2.0, 3.0],
    })?;
    wal.append(&ExampleEntry2 { name: "Foo".into() })?;
    wal.append(&ExampleEntry1 {
        id: 43,
        point: vec![-0.5],
    })?;
    wal.close()?;

    let registry = EntryRegistry::new()
        .with::<ExampleEntry1>()?
        .with::<ExampleEntry2>()?;
    println!("registry: {registry:?}");
    let wal = Wal::open(dir.path(), Options::default())?;
    let (mut ones, mut twos) = (Vec::new(), Vec::new());
    for raw in wal.iter()? {
        let raw = raw?;
        let value = registry.decode(&raw)?;
        if let Some(e) = value.downcast_ref::<ExampleEntry1>() {
            println!(
                "#{}: ExampleEntry1 id={} point={:?}",
                raw.index(),
                e.id,
                e.point
            );
            ones.push(e.id);
        } else if let Some(e) = value.downcast_ref::<ExampleEntry2>() {
            println!("#{}: ExampleEntry2 name={:?}", raw.index(), e.name);
            twos.push(e.name.clone());
        }
    }
    check(
        ones == [42, 43] && twos == ["Foo"],
        "both entry types come back through the registry",
    )?;
    let dup = EntryRegistry::new()
        .with::<ExampleEntry1>()?
        .with::<ExampleEntry1>();
    println!(
        "registering a type id twice: {}",
        dup.as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    check(dup.is_err(), "a second type for one id is refused")?;
    println!("ok");
    Ok(())
}
