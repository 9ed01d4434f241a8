//! Per-frame compression: a payload above a threshold is stored compressed when that saves
//! space, the codec recorded in the frame's flag bits 2–3 (see [`format`](crate::format)).
//! The stored payload is `original length u32 | compressed bytes`; the length is checked
//! against the maximum entry size before anything is allocated. No I/O.

use crate::error::{Error, Result};

/// Frame flag bits 2–3: the codec of a compressed payload (`0`: stored as is).
pub(crate) const CODEC_MASK: u8 = crate::format::FLAG_CODEC;
/// Codec value (in [`CODEC_MASK`]) of lz4.
const LZ4: u8 = 0b0100;
/// Codec value (in [`CODEC_MASK`]) of zstd.
const ZSTD: u8 = 0b1000;

/// How entries' payloads are compressed ([`Options::compression`](crate::Options::compression)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// lz4 (the `lz4` feature: `lz4_flex`, pure Rust): fast, about 2x on text-like data.
    Lz4,
    /// zstd at `level` (the `zstd` feature; 1 to 22, 3 is zstd's default): slower, smaller.
    Zstd {
        /// The compression level.
        level: i32,
    },
}

impl Compression {
    /// The codec's name, as errors say it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Lz4 => "lz4",
            Self::Zstd { .. } => "zstd",
        }
    }

    /// Whether this build has the codec (its feature is on).
    #[must_use]
    pub fn is_available(self) -> bool {
        match self {
            Self::Lz4 => cfg!(feature = "lz4"),
            Self::Zstd { .. } => cfg!(feature = "zstd"),
        }
    }

    /// Its flag bits.
    fn bits(self) -> u8 {
        match self {
            Self::Lz4 => LZ4,
            Self::Zstd { .. } => ZSTD,
        }
    }
}

/// The codec's name for frame flags `flags`, if they mark a compressed payload.
pub(crate) fn codec_of(flags: u8) -> Option<&'static str> {
    match flags & CODEC_MASK {
        0 => None,
        LZ4 => Some("lz4"),
        ZSTD => Some("zstd"),
        _ => Some("unknown codec 3"),
    }
}

/// Compresses `payload` with `codec` into `out` (cleared first) as it is stored; returns the
/// flag bits to set, or `None` when the result would not be smaller (store it as is).
pub(crate) fn compress(codec: Compression, payload: &[u8], out: &mut Vec<u8>) -> Option<u8> {
    out.clear();
    out.extend_from_slice(&u32::try_from(payload.len()).ok()?.to_le_bytes());
    let ok = match codec {
        #[cfg(feature = "lz4")]
        Compression::Lz4 => {
            let body = lz4_flex::block::compress(payload);
            out.extend_from_slice(&body);
            true
        }
        #[cfg(feature = "zstd")]
        Compression::Zstd { level } => zstd_compress(payload, level, out),
        // Refused by `Options::validate`: never reached.
        #[allow(unreachable_patterns, reason = "reachable without a codec feature")]
        _ => false,
    };
    (ok && out.len() < payload.len()).then(|| codec.bits())
}

/// The payload of entry `index` as its `encode` wrote it: `stored` decompressed by the
/// codec its frame `flags` name, at most `max` bytes.
///
/// # Errors
/// [`Error::Compression`] when the codec is unknown or not in this build, the original
/// length is over `max`, or the bytes do not decompress to that length.
pub(crate) fn decompress(index: u64, flags: u8, stored: &[u8], max: u32) -> Result<Vec<u8>> {
    let codec = codec_of(flags).unwrap_or("none");
    let fail = |reason: String| Error::Compression {
        index,
        codec,
        reason,
    };
    let (len, body) = match stored.split_first_chunk::<4>() {
        Some((len, body)) => (u32::from_le_bytes(*len), body),
        None => {
            return Err(fail(
                "the stored payload is shorter than its length prefix".into(),
            ));
        }
    };
    if len > max {
        return Err(fail(format!(
            "it would decompress to {len} bytes, more than the maximum entry size {max}"
        )));
    }
    let len = len as usize;
    let bits = flags & CODEC_MASK;
    if bits != LZ4 && bits != ZSTD {
        return Err(fail("flag bits 2-3 name no codec".into()));
    }
    let out = restore(bits, body, len).ok_or_else(|| {
        fail(format!(
            "this build of wal-core lacks the `{codec}` feature; enable it to read this entry"
        ))
    })?;
    let out = out.map_err(fail)?;
    if out.len() != len {
        return Err(fail(format!(
            "it decompressed to {} bytes, not the {len} recorded",
            out.len()
        )));
    }
    Ok(out)
}

/// `body` decompressed by the codec `bits` name into `len` bytes; `None` when this build
/// lacks the codec.
fn restore(bits: u8, body: &[u8], len: usize) -> Option<std::result::Result<Vec<u8>, String>> {
    match bits {
        #[cfg(feature = "lz4")]
        LZ4 => Some(lz4_flex::block::decompress(body, len).map_err(|e| e.to_string())),
        #[cfg(feature = "zstd")]
        ZSTD => Some(zstd_decompress(body, len)),
        _ => {
            let _ = (body, len);
            None
        }
    }
}

