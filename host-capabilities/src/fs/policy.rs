//! `[roles.R.fs]`: the raw TOML shape, its compiled form and the pure
//! decision over a real path.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::capability::{Capability, RoleScope, usage};
use crate::decision::Ruling;
use crate::error::CompileError;

/// The raw `[roles.R.fs]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsToml {
    /// Globs of absolute paths a tool may read, list and stat.
    #[serde(default)]
    pub read: Vec<String>,
    /// Globs of absolute paths a tool may write and delete.
    #[serde(default)]
    pub write: Vec<String>,
}

/// Which grant list an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `read`, `list-dir`, `stat`.
    Read,
    /// `write`, `delete`.
    Write,
}

impl Access {
    /// The key of the list in `[roles.R.fs]`.
    pub fn key(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// One compiled glob of a `read` or `write` list.
#[derive(Debug, Clone)]
pub struct Grant {
    access: Access,
    pattern: String,
    /// Leading directory without metacharacters, as written.
    base: PathBuf,
    /// `base` canonicalised at compile time, when it existed then.
    canonical_base: Option<PathBuf>,
    /// The glob, its canonical-base twin, and (for `read` globs ending in
    /// `/**`) the directory itself.
    matcher: GlobSet,
}

impl Grant {
    /// The list this glob belongs to.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The glob as written in the policy.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The base directory as written.
    pub(crate) fn base(&self) -> &Path {
        &self.base
    }

    /// The canonical base, when the base existed at compile time.
    pub(crate) fn canonical_base(&self) -> Option<&Path> {
        self.canonical_base.as_deref()
    }
}

/// The compiled `[roles.R.fs]` section of one role.
#[derive(Debug, Clone)]
pub struct FsPolicy {
    role: String,
    read: Vec<Grant>,
    write: Vec<Grant>,
}

/// Characters that make a path component a glob rather than a literal.
const GLOB_META: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

impl FsPolicy {
    /// A policy granting nothing.
    pub fn deny_all(role: &str) -> Self {
        Self {
            role: role.to_owned(),
            read: Vec::new(),
            write: Vec::new(),
        }
    }

    /// Compiles the section of `role`. Every glob must be absolute, free of
    /// `..`, `.` and empty components, and valid glob syntax; the error
    /// names the key (`read[2]`) and says how to fix it.
    pub fn compile(role: &str, raw: &FsToml) -> Result<Self, CompileError> {
        let compile_list = |access: Access, list: &[String]| {
            list.iter()
                .enumerate()
                .map(|(i, s)| compile_grant(access, &format!("{}[{i}]", access.key()), s))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            role: role.to_owned(),
            read: compile_list(Access::Read, &raw.read)?,
            write: compile_list(Access::Write, &raw.write)?,
        })
    }

    /// The role this section belongs to.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The grants of one list, in policy order.
    pub fn grants(&self, access: Access) -> &[Grant] {
        match access {
            Access::Read => &self.read,
            Access::Write => &self.write,
        }
    }

    /// One line per grant, e.g. `read /var/log/**`; a base that resolved to
    /// another directory at compile time is shown too.
    pub fn summary(&self) -> Vec<String> {
        self.read
            .iter()
            .chain(&self.write)
            .map(|g| match &g.canonical_base {
                Some(c) if *c != g.base => format!(
                    "{} {} ({} resolves to {})",
                    g.access.key(),
                    g.pattern,
                    g.base.display(),
                    c.display()
                ),
                _ => format!("{} {}", g.access.key(), g.pattern),
            })
            .collect()
    }

    /// The pure decision over the real (canonical) `path`: allowed by the
    /// first grant of `access` whose glob matches it, else denied with the
    /// hint naming the key to add.
    pub fn decide(&self, access: Access, path: &Path) -> Ruling {
        let matches = self
            .grants(access)
            .iter()
            .filter(|g| g.matcher.is_match(path))
            .map(|g| Ruling::allow(self.rule(g)));
        Ruling::strictest_or_deny(matches, || self.hint(access, path))
    }

    /// `add "<path>" (or a glob matching it) to [roles.R.fs].<key>`.
    pub fn hint(&self, access: Access, path: &Path) -> String {
        format!(
            "add \"{}\" (or a glob matching it) to {}",
            path.display(),
            self.key(access)
        )
    }

    /// `[roles.R.fs].<key>`.
    pub fn key(&self, access: Access) -> String {
        format!("[roles.{}.fs].{}", self.role, access.key())
    }

    /// The rule reported for an allow: `[roles.R.fs].read "/var/log/**"`.
    pub fn rule(&self, grant: &Grant) -> String {
        format!("{} \"{}\"", self.key(grant.access), grant.pattern)
    }
}

fn compile_grant(access: Access, key: &str, s: &str) -> Result<Grant, CompileError> {
    let err = |message: String| CompileError::new(key, message);
    let Some(rest) = s.strip_prefix('/') else {
        return Err(err(format!(
            "\"{s}\" is not an absolute path; fs globs match absolute paths, so start it with \"/\" (e.g. \"/{s}\")"
        )));
    };
    let comps: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    for comp in &comps {
        match *comp {
            ".." => {
                return Err(err(format!(
                    "\"{s}\" contains a \"..\" component; write the directory it means instead"
                )));
            }
            "." | "" => {
                return Err(err(format!(
                    "\"{s}\" contains an empty or \".\" component (\"//\", \"/./\" or a trailing \"/\"); \
                     remove it (for everything under a directory write \"<dir>/**\")"
                )));
            }
            _ => {}
        }
    }
    let glob = |pattern: &str| {
        GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
    };
    let main = glob(s).map_err(|e| err(format!("\"{s}\" is not a valid glob: {}", e.kind())))?;

    // The base: leading literal components; a fully literal glob names one
    // path, whose parent is the directory to open.
    let literal = comps.iter().take_while(|c| !c.contains(GLOB_META)).count();
    let base_len = if literal == comps.len() {
        literal.saturating_sub(1)
    } else {
        literal
    };
    let base_comps = comps.get(..base_len).unwrap_or_default();
    let base_str = format!("/{}", base_comps.join("/"));
    // What follows the base in the glob ("/**", "/*.log"); used to build
    // the twin glob at the canonical base (never needed for base "/").
    let suffix = s.get(base_str.len()..).unwrap_or_default();
    let base = PathBuf::from(&base_str);
    let canonical_base = std::fs::canonicalize(&base).ok();

    let mut patterns = vec![main];
    let mut extra = Vec::new();
    if let Some(c) = canonical_base.as_ref().filter(|c| **c != base) {
        let Some(c) = c.to_str() else {
            return Err(err(format!(
                "the base directory \"{base_str}\" of \"{s}\" resolves to a path that is not UTF-8 ({}); \
                 write the glob over a UTF-8 path",
                c.display()
            )));
        };
        let c = if c == "/" { "" } else { c };
        extra.push(format!("{}{suffix}", globset::escape(c)));
    }
    if access == Access::Read {
        let dir_itself: Vec<String> = std::iter::once(s.to_owned())
            .chain(extra.iter().cloned())
            .filter_map(|p| {
                p.strip_suffix("/**").map(|d| {
                    if d.is_empty() {
                        "/".to_owned()
                    } else {
                        d.to_owned()
                    }
                })
            })
            .collect();
        extra.extend(dir_itself);
    }
    for p in extra {
        patterns.push(glob(&p).map_err(|e| {
            err(format!(
                "\"{s}\" cannot be matched at its real location \"{p}\": {}",
                e.kind()
            ))
        })?);
    }
    let mut set = GlobSetBuilder::new();
    for g in patterns {
        set.add(g);
    }
    let matcher = set
        .build()
        .map_err(|e| err(format!("\"{s}\" is not a valid glob: {}", e.kind())))?;
    Ok(Grant {
        access,
        pattern: s.to_owned(),
        base,
        canonical_base,
        matcher,
    })
}

impl Capability for FsPolicy {
    const NAME: &'static str = "fs";
    type Toml = FsToml;

