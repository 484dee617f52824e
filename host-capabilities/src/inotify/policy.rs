//! `[roles.R.inotify]`: the raw TOML shape, its compiled form and the pure
//! decisions (may the role watch this canonical path, and how many).

use std::path::Path;

use serde::Deserialize;

use crate::capability::{Capability, RoleScope, usage};
use crate::decision::Ruling;
use crate::error::CompileError;
use crate::fs::{Access, FsPolicy, FsToml};

/// Watches one agent may hold when the section does not say: enough to
/// follow a few logs and configuration trees.
pub const DEFAULT_MAX_WATCHES: u32 = 8;

/// The most a section may allow: each watch holds an inotify instance
/// (a file descriptor), and the kernel's per-user default is 128.
pub const MAX_MAX_WATCHES: u32 = 64;

/// The raw `[roles.R.inotify]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InotifyToml {
    /// Globs of absolute paths the role may watch, matched on the canonical
    /// path as `[roles.R.fs]` globs are (`"/var/log/**"`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// How many watches one agent may hold at once.
    pub max_watches: Option<u32>,
}

/// The compiled `[roles.R.inotify]` section of one role.
#[derive(Debug, Clone)]
pub struct InotifyPolicy {
    role: String,
    /// The globs, compiled with the fs capability's matcher (canonical
    /// bases, `dir/**` covering `dir` itself).
    paths: FsPolicy,
    patterns: Vec<String>,
    /// How many watches one agent may hold at once.
    pub max_watches: u32,
}

impl InotifyPolicy {
    /// A policy granting nothing.
    pub fn deny_all(role: &str) -> Self {
        Self {
            role: role.to_owned(),
            paths: FsPolicy::deny_all(role),
            patterns: Vec::new(),
            max_watches: 0,
        }
    }

    /// Compiles the section of `role`.
    pub fn compile(role: &str, raw: &InotifyToml) -> Result<Self, CompileError> {
        let paths = FsPolicy::compile(
            role,
            &FsToml {
                read: raw.paths.clone(),
                write: Vec::new(),
            },
        )
        .map_err(|e| CompileError::new(e.key.replacen("read", "paths", 1), e.message))?;
        let max_watches = raw.max_watches.unwrap_or(DEFAULT_MAX_WATCHES);
        if max_watches > MAX_MAX_WATCHES {
            return Err(CompileError::new(
                "max_watches",
                format!(
                    "{max_watches} is more than {MAX_MAX_WATCHES}, the most one agent may hold"
                ),
            ));
        }
        Ok(Self {
            role: role.to_owned(),
            paths,
            patterns: raw.paths.clone(),
            max_watches,
        })
    }

    /// `[roles.R.inotify]`.
    pub fn section(&self) -> String {
        format!("[roles.{}.inotify]", self.role)
    }

    /// Decides on watching `path`, which must be canonical (the host
    /// resolves it first): a `paths` glob must match it.
    pub fn decide(&self, path: &Path) -> Ruling {
        let fs_key = self.paths.key(Access::Read);
        let key = format!("{}.paths", self.section());
        match self.paths.decide(Access::Read, path) {
            Ruling::Allow { rule } => Ruling::allow(rule.replacen(&fs_key, &key, 1)),
            Ruling::Approve { rule } => Ruling::Approve {
                rule: rule.replacen(&fs_key, &key, 1),
            },
            Ruling::Deny { .. } => Ruling::deny(format!(
                "add \"{}\" (or a glob matching it) to {key}",
                path.display()
            )),
        }
    }

    /// Decides on one more watch when the agent holds `held`.
    pub fn decide_count(&self, held: usize) -> Ruling {
        if held < self.max_watches as usize {
            Ruling::allow(format!(
                "{}.max_watches is {}",
                self.section(),
                self.max_watches
            ))
        } else {
            Ruling::deny(format!(
                "the agent holds {held} watches, the most {}.max_watches allows; stop one first, or raise max_watches",
                self.section()
            ))
        }
    }

    /// One line per grant, for `policy check`.
    pub fn summary(&self) -> Vec<String> {
        if self.patterns.is_empty() {
            return Vec::new();
        }
        vec![format!(
            "watch {} (at most {} at once)",
            self.patterns.join(", "),
            self.max_watches
        )]
    }
}

impl Capability for InotifyPolicy {
    const NAME: &'static str = "inotify";
    type Toml = InotifyToml;

    fn deny_all(scope: RoleScope<'_>) -> Self {
        InotifyPolicy::deny_all(scope.role)
    }

    fn compile(scope: RoleScope<'_>, raw: &InotifyToml) -> Result<Self, CompileError> {
        InotifyPolicy::compile(scope.role, raw)
    }

    fn summary(&self) -> Vec<String> {
        InotifyPolicy::summary(self)
    }

    fn requests() -> &'static [&'static str] {
        &["watch PATH"]
    }

    fn explain(&self, operation: &str, args: &[String]) -> Result<Ruling, String> {
        match (operation, args) {
            ("watch", [path]) => {
                if !path.starts_with('/') {
                    return Err(format!(
                        "\"{path}\" is not an absolute path; give the full path, starting with \"/\""
                    ));
                }
                let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
                Ok(self.decide(&canonical))
            }
            ("watch", _) => Err("inotify watch takes one path".into()),
            _ => Err(usage::<Self>(operation)),
        }
    }
}
