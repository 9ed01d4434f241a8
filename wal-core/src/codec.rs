//! Field codecs: how `#[derive(WalEntry)]` and `#[derive(WalCodec)]` encode each field.
//!
//! Numbers are fixed-width little-endian; `usize`/`isize` travel as 64 bits. Lengths (of
//! strings, vectors, maps) are a `u32` prefix. `bool` is one byte `0`/`1`, `char` a `u32`
//! scalar value, `Option` a tag byte `0`/`1` then the value, `[T; N]` and tuples their
//! elements in order with no prefix.
//!
//! Decoding never panics and checks every length against the bytes that remain before it
//! allocates: a corrupt or hostile payload costs at most its own size in memory.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use crate::entry::DecodeError;

mod time;

/// Reads values out of a payload, front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    #[must_use]
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not yet read.
    #[must_use]
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether every byte has been read.
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`] when fewer remain.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let remaining = self.remaining();
        if n > remaining {
            return Err(DecodeError::UnexpectedEnd {
                at: self.pos,
                needed: n,
                remaining,
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`] when fewer remain.
    #[inline]
    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let b = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Reads a `u32` length prefix for `min_size`-byte items and checks that the bytes left
    /// can hold that many.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`] when they cannot.
    #[inline]
    pub fn length(&mut self, min_size: usize) -> Result<usize, DecodeError> {
        let at = self.pos;
        let len = u32::decode(self)? as usize;
        // Items that may encode to nothing are bounded by a generous constant instead.
        let needed = if min_size == 0 {
            len.saturating_sub(1 << 16)
        } else {
            len.saturating_mul(min_size)
        };
        if needed > self.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                at,
                needed,
                remaining: self.remaining(),
            });
        }
        Ok(len)
    }

    /// Checks that every byte was read.
    ///
    /// # Errors
    /// [`DecodeError::TrailingBytes`] otherwise.
    #[inline]
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

/// Writes a `u32` length prefix.
#[inline]
fn put_len(len: usize, out: &mut Vec<u8>) {
    // Payloads are bounded by the maximum entry size, far below 4 GiB.
    u32::try_from(len).unwrap_or(u32::MAX).encode(out);
}

/// A type that can be a field of a derived entry.
///
/// Implemented for the integer types, floats, `bool`, `char`, `String`, `Vec<T>`,
/// `Option<T>`, `[T; N]`, tuples up to 8, `Box<T>`, `BTreeMap`, `HashMap`, `()`,
/// `Duration` and `SystemTime`; derive it for your own types with `#[derive(WalCodec)]`.
///
/// A field of another crate's type (`uuid::Uuid`, `chrono::DateTime`) has three ways in:
/// a `#[wal(with = "module")]` on the field (a module with `encode` and `decode`
/// functions), a newtype of yours deriving `WalCodec`, or the whole entry in a serde format
/// (`#[wal(serde = postcard)]`, features `json`, `postcard`, `bincode`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a field of a `WalEntry`: it does not implement `Codec`",
    label = "this field's type has no `Codec`",
    note = "three ways out: `#[derive(WalCodec)]` on the type if it is yours; `#[wal(with = \"module\")]` on the field (a module with `encode` and `decode`); or `#[wal(type_id = N, serde = postcard)]` (or `json`, `bincode`) on the entry, to encode it with serde"
)]
pub trait Codec: Sized {
    /// The fewest bytes a value encodes to (bounds lengths before allocating).
    const MIN_SIZE: usize;

    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Reads a value.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes are not a valid encoding.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Appends the encodings of `items` (the elements of a `Vec` or slice). `u8` overrides
    /// it with one copy.
    #[inline]
    fn encode_slice(items: &[Self], out: &mut Vec<u8>) {
        for item in items {
            item.encode(out);
        }
    }

    /// Reads `len` values (already checked against the bytes left). `u8` overrides it with
    /// one copy.
    ///
    /// # Errors
    /// [`DecodeError`] when a value does not decode.
    #[inline]
    fn decode_vec(r: &mut Reader<'_>, len: usize) -> Result<Vec<Self>, DecodeError> {
        let mut v = Vec::with_capacity(len.min(r.remaining()));
        for _ in 0..len {
            v.push(Self::decode(r)?);
        }
        Ok(v)
    }
}

