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
pub(crate) fn format_micros(micros: i64) -> String {
    // Every append formats its time: the years 0–9999 are written digit
    // by digit (a fifth of the cost of the formatting machinery), others
    // by jiff.
    let Ok(ts) = jiff::Timestamp::from_microsecond(micros) else {
        return "1970-01-01T00:00:00.000000Z".to_owned();
    };
    let secs = micros.div_euclid(1_000_000);
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return format!("{ts:.6}");
    }
    let mut out = [0u8; 27];
    let mut put = |at: usize, width: usize, mut n: u64| {
        for slot in out[at..at + width].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year as u64);
    put(5, 2, u64::from(month));
    put(8, 2, u64::from(day));
    put(11, 2, (of_day / 3600) as u64);
    put(14, 2, (of_day / 60 % 60) as u64);
    put(17, 2, (of_day % 60) as u64);
    put(20, 6, micros.rem_euclid(1_000_000) as u64);
    for (at, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ] {
        out[at] = c;
    }
    // Only ASCII digits and separators were written.
    String::from_utf8_lossy(&out).into_owned()
}

/// The proleptic Gregorian (year, month, day) of a day counted from
/// 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], from March
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
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

    /// The digit-by-digit formatter writes what jiff writes, across leap
    /// days, century rules, the epoch, negative times and the range ends.
    #[test]
    fn the_fast_formatter_agrees_with_jiff() {
        let jiff = |micros: i64| match jiff::Timestamp::from_microsecond(micros) {
            Ok(ts) => format!("{ts:.6}"),
            Err(_) => "1970-01-01T00:00:00.000000Z".to_owned(),
        };
        let day = 86_400_000_000_i64;
        let mut samples = vec![
            0,
            -1,
            1,
            -day,
            951_782_400_000_000,     // 2000-02-29
            4_107_542_400_000_000,   // 2100-03-01
            253_402_207_200_000_000, // jiff's last instant
            253_402_207_200_000_001, // past it: the fallback
            i64::MIN,
            -62_167_219_200_000_000, // 0000-01-01
            -62_167_219_200_000_001, // a year before 0: jiff's
            1_795_593_662_123_456,
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push((x % 253_402_300_800_000_000) as i64 - 62_167_219_200_000_000);
        }
        for m in samples {
            assert_eq!(format_micros(m), jiff(m), "{m}");
        }
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
