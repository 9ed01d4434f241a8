//! The model of a derive input: containers, variants, fields, each with its attributes.

use proc_macro2::Span;
use syn::spanned::Spanned;

use crate::attr::{self, Attrs, Errors, Place};

/// Which derive is running.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `WalEntry`.
    Entry,
    /// `WalCodec`.
    Codec,
}

/// A struct or an enum.
pub struct Input<'a> {
    pub original: &'a syn::DeriveInput,
    pub kind: Kind,
    pub attrs: Attrs,
    pub data: Data<'a>,
}

pub enum Data<'a> {
    /// A struct: its fields as one variant named after the type.
    Struct(Variant<'a>),
    Enum(Vec<Variant<'a>>),
}

/// A struct's or a variant's fields.
pub struct Variant<'a> {
    pub ident: &'a syn::Ident,
    pub attrs: Attrs,
    pub fields: Vec<Field<'a>>,
}

pub struct Field<'a> {
    pub member: syn::Member,
    pub ty: &'a syn::Type,
    pub attrs: Attrs,
    pub span: Span,
}

impl<'a> Input<'a> {
    /// Builds the model, collecting every attribute mistake into `errors`; fails at once
    /// only for input it cannot model (unions).
    pub fn from_syn(
        input: &'a syn::DeriveInput,
        kind: Kind,
        errors: &mut Errors,
    ) -> syn::Result<Self> {
        let field_place = if kind == Kind::Entry {
            Place::EntryField
        } else {
            Place::CodecField
        };
        let data = match &input.data {
            syn::Data::Struct(s) => {
                let place = if kind == Kind::Entry {
                    Place::EntryStruct
                } else {
                    Place::CodecContainer
                };
                let attrs = attr::parse(&input.attrs, place, errors);
                let fields = fields(&s.fields, field_place, errors);
                Data::Struct(Variant {
                    ident: &input.ident,
                    attrs,
                    fields,
                })
            }
            syn::Data::Enum(e) => {
                let variant_place = if kind == Kind::Entry {
                    Place::EntryVariant
                } else {
                    Place::CodecVariant
                };
                let variants = e
                    .variants
                    .iter()
                    .map(|v| Variant {
                        ident: &v.ident,
                        attrs: attr::parse(&v.attrs, variant_place, errors),
                        fields: fields(&v.fields, field_place, errors),
                    })
                    .collect();
                Data::Enum(variants)
            }
            syn::Data::Union(u) => {
                return Err(syn::Error::new(
                    u.union_token.span(),
                    "unions cannot derive `WalEntry` or `WalCodec`; use a struct or an enum",
                ));
            }
        };
        let attrs = match &data {
            Data::Struct(_) => Attrs::default(),
            Data::Enum(_) => attr::parse(
                &input.attrs,
                if kind == Kind::Entry {
                    Place::EntryEnum
                } else {
                    Place::CodecContainer
                },
                errors,
            ),
        };
        let mut input = Input {
            original: input,
            kind,
            attrs,
            data,
        };
        // A struct's container attributes were parsed with its fields' variant.
        if let Data::Struct(v) = &mut input.data {
            input.attrs.krate = v.attrs.krate.take();
        }
        Ok(input)
    }
}

fn fields<'a>(fields: &'a syn::Fields, place: Place, errors: &mut Errors) -> Vec<Field<'a>> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| Field {
            member: f
                .ident
                .clone()
                .map_or_else(|| syn::Member::Unnamed(i.into()), syn::Member::Named),
            ty: &f.ty,
            attrs: attr::parse(&f.attrs, place, errors),
            span: f.span(),
        })
        .collect()
}
