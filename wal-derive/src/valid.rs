//! Checks across the whole input: ids present, in range and unique; field rules; generics.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::spanned::Spanned;

use crate::ast::{Data, Input, Kind, Variant};
use crate::attr::Errors;

impl Input<'_> {
    /// Adds every mistake across the input to `errors`.
    pub fn validate(&self, errors: &mut Errors) {
        for param in &self.original.generics.params {
            if let syn::GenericParam::Lifetime(l) = param {
                errors.push(syn::Error::new(l.span(), "entry types cannot borrow: lifetime parameters are not supported, decode produces owned values"));
            }
        }
        let serde = match &self.data {
            Data::Struct(v) => v.attrs.serde.is_some(),
            Data::Enum(_) => self.attrs.serde.is_some(),
        };
        if serde {
            serde_fields(&self.data, errors);
        }
        match &self.data {
            Data::Struct(v) => {
                if self.kind == Kind::Entry && !v.attrs.type_id_written {
                    errors.push(syn::Error::new(
                        v.ident.span(),
                        format!("missing `#[wal(type_id = N)]` on `{}`: expected N in 1..=255 (0 is reserved for the log)", v.ident),
                    ));
                }
                fields(v, errors);
            }
            Data::Enum(variants) => {
                if variants.is_empty() {
                    errors.push(syn::Error::new(
                        self.original.ident.span(),
                        "an enum with no variants has no values to write",
                    ));
                }
                if self.kind == Kind::Codec && variants.len() > 256 {
                    errors.push(syn::Error::new(
                        self.original.ident.span(),
                        "a `WalCodec` enum has at most 256 variants (its tag is a byte)",
                    ));
                }
                let mut seen: BTreeMap<u8, Span> = BTreeMap::new();
                for v in variants {
                    match v.attrs.type_id {
                        Some((id, span)) => {
                            if let Some(first) = seen.get(&id) {
                                let mut e = syn::Error::new(span, format!("duplicate type_id {id}: each variant needs its own"));
                                e.combine(syn::Error::new(*first, format!("type_id {id} first used here")));
                                errors.push(e);
                            } else {
                                seen.insert(id, span);
                            }
                        }
                        None if self.kind == Kind::Entry && !v.attrs.type_id_written => errors.push(syn::Error::new(
                            v.ident.span(),
                            format!("missing `#[wal(type_id = N)]` on variant `{}`: expected N in 1..=255 (0 is reserved for the log)", v.ident),
                        )),
                        None => {}
                    }
                    fields(v, errors);
                }
            }
        }
    }
}

/// `Option` or `Vec`, for a field type whose last path segment is one of them.
pub fn container_of(ty: &syn::Type) -> Option<&'static str> {
    let syn::Type::Path(p) = ty else {
        return None;
    };
    match p.path.segments.last()?.ident.to_string().as_str() {
        "Option" => Some("Option"),
        "Vec" => Some("Vec"),
        _ => None,
    }
}

fn fields(v: &Variant<'_>, errors: &mut Errors) {
    let mut default_seen = None;
    for f in &v.fields {
        if let Some(each) = f.attrs.each {
            if f.attrs.with.is_none() {
                errors.push(syn::Error::new(
                    each,
                    "`each` goes with `with = \"module\"`: the module handles each element",
                ));
            } else if container_of(f.ty).is_none() {
                errors.push(syn::Error::new(f.ty.span(), "`each` works on a field of type `Option<T>` or `Vec<T>` (the module handles the `T`)"));
            }
        }
        if let (Some(skip), Some((_, with))) = (f.attrs.skip, &f.attrs.with) {
            let mut e = syn::Error::new(*with, "`with` has no effect on a field marked `skip`");
            e.combine(syn::Error::new(skip, "marked `skip` here"));
            errors.push(e);
        }
        if let (Some(skip), Some(default)) = (f.attrs.skip, f.attrs.default) {
            let mut e = syn::Error::new(default, "a field cannot be both `skip` and `default`");
            e.combine(syn::Error::new(skip, "marked `skip` here"));
            errors.push(e);
        }
        if f.attrs.skip.is_some() {
            continue;
        }
        match (f.attrs.default, default_seen) {
            (Some(span), None) => default_seen = Some(span),
            (None, Some(first)) => {
                let mut e = syn::Error::new(
                    f.span,
                    "a field after a `#[wal(default)]` field must be `#[wal(default)]` too: defaults are only read at the end of a payload",
                );
                e.combine(syn::Error::new(first, "first `default` field"));
                errors.push(e);
            }
            _ => {}
        }
    }
}

/// A `serde = …` entry's fields are serde's: `#[wal(...)]` field attributes have no effect.
fn serde_fields(data: &Data<'_>, errors: &mut Errors) {
    let variants: Vec<&Variant<'_>> = match data {
        Data::Struct(v) => vec![v],
        Data::Enum(vs) => vs.iter().collect(),
    };
    for f in variants.iter().flat_map(|v| &v.fields) {
        let span = f
            .attrs
            .skip
            .or(f.attrs.default)
            .or(f.attrs.with.as_ref().map(|(_, s)| *s));
        if let Some(span) = span {
            errors.push(syn::Error::new(
                span,
                "a `serde = …` entry is encoded by serde: use serde's field attributes (`#[serde(default)]`, `#[serde(skip)]`, `#[serde(with = …)]`)",
            ));
        }
    }
}
