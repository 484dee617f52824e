//! Positions in the policy text: byte offsets turned into `line:col`, and
//! the `[section]` and key that enclose an offset.
//!
//! serde errors from the `toml` crate carry a byte span but not the table
//! they happened in; this module recovers both from the text so that every
//! message reads `file:line:col: [section] key: message`.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// 1-based line and column (in characters) of byte `offset` in `text`.
/// An offset past the end points just after the last character.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = clamp(text, offset);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The `[section]` header (without brackets) in force at `offset`, if any:
/// the last table header at or before the offset's line.
pub(crate) fn section_at(text: &str, offset: usize) -> Option<String> {
    let offset = clamp(text, offset);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    text[..line_end].lines().rev().find_map(header)
}

/// The key whose `key = value` line holds `offset` (or, inside a multi-line
/// value, the nearest such line above it within the same table).
pub(crate) fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = clamp(text, offset);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    for line in text[..line_end].lines().rev() {
        if header(line).is_some() {
            return None;
        }
        if let Some(key) = assigned_key(line) {
            return Some(key);
        }
    }
    None
}

/// Byte span of the value at `path` below `root` (table keys, then array
/// indices written as numbers), or `None` if the path does not exist.
pub(crate) fn find(root: &DeTable<'_>, path: &[&str]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let mut here = root
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == *first)
        .map(|(_, v)| v)?;
    for step in rest {
        here = match here.get_ref() {
            DeValue::Table(table) => table
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == *step)
                .map(|(_, v)| v)?,
            DeValue::Array(array) => array.get(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(here.span())
}

/// The table name if `line` is a `[table]` or `[[array]]` header.
fn header(line: &str) -> Option<String> {
    let line = line.trim();
    let inner = line.strip_prefix('[')?;
    let inner = inner.strip_prefix('[').unwrap_or(inner);
    let close = inner.find(']')?;
    let rest = inner[close..].trim_start_matches(']').trim();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    let name = inner[..close].trim();
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.\"' ".contains(c));
    ok.then(|| name.to_owned())
}

/// The key of a `key = value` line, as written.
fn assigned_key(line: &str) -> Option<String> {
    let line = line.trim_start();
    let eq = line.find('=')?;
    let key = line[..eq].trim();
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.\"' ".contains(c));
    ok.then(|| key.to_owned())
}

/// `offset` moved back onto a character boundary inside `text`.
fn clamp(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "version = 1\n\n[roles.ops]\ntools = [\n  \"file\",\n]\n[roles.ops.fs] # c\nraed = []\n";

    #[test]
    fn positions() {
        assert_eq!(line_col(TEXT, 0), (1, 1));
        assert_eq!(line_col(TEXT, 10), (1, 11));
        let raed = TEXT.find("raed").unwrap_or_default();
        assert_eq!(line_col(TEXT, raed), (8, 1));
        assert_eq!(line_col(TEXT, 10_000), (9, 1));
    }

    #[test]
    fn sections_and_keys() {
        let raed = TEXT.find("raed").unwrap_or_default();
        assert_eq!(section_at(TEXT, raed).as_deref(), Some("roles.ops.fs"));
        assert_eq!(key_at(TEXT, raed).as_deref(), Some("raed"));
        let file = TEXT.find("\"file\"").unwrap_or_default();
        assert_eq!(section_at(TEXT, file).as_deref(), Some("roles.ops"));
        assert_eq!(key_at(TEXT, file).as_deref(), Some("tools"));
        assert_eq!(section_at(TEXT, 3), None);
        assert_eq!(key_at(TEXT, 3).as_deref(), Some("version"));
    }

    #[test]
    fn finds_nested_values() {
        let root = DeTable::parse(TEXT)
            .map(|t| t.into_inner())
            .unwrap_or_default();
        let span = find(&root, &["roles", "ops", "tools", "0"]);
        assert_eq!(span.map(|s| &TEXT[s]), Some("\"file\""));
        assert_eq!(find(&root, &["roles", "nope"]), None);
    }
}