macro_rules! numbers {
    ($($t:ty),*) => {$(
        impl Codec for $t {
            const MIN_SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(r.take_array()?))
            }
        }
    )*};
}
numbers!(u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

impl Codec for u8 {
    const MIN_SIZE: usize = 1;
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.take(1)?[0])
    }
    #[inline]
    fn encode_slice(items: &[Self], out: &mut Vec<u8>) {
        out.extend_from_slice(items);
    }
    #[inline]
    fn decode_vec(r: &mut Reader<'_>, len: usize) -> Result<Vec<Self>, DecodeError> {
        Ok(r.take(len)?.to_vec())
    }
}

/// `usize` and `isize` are stored as 8 bytes (`u64`, `i64`), the same on every platform.
macro_rules! pointer_sized {
    ($($t:ty => $wide:ty, $what:literal;)*) => {$(
        impl Codec for $t {
            const MIN_SIZE: usize = 8;
            #[inline]
            fn encode(&self, out: &mut Vec<u8>) {
                (*self as $wide).encode(out);
            }
            #[inline]
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let v = <$wide>::decode(r)?;
                <$t>::try_from(v)
                    .map_err(|_| DecodeError::Invalid(format!("{v} does not fit {}", $what)))
            }
        }
    )*};
}

pointer_sized! {
    usize => u64, "a usize";
    isize => i64, "an isize";
}

impl Codec for bool {
    const MIN_SIZE: usize = 1;
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(DecodeError::Invalid(format!("bool byte {b}"))),
        }
    }
}

impl Codec for char {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        u32::from(*self).encode(out);
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let v = u32::decode(r)?;
        char::from_u32(v).ok_or_else(|| DecodeError::Invalid(format!("char {v:#x}")))
    }
}

impl Codec for () {
    const MIN_SIZE: usize = 0;
    #[inline]
    fn encode(&self, _: &mut Vec<u8>) {}
    #[inline]
    fn decode(_: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(())
    }
}

impl Codec for String {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        put_len(self.len(), out);
        out.extend_from_slice(self.as_bytes());
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = r.length(1)?;
        let bytes = r.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| DecodeError::Invalid(format!("string: {e}")))
    }
}

impl<T: Codec> Codec for Vec<T> {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        put_len(self.len(), out);
        T::encode_slice(self, out);
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = r.length(T::MIN_SIZE)?;
        T::decode_vec(r, len)
    }
}

impl<T: Codec> Codec for Option<T> {
    const MIN_SIZE: usize = 1;
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode(out);
            }
        }
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(r)? {
            0 => Ok(None),
            1 => T::decode(r).map(Some),
            b => Err(DecodeError::Invalid(format!("option tag {b}"))),
        }
    }
}

impl<T: Codec> Codec for Box<T> {
    const MIN_SIZE: usize = T::MIN_SIZE;
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        (**self).encode(out);
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        T::decode(r).map(Box::new)
    }
}

impl<T: Codec, const N: usize> Codec for [T; N] {
    const MIN_SIZE: usize = T::MIN_SIZE * N;
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        T::encode_slice(self, out);
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if T::MIN_SIZE * N > r.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                at: 0,
                needed: T::MIN_SIZE * N,
                remaining: r.remaining(),
            });
        }
        let v = T::decode_vec(r, N)?;
        v.try_into()
            .map_err(|_| DecodeError::Invalid("array length".into()))
    }
}

/// A map's encoding: its length, then each key and value.
fn encode_pairs<'a, K: Codec + 'a, V: Codec + 'a>(
    len: usize,
    pairs: impl Iterator<Item = (&'a K, &'a V)>,
    out: &mut Vec<u8>,
) {
    put_len(len, out);
    for (k, v) in pairs {
        k.encode(out);
        v.encode(out);
    }
}

/// Decodes a map's length and pairs into the map `make` returns for that length.
fn decode_pairs<K: Codec, V: Codec, M: Extend<(K, V)>>(
    r: &mut Reader<'_>,
    make: impl FnOnce(usize) -> M,
) -> Result<M, DecodeError> {
    let len = r.length(K::MIN_SIZE + V::MIN_SIZE)?;
    let mut m = make(len);
    for _ in 0..len {
        let k = K::decode(r)?;
        m.extend([(k, V::decode(r)?)]);
    }
    Ok(m)
}

