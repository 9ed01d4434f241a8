//! [`EntryRegistry`] and [`Dispatcher`]: decoding entries whose types are separate structs.

use std::any::Any;
use std::fmt;

use crate::entry::{DecodeError, Entry, RawEntry};
use crate::error::{Error, Result};

type DecodeFn = fn(u8, &[u8]) -> Result<Box<dyn Any + Send>, DecodeError>;

fn decode_boxed<T: Entry + Send + 'static>(
    type_id: u8,
    payload: &[u8],
) -> Result<Box<dyn Any + Send>, DecodeError> {
    T::decode(type_id, payload).map(|v| Box::new(v) as Box<dyn Any + Send>)
}

/// Maps type ids to the entry types that decode them, for logs whose entries are separate
/// types rather than one enum. Decoding gives a boxed value to downcast.
///
/// ```
/// # use wal_core::{EntryRegistry, DecodeError, EncodeError, Entry};
/// # struct A; struct B;
/// # impl Entry for A { const TYPE_IDS: &'static [u8] = &[1]; fn type_id(&self) -> u8 { 1 }
/// #   fn encode(&self, _: &mut Vec<u8>) -> Result<(), EncodeError> { Ok(()) }
/// #   fn decode(_: u8, _: &[u8]) -> Result<Self, DecodeError> { Ok(A) } }
/// # impl Entry for B { const TYPE_IDS: &'static [u8] = &[2]; fn type_id(&self) -> u8 { 2 }
/// #   fn encode(&self, _: &mut Vec<u8>) -> Result<(), EncodeError> { Ok(()) }
/// #   fn decode(_: u8, _: &[u8]) -> Result<Self, DecodeError> { Ok(B) } }
/// let registry = EntryRegistry::new().with::<A>()?.with::<B>()?;
/// assert!(registry.contains(1) && registry.contains(2) && !registry.contains(3));
/// # Ok::<(), wal_core::Error>(())
/// ```
#[derive(Clone)]
pub struct EntryRegistry {
    slots: Vec<Option<(&'static str, DecodeFn)>>,
}

impl Default for EntryRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EntryRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registered = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(id, s)| s.map(|(name, _)| (id, name)));
        f.debug_map().entries(registered).finish()
    }
}

impl EntryRegistry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self {
            slots: vec![None; 256],
        }
    }

    /// Registers `T` for each of its [`Entry::TYPE_IDS`].
    ///
    /// # Errors
    /// [`Error::DuplicateEntryType`] when one of the ids is taken (nothing is registered
    /// then); [`Error::ReservedEntryType`] for id 0.
    pub fn register<T: Entry + Send + 'static>(&mut self) -> Result<&mut Self> {
        let name = std::any::type_name::<T>();
        for &id in T::TYPE_IDS {
            if id == 0 {
                return Err(Error::ReservedEntryType);
            }
            if let Some((first, _)) = self.slots[usize::from(id)] {
                return Err(Error::DuplicateEntryType {
                    type_id: id,
                    first,
                    second: name,
                });
            }
        }
        for &id in T::TYPE_IDS {
            self.slots[usize::from(id)] = Some((name, decode_boxed::<T>));
        }
        Ok(self)
    }

    /// [`EntryRegistry::register`], by value, for chaining.
    ///
    /// # Errors
    /// As [`EntryRegistry::register`].
    pub fn with<T: Entry + Send + 'static>(mut self) -> Result<Self> {
        self.register::<T>()?;
        Ok(self)
    }

    /// Whether a type is registered for `type_id`.
    #[must_use]
    pub fn contains(&self, type_id: u8) -> bool {
        self.slots[usize::from(type_id)].is_some()
    }

    /// The name of the type registered for `type_id`.
    #[must_use]
    pub fn type_name(&self, type_id: u8) -> Option<&'static str> {
        self.slots[usize::from(type_id)].map(|(name, _)| name)
    }

    /// Decodes an entry into a boxed value of its registered type.
    ///
    /// # Errors
    /// [`Error::UnknownEntryType`] (naming the type id and index) when no type is registered
    /// for it; [`Error::Decode`] when the payload does not decode.
    pub fn decode(&self, raw: &RawEntry) -> Result<Box<dyn Any + Send>> {
        let Some((_, decode)) = self.slots[usize::from(raw.type_id())] else {
            return Err(Error::UnknownEntryType {
                index: raw.index(),
                type_id: raw.type_id(),
            });
        };
        decode(raw.type_id(), raw.payload()).map_err(|e| raw.decode_error(e))
    }
}

