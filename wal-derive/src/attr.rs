//! `#[wal(...)]` attributes, parsed into [`Attrs`], every mistake collected.

use proc_macro2::Span;
use syn::spanned::Spanned;

/// Where an attribute stands; decides which keys are allowed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// On a struct deriving `WalEntry`.
    EntryStruct,
    /// On an enum deriving `WalEntry`.
    EntryEnum,
    /// On a type deriving `WalCodec`.
    CodecContainer,
    /// On a variant of an enum deriving `WalEntry`.
    EntryVariant,
    /// On a variant of an enum deriving `WalCodec`.
    CodecVariant,
    /// On a field of an entry.
    EntryField,
    /// On a field of a type deriving `WalCodec`.
    CodecField,
}

impl Place {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Place::EntryStruct => &["type_id", "ignorable", "crate", "serde"],
            Place::EntryEnum => &["crate", "serde"],
            Place::CodecContainer => &["crate"],
            Place::EntryVariant => &["type_id", "ignorable"],
            Place::CodecVariant => &[],
            Place::EntryField => &["skip", "default", "with", "each"],
            Place::CodecField => &["skip", "with", "each"],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Place::EntryStruct => "a struct deriving `WalEntry`",
            Place::EntryEnum => {
                "an enum deriving `WalEntry` (each variant takes its own `type_id`)"
            }
            Place::CodecContainer => {
                "a type deriving `WalCodec` (only entries have type ids and flags)"
            }
            Place::EntryVariant => "a variant of an entry enum",
            Place::CodecVariant => "a variant of a `WalCodec` enum",
            Place::EntryField => "an entry's field",
            Place::CodecField => "a field of a `WalCodec` type",
        }
    }
}

/// Every `#[wal(...)]` key, each with the span of its key.
#[derive(Default)]
pub struct Attrs {
    pub type_id: Option<(u8, Span)>,
    /// A `type_id` key was written, valid or not (so a missing one is not reported twice).
    pub type_id_written: bool,
    pub ignorable: Option<Span>,
    pub krate: Option<syn::Path>,
    pub skip: Option<Span>,
    pub default: Option<Span>,
    pub with: Option<(syn::Path, Span)>,
    /// `each`: the `with` module handles the elements of an `Option` or a `Vec` field.
    pub each: Option<Span>,
    /// `serde = json | postcard | bincode`: the payload in that serde format.
    pub serde: Option<syn::Ident>,
}

/// Collects errors so that every mistake is reported at once (serde's `Ctxt`).
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, path: &syn::Path, errors: &mut Errors) {
    if slot.is_some() {
        let key = path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        errors.push(syn::Error::new(
            path.span(),
            format!("duplicate `wal` attribute `{key}`"),
        ));
    } else {
        *slot = Some(value);
    }
}

const TYPE_ID_HELP: &str =
    "expected `#[wal(type_id = N)]` with N in 1..=255 (0 is reserved for the log)";

/// Parses every `#[wal(...)]` among `attrs`, reporting into `errors`.
pub fn parse(attrs: &[syn::Attribute], place: Place, errors: &mut Errors) -> Attrs {
    let mut out = Attrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("wal")) {
        let result = attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let allowed = place.keys();
            if !allowed.contains(&key.as_str()) {
                let known = [
                    "type_id", "ignorable", "crate", "skip", "default", "with", "serde", "each",
                ];
                let msg = if known.contains(&key.as_str()) {
                    format!("`{key}` is not allowed on {}", place.name())
                } else if allowed.is_empty() {
                    format!(
                        "unknown `wal` attribute `{key}`; {} takes none",
                        place.name()
                    )
                } else {
                    let list = allowed
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("unknown `wal` attribute `{key}`, expected one of {list}")
                };
                // Consume a value, if any, so parsing continues with the next key.
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                errors.push(meta.error(msg));
                return Ok(());
            }
            match key.as_str() {
                "type_id" => {
                    out.type_id_written = true;
                    let lit: syn::Lit = meta.value()?.parse()?;
                    let id = match &lit {
                        syn::Lit::Int(i) => i
                            .base10_parse::<u64>()
                            .ok()
                            .filter(|n| (1..=255).contains(n)),
                        _ => None,
                    };
                    match id.and_then(|n| u8::try_from(n).ok()) {
                        Some(id) => {
                            set_once(&mut out.type_id, (id, lit.span()), &meta.path, errors);
                        }
                        None => errors.push(syn::Error::new(lit.span(), TYPE_ID_HELP)),
                    }
                }
                "crate" => {
                    let s: syn::LitStr = meta.value()?.parse()?;
                    match s.parse::<syn::Path>() {
                        Ok(p) => set_once(&mut out.krate, p, &meta.path, errors),
                        Err(_) => errors.push(syn::Error::new(
                            s.span(),
                            "expected a path, as in `crate = \"::wal_core\"`",
                        )),
                    }
                }
                "serde" => {
                    let value = meta.value()?;
                    let format: syn::Ident = if value.peek(syn::LitStr) {
                        let s: syn::LitStr = value.parse()?;
                        syn::Ident::new(&s.value(), s.span())
                    } else {
                        value.parse()?
                    };
                    if ["json", "postcard", "bincode"].contains(&format.to_string().as_str()) {
                        set_once(&mut out.serde, format, &meta.path, errors);
                    } else {
                        errors.push(syn::Error::new(
                            format.span(),
                            "expected `serde = json`, `serde = postcard` or `serde = bincode` (each needs the wal-core feature of that name)",
                        ));
                    }
                }
                "with" => {
                    let s: syn::LitStr = meta.value()?.parse()?;
                    match s.parse::<syn::Path>() {
                        Ok(p) => set_once(&mut out.with, (p, meta.path.span()), &meta.path, errors),
                        Err(_) => errors.push(syn::Error::new(
                            s.span(),
                            "expected a module path, as in `with = \"my_codec\"`",
                        )),
                    }
                }
                flag => {
                    let slot = match flag {
                        "ignorable" => &mut out.ignorable,
                        "skip" => &mut out.skip,
                        "each" => &mut out.each,
                        _ => &mut out.default,
                    };
                    set_once(slot, meta.path.span(), &meta.path, errors);
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}
