//! Entries from the types people already have: a serde format (features `json`,
//! `postcard`, `bincode`) or a protobuf message (feature `prost`) as the payload.
//!
//! Two ways in:
//! - `#[derive(WalEntry, Serialize, Deserialize)]` with `#[wal(type_id = 3, serde = postcard)]`
//!   (or `json`, `bincode`) on a struct or an enum: the payload is the value in that format;
//!   type ids, registries, lazy reading and `#[wal(ignorable)]` work as for any entry. On
//!   an enum each variant keeps its own type id; the whole value (with serde's own variant
//!   tag) is the payload, and a payload whose variant is not the frame's type is refused.
//! - A wrapper for a type you cannot annotate: [`Json<T, ID>`], [`Postcard<T, ID>`],
//!   [`Bincode<T, ID>`], [`Prost<M, ID>`], each an [`Entry`] of type id `ID`.
//!
//! Fields of other crates' types that support serde (`uuid::Uuid`, `chrono::DateTime`,
//! `rust_decimal::Decimal`, with those crates' `serde` features) need nothing more in a
//! serde entry: this is the way to use them (in a `Codec` entry, a `#[wal(with = …)]`
//! module does it field by field).
//!
//! Schema evolution is the format's:
//! - `json` (self-describing): a new field marked `#[serde(default)]` reads old entries,
//!   and old readers ignore fields they do not know (unless `deny_unknown_fields`);
//! - `postcard` and `bincode` (not self-describing): a struct's fields cannot change, not
//!   even by adding an `Option` at the end (old entries then fail to decode, with an error
//!   naming the entry); evolve by a new enum variant with its own type id instead, which
//!   new readers read beside the old ones and old readers report as an unknown type;
//! - `prost`: protobuf's rules (new field numbers; unknown fields skipped).
//!
//! Decode errors carry the format's message (which names the field, for `json`), and the
//! log adds the entry's index and type id.

#[cfg(any(
    feature = "json",
    feature = "postcard",
    feature = "bincode",
    feature = "prost"
))]
use crate::entry::Entry;
#[cfg(any(
    feature = "json",
    feature = "postcard",
    feature = "bincode",
    feature = "prost"
))]
use crate::error::{DecodeError, EncodeError};

/// Defines a wrapper entry for one format: `$name<T, ID>(pub T)`.
#[cfg(any(feature = "json", feature = "postcard", feature = "bincode"))]
macro_rules! serde_wrapper {
    ($feature:literal, $name:ident, $encode:path, $decode:path, $what:literal) => {
        #[doc = concat!("Any serde type as an entry of type id `ID`, its payload ", $what, " (feature `", $feature, "`).")]
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name<T, const ID: u8>(pub T);

        impl<T, const ID: u8> Entry for $name<T, ID>
        where
            T: serde::Serialize + serde::de::DeserializeOwned,
        {
            const TYPE_IDS: &'static [u8] = &[ID];

            fn type_id(&self) -> u8 {
                ID
            }

            fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                $encode(&self.0, out)
            }

            fn decode(type_id: u8, payload: &[u8]) -> Result<Self, DecodeError> {
                if type_id != ID {
                    return Err(DecodeError::UnknownType(type_id));
                }
                $decode(payload).map(Self)
            }
        }
    };
}

#[cfg(feature = "json")]
serde_wrapper!(
    "json",
    Json,
    json::encode,
    json::decode,
    "in JSON (`serde_json`)"
);
#[cfg(feature = "postcard")]
serde_wrapper!(
    "postcard",
    Postcard,
    postcard::encode,
    postcard::decode,
    "in `postcard`"
);
#[cfg(feature = "bincode")]
serde_wrapper!(
    "bincode",
    Bincode,
    bincode::encode,
    bincode::decode,
    "in `bincode` (standard configuration)"
);

/// The format functions `#[wal(serde = json)]` calls.
#[cfg(feature = "json")]
#[doc(hidden)]
pub mod json {
    use crate::error::{DecodeError, EncodeError};

    /// Appends `value` in JSON.
    ///
    /// # Errors
    /// What `serde_json` reports.
    pub fn encode<T: serde::Serialize + ?Sized>(
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        serde_json::to_writer(out, value).map_err(EncodeError::new)
    }

    /// Reads a `T` from JSON.
    ///
    /// # Errors
    /// What `serde_json` reports (it names the field and the column).
    pub fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
        serde_json::from_slice(payload).map_err(DecodeError::custom)
    }
}

/// The format functions `#[wal(serde = postcard)]` calls.
#[cfg(feature = "postcard")]
#[doc(hidden)]
pub mod postcard {
    use crate::error::{DecodeError, EncodeError};

    /// Appends `value` in postcard.
    ///
    /// # Errors
    /// What `postcard` reports.
    pub fn encode<T: serde::Serialize + ?Sized>(
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let bytes = ::postcard::to_stdvec(value).map_err(EncodeError::new)?;
        out.extend_from_slice(&bytes);
        Ok(())
    }

    /// Reads a `T` from postcard; bytes left over are an error.
    ///
    /// # Errors
    /// What `postcard` reports; [`DecodeError::TrailingBytes`].
    pub fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
        let (value, rest) = ::postcard::take_from_bytes(payload).map_err(DecodeError::custom)?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes(rest.len()));
        }
        Ok(value)
    }
}

/// The format functions `#[wal(serde = bincode)]` calls.
#[cfg(feature = "bincode")]
#[doc(hidden)]
pub mod bincode {
    use crate::error::{DecodeError, EncodeError};

    /// Appends `value` in bincode (standard configuration).
    ///
    /// # Errors
    /// What `bincode` reports.
    pub fn encode<T: serde::Serialize + ?Sized>(
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        ::bincode::serde::encode_into_std_write(value, out, ::bincode::config::standard())
            .map(drop)
            .map_err(EncodeError::new)
    }

    /// Reads a `T` from bincode; bytes left over are an error.
    ///
    /// # Errors
    /// What `bincode` reports; [`DecodeError::TrailingBytes`].
    pub fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
        let (value, used) =
            ::bincode::serde::decode_from_slice(payload, ::bincode::config::standard())
                .map_err(DecodeError::custom)?;
        if used != payload.len() {
            return Err(DecodeError::TrailingBytes(payload.len() - used));
        }
        Ok(value)
    }
}

/// Any protobuf message (`prost::Message`) as an entry of type id `ID` (feature `prost`).
#[cfg(feature = "prost")]
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prost<M, const ID: u8>(pub M);

#[cfg(feature = "prost")]
impl<M: prost::Message + Default, const ID: u8> Entry for Prost<M, ID> {
    const TYPE_IDS: &'static [u8] = &[ID];

    fn type_id(&self) -> u8 {
        ID
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.0.encode(out).map_err(EncodeError::new)
    }

    fn decode(type_id: u8, payload: &[u8]) -> Result<Self, DecodeError> {
        if type_id != ID {
            return Err(DecodeError::UnknownType(type_id));
        }
        M::decode(payload).map(Self).map_err(DecodeError::custom)
    }
}