type Handler<'a> = Box<dyn FnMut(&RawEntry) -> Result<()> + 'a>;

/// Calls a typed closure per entry type: the callback form of [`EntryRegistry`].
///
/// ```
/// # use wal_core::{Dispatcher, DecodeError, EncodeError, Entry};
/// # struct A;
/// # impl Entry for A { const TYPE_IDS: &'static [u8] = &[1]; fn type_id(&self) -> u8 { 1 }
/// #   fn encode(&self, _: &mut Vec<u8>) -> Result<(), EncodeError> { Ok(()) }
/// #   fn decode(_: u8, _: &[u8]) -> Result<Self, DecodeError> { Ok(A) } }
/// let mut seen = 0;
/// let mut d = Dispatcher::new().on(|_index, _a: A| seen += 1)?;
/// # drop(d);
/// # Ok::<(), wal_core::Error>(())
/// ```
pub struct Dispatcher<'a> {
    handlers: Vec<Option<(&'static str, Handler<'a>)>>,
}

impl fmt::Debug for Dispatcher<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registered = self
            .handlers
            .iter()
            .enumerate()
            .filter_map(|(id, s)| s.as_ref().map(|(name, _)| (id, *name)));
        f.debug_map().entries(registered).finish()
    }
}

impl Default for Dispatcher<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Dispatcher<'a> {
    /// A dispatcher with no handlers.
    #[must_use]
    pub fn new() -> Self {
        Self {
            handlers: (0..256).map(|_| None).collect(),
        }
    }

    /// Calls `f(index, value)` for entries of `T`'s type ids.
    ///
    /// # Errors
    /// [`Error::DuplicateEntryType`] when one of `T`'s ids already has a handler;
    /// [`Error::ReservedEntryType`] for id 0.
    pub fn on<T: Entry + 'a>(mut self, f: impl FnMut(u64, T) + 'a) -> Result<Self> {
        let name = std::any::type_name::<T>();
        for &id in T::TYPE_IDS {
            if id == 0 {
                return Err(Error::ReservedEntryType);
            }
            if let Some((first, _)) = &self.handlers[usize::from(id)] {
                return Err(Error::DuplicateEntryType {
                    type_id: id,
                    first,
                    second: name,
                });
            }
        }
        let f = std::rc::Rc::new(std::cell::RefCell::new(f));
        for &id in T::TYPE_IDS {
            let f = std::rc::Rc::clone(&f);
            let handler: Handler<'a> = Box::new(move |raw: &RawEntry| {
                let value =
                    T::decode(raw.type_id(), raw.payload()).map_err(|e| raw.decode_error(e))?;
                (f.borrow_mut())(raw.index(), value);
                Ok(())
            });
            self.handlers[usize::from(id)] = Some((name, handler));
        }
        Ok(self)
    }

    /// Decodes `raw` with the handler of its type and calls it. Entries with no handler
    /// that the writer marked ignorable are skipped.
    ///
    /// # Errors
    /// [`Error::UnknownEntryType`] when no handler takes the type; [`Error::Decode`].
    pub fn dispatch(&mut self, raw: &RawEntry) -> Result<()> {
        match &mut self.handlers[usize::from(raw.type_id())] {
            Some((_, h)) => h(raw),
            None if raw.is_ignorable() => Ok(()),
            None => Err(Error::UnknownEntryType {
                index: raw.index(),
                type_id: raw.type_id(),
            }),
        }
    }
}
