//! Compile-fail and compile-pass cases for the derive (trybuild).
//! Regenerate snapshots with `TRYBUILD=overwrite cargo test -p wal-derive --test compiletest`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
