//! Timestamps: RFC 3339, UTC, exactly six fractional digits.
//!
//! Stored as text in the event and as microseconds since the epoch in the
//! time index.

use crate::error::{EventsError, Result};

/// Now, as (microseconds since the epoch, RFC 3339 text).
pub(crate) fn now() -> (i64, String) {
    let ts = jiff::Timestamp::now();
    (ts.as_microsecond(), format_micros(ts.as_microsecond()))
}

/// Formats microseconds since the epoch as `2026-11-25T08:01:02.123456Z`.
/// Every append formats one; the text up to the second is kept per thread
/// and only the microseconds are written again (callgrind counted jiff's
/// full format at ~1k of a single append's ~15k instructions).
pub(crate) fn format_micros(micros: i64) -> String {
    thread_local! {
        /// The last second formatted, and its text up to the `.`.
        static SECOND: std::cell::RefCell<(i64, String)> =
            const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    if jiff::Timestamp::from_microsecond(micros).is_err() {
        return format_micros_uncached(micros);
    }
    let (second, fraction) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    SECOND.with_borrow_mut(|(cached, prefix)| {
        if *cached != second {
            let full = format_micros_uncached(micros);
            // Whatever the year's width, the text ends in `.dddddd` + `Z`.
            *prefix = full[..full.len() - 8].to_owned();
            *cached = second;
        }
        let mut out = String::with_capacity(prefix.len() + 8);
        out.push_str(prefix);
        out.push('.');
        let digits = fraction.unsigned_abs();
        for div in [100_000, 10_000, 1_000, 100, 10, 1] {
            out.push(char::from(b'0' + ((digits / div) % 10) as u8));
        }
        out.push('Z');
        out
    })
}

fn format_micros_uncached(micros: i64) -> String {
    match jiff::Timestamp::from_microsecond(micros) {
        Ok(ts) => format!("{ts:.6}"),
        Err(_) => "1970-01-01T00:00:00.000000Z".to_owned(),
    }
}

/// Parses any RFC 3339 timestamp (any offset, any precision) into
/// microseconds since the epoch, truncating below a microsecond.
pub fn parse_ts(input: &str) -> Result<i64> {
    input
        .trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_microsecond())
        .map_err(|_| EventsError::InvalidTimestamp {
            input: input.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-second cache gives what a full format gives, across
    /// seconds, days, the epoch and the ends of the range.
    #[test]
    fn the_cached_format_is_the_full_format() {
        let micros = [
            1_795_593_662_123_456,
            1_795_593_662_999_999,
            1_795_593_663_000_000,
            1_795_593_662_000_001,
            0,
            -1,
            -1_000_000,
            -1_000_001,
            253_402_300_799_999_999,
            -377_705_116_800_000_000,
            i64::MAX,
        ];
        for m in micros.into_iter().chain(micros) {
            assert_eq!(format_micros(m), format_micros_uncached(m), "{m}");
        }
    }

    #[test]
    fn formats_with_microseconds_in_utc() {
        assert_eq!(
            format_micros(1_795_593_662_123_456),
            "2026-11-25T08:01:02.123456Z"
        );
        assert_eq!(
            format_micros(1_795_593_662_000_000),
            "2026-11-25T08:01:02.000000Z"
        );
    }

    #[test]
    fn parses_offsets_and_rejects_garbage() {
        assert_eq!(
            parse_ts("2026-11-25T08:01:02.123456Z").unwrap(),
            1_795_593_662_123_456
        );
        assert_eq!(
            parse_ts("2026-11-25T09:01:02.123456+01:00").unwrap(),
            1_795_593_662_123_456
        );
        assert_eq!(
            parse_ts("2026-11-25T08:01:02Z").unwrap(),
            1_795_593_662_000_000
        );
        assert_eq!(
            parse_ts("yesterday").unwrap_err().code(),
            "events.invalid_timestamp"
        );
    }
}
