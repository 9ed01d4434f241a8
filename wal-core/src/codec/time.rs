//! `Codec` for `Duration` and `SystemTime`: the time types most entries carry.
//!
//! A `Duration` is its seconds (`u64`) then its nanoseconds (`u32`, below 1e9). A
//! `SystemTime` is signed seconds since the Unix epoch (`i64`, negative before 1970) then
//! nanoseconds (`u32`, below 1e9, counted forward): every instant a platform gives back
//! exactly, none clamped.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Codec, Reader};
use crate::entry::DecodeError;

const NANOS: u32 = 1_000_000_000;

fn nanos(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let n = u32::decode(r)?;
    if n >= NANOS {
        return Err(DecodeError::Invalid(format!(
            "{n} nanoseconds: a time's nanoseconds are below 1,000,000,000"
        )));
    }
    Ok(n)
}

impl Codec for Duration {
    const MIN_SIZE: usize = 12;

    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        self.as_secs().encode(out);
        self.subsec_nanos().encode(out);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let secs = u64::decode(r)?;
        Ok(Self::new(secs, nanos(r)?))
    }
}

impl Codec for SystemTime {
    const MIN_SIZE: usize = 12;

    fn encode(&self, out: &mut Vec<u8>) {
        let (secs, nanos) = match self.duration_since(UNIX_EPOCH) {
            Ok(d) => (
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            // Before 1970: whole seconds back, nanoseconds forward from there.
            Err(e) => {
                let d = e.duration();
                let back = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                match d.subsec_nanos() {
                    0 => (-back, 0),
                    n => (-back - 1, NANOS - n),
                }
            }
        };
        secs.encode(out);
        nanos.encode(out);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let secs = i64::decode(r)?;
        let n = nanos(r)?;
        let out_of_range = || {
            DecodeError::Invalid(format!(
                "{secs} s from 1970 is out of this platform's time range"
            ))
        };
        if secs >= 0 {
            UNIX_EPOCH
                .checked_add(Duration::new(secs.unsigned_abs(), n))
                .ok_or_else(out_of_range)
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(secs.unsigned_abs()))
                .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(n))))
                .ok_or_else(out_of_range)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::super::{Codec, Reader};

    fn round_trip<T: Codec + PartialEq + std::fmt::Debug>(v: &T) {
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(out.len(), 12);
        let back = T::decode(&mut Reader::new(&out)).unwrap();
        assert_eq!(&back, v);
    }

    #[test]
    fn instants_before_and_after_1970_and_durations_round_trip_exactly() {
        for t in [
            UNIX_EPOCH,
            SystemTime::now(),
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
            UNIX_EPOCH - Duration::new(0, 1),
            UNIX_EPOCH - Duration::new(86_400 * 365 * 100, 999_999_999),
            UNIX_EPOCH - Duration::from_secs(5),
        ] {
            round_trip(&t);
        }
        for d in [
            Duration::ZERO,
            Duration::new(u64::MAX, 999_999_999),
            Duration::from_millis(1500),
        ] {
            round_trip(&d);
        }
    }

    #[test]
    fn nanoseconds_out_of_range_are_an_error() {
        let mut out = Vec::new();
        5u64.encode(&mut out);
        1_000_000_000u32.encode(&mut out);
        assert!(Duration::decode(&mut Reader::new(&out)).is_err());
        assert!(SystemTime::decode(&mut Reader::new(&out)).is_err());
    }
}
