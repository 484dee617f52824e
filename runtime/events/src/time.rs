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
