//! TOML syntax and shape errors (from the `toml` parser and serde) turned
//! into [`PolicyError::Syntax`]: placed at `file:line:col: [section] key`,
//! and reworded where serde speaks Rust rather than TOML.

use std::path::Path;

use crate::error::{Location, PolicyError};
use crate::span;

/// `err` as a [`PolicyError::Syntax`] in `text`, read from `origin`.
pub(crate) fn error(text: &str, origin: &Path, err: &toml::de::Error) -> PolicyError {
    let Some(offset) = err.span().map(|s| s.start) else {
        // No position: say so at the top rather than guess a key.
        let at = Location {
            file: origin.to_path_buf(),
            line: 1,
            col: 1,
            section: None,
            key: None,
        };
        return PolicyError::Syntax {
            at,
            message: reword(err.message().trim_end()),
        };
    };
    let (line, col) = span::line_col(text, offset);
    let at = Location {
        file: origin.to_path_buf(),
        line,
        col,
        section: span::section_at(text, offset),
        key: span::key_at(text, offset),
    };
    PolicyError::Syntax {
        at,
        message: reword(err.message().trim_end()),
    }
}

/// serde's wording, in TOML terms, with a suggestion for a misspelt name.
fn reword(message: &str) -> String {
    if let Some(better) = unknown_name(message) {
        return better;
    }
    if message == "duplicate key" {
        return "defined twice; merge the two into one".to_owned();
    }
    let message = match message.find("expected struct ") {
        // `expected struct FsToml`: a table was expected.
        Some(i) => format!("{}expected a table", &message[..i]),
        None => message.to_owned(),
    };
    message
        .replace("expected i64", "expected an integer")
        .replace("expected f64", "expected a number")
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table")
        .replace("missing field", "missing key")
}

/// `unknown field|variant `x`, expected …`, without capabilities still
/// planned ([`host_capabilities::PLANNED`]), and with `did you mean` when
/// one name is close.
fn unknown_name(message: &str) -> Option<String> {
    let (what, rest) = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|p| {
            message
                .strip_prefix(p)
                .map(|rest| (&p[..p.len() - 2], rest))
        })?;
    let (name, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|e| !host_capabilities::PLANNED.contains(e))
        .collect();
    let mut out = format!("{what} `{name}`");
    match expected.as_slice() {
        [] => out.push_str(", there are none here"),
        [one] => out.push_str(&format!(", expected `{one}`")),
        [a, b] => out.push_str(&format!(", expected `{a}` or `{b}`")),
        many => {
            let list: Vec<String> = many.iter().map(|e| format!("`{e}`")).collect();
            out.push_str(&format!(", expected one of {}", list.join(", ")));
        }
    }
    if let Some(e) = closest(name, expected.iter().copied()) {
        out.push_str(&format!("; did you mean `{e}`?"));
    }
    Some(out)
}

/// The candidate at most two edits from `name` (and close relative to its
/// length), for a `did you mean`.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, _)| *d <= 2 && d * 3 <= name.chars().count())
        .min()
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal
/// string alignment), so `raed` is one edit from `read`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewords_unknown_names() {
        assert_eq!(
            reword("unknown field `raed`, expected `read` or `write`"),
            "unknown field `raed`, expected `read` or `write`; did you mean `read`?"
        );
        assert_eq!(
            reword(
                "unknown field `aprove`, expected one of `tools`, `approve`, `fs`, `exec`, `http`"
            ),
            "unknown field `aprove`, expected one of `tools`, `approve`, `fs`, `exec`, `http`; did you mean `approve`?"
        );
        assert_eq!(
            reword("unknown variant `xml`, expected one of `native`, `json`, `auto`"),
            "unknown variant `xml`, expected one of `native`, `json`, `auto`"
        );
        assert_eq!(
            reword("invalid type: string \"64\", expected i64"),
            "invalid type: string \"64\", expected an integer"
        );
    }

    #[test]
    fn distances() {
        assert_eq!(distance("raed", "read"), 1);
        assert_eq!(distance("aprove", "approve"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
