//! Pure conversions between the `fs` capability's values and the JSON the
//! model sees: file contents (UTF-8 or base64), kinds, permission bits and
//! times. No capability is called here, so it is all tested natively.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use llmagent_guest::ToolError;
use llmagent_guest::fs::FileKind;

/// How file contents are carried in a JSON string.
pub const ENCODINGS: &[&str] = &["utf8", "base64"];

/// The text of `bytes` and its encoding: the bytes themselves when they
/// are UTF-8 (`"utf8"`), else their standard base64 (`"base64"`).
pub fn encode_content(bytes: Vec<u8>) -> (String, &'static str) {
    match String::from_utf8(bytes) {
        Ok(text) => (text, "utf8"),
        Err(e) => (STANDARD.encode(e.into_bytes()), "base64"),
    }
}

/// The bytes to write for `content` given in `encoding` (`utf8` or
/// `base64`; ASCII whitespace inside base64 is ignored, since models wrap
/// long lines). A malformed base64 text is `invalid_args` on `content`.
pub fn decode_content(content: &str, encoding: &str) -> Result<Vec<u8>, ToolError> {
    if encoding != "base64" {
        return Ok(content.as_bytes().to_vec());
    }
    let compact: String = content
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD.decode(compact).map_err(|e| {
        ToolError::invalid_args("content", format!("content is not valid base64: {e}"))
            .suggestion("give standard base64 (RFC 4648 §4, with padding), or set encoding to \"utf8\" for text")
    })
}

/// The name of a kind in JSON: `file`, `directory`, `symlink`, `other`.
pub fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::File => "file",
        FileKind::Directory => "directory",
        FileKind::Symlink => "symlink",
        FileKind::Other => "other",
    }
}

/// Permission bits as an octal string of at least four digits (`"0644"`,
/// `"4755"`), as `chmod` and `stat -c %a` write them.
pub fn mode_octal(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// Seconds since the Unix epoch as an RFC 3339 UTC time,
/// `1970-01-01T00:00:00Z` (proleptic Gregorian calendar).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Year, month and day of a count of days since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, exact over the whole `i64` day range a
/// timestamp in seconds can give).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_choose_their_encoding() {
        assert_eq!(
            encode_content(b"hello\n".to_vec()),
            ("hello\n".to_owned(), "utf8")
        );
        assert_eq!(
            encode_content(vec![0xff, 0x00, 0x41]),
            ("/wBB".to_owned(), "base64")
        );
        assert_eq!(encode_content(Vec::new()), (String::new(), "utf8"));
    }

    #[test]
    fn contents_decode() {
        assert_eq!(decode_content("/wBB", "base64"), Ok(vec![0xff, 0x00, 0x41]));
        assert_eq!(
            decode_content("aGVs\nbG8=", "base64"),
            Ok(b"hello".to_vec())
        );
        assert_eq!(decode_content("/wBB", "utf8"), Ok(b"/wBB".to_vec()));
        assert_eq!(
            decode_content("@@", "base64"),
            Err(ToolError::invalid_args("content", "content is not valid base64: Invalid symbol 64, offset 0.")
                .suggestion("give standard base64 (RFC 4648 §4, with padding), or set encoding to \"utf8\" for text"))
        );
    }

    #[test]
    fn modes_are_octal() {
        assert_eq!(mode_octal(0o644), "0644");
        assert_eq!(mode_octal(0o4755), "4755");
        assert_eq!(mode_octal(0o100600), "0600");
        assert_eq!(mode_octal(0), "0000");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn kinds_have_names() {
        let all = [
            FileKind::File,
            FileKind::Directory,
            FileKind::Symlink,
            FileKind::Other,
        ];
        assert_eq!(
            all.map(kind_name),
            ["file", "directory", "symlink", "other"]
        );
    }
}
