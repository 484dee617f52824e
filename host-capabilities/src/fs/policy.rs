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
    /// What a program's Landlock rule for this glob covers, canonicalised
    /// at compile time when it existed then: the path itself for a glob
    /// without wildcards, else the base.
    canonical_root: Option<PathBuf>,
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

    /// Whether this glob is `path` itself, written without a wildcard (as
    /// written, or at its canonical base).
    pub(crate) fn names_exactly(&self, path: &Path) -> bool {
        !self.pattern.contains(GLOB_META)
            && (Path::new(&self.pattern) == path
                || self
                    .canonical_base
                    .as_ref()
                    .zip(Path::new(&self.pattern).file_name())
                    .is_some_and(|(base, name)| base.join(name) == path))
    }

    /// The canonical base, when the base existed at compile time.
    pub(crate) fn canonical_base(&self) -> Option<&Path> {
        self.canonical_base.as_deref()
    }

    /// The path a program's Landlock rule for this glob covers, and whether
    /// it is the one canonicalised at compile time (else: as written, as it
    /// did not exist then). A glob without wildcards names exactly one file
    /// or tree; any other glob is approximated by its base directory, so
    /// `/etc/*.conf` opens all of `/etc` to programs (the `fs` capability
    /// itself still matches the glob exactly).
    pub(crate) fn rule_root(&self) -> (&Path, bool) {
        match &self.canonical_root {
            Some(c) => (c, true),
            None if self.pattern.contains(GLOB_META) => (&self.base, false),
            None => (Path::new(&self.pattern), false),
        }
    }

    /// The path this glob starts from as written: the whole path for a
    /// glob without wildcards, else the base.
    pub(crate) fn written_root(&self) -> &Path {
        if self.pattern.contains(GLOB_META) {
            &self.base
        } else {
            Path::new(&self.pattern)
        }
    }
}

/// The compiled `[roles.R.fs]` section of one role.
#[derive(Debug, Clone)]
pub struct FsPolicy {
    role: String,
    read: Vec<Grant>,
    write: Vec<Grant>,
    /// llmagent's own files (the policy, the component cache, the event
    /// store): never written through any grant. Set by the runtime.
    own: Vec<PathBuf>,
}

/// Files and directories that privileged processes later execute or trust
/// (cron, systemd units, sudoers, the dynamic loader's preload and search
/// path, udev rules, login and shell profiles, SSH keys, PAM, the account
/// databases). A write there is refused unless a `write` entry names the
/// very path, without a wildcard: a glob such as `/etc/**` written for
/// something else must not turn into root.
const TRUSTED: &[&str] = &[
    "/etc/crontab",
    "/etc/cron.*/**",
    "/var/spool/cron/**",
    "/etc/systemd/**",
    "/lib/systemd/**",
    "/usr/lib/systemd/**",
    "/run/systemd/**",
    "/etc/init.d/**",
    "/etc/rc.local",
    "/etc/sudoers",
    "/etc/sudoers.d/**",
    "/etc/ld.so.preload",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d/**",
    "/etc/udev/**",
    "/lib/udev/**",
    "/usr/lib/udev/**",
    "/etc/profile",
    "/etc/profile.d/**",
    "/etc/bash.bashrc",
    "/etc/environment",
    "/etc/pam.d/**",
    "/etc/security/**",
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/ssh/**",
    "/etc/modprobe.d/**",
    "/etc/modules-load.d/**",
    "/etc/apt/apt.conf.d/**",
    "/root/.ssh/**",
    "/root/.config/systemd/**",
    "/root/.bashrc",
    "/root/.bash_profile",
    "/root/.profile",
    "/home/*/.ssh/**",
    "/home/*/.config/systemd/**",
    "/home/*/.bashrc",
    "/home/*/.bash_profile",
    "/home/*/.profile",
    "/home/*/.bash_logout",
];

/// One path under each group of [`TRUSTED`], for `policy check` to say
/// which of them a write glob covers.
const TRUSTED_EXAMPLES: &[&str] = &[
    "/etc/crontab",
    "/etc/cron.d/job",
    "/etc/systemd/system/x.service",
    "/etc/sudoers",
    "/etc/ld.so.preload",
    "/etc/udev/rules.d/x.rules",
    "/etc/profile.d/x.sh",
    "/etc/passwd",
    "/root/.ssh/authorized_keys",
    "/home/user/.ssh/authorized_keys",
    "/home/user/.bashrc",
];

/// [`TRUSTED`] as one matcher, built once.
fn trusted() -> &'static GlobSet {
    static SET: std::sync::OnceLock<GlobSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let mut set = globset::GlobSetBuilder::new();
        for pattern in TRUSTED {
            if let Ok(g) = GlobBuilder::new(pattern).literal_separator(true).build() {
                set.add(g);
            }
        }
        set.build().unwrap_or_else(|_| GlobSet::empty())
    })
}

/// Whether privileged processes trust `path` (see [`TRUSTED`]).
pub fn is_trusted_path(path: &Path) -> bool {
    trusted().is_match(path)
}