/// A thread's zstd contexts: a compressor (with its level) and a decompressor.
#[cfg(feature = "zstd")]
type ZstdContexts = (
    Option<(i32, zstd::bulk::Compressor<'static>)>,
    Option<zstd::bulk::Decompressor<'static>>,
);

#[cfg(feature = "zstd")]
thread_local! {
    /// zstd contexts, one per thread and kept: making one per payload cost more than
    /// compressing an 800-byte payload.
    static ZSTD_CONTEXTS: std::cell::RefCell<ZstdContexts> = const { std::cell::RefCell::new((None, None)) };
}

/// Appends `payload` compressed by zstd at `level` to `out`; `false` if zstd failed.
#[cfg(feature = "zstd")]
fn zstd_compress(payload: &[u8], level: i32, out: &mut Vec<u8>) -> bool {
    ZSTD_CONTEXTS.with_borrow_mut(|(c, _)| {
        if c.as_ref().is_none_or(|(l, _)| *l != level) {
            *c = zstd::bulk::Compressor::new(level).ok().map(|z| (level, z));
        }
        let Some((_, z)) = c.as_mut() else {
            return false;
        };
        let Ok(body) = z.compress(payload) else {
            return false;
        };
        out.extend_from_slice(&body);
        true
    })
}

/// `body` decompressed by zstd into at most `len` bytes.
#[cfg(feature = "zstd")]
fn zstd_decompress(body: &[u8], len: usize) -> std::result::Result<Vec<u8>, String> {
    ZSTD_CONTEXTS.with_borrow_mut(|(_, d)| {
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?);
        }
        let z = d.as_mut().ok_or("no zstd context")?;
        z.decompress(body, len).map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::{CODEC_MASK, Compression, compress, decompress};

    fn codecs() -> Vec<Compression> {
        [Compression::Lz4, Compression::Zstd { level: 3 }]
            .into_iter()
            .filter(|c| c.is_available())
            .collect()
    }

    #[test]
    fn round_trips_and_refuses_what_does_not_shrink() {
        let text = b"event: order placed, customer 42, items [1, 2, 3]; ".repeat(40);
        let mut out = Vec::new();
        for c in codecs() {
            let bits = compress(c, &text, &mut out).expect("text compresses");
            assert!(out.len() < text.len() / 2, "{c:?}: {}", out.len());
            assert_eq!(decompress(9, bits, &out, 1 << 20).unwrap(), text);
            let mut x = 0x9e37_79b9_7f4a_7c15_u64;
            let noise: Vec<u8> = (0..600)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x.to_le_bytes()[3]
                })
                .collect();
            assert_eq!(
                compress(c, &noise, &mut out),
                None,
                "{c:?}: noise stored as is"
            );
        }
    }

    #[test]
    fn a_bomb_is_refused_before_allocating_and_damage_is_an_error() {
        let text = vec![b'a'; 100_000];
        let mut out = Vec::new();
        for c in codecs() {
            let bits = compress(c, &text, &mut out).unwrap();
            let err = decompress(1, bits, &out, 1000).unwrap_err();
            assert!(
                err.to_string()
                    .contains("more than the maximum entry size 1000"),
                "{err}"
            );
            for at in 0..out.len() {
                let mut bad = out.clone();
                bad[at] ^= 0x5a;
                if let Ok(v) = decompress(1, bits, &bad, 200_000) {
                    assert_eq!(v.len(), 100_000);
                }
            }
            assert!(decompress(1, bits, &out[..3], 10).is_err());
        }
        let err = decompress(7, CODEC_MASK, &[0, 0, 0, 0], 10).unwrap_err();
        assert!(err.to_string().contains("no codec"), "{err}");
    }

    /// A build without the codecs (`cargo test -p wal-core --no-default-features --lib`, as
    /// `.ci/run` runs it) reads the compressed fixture's plain entry and names the feature it
    /// lacks for the others.
    #[cfg(not(any(feature = "lz4", feature = "zstd")))]
    #[test]
    fn a_build_without_the_codec_says_which_feature_it_lacks() {
        use std::path::Path;
        use std::sync::Arc;

        use crate::io::FileSystem;
        use crate::io::sim::SimFs;
        use crate::{Error, Options, Wal};

        let fs = SimFs::new();
        let dir = Path::new("/fixture");
        fs.create_dir_all(dir).unwrap();
        for (name, bytes) in [
            (
                "00000000000000000001.wal",
                &include_bytes!("../tests/fixtures/golden-v1-compressed/00000000000000000001.wal")
                    [..],
            ),
            (
                "LOW_WATER",
                &include_bytes!("../tests/fixtures/golden-v1-compressed/LOW_WATER")[..],
            ),
            (
                "HIGH_WATER",
                &include_bytes!("../tests/fixtures/golden-v1-compressed/HIGH_WATER")[..],
            ),
        ] {
            fs.write_file(&dir.join(name), bytes);
        }
        let wal = Wal::open(dir, Options::default().file_system(Arc::new(fs))).unwrap();
        assert_eq!(wal.get_raw(1).unwrap().payload(), b"short, stored as is");
        for (index, codec) in [(2, "lz4"), (3, "zstd")] {
            let err = wal.get_raw(index).unwrap_err();
            assert!(
                matches!(err, Error::Compression { index: i, codec: c, .. } if i == index && c == codec),
                "{err}"
            );
            assert!(
                err.to_string()
                    .contains(&format!("lacks the `{codec}` feature")),
                "{err}"
            );
        }
        let err = Wal::open(
            "/other",
            Options::default().compression(Some(Compression::Lz4)),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("needs wal-core's `lz4` feature"),
            "{err}"
        );
    }
}
