//! The fuzz targets' corpora (`fuzz/corpus/*`) and a deterministic batch of generated
//! inputs, run as ordinary tests on stable. `FUZZ_SEED_BLESS=1` rewrites the seed files.
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "test code"
)]
mod common;

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

fn golden() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden-v1");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Seed inputs: the golden log's segments, as a segment, as a directory, and as a spec.
fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let g = golden();
    let mut out = Vec::new();
    for (k, seg) in g.iter().enumerate() {
        let mut odd = vec![1u8];
        odd.extend_from_slice(&seg[64..]);
        out.push(("segment", format!("seed-golden-{k}"), seg.clone()));
        out.push(("segment", format!("seed-golden-body-{k}"), odd));
    }
    let mut dir = Vec::new();
    for (k, seg) in g.iter().enumerate() {
        dir.push((k * 6) as u8);
        dir.extend_from_slice(&(seg.len() as u16).to_le_bytes());
        dir.extend_from_slice(seg);
    }
    out.push(("directory", "seed-golden".into(), dir));
    // A payload as each codec stores it (the first byte picks the codec), and one plain.
    // Storing one needs the codec's feature; the stored seeds in the corpus run without.
    #[allow(unused_mut, reason = "pushed to only with the codecs' features")]
    let mut payloads = vec![(0u8, "plain", b"plain payload".to_vec())];
    #[cfg(all(feature = "lz4", feature = "zstd"))]
    payloads.extend([
        (1, "lz4", stored_payload(wal_core::Compression::Lz4)),
        (
            2,
            "zstd",
            stored_payload(wal_core::Compression::Zstd { level: 3 }),
        ),
    ]);
    for (pick, name, stored) in payloads {
        let mut d = vec![pick];
        d.extend_from_slice(&stored);
        out.push(("compressed", format!("seed-{name}"), d));
    }
    out.push((
        "mutate",
        "seed-clean".into(),
        vec![40, 30, 0, 0, 0, 0, 0, 0],
    ));
    out.push((
        "mutate",
        "seed-flip-and-cut".into(),
        vec![80, 60, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2, 0, 1, 9, 9],
    ));
    out
}

/// The stored (compressed) payload of one JSON-like entry appended with `codec`.
#[cfg(all(feature = "lz4", feature = "zstd"))]
fn stored_payload(codec: wal_core::Compression) -> Vec<u8> {
    use std::sync::Arc;
    let fs = wal_core::testing::SimFs::new();
    let opts = wal_core::Options::default()
        .file_system(Arc::new(fs.clone()))
        .preallocate(false)
        .compression(Some(codec));
    let wal = wal_core::Wal::open("/seed", opts).unwrap();
    let text = b"{\"id\":1,\"kind\":\"order_placed\",\"items\":[1,2,3]} ".repeat(30);
    wal.append(&common::Blob::new(1, text)).unwrap();
    wal.close().unwrap();
    let seg = fs
        .read_file(Path::new("/seed/00000000000000000001.wal"))
        .unwrap();
    let len = u32::from_le_bytes(seg[68..72].try_into().unwrap()) as usize;
    assert_ne!(seg[64 + 9] & 0b1100, 0, "stored compressed");
    seg[64 + 18..64 + 18 + len].to_vec()
}

fn run(target: &str, data: &[u8]) {
    match target {
        "segment" => wal_core::fuzz::segment(data),
        "directory" => wal_core::fuzz::directory(data),
        "compressed" => wal_core::fuzz::compressed(data),
        _ => wal_core::fuzz::mutate(data),
    }
}

#[test]
fn fuzz_corpora_replay_on_stable() {
    if std::env::var_os("FUZZ_SEED_BLESS").is_some() {
        for (target, name, data) in seeds() {
            std::fs::create_dir_all(corpus(target)).unwrap();
            std::fs::write(corpus(target).join(name), data).unwrap();
        }
    }
    let mut inputs = 0;
    for target in ["segment", "directory", "mutate", "compressed"] {
        let mut files: Vec<_> = std::fs::read_dir(corpus(target))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for {target}");
        for f in files {
            run(target, &std::fs::read(&f).unwrap());
            inputs += 1;
        }
        // Deterministic variations of the seeds: cuts and flips at many places.
        let mut x = 0x1234_5678_9abc_def0_u64;
        for (_, _, seed) in seeds().into_iter().filter(|(t, ..)| *t == target) {
            for _ in 0..100 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let mut d = seed.clone();
                if target == "mutate" {
                    // The first 8 bytes build the log; what follows mutates it: one to
                    // three mutations (kind, segment, offset) from the generator.
                    d.truncate(8);
                    for k in 0..=(x % 3) {
                        d.extend_from_slice(&(x >> (16 * k + 2)).to_le_bytes()[..4]);
                    }
                } else if !d.is_empty() {
                    let at = (x as usize) % d.len();
                    if x & 1 == 0 {
                        d.truncate(at);
                    } else {
                        d[at] ^= (x >> 8) as u8 | 1;
                    }
                }
                run(target, &d);
                inputs += 1;
            }
        }
    }
    common::report(&format!(
        "fuzz corpora and variations: {inputs} inputs replayed without a panic"
    ));
}