/// The examples of [`TRUSTED`] files the write grant `grant` covers by a
/// wildcard (so writes to them are refused unless named exactly).
fn trusted_under(grant: &Grant) -> impl Iterator<Item = &'static str> {
    TRUSTED_EXAMPLES
        .iter()
        .copied()
        .filter(|p| grant.matcher.is_match(p) && !grant.names_exactly(Path::new(p)))
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
            own: Vec::new(),
        }
    }

    /// Marks `paths` (files or directories, canonical where they exist) as
    /// llmagent's own: no write grant reaches them or anything below.
    pub fn protect(&mut self, paths: &[PathBuf]) {
        for p in paths {
            let real = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            if !self.own.contains(&real) {
                self.own.push(real);
            }
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
            own: Vec::new(),
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
        let mut lines: Vec<String> = self
            .read
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
            .collect();
        for g in &self.write {
            let covered: Vec<&str> = trusted_under(g).collect();
            if !covered.is_empty() {
                lines.push(format!(
                    "warning: write {} covers files privileged processes trust ({}); writes to them are refused unless named exactly",
                    g.pattern,
                    covered.join(", ")
                ));
            }
        }
        lines
    }

    /// What the `fs` capability protects inside the write grant `grant`
    /// although the grant's glob covers it: llmagent's own files, and
    /// examples of files privileged processes trust.
    pub fn protected_under(&self, grant: &Grant) -> Vec<String> {
        let own = self
            .own
            .iter()
            .filter(|o| grant.matcher.is_match(o))
            .map(|o| format!("{} (llmagent's own)", o.display()));
        let trusted = trusted_under(grant).map(str::to_owned);
        own.chain(trusted).collect()
    }

    /// The pure decision over the real (canonical) `path`: allowed by the
    /// first grant of `access` whose glob matches it, else denied with the
    /// hint naming the key to add.
    pub fn decide(&self, access: Access, path: &Path) -> Ruling {
        if access == Access::Write
            && let Some(own) = self.own.iter().find(|o| path.starts_with(o))
        {
            return Ruling::deny(format!(
                "\"{}\" is llmagent's own ({}: the policy, the component cache or the event store); no grant allows writing it",
                path.display(),
                own.display()
            ));
        }
        // A write to a path privileged processes trust needs a grant of
        // that very path; a glob that happens to cover it is not enough.
        let exact_only = access == Access::Write && is_trusted_path(path);
        let matches = self
            .grants(access)
            .iter()
            .filter(|g| g.matcher.is_match(path))
            .filter(|g| !exact_only || g.names_exactly(path))
            .map(|g| Ruling::allow(self.rule(g)));
        Ruling::strictest_or_deny(matches, || {
            if exact_only {
                format!(
                    "\"{}\" is a file privileged processes execute or trust; only an entry naming it exactly (no wildcard) in {} allows writing it",
                    path.display(),
                    self.key(access)
                )
            } else {
                self.hint(access, path)
            }
        })
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

/// Checks the grants of every role of one policy (`policies`) for a
/// symlink on the way to a granted path that some role's `write` grant lets
/// a tool create or replace: `/t/in` turned into a link to `/` by a role
/// writing `/t/**` would make `read = ["/t/in/**"]` read `/` from the next
/// load on. Such a grant is refused (with the role it belongs to) rather
/// than canonicalised through the link; the message names the link and the
/// write grant, and says what to write instead.
pub fn check_plantable_links(policies: &[&FsPolicy]) -> Result<(), (String, CompileError)> {
    for p in policies {
        for access in [Access::Read, Access::Write] {
            for (i, g) in p.grants(access).iter().enumerate() {
                if let Some(message) = plantable_link(g, policies) {
                    let key = format!("{}[{i}]", access.key());
                    return Err((p.role.clone(), CompileError::new(key, message)));
                }
            }
        }
    }
    Ok(())
}

/// The first symlink on the way to `grant`'s root that a write grant of
/// `policies` covers, as a message.
fn plantable_link(grant: &Grant, policies: &[&FsPolicy]) -> Option<String> {
    let mut prefix = PathBuf::from("/");
    for comp in grant.written_root().components().skip(1) {
        prefix.push(comp);
        // A missing component ends the walk: nothing further exists.
        let meta = std::fs::symlink_metadata(&prefix).ok()?;
        if !meta.file_type().is_symlink() {
            continue;
        }
        // The link as write grants see it: at its parent's real path.
        let at = prefix
            .parent()
            .and_then(|d| std::fs::canonicalize(d).ok())
            .zip(prefix.file_name())
            .map_or_else(|| prefix.clone(), |(d, name)| d.join(name));
        let writer = policies.iter().find_map(|q| {
            q.write
                .iter()
                .find(|w| w.matcher.is_match(&at))
                .map(|w| (q, w))
        });
        if let Some((q, w)) = writer {
            let target = std::fs::read_link(&prefix)
                .map_or_else(|_| "?".to_owned(), |t| t.display().to_string());
            return Some(format!(
                "\"{}\" goes through \"{}\", a symlink (to \"{target}\") that the grant {} lets a tool create or \
                 replace, so a tool could point this grant anywhere; grant the real path instead (resolve the link \
                 yourself and check it), or remove the link if a tool made it",
                grant.pattern,
                prefix.display(),
                q.rule(w),
            ));
        }
    }
    None
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
    let canonical_root = if s.contains(GLOB_META) {
        canonical_base.clone()
    } else {
        std::fs::canonicalize(s).ok()
    };
    Ok(Grant {
        access,
        pattern: s.to_owned(),
        base,
        canonical_base,
        canonical_root,
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
