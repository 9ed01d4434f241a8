//! Step four of recovery, after the plan was carried out: the segments and the tail state
//! the log continues from.

use std::sync::Arc;

use super::plan::Decision;
use super::{Body, Found, TailState};
use crate::error::{Error, Result};
use crate::segment::{OpenFiles, Segment};

/// Builds the log's segments from those read, as `decision` keeps them, and the state the
/// writer continues from (`None` when nothing is kept). `writable`: the tail's file is
/// opened for writing.
pub(super) fn assemble(
    files: &Arc<OpenFiles>,
    found: Vec<Found>,
    decision: Decision,
    writable: bool,
) -> Result<(Vec<Arc<Segment>>, Option<TailState>)> {
    let Decision {
        plan,
        keep,
        cut_at,
        mut salvaged,
        ..
    } = decision;
    let mut segments = Vec::with_capacity(keep);
    let mut tail = None;
    for (i, f) in found.into_iter().enumerate().take(keep) {
        if i < plan.remove_below {
            continue;
        }
        let is_tail = i + 1 == keep;
        let segment = match f.body {
            Body::Sealed(s) => {
                // A footer-known segment is the tail only when a newer one was dropped (a
                // crash while creating it): it takes no more entries, appends start the next.
                if is_tail {
                    tail = Some(TailState {
                        valid_end: f.len,
                        marker_end: f.len,
                        window_crc: 0,
                        sealed: Some(s.crc),
                        close_batch: false,
                    });
                }
                Segment::sealed(
                    Arc::clone(files),
                    f.path,
                    f.header,
                    u64::from(s.offset),
                    s.last_index,
                    Some(u64::from(s.offset)),
                )
            }
            Body::Scanned { mut scan, .. } => {
                if let Some((_, offset)) = cut_at.filter(|(ci, _)| *ci == i) {
                    scan.valid_end = offset;
                    scan.footer = None;
                }
                let file = if writable && is_tail {
                    Some(
                        files
                            .fs()
                            .open_write(&f.path)
                            .map_err(|e| Error::io("open", &f.path, e))?,
                    )
                } else {
                    None
                };
                // A segment's end excludes its footer, however it was read.
                let footer_at = scan
                    .footer
                    .as_ref()
                    .map(|(footer, _)| u64::from(footer.footer_offset));
                let (positions, end, last, sparse, footer_at) = match salvaged[i].take() {
                    Some(s) => (s.positions, s.end, s.last, Some(s.indexes), s.footer_at),
                    None => {
                        let last = f
                            .header
                            .first_index
                            .wrapping_add(scan.entries())
                            .wrapping_sub(1);
                        let positions = std::mem::take(&mut scan.positions);
                        let end = footer_at.unwrap_or(scan.valid_end);
                        (positions, end, last, None, footer_at)
                    }
                };
                if is_tail {
                    tail = Some(TailState {
                        sealed: scan.footer.as_ref().map(|(_, crc)| *crc),
                        valid_end: scan.valid_end,
                        marker_end: scan.marker_end.min(scan.valid_end),
                        window_crc: scan.window_crc,
                        close_batch: scan.closed_by_cut,
                    });
                }
                let segment = Segment::loaded(
                    Arc::clone(files),
                    f.path,
                    file,
                    f.header,
                    end,
                    last,
                    positions,
                    footer_at,
                );
                match sparse {
                    Some(at) => segment.with_indexes(at),
                    None => segment,
                }
            }
        };
        segments.push(Arc::new(segment));
    }
    Ok((segments, tail))
}
