//! `wal dump`: entries, filtered before anything is decoded.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use wal_core::{RawEntry, RecoveryMode};

use super::io;
use crate::cli::{Format, Range};
use crate::open::open;
use crate::show::{Types, preview};

pub(crate) fn run(
    dir: &Path,
    range: &Range,
    format: Format,
    types: &Types,
    out: &mut impl Write,
) -> Result<u8, String> {
    let wal = open(dir, RecoveryMode::TolerateTornTail)?;
    let wanted: Vec<u8> = range
        .types
        .iter()
        .map(|t| types.parse(t))
        .collect::<Result<_, _>>()?;
    let from = range
        .from
        .unwrap_or(wal.first_index())
        .max(wal.first_index());
    if from > wal.last_index() {
        return Ok(0);
    }
    let to = range.to.unwrap_or(u64::MAX);
    let mut shown = 0;
    for raw in wal.iter_from(from).map_err(|e| e.to_string())? {
        let raw = raw.map_err(|e| e.to_string())?;
        if raw.index() > to || range.limit.is_some_and(|l| shown >= l) {
            break;
        }
        if !wanted.is_empty() && !wanted.contains(&raw.type_id()) {
            continue;
        }
        print_entry(&raw, format, types, out).map_err(io)?;
        shown += 1;
    }
    Ok(0)
}

/// One entry in `format`: the only place a payload is decoded.
pub(crate) fn print_entry(
    raw: &RawEntry,
    format: Format,
    types: &Types,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let t = raw.type_id();
    let payload = raw.payload();
    match format {
        Format::Text => {
            let shown = match types.decode(t, payload) {
                Some(Ok(decoded)) => decoded,
                Some(Err(e)) => format!("(cannot decode: {e}) {}", preview(payload, 64)),
                None => preview(payload, 64),
            };
            writeln!(
                out,
                "#{}  type {}  {} B  {shown}",
                raw.index(),
                types.label(t),
                payload.len()
            )
        }
        Format::Json => {
            let mut line = serde_json::json!({
                "index": raw.index(),
                "type": t,
                "size": payload.len(),
                "payload": base64::engine::general_purpose::STANDARD.encode(payload),
            });
            if let Some(name) = types.name(t) {
                line["name"] = name.into();
            }
            match types.decode(t, payload) {
                Some(Ok(decoded)) => line["decoded"] = decoded.into(),
                Some(Err(e)) => line["decode_error"] = e.into(),
                None => {}
            }
            writeln!(out, "{line}")
        }
        Format::Hex => {
            writeln!(
                out,
                "#{}  type {}  {} B",
                raw.index(),
                types.label(t),
                payload.len()
            )?;
            for (row, chunk) in payload.chunks(16).enumerate() {
                let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                writeln!(
                    out,
                    "  {:08x}  {:<47}  {}",
                    row * 16,
                    hex.join(" "),
                    preview(chunk, 16)
                )?;
            }
            Ok(())
        }
    }
}
