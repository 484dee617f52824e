//! When to try a request again and how long to wait first: which statuses
//! are worth a retry, exponential backoff with full jitter, and the
//! server's `Retry-After`.

use std::time::{Duration, SystemTime};

/// Whether an HTTP status is worth another attempt: 429 (rate limited) and
/// 5xx except 501 (the server will not learn the method by waiting).
pub(crate) fn status_is_retryable(status: u16) -> bool {
    status == 429 || ((500..=599).contains(&status) && status != 501)
}

/// Whether the server's `Retry-After` is honoured for this status (RFC
/// 9110 §10.2.3 defines it for 503 and, with RFC 6585, 429).
pub(crate) fn status_has_retry_after(status: u16) -> bool {
    status == 429 || status == 503
}

/// The upper bound of the backoff before retry `retry` (0-based):
/// `min(max, base × 2^retry)`, without overflow.
pub(crate) fn backoff_ceiling(base: Duration, max: Duration, retry: u32) -> Duration {
    let factor = 2u32.checked_pow(retry).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

/// The backoff before retry `retry` (0-based): uniform in
/// `[0, backoff_ceiling]` ("full jitter": clients that failed together do
/// not come back together).
pub(crate) fn backoff(base: Duration, max: Duration, retry: u32) -> Duration {
    let ceiling = backoff_ceiling(base, max, retry);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

/// Parses a `Retry-After` value, delay-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), into a wait from `now`; a date in
/// the past is no wait. `None` when it is neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: a number too big for u64 is "a very long time".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses_are_429_and_5xx_but_501() {
        let retryable: Vec<u16> = (100..=599).filter(|s| status_is_retryable(*s)).collect();
        let mut expected = vec![429];
        expected.extend(500..=599);
        expected.retain(|s| *s != 501);
        assert_eq!(retryable, expected);
    }

    #[test]
    fn retry_after_is_read_on_429_and_503_only() {
        let with: Vec<u16> = (100..=599).filter(|s| status_has_retry_after(*s)).collect();
        assert_eq!(with, vec![429, 503]);
    }

    #[test]
    fn backoff_ceiling_doubles_up_to_the_max() {
        let base = Duration::from_millis(500);
        let max = Duration::from_secs(10);
        let ceilings: Vec<Duration> = (0..8).map(|n| backoff_ceiling(base, max, n)).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            ceilings,
            vec![
                ms(500),
                ms(1000),
                ms(2000),
                ms(4000),
                ms(8000),
                ms(10000),
                ms(10000),
                ms(10000)
            ]
        );
        // Huge retry counts neither overflow nor panic.
        assert_eq!(backoff_ceiling(base, max, 1000), max);
        assert_eq!(backoff_ceiling(Duration::MAX, max, 3), max);
    }

    #[test]
    fn backoff_stays_within_its_ceiling() {
        let base = Duration::from_millis(10);
        let max = Duration::from_millis(70);
        for retry in 0..6 {
            let ceiling = backoff_ceiling(base, max, retry);
            for _ in 0..200 {
                let wait = backoff(base, max, retry);
                assert!(wait <= ceiling, "{wait:?} > {ceiling:?} at retry {retry}");
            }
        }
        assert_eq!(backoff(Duration::ZERO, max, 4), Duration::ZERO);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        // 2015-10-21T07:28:00Z
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let parsed: Vec<Option<Duration>> = [
            "1",
            " 120 ",
            "0",
            "99999999999999999999999",
            "Wed, 21 Oct 2015 07:28:30 GMT",
            "Wednesday, 21-Oct-15 07:29:00 GMT",
            "Wed Oct 21 07:28:05 2015",
            "Wed, 21 Oct 2015 07:00:00 GMT",
            "-1",
            "1.5",
            "",
            "soon",
        ]
        .iter()
        .map(|v| parse_retry_after(v, now))
        .collect();
        let s = Duration::from_secs;
        assert_eq!(
            parsed,
            vec![
                Some(s(1)),
                Some(s(120)),
                Some(s(0)),
                Some(s(u64::MAX)),
                Some(s(30)),
                Some(s(60)),
                Some(s(5)),
                Some(s(0)),
                None,
                None,
                None,
                None
            ]
        );
    }
}
