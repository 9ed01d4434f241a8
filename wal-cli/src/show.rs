//! How payloads are shown: as bytes, or decoded by the application's own entry type.

use std::fmt::{self, Debug};

use wal_core::Entry;

type Name = fn(u8) -> Option<&'static str>;
type Decode = Box<dyn Fn(u8, &[u8]) -> Result<String, String>>;

/// How the inspector names entry types and shows payloads: untyped (bytes), or by an
/// application's entry type ([`Types::of`]).
pub struct Types {
    name: Name,
    decode: Option<Decode>,
}

impl Debug for Types {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Types")
            .field("typed", &self.decode.is_some())
            .finish_non_exhaustive()
    }
}

impl Types {
    /// Payloads shown as bytes, types as numbers.
    #[must_use]
    pub fn untyped() -> Self {
        Self {
            name: |_| None,
            decode: None,
        }
    }

    /// Payloads decoded as `E` and shown in their `Debug` form; types named by
    /// [`Entry::type_name`].
    #[must_use]
    pub fn of<E: Entry + Debug>() -> Self {
        Self {
            name: E::type_name,
            decode: Some(Box::new(|type_id, payload| {
                E::decode(type_id, payload)
                    .map(|e| format!("{e:?}"))
                    .map_err(|e| e.to_string())
            })),
        }
    }

    /// The name of type id `t`, if the entry type gives one.
    pub(crate) fn name(&self, t: u8) -> Option<&'static str> {
        (self.name)(t)
    }

    /// The type id named `s`: a number, or a name the entry type gives.
    pub(crate) fn parse(&self, s: &str) -> Result<u8, String> {
        if let Ok(n) = s.parse::<u8>() {
            return Ok(n);
        }
        (1..=255u8)
            .find(|&t| self.name(t) == Some(s))
            .ok_or_else(|| format!("no entry type is named {s:?} (give a name your entry type has, or a number 0-255)"))
    }

    /// `t` as people read it: `3 (Put)` or `3`.
    pub(crate) fn label(&self, t: u8) -> String {
        match self.name(t) {
            Some(n) => format!("{t} ({n})"),
            None => t.to_string(),
        }
    }

    /// The payload decoded, when the inspector knows the entry type.
    pub(crate) fn decode(&self, t: u8, payload: &[u8]) -> Option<Result<String, String>> {
        self.decode.as_ref().map(|d| d(t, payload))
    }
}

/// The first bytes of a payload, readable: printable ASCII as is, the rest escaped.
pub(crate) fn preview(payload: &[u8], max: usize) -> String {
    let mut out: String = payload
        .iter()
        .take(max)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if payload.len() > max {
        out.push('…');
    }
    out
}

/// A segment's file name, as the listings show it.
pub(crate) fn file_name(s: &wal_core::SegmentInfo) -> String {
    s.path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
