//! Code generation, nothing else.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Data, Field, Input, Kind, Variant};

/// Derives `Entry` or `Codec` for `input`: model, validate, expand.
pub fn derive(input: &syn::DeriveInput, kind: Kind) -> syn::Result<TokenStream> {
    let mut errors = crate::attr::Errors::default();
    let input = Input::from_syn(input, kind, &mut errors)?;
    input.validate(&mut errors);
    errors.finish()?;
    let krate = input
        .attrs
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::wal_core));
    Ok(match kind {
        Kind::Entry => impl_entry(&input, &krate),
        Kind::Codec => impl_codec(&input, &krate),
    })
}

/// The generics with a `Codec` bound on every type parameter.
fn generics(input: &Input<'_>, krate: &syn::Path) -> syn::Generics {
    let mut g = input.original.generics.clone();
    let params: Vec<syn::Ident> = g.type_params().map(|p| p.ident.clone()).collect();
    let where_clause = g.make_where_clause();
    for p in params {
        where_clause
            .predicates
            .push(syn::parse_quote!(#p: #krate::__private::Codec));
    }
    g
}

/// The generics with serde's bounds on every type parameter (for `#[wal(serde = ...)]`).
fn serde_generics(input: &Input<'_>, krate: &syn::Path) -> syn::Generics {
    let mut g = input.original.generics.clone();
    let params: Vec<syn::Ident> = g.type_params().map(|p| p.ident.clone()).collect();
    let where_clause = g.make_where_clause();
    for p in params {
        where_clause.predicates.push(syn::parse_quote!(
            #p: #krate::__private::serde::Serialize + #krate::__private::serde::de::DeserializeOwned
        ));
    }
    g
}

/// The encode and decode bodies of an entry whose payload is in serde format `format`: the
/// whole value, then (for an enum) a check that the variant is the frame's type.
fn serde_bodies(
    input: &Input<'_>,
    format: &syn::Ident,
    krate: &syn::Path,
    ids: &[u8],
) -> (TokenStream, TokenStream) {
    let p = quote! { #krate::__private };
    // Spanned at the attribute's value: a format whose feature is off is reported there.
    let module = quote::quote_spanned! {format.span()=> #krate::formats::#format };
    let name = input.original.ident.to_string();
    let encode = quote! { #module::encode(self, __wal_out)?; };
    let check = match &input.data {
        Data::Struct(_) => quote! {},
        Data::Enum(_) => quote! {
            let __wal_found = #krate::Entry::type_id(&__wal_value);
            if __wal_found != __wal_type_id {
                return ::core::result::Result::Err(#p::DecodeError::Invalid(::std::format!(
                    "the payload holds a {} of type id {}, not {}", #name, __wal_found, __wal_type_id
                )));
            }
        },
    };
    let decode = quote! {
        match __wal_type_id {
            #(#ids)|* => {}
            _ => return ::core::result::Result::Err(#p::DecodeError::UnknownType(__wal_type_id)),
        }
        let __wal_value: Self = #module::decode(__wal_payload)?;
        #check
        ::core::result::Result::Ok(__wal_value)
    };
    (encode, decode)
}

fn binding(i: usize) -> syn::Ident {
    format_ident!("__wal_f{}", i)
}

/// Statements that encode `fields`, each reached through `access(index, field)`.
fn encode_fields(
    fields: &[Field<'_>],
    krate: &syn::Path,
    fallible: bool,
    access: impl Fn(usize, &Field<'_>) -> TokenStream,
) -> TokenStream {
    let stmts = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.attrs.skip.is_none())
        .map(|(i, f)| {
            let value = access(i, f);
            // Spanned at the field's type: a type without `Codec` is reported there.
            let ty = f.ty;
            let p = quote! { #krate::__private };
            match &f.attrs.with {
                Some((module, _)) => {
                    let call = match (f.attrs.each, crate::valid::container_of(ty)) {
                        (Some(_), Some("Option")) => quote! { #p::encode_option(#value, __wal_out, #module::encode) },
                        (Some(_), _) => quote! { #p::encode_each(#value, __wal_out, #module::encode) },
                        (None, _) => quote! { #module::encode(#value, __wal_out) },
                    };
                    // An entry's encode may fail: a `with` encoder may return a `Result`.
                    if fallible {
                        quote_spanned! {module.span()=> #p::encode_outcome(#call)?; }
                    } else {
                        quote_spanned! {module.span()=> #p::encode_infallible(#call); }
                    }
                }
                None => quote_spanned! {ty.span()=> #krate::__private::Codec::encode(#value, __wal_out); },
            }
        });
    quote! { #(#stmts)* }
}

/// A struct expression `path { member: decoded, ... }` that reads the fields from `__wal_r`.
/// A field that does not decode is named in the error: `label.member`.
fn decode_fields(
    path: &TokenStream,
    label: &str,
    fields: &[Field<'_>],
    krate: &syn::Path,
) -> TokenStream {
    let inits = fields.iter().map(|f| {
        let member = &f.member;
        let ty = f.ty;
        let field = match member {
            syn::Member::Named(i) => i.to_string(),
            syn::Member::Unnamed(i) => i.index.to_string(),
        };
        let read = match &f.attrs.with {
            Some((module, _)) => match (f.attrs.each, crate::valid::container_of(ty)) {
                (Some(_), Some("Option")) => quote_spanned! {ty.span()=> #krate::__private::decode_option(&mut __wal_r, #module::decode) },
                (Some(_), _) => quote_spanned! {ty.span()=> #krate::__private::decode_each(&mut __wal_r, #module::decode) },
                (None, _) => quote_spanned! {ty.span()=> #module::decode(&mut __wal_r) },
            },
            None => quote_spanned! {ty.span()=> <#ty as #krate::__private::Codec>::decode(&mut __wal_r) },
        };
        // Spanned at the field's type: a decoder of the wrong type is reported there.
        let read = quote_spanned! {ty.span()=>
            #read.map_err(|__wal_e| #krate::__private::in_field(#label, #field, __wal_e))?
        };
        let value = if f.attrs.skip.is_some() {
            quote! { ::core::default::Default::default() }
        } else if f.attrs.default.is_some() {
            quote! { if #krate::__private::Reader::is_empty(&__wal_r) { ::core::default::Default::default() } else { #read } }
        } else {
            read
        };
        quote_spanned! {ty.span()=> #member: #value }
    });
    quote! { #path { #(#inits),* } }
}

/// A pattern `Self::V { member: __wal_fN, ... }` binding every encoded field.
fn pattern(v: &Variant<'_>) -> TokenStream {
    let ident = v.ident;
    let binds = v.fields.iter().enumerate().map(|(i, f)| {
        let member = &f.member;
        if f.attrs.skip.is_some() {
            quote! { #member: _ }
        } else {
            let b = binding(i);
            quote! { #member: #b }
        }
    });
    quote! { Self::#ident { #(#binds),* } }
}

/// For each variant, the statements that encode the fields its pattern binds.
fn variant_encoders(
    variants: &[Variant<'_>],
    krate: &syn::Path,
    fallible: bool,
) -> Vec<TokenStream> {
    variants
        .iter()
        .map(|v| {
            encode_fields(&v.fields, krate, fallible, |i, _| {
                let b = binding(i);
                quote!(#b)
            })
        })
        .collect()
}

/// For each variant, the expression that decodes it from `__wal_r`.
fn variant_builders(name: &str, variants: &[Variant<'_>], krate: &syn::Path) -> Vec<TokenStream> {
    variants
        .iter()
        .map(|v| {
            let ident = v.ident;
            decode_fields(
                &quote!(Self::#ident),
                &format!("{name}::{ident}"),
                &v.fields,
                krate,
            )
        })
        .collect()
}

/// The serde format an entry's payload is in, if `#[wal(serde = ...)]` chose one.
fn serde_format<'a>(input: &'a Input<'_>) -> Option<&'a syn::Ident> {
    match &input.data {
        Data::Struct(v) => v.attrs.serde.as_ref(),
        Data::Enum(_) => input.attrs.serde.as_ref(),
    }
}

/// The parts of an entry's `Entry` impl that differ between a struct and an enum: its type
/// ids, and the bodies of `type_id`, `ignorable`, `encode`, `decode`, and inherent items.
fn entry_parts(
    input: &Input<'_>,
    krate: &syn::Path,
) -> (
    Vec<u8>,
    TokenStream,
    TokenStream,
    TokenStream,
    TokenStream,
    TokenStream,
) {
    let name = &input.original.ident;
    let p = quote! { #krate::__private };
    match &input.data {
        Data::Struct(v) => {
            let (id, _) = v
                .attrs
                .type_id
                .expect("validated: a struct entry has a type id");
            let ign = v.attrs.ignorable.is_some();
            let enc = encode_fields(&v.fields, krate, true, |_, f| {
                let m = &f.member;
                quote_spanned! {f.ty.span()=> &self.#m }
            });
            let build = decode_fields(&quote!(Self), &name.to_string(), &v.fields, krate);
            let dec = quote! {
                if __wal_type_id != #id {
                    return ::core::result::Result::Err(#p::DecodeError::UnknownType(__wal_type_id));
                }
                #build
            };
            let doc = format!("The entry type id of `{name}` values.");
            let inherent = quote! {
                #[doc = #doc]
                pub const TYPE_ID: u8 = #id;
            };
            (vec![id], quote!(#id), quote!(#ign), enc, dec, inherent)
        }
        Data::Enum(variants) => {
            let ids: Vec<u8> = variants
                .iter()
                .map(|v| {
                    v.attrs
                        .type_id
                        .expect("validated: every variant has a type id")
                        .0
                })
                .collect();
            let pats: Vec<TokenStream> = variants.iter().map(pattern).collect();
            let igns = variants.iter().map(|v| v.attrs.ignorable.is_some());
            let encs = variant_encoders(variants, krate, true);
            let builds = variant_builders(&name.to_string(), variants, krate);
            let type_id = quote! { match self { #(#pats => #ids,)* } };
            let ignorable = quote! { match self { #(#pats => #igns,)* } };
            let encode = quote! { match self { #(#pats => { #encs })* } };
            let decode = quote! {
                match __wal_type_id {
                    #(#ids => #builds,)*
                    _ => return ::core::result::Result::Err(#p::DecodeError::UnknownType(__wal_type_id)),
                }
            };
            let ids_doc =
                format!("The entry type ids of `{name}`'s variants, in declaration order.");
            let inherent = quote! {
                #[doc = #ids_doc]
                pub const TYPE_IDS: &'static [u8] = &[#(#ids),*];

                /// A registry that decodes every variant of this enum.
                #[must_use]
                pub fn registry() -> #krate::EntryRegistry
                where
                    Self: ::core::marker::Send + 'static,
                {
                    #p::registry_of::<Self>()
                }
            };
            (ids, type_id, ignorable, encode, decode, inherent)
        }
    }
}

fn impl_entry(input: &Input<'_>, krate: &syn::Path) -> TokenStream {
    let name = &input.original.ident;
    let format = serde_format(input);
    let generics = if format.is_some() {
        serde_generics(input, krate)
    } else {
        generics(input, krate)
    };
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let p = quote! { #krate::__private };
    let names: Vec<String> = match &input.data {
        Data::Struct(_) => vec![name.to_string()],
        Data::Enum(variants) => variants.iter().map(|v| v.ident.to_string()).collect(),
    };
    let (ids, type_id, ignorable, encode, decode, inherent) = entry_parts(input, krate);
    let (encode, decode) = match format {
        Some(f) => serde_bodies(input, f, krate, &ids),
        None => (encode, decode),
    };
    let decode_body = if format.is_some() {
        quote! { #decode }
    } else {
        quote! {
            let mut __wal_r = #p::Reader::new(__wal_payload);
            let __wal_value = { #decode };
            #p::Reader::finish(&__wal_r)?;
            ::core::result::Result::Ok(__wal_value)
        }
    };
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all, clippy::pedantic)]
        impl #impl_g #krate::Entry for #name #ty_g #where_g {
            const TYPE_IDS: &'static [u8] = &[#(#ids),*];

            #[inline]
            fn type_id(&self) -> u8 {
                #type_id
            }

            #[inline]
            fn ignorable(&self) -> bool {
                #ignorable
            }

            // Called from one generic site per entry type (the log's append buffer); left to
            // itself LLVM keeps it out of line, which cost 18% more instructions than a
            // hand-written impl (callgrind, wal-derive's codec benchmark).
            #[inline(always)]
            fn encode(&self, __wal_out: &mut #p::Vec<u8>) -> ::core::result::Result<(), #p::EncodeError> {
                #encode
                ::core::result::Result::Ok(())
            }

            fn type_name(__wal_type_id: u8) -> ::core::option::Option<&'static str> {
                match __wal_type_id {
                    #(#ids => ::core::option::Option::Some(#names),)*
                    _ => ::core::option::Option::None,
                }
            }

            #[inline]
            fn decode(__wal_type_id: u8, __wal_payload: &[u8]) -> ::core::result::Result<Self, #p::DecodeError> {
                #decode_body
            }
        }

        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all, clippy::pedantic)]
        impl #impl_g #name #ty_g #where_g {
            #inherent
        }
    }
}

fn min_size(fields: &[Field<'_>], krate: &syn::Path) -> TokenStream {
    let sizes = fields
        .iter()
        .filter(|f| f.attrs.skip.is_none() && f.attrs.with.is_none())
        .map(|f| {
            let ty = f.ty;
            quote! { + <#ty as #krate::__private::Codec>::MIN_SIZE }
        });
    quote! { 0 #(#sizes)* }
}

fn impl_codec(input: &Input<'_>, krate: &syn::Path) -> TokenStream {
    let name = &input.original.ident;
    let generics = generics(input, krate);
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let p = quote! { #krate::__private };
    let (min, encode, decode) = match &input.data {
        Data::Struct(v) => {
            let enc = encode_fields(&v.fields, krate, false, |_, f| {
                let m = &f.member;
                quote_spanned! {f.ty.span()=> &self.#m }
            });
            (
                min_size(&v.fields, krate),
                enc,
                decode_fields(&quote!(Self), &name.to_string(), &v.fields, krate),
            )
        }
        Data::Enum(variants) => {
            let tags: Vec<u8> = (0..variants.len())
                .map(|i| u8::try_from(i).unwrap_or(u8::MAX))
                .collect();
            let pats = variants.iter().map(pattern);
            let encs = variant_encoders(variants, krate, false);
            let builds = variant_builders(&name.to_string(), variants, krate);
            let type_name = name.to_string();
            let encode = quote! {
                match self { #(#pats => { #p::Codec::encode(&#tags, __wal_out); #encs })* }
            };
            let decode = quote! {
                match <u8 as #p::Codec>::decode(__wal_r)? {
                    #(#tags => #builds,)*
                    __wal_tag => return ::core::result::Result::Err(#p::unknown_tag(#type_name, __wal_tag)),
                }
            };
            (quote!(1), encode, decode)
        }
    };
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all, clippy::pedantic)]
        impl #impl_g #p::Codec for #name #ty_g #where_g {
            const MIN_SIZE: usize = #min;

            #[inline]
            fn encode(&self, __wal_out: &mut #p::Vec<u8>) {
                #encode
            }

            #[inline]
            fn decode(__wal_r: &mut #p::Reader<'_>) -> ::core::result::Result<Self, #p::DecodeError> {
                let mut __wal_r = __wal_r;
                ::core::result::Result::Ok({ #decode })
            }
        }
    }
}