    fn deny_all(scope: RoleScope<'_>) -> Self {
        FsPolicy::deny_all(scope.role)
    }

    fn compile(scope: RoleScope<'_>, raw: &FsToml) -> Result<Self, CompileError> {
        FsPolicy::compile(scope.role, raw)
    }

    fn summary(&self) -> Vec<String> {
        FsPolicy::summary(self)
    }

    fn requests() -> &'static [&'static str] {
        &[
            "read PATH",
            "list PATH",
            "stat PATH",
            "write PATH",
            "delete PATH",
        ]
    }

    /// Decides on the real path: symlinks resolved where the path exists,
    /// `..` applied lexically where it does not (the host then answers
    /// `not-found` if allowed, `denied` if not).
    fn explain(&self, operation: &str, args: &[String]) -> Result<Ruling, String> {
        let access = match operation {
            "read" | "list" | "stat" => Access::Read,
            "write" | "delete" => Access::Write,
            other => return Err(usage::<Self>(other)),
        };
        let [path] = args else {
            return Err(format!("fs {operation} takes one absolute path"));
        };
        let request = super::resolve::Request::parse(path).map_err(|e| match e {
            crate::CapError::InvalidArgument(message) => message,
            other => format!("{other:?}"),
        })?;
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| request.lexical());
        Ok(self.decide(access, &real))
    }
}