impl<K: Codec + Ord, V: Codec> Codec for BTreeMap<K, V> {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        encode_pairs(self.len(), self.iter(), out);
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_pairs(r, |_| BTreeMap::new())
    }
}

impl<K: Codec + Eq + Hash, V: Codec, S: BuildHasher + Default> Codec for HashMap<K, V, S> {
    const MIN_SIZE: usize = 4;
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        encode_pairs(self.len(), self.iter(), out);
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let room = r.remaining();
        decode_pairs(r, |len| {
            HashMap::with_capacity_and_hasher(len.min(room), S::default())
        })
    }
}

macro_rules! tuples {
    ($(($($n:tt $t:ident),+))*) => {$(
        impl<$($t: Codec),+> Codec for ($($t,)+) {
            const MIN_SIZE: usize = 0 $(+ $t::MIN_SIZE)+;
            #[inline]
            fn encode(&self, out: &mut Vec<u8>) {
                $(self.$n.encode(out);)+
            }
            #[inline]
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(($($t::decode(r)?,)+))
            }
        }
    )*};
}
tuples! {
    (0 A)
    (0 A, 1 B)
    (0 A, 1 B, 2 C)
    (0 A, 1 B, 2 C, 3 D)
    (0 A, 1 B, 2 C, 3 D, 4 E)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Codec + PartialEq + std::fmt::Debug>(v: &T) {
        let mut out = Vec::new();
        v.encode(&mut out);
        let mut r = Reader::new(&out);
        assert_eq!(&T::decode(&mut r).unwrap(), v);
        r.finish().unwrap();
        // Every strict prefix fails cleanly.
        for cut in 0..out.len() {
            let mut r = Reader::new(&out[..cut]);
            assert!(
                T::decode(&mut r).and_then(|_| r.finish()).is_err(),
                "prefix {cut} of {v:?}"
            );
        }
    }

    #[test]
    fn every_supported_type_round_trips() {
        round_trip(&0xabu8);
        round_trip(&-5i64);
        round_trip(&u128::MAX);
        round_trip(&1.5f64);
        round_trip(&true);
        round_trip(&'é');
        round_trip(&"héllo".to_string());
        round_trip(&vec![1u8, 2, 3]);
        round_trip(&vec![Some(1u16), None]);
        round_trip(&[7u32; 3]);
        round_trip(&(1u8, "x".to_string(), vec![2i8]));
        round_trip(&Box::new(9u64));
        round_trip(&BTreeMap::from([
            (1u8, "a".to_string()),
            (2, "b".to_string()),
        ]));
        round_trip(&HashMap::<u8, u8>::from([(1, 2)]));
        round_trip(&usize::MAX);
    }

    #[test]
    fn huge_lengths_are_refused_before_allocating() {
        let bytes = u32::MAX.to_le_bytes();
        assert!(matches!(
            Vec::<u64>::decode(&mut Reader::new(&bytes)),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
        assert!(matches!(
            String::decode(&mut Reader::new(&bytes)),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
        assert!(matches!(
            Vec::<()>::decode(&mut Reader::new(&bytes)),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
        assert!(matches!(
            BTreeMap::<u8, u8>::decode(&mut Reader::new(&bytes)),
            Err(DecodeError::UnexpectedEnd { .. })
        ));
    }

    #[test]
    fn invalid_encodings_are_errors() {
        assert!(matches!(
            bool::decode(&mut Reader::new(&[2])),
            Err(DecodeError::Invalid(_))
        ));
        assert!(matches!(
            char::decode(&mut Reader::new(&0xd800u32.to_le_bytes())),
            Err(DecodeError::Invalid(_))
        ));
        assert!(matches!(
            Option::<u8>::decode(&mut Reader::new(&[3])),
            Err(DecodeError::Invalid(_))
        ));
        let mut bad = 2u32.to_le_bytes().to_vec();
        bad.extend_from_slice(&[0xff, 0xfe]);
        assert!(matches!(
            String::decode(&mut Reader::new(&bad)),
            Err(DecodeError::Invalid(_))
        ));
        assert!(matches!(
            Reader::new(&[1]).finish(),
            Err(DecodeError::TrailingBytes(1))
        ));
    }
}
