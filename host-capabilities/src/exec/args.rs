//! Argument rules of one program (`[roles.R.exec.args."<program>"]`):
//! `deny` globs matched the way option parsers read arguments, so that a
//! denied option cannot be passed under another spelling.
//!
//! A `deny` glob is matched against each argument as written, and also:
//!
//! - **long options** (a glob starting with `--`): GNU `getopt_long`
//!   accepts any unambiguous prefix of a long option (`df --o` is
//!   `df --output`), a value after `=` (`--output=source`) or in the next
//!   argument (`--output source`). An argument `--X` or `--X=V` is refused
//!   when `X` is a non-empty prefix of the denied option's name (the part
//!   of the glob after `--`, up to `=` and to its first glob
//!   metacharacter), or matches that part as a glob. Even a one-letter
//!   prefix is refused: `getopt_long` takes it when it is unique. A glob
//!   with a value (`--property=ActiveState`) refuses such an argument when
//!   its value, written after `=` or as the next argument, matches.
//! - **short options**: an argument `-abc` (one dash, several letters) is
//!   also matched letter by letter (`-a`, `-b`, `-c`), so `-hT` is refused
//!   when `-T` is denied. This over-refuses an option with an attached
//!   value (`-ofoo` when `-f` is denied), which errs on the safe side.
//!
//! Programs whose long options take one dash (`find -exec`) are matched as
//! written and letter by letter only; deny their options exactly.

use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::error::CompileError;

/// The characters that make a glob more than a literal.
const GLOB_META: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

/// The compiled rules of one program.
#[derive(Debug, Clone)]
pub(crate) struct ArgRules {
    /// `[roles.R.exec.args."<program>"]`, for hints.
    pub key: String,
    pub allow_prefix: Vec<Vec<String>>,
    /// The globs as written.
    pub deny: Vec<String>,
    deny_set: GlobSet,
    long: Vec<LongOption>,
}

/// A denied long option: `--<name>` or `--<name>=<value>`.
#[derive(Debug, Clone)]
struct LongOption {
    /// The name up to its first glob metacharacter: what an abbreviation
    /// must be a prefix of.
    literal: String,
    /// The whole name as a glob.
    name: GlobMatcher,
    /// The value glob, when the rule names one.
    value: Option<GlobMatcher>,
}

fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    GlobBuilder::new(pattern)
        .build()
        .map(|g| g.compile_matcher())
}

impl ArgRules {
    /// Compiles the rules under `key` (`args."bash"`); `display` is the
    /// section's full name for hints.
    pub fn compile(
        key: &str,
        display: String,
        allow_prefix: &[Vec<String>],
        deny: &[String],
    ) -> Result<Self, CompileError> {
        let mut set = GlobSetBuilder::new();
        let mut long = Vec::new();
        for (j, d) in deny.iter().enumerate() {
            let invalid = |e: globset::Error| {
                CompileError::new(
                    format!("{key}.deny[{j}]"),
                    format!("\"{d}\" is not a valid glob: {}", e.kind()),
                )
            };
            set.add(GlobBuilder::new(d).build().map_err(invalid)?);
            let Some(body) = d.strip_prefix("--").filter(|b| !b.is_empty()) else {
                continue;
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(glob(v).map_err(invalid)?)),
                None => (body, None),
            };
            let literal = name.split(GLOB_META).next().unwrap_or_default().to_owned();
            long.push(LongOption {
                literal,
                name: glob(name).map_err(invalid)?,
                value,
            });
        }
        let deny_set = set
            .build()
            .map_err(|e| CompileError::new(format!("{key}.deny"), e.to_string()))?;
        Ok(Self {
            key: display,
            allow_prefix: allow_prefix.to_vec(),
            deny: deny.to_vec(),
            deny_set,
            long,
        })
    }

    /// The arguments refused by `deny`, each once, in order.
    pub fn denied<'a>(&self, args: &'a [String]) -> Vec<&'a str> {
        args.iter()
            .enumerate()
            .filter(|(i, a)| self.denies(a, args.get(i + 1).map(String::as_str)))
            .map(|(_, a)| a.as_str())
            .collect()
    }

    /// Whether `arg` (followed by `next`) is refused.
    fn denies(&self, arg: &str, next: Option<&str>) -> bool {
        if self.deny_set.is_match(arg) {
            return true;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            return !name.is_empty()
                && self.long.iter().any(|o| {
                    let named = o.literal.starts_with(name) || o.name.is_match(name);
                    named
                        && match &o.value {
                            None => true,
                            Some(v) => inline.or(next).is_some_and(|val| v.is_match(val)),
                        }
                });
        }
        // A cluster of short options: `-hT`.
        match arg.strip_prefix('-') {
            Some(letters) if letters.chars().count() > 1 => letters
                .chars()
                .any(|c| self.deny_set.is_match(format!("-{c}"))),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(deny: &[&str]) -> ArgRules {
        let deny: Vec<String> = deny.iter().map(|d| (*d).to_owned()).collect();
        ArgRules::compile("args.\"x\"", "[x]".into(), &[], &deny).unwrap()
    }

    fn denied(r: &ArgRules, args: &[&str]) -> Vec<String> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        r.denied(&args).into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn a_denied_long_option_is_refused_under_any_abbreviation() {
        let r = rules(&["--output*"]);
        for arg in [
            "--output",
            "--outp",
            "--o",
            "--ou=source",
            "--output=source",
        ] {
            assert_eq!(denied(&r, &["-h", arg, "/"]), vec![arg], "{arg}");
        }
        // Not a prefix of the name, or not an option at all.
        assert_eq!(
            denied(&r, &["--oz", "--", "-", "output", "--x"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_exact_long_option_is_refused_with_a_value_after_equals() {
        let r = rules(&["--force"]);
        assert_eq!(
            denied(&r, &["--force=yes", "--forc", "--f", "--forced"]),
            vec!["--force=yes", "--forc", "--f"]
        );
    }

    #[test]
    fn a_denied_value_is_refused_abbreviated_inline_or_in_the_next_argument() {
        let r = rules(&["--property=ActiveState"]);
        assert_eq!(
            denied(
                &r,
                &[
                    "--prop=ActiveState",
                    "--property",
                    "ActiveState",
                    "--prop=Id"
                ]
            ),
            vec!["--prop=ActiveState", "--property"]
        );
    }

    #[test]
    fn combined_short_options_are_matched_letter_by_letter() {
        let r = rules(&["-T", "-H*"]);
        assert_eq!(
            denied(&r, &["-hT", "-h", "-qHhost", "-x", "-hx"]),
            vec!["-hT", "-qHhost"]
        );
    }
}
