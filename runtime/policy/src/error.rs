//! [`PolicyError`]: everything that can be wrong with a policy file, and
//! [`Location`]: where in the file it is.
//!
//! Every error that concerns the file displays as
//! `file:line:col: [section] key: message`, and the message says what is
//! wrong and what to write instead. Each variant has a stable code
//! ([`PolicyError::code`]) for scripts and the event log.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A place in a policy file: the file as the caller named it, a 1-based
/// line and column, and the `[section]` and key at fault when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The policy file, as given to [`crate::Policy::load`] or
    /// [`crate::Policy::parse`].
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// The table at fault, without brackets (`roles.ops.fs`).
    pub section: Option<String>,
    /// The key at fault inside `section` (`read[2]`, `timeout_ms`).
    pub key: Option<String>,
}

/// Displays as the message prefix: `file:line:col: [section] key: `
/// (empty parts are left out).
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.col)?;
        match (&self.section, &self.key) {
            (Some(section), Some(key)) => write!(f, "[{section}] {key}: "),
            (Some(section), None) => write!(f, "[{section}]: "),
            (None, Some(key)) => write!(f, "{key}: "),
            (None, None) => Ok(()),
        }
    }
}

/// Why a policy could not be loaded, or a lookup in it failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// `policy.io`: the policy file could not be read.
    #[error("{}: cannot read the policy file: {source}", path.display())]
    Io {
        /// The file, as given.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// `policy.syntax`: the file is not valid TOML, or its shape is wrong
    /// (an unknown key, a missing key, a value of the wrong type).
    #[error("{at}{message}")]
    Syntax {
        /// Where.
        at: Location,
        /// What is wrong.
        message: String,
    },
    /// `policy.invalid`: well-formed TOML that breaks a rule of the format
    /// (a version, a name, a limit, a tool reference, a capability section).
    #[error("{at}{message}")]
    Invalid {
        /// Where.
        at: Location,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// `policy.prompt_file`: a role's `prompt_file` could not be read.
    #[error("{at}cannot read {}: {source}", path.display())]
    PromptFile {
        /// Where the file is named.
        at: Location,
        /// The file, resolved against the policy file's directory.
        path: PathBuf,
        /// The OS error (or invalid UTF-8, or too large).
        source: io::Error,
    },
    /// `policy.unknown_role`: [`crate::Policy::role`] was asked for a role
    /// the file does not define.
    #[error("{}", unknown_role(.name, .origin, .known))]
    UnknownRole {
        /// The role asked for.
        name: String,
        /// The policy file.
        origin: PathBuf,
        /// The roles the file defines, sorted.
        known: Vec<String>,
    },
}

impl PolicyError {
    /// The stable code of this error (`policy.syntax` …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "policy.io",
            Self::Syntax { .. } => "policy.syntax",
            Self::Invalid { .. } => "policy.invalid",
            Self::PromptFile { .. } => "policy.prompt_file",
            Self::UnknownRole { .. } => "policy.unknown_role",
        }
    }

    /// Where in the file the error is, for errors that concern the file.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Syntax { at, .. } | Self::Invalid { at, .. } | Self::PromptFile { at, .. } => {
                Some(at)
            }
            Self::Io { .. } | Self::UnknownRole { .. } => None,
        }
    }
}

fn unknown_role(name: &str, origin: &std::path::Path, known: &[String]) -> String {
    if known.is_empty() {
        format!(
            "no role \"{name}\": {} defines no roles; add a [roles.{name}] section",
            origin.display()
        )
    } else {
        format!(
            "no role \"{name}\" in {}; the roles it defines are: {}",
            origin.display(),
            known.join(", ")
        )
    }
}
