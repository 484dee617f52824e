//! `[redact]`: what the operator adds to the runtime's default rules for
//! keeping secrets in tool results from the model and the event log.
//!
//! ```toml
//! [redact]
//! fields = ["pin", "session"]          # more field names (substrings, any case) to seal
//! patterns = ["AKIA[0-9A-Z]{16}"]      # regular expressions whose matches are redacted
//! ```
//!
//! The defaults and how they apply are the runtime's (`llmagent_core`'s
//! redaction module); this section only extends them, never removes one.

use std::borrow::Cow;

use toml::Spanned;

use crate::compile::Cx;
use crate::error::PolicyError;
use crate::raw::RedactToml;

/// A compiled pattern may use at most this much memory: a pattern runs
/// over every string of every tool result, so a pathological one must fail
/// at load rather than slow every call.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// At most this many patterns: each one is a pass over every result.
const MAX_PATTERNS: usize = 64;

/// The `[redact]` section, compiled.
#[derive(Debug, Clone, Default)]
pub struct RedactRules {
    /// Field names (lower-case substrings) sealed in addition to the
    /// runtime's defaults.
    pub fields: Vec<String>,
    /// Regular expressions whose matches in any string of a tool result
    /// are redacted.
    pub patterns: Vec<Pattern>,
}

/// One compiled `[redact].patterns` entry.
#[derive(Debug, Clone)]
pub struct Pattern(regex::Regex);

impl Pattern {
    /// Compiles `pattern` (Rust `regex` syntax), or says why it cannot.
    pub fn new(pattern: &str) -> Result<Pattern, String> {
        regex::RegexBuilder::new(pattern)
            .size_limit(PATTERN_SIZE_LIMIT)
            .build()
            .map(Pattern)
            .map_err(|e| e.to_string())
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether it matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }

    /// `text` with every match replaced by `with` (taken literally).
    pub fn replace_all(&self, text: &str, with: &str) -> String {
        match self.0.replace_all(text, regex::NoExpand(with)) {
            Cow::Borrowed(s) => s.to_owned(),
            Cow::Owned(s) => s,
        }
    }
}

impl RedactRules {
    /// Checks and compiles `[redact]`.
    pub(crate) fn compile(cx: &Cx<'_>, raw: &RedactToml) -> Result<RedactRules, PolicyError> {
        let bad = |s: &Spanned<String>, key: String, message: String| {
            cx.invalid(s.span(), Some("redact"), Some(&key), message)
        };
        let mut fields = Vec::new();
        for (i, f) in raw.fields.iter().enumerate() {
            let name = f.get_ref().trim().to_ascii_lowercase();
            if name.is_empty() {
                return Err(bad(
                    f,
                    format!("fields[{i}]"),
                    "empty: it would seal every field; name a part of a field name, like \"pin\""
                        .into(),
                ));
            }
            fields.push(name);
        }
        if raw.patterns.len() > MAX_PATTERNS {
            let last = &raw.patterns[MAX_PATTERNS];
            return Err(bad(
                last,
                format!("patterns[{MAX_PATTERNS}]"),
                format!("more than {MAX_PATTERNS} patterns; combine them with |"),
            ));
        }
        let mut patterns = Vec::new();
        for (i, p) in raw.patterns.iter().enumerate() {
            let key = format!("patterns[{i}]");
            if p.get_ref().is_empty() {
                return Err(bad(
                    p,
                    key,
                    "empty: it would match everywhere; write the shape of the secret, like \"AKIA[0-9A-Z]{16}\"".into(),
                ));
            }
            let compiled = Pattern::new(p.get_ref()).map_err(|e| {
                let first = e
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .trim_start_matches("error: ")
                    .to_owned();
                bad(
                    p,
                    key.clone(),
                    format!(
                        "\"{}\" is not a valid regular expression: {first}",
                        p.get_ref()
                    ),
                )
            })?;
            if compiled.is_match("") {
                return Err(bad(
                    p,
                    key,
                    format!(
                        "\"{}\" matches the empty string, so it would match everywhere; make it match at least one character",
                        p.get_ref()
                    ),
                ));
            }
            patterns.push(compiled);
        }
        Ok(RedactRules { fields, patterns })
    }
}
