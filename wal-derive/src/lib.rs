//! `#[derive(WalEntry)]` and `#[derive(WalCodec)]` for `wal-core`.
//!
//! Use them through `wal_core` (its default `derive` feature re-exports them), where their
//! attributes and compatibility rules are documented.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Implements `wal_core::Entry`; see `wal_core::WalEntry` for the attributes.
#[proc_macro_derive(WalEntry, attributes(wal))]
pub fn derive_entry(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input, ast::Kind::Entry)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `wal_core::Codec`; see `wal_core::WalCodec`.
#[proc_macro_derive(WalCodec, attributes(wal))]
pub fn derive_codec(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input, ast::Kind::Codec)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
