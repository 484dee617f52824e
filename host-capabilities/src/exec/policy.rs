//! `[roles.R.exec]`: the raw TOML shape, its compiled form and the pure
//! decisions (program, arguments, environment, working directory).

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use super::args::ArgRules;
use super::identity::{IdToml, Identity};
use super::limits::ExecLimits;
use crate::capability::{Capability, RoleScope, usage};
use crate::decision::Ruling;
use crate::error::CompileError;

/// Where bare program names are looked up, at compile time and at call
/// time alike. Fixed, so neither the host's nor a tool's `PATH` matters.
pub const SAFE_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

/// The raw `[roles.R.exec]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecToml {
    /// Programs the role may run: bare names (looked up on [`SAFE_PATH`])
    /// or absolute paths.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Per-program argument rules, keyed by a program of `allow`.
    #[serde(default)]
    pub args: BTreeMap<String, ArgsToml>,
    /// Names of the environment variables a tool may set.
    #[serde(default)]
    pub env: Vec<String>,
    /// Globs of absolute directories a tool may start a program in.
    #[serde(default)]
    pub cwd: Vec<String>,
    /// Refuse to run anything where the kernel lacks Landlock (default true).
    pub require_landlock: Option<bool>,
    /// The lowest Landlock ABI accepted (1–7, default 6: TCP and signal
    /// scoping); below it every run is refused, naming what is missing.
    pub min_landlock_abi: Option<u64>,
    /// Wall-clock cap of one run in milliseconds (default and ceiling:
    /// the role's `timeout_ms`).
    pub timeout_ms: Option<u64>,
    /// `RLIMIT_CPU` of the child, in seconds.
    pub cpu_seconds: Option<u64>,
    /// `RLIMIT_AS` (address space) of the child, in MiB.
    pub memory_mib: Option<u64>,
    /// `RLIMIT_FSIZE` (largest file it may write), in MiB.
    pub file_size_mib: Option<u64>,
    /// `RLIMIT_NPROC` (processes of the user, not only the child's).
    pub processes: Option<u64>,
    /// `pids.max` of each call's cgroup: processes of one call at once,
    /// binding root too.
    pub max_processes: Option<u64>,
    /// The user children run as: a name or a uid.
    pub user: Option<IdToml>,
    /// The group children run as (default: the user's primary group).
    pub group: Option<IdToml>,
    /// Unix sockets (absolute paths) children may connect to, e.g.
    /// `/dev/log` for `logger`. Any entry lets children create `AF_UNIX`
    /// sockets; see [`UNIX_SOCKET_LIMIT`] for what the kernel can enforce.
    #[serde(default)]
    pub unix_sockets: Vec<String>,
}

/// What a `unix_sockets` grant allows on kernels up to Landlock ABI 7,
/// which has no right for `connect()` to a socket by path: said in
/// `policy check`, `doctor` and SECURITY.md.
pub const UNIX_SOCKET_LIMIT: &str = "this kernel cannot restrict connect() to a Unix socket by path \
     (Landlock has no right for it), so children may connect to ANY Unix socket their uid may write, \
     e.g. /run/dbus/system_bus_socket or /var/run/docker.sock; set user to a uid without access to those";

/// `[roles.R.exec.args."<program>"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgsToml {
    /// When not empty, the arguments must start with one of these vectors.
    #[serde(default)]
    pub allow_prefix: Vec<Vec<String>>,
    /// Globs over single arguments; any argument matching one is refused.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// One allowed program, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    /// As written in `allow`.
    pub written: String,
    /// Canonical absolute path.
    pub path: PathBuf,
    dev: u64,
    ino: u64,
    args: Option<ArgRules>,
}

/// The compiled `[roles.R.exec]` section of one role.
#[derive(Debug, Clone)]
pub struct ExecPolicy {
    role: String,
    pub(super) programs: Vec<Program>,
    env: Vec<String>,
    cwd: Vec<String>,
    cwd_set: GlobSet,
    /// For each glob of `cwd_set`, the index of its `cwd` entry.
    cwd_entry: Vec<usize>,
    /// Whether a kernel without Landlock refuses every call.
    pub(crate) require_landlock: bool,
    /// The lowest Landlock ABI accepted when `require_landlock`.
    pub(crate) min_landlock_abi: u32,
    /// Timeout cap and resource limits.
    pub(crate) limits: ExecLimits,
    /// The uid and gid children run as.
    pub(crate) identity: Identity,
    /// `unix_sockets` as written (absolute paths).
    pub(crate) unix_sockets: Vec<String>,
}

/// A program as the host found it, before the decision: canonical path,
/// device and inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Canonical absolute path.
    pub path: PathBuf,
    dev: u64,
    ino: u64,
}

impl ExecPolicy {
    /// A policy allowing no program.
    pub fn deny_all(role: &str) -> Self {
        Self {
            role: role.to_owned(),
            programs: Vec::new(),
            env: Vec::new(),
            cwd: Vec::new(),
            cwd_set: GlobSet::empty(),
            cwd_entry: Vec::new(),
            require_landlock: true,
            min_landlock_abi: super::DEFAULT_MIN_ABI,
            limits: ExecLimits::defaults(10_000),
            identity: Identity::default(),
            unix_sockets: Vec::new(),
        }
    }

    /// Compiles the section of `role`; `role_timeout_ms` is the role's call
    /// timeout, the default (and the ceiling) of `timeout_ms`.
    pub fn compile(role: &str, raw: &ExecToml, role_timeout_ms: u64) -> Result<Self, CompileError> {
        let mut programs = Vec::with_capacity(raw.allow.len());
        for (i, written) in raw.allow.iter().enumerate() {
            let path = resolve(written).map_err(|m| CompileError::new(format!("allow[{i}]"), m))?;
            refuse_hidden_loader(written, &path)
                .map_err(|m| CompileError::new(format!("allow[{i}]"), m))?;
            let (dev, ino) =
                identity(&path).map_err(|m| CompileError::new(format!("allow[{i}]"), m))?;
            programs.push(Program {
                written: written.clone(),
                path,
                dev,
                ino,
                args: None,
            });
        }
        for (name, rules) in &raw.args {
            let key = format!("args.\"{name}\"");
            let path = resolve(name).map_err(|m| CompileError::new(&key, m))?;
            let Some(p) = programs.iter_mut().find(|p| p.path == path) else {
                return Err(CompileError::new(
                    &key,
                    format!(
                        "\"{name}\" ({}) is not in allow; add it to allow or remove these rules",
                        path.display()
                    ),
                ));
            };
            p.args = Some(ArgRules::compile(
                &key,
                format!("[roles.{role}.exec.args.\"{name}\"]"),
                &rules.allow_prefix,
                &rules.deny,
            )?);
        }
        for (i, name) in raw.env.iter().enumerate() {
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(CompileError::new(
                    format!("env[{i}]"),
                    format!(
                        "\"{name}\" is not a variable name; use letters, digits and \"_\", not starting with a digit"
                    ),
                ));
            }
        }
        let mut cwd_set = GlobSetBuilder::new();
        let mut cwd_entry = Vec::new();
        for (i, c) in raw.cwd.iter().enumerate() {
            let key = format!("cwd[{i}]");
            if !c.starts_with('/') || c.split('/').any(|s| s == "..") {
                return Err(CompileError::new(
                    key,
                    format!("\"{c}\" is not an absolute path without \"..\""),
                ));
            }
            let glob = |p: &str| GlobBuilder::new(p).literal_separator(true).build();
            let g = glob(c).map_err(|e| {
                CompileError::new(&key, format!("\"{c}\" is not a valid glob: {}", e.kind()))
            })?;
            cwd_set.add(g);
            cwd_entry.push(i);
            // `/srv/**` also grants `/srv` itself, as fs `read` globs do.
            if let Some(Ok(g)) = c.strip_suffix("/**").filter(|d| !d.is_empty()).map(glob) {
                cwd_set.add(g);
                cwd_entry.push(i);
            }
        }
        let cwd_set = cwd_set
            .build()
            .map_err(|e| CompileError::new("cwd", e.to_string()))?;
        for (i, path) in raw.unix_sockets.iter().enumerate() {
            let plain = path.starts_with('/')
                && !path.contains(['*', '?', '[', ']', '{', '}', '\\', '\0'])
                && !path
                    .split('/')
                    .skip(1)
                    .any(|c| c.is_empty() || c == "." || c == "..");
            if !plain {
                return Err(CompileError::new(
                    format!("unix_sockets[{i}]"),
                    format!(
                        "\"{path}\" is not an absolute path of a socket (no wildcards, \"..\", \".\" or empty components); \
                         name the socket file, e.g. \"/dev/log\""
                    ),
                ));
            }
        }
        Ok(Self {
            role: role.to_owned(),
            programs,
            env: raw.env.clone(),
            cwd: raw.cwd.clone(),
            cwd_set,
            cwd_entry,
            require_landlock: raw.require_landlock.unwrap_or(true),
            min_landlock_abi: match raw.min_landlock_abi {
                None => super::DEFAULT_MIN_ABI,
                Some(n @ 1..=7) => u32::try_from(n).unwrap_or(super::DEFAULT_MIN_ABI),
                Some(n) => {
                    return Err(CompileError::new(
                        "min_landlock_abi",
                        format!(
                            "{n} is not a Landlock ABI; use 1 to 7 (6, the default, confines TCP and scopes signals)"
                        ),
                    ));
                }
            },
            limits: ExecLimits::compile(raw, role_timeout_ms)?,
            identity: Identity::compile(raw.user.as_ref(), raw.group.as_ref())?,
            unix_sockets: raw.unix_sockets.clone(),
        })
    }

    /// The role this section belongs to.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// One line per grant, for `policy check`.
    pub fn summary(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .programs
            .iter()
            .map(|p| {
                let mut line = format!("run {} ({})", p.written, p.path.display());
                if let Some(a) = &p.args {
                    line.push_str(&format!(
                        " args: allow_prefix {:?}, deny {:?}",
                        a.allow_prefix, a.deny
                    ));
                }
                line
            })
            .collect();
        if !self.programs.is_empty() {
            lines.push(format!(
                "env {:?}, cwd {:?}, {}",
                self.env,
                self.cwd,
                self.limits.summary()
            ));
            lines.push(self.identity.summary());
            let tree = super::tree::probe();
            if !tree.is_empty() {
                lines.push(tree);
            }
            if self.require_landlock {
                lines.push(format!(
                    "requires Landlock ABI {} or newer",
                    self.min_landlock_abi
                ));
            } else {
                lines.push("runs programs without Landlock where the kernel lacks it".into());
            }
            if self.unix_sockets.is_empty() {
                lines.push("no sockets: every socket() is refused".into());
            } else {
                lines.push(format!(
                    "Unix sockets for {}; no other socket family",
                    self.unix_sockets.join(", ")
                ));
                lines.push(format!("warning: {UNIX_SOCKET_LIMIT}"));
            }
        }
        lines
    }

    /// Why this kernel's Landlock is not enough for this role, if it is not
    /// (`require_landlock` is checked by the caller).
    pub(crate) fn landlock_shortfall(&self) -> Option<String> {
        self.shortfall_at(super::kernel_abi().map_or(0, |abi| abi as u32))
    }

    /// [`ExecPolicy::landlock_shortfall`] on a kernel offering ABI `have`.
    pub(crate) fn shortfall_at(&self, have: u32) -> Option<String> {
        if have >= self.min_landlock_abi {
            return None;
        }
        let what = if have == 0 {
            "this kernel has no Landlock".to_owned()
        } else {
            format!("this kernel offers Landlock ABI {have}")
        };
        Some(format!(
            "{what}, below the role's minimum of {} ({}); missing: {}. Use a newer kernel, or lower {} (or set {} = false) knowingly",
            self.min_landlock_abi,
            self.key("min_landlock_abi"),
            super::missing_steps(have, self.min_landlock_abi).join(", "),
            self.key("min_landlock_abi"),
            self.key("require_landlock"),
        ))
    }

    /// `[roles.R.exec].<key>`.
    pub fn key(&self, key: &str) -> String {
        format!("[roles.{}.exec].{key}", self.role)
    }

    /// Finds the program a tool names, as the host would run it: resolved
    /// on [`SAFE_PATH`] or canonicalised, with its device and inode now.
    /// This is the I/O before [`ExecPolicy::decide`]; a program that cannot
    /// be found is refused with the reason.
    pub fn locate(&self, program: &str) -> Result<Located, Ruling> {
        let path = resolve(program).map_err(|m| {
            Ruling::deny(format!(
                "{m}; to allow a program, add its absolute path to {}",
                self.key("allow")
            ))
        })?;
        let (dev, ino) = identity(&path).map_err(|m| {
            Ruling::deny(format!(
                "{m}; to allow a program, add its absolute path to {}",
                self.key("allow")
            ))
        })?;
        Ok(Located { path, dev, ino })
    }

    /// Decides whether the located `program` may run with `args`: the
    /// strictest of [`ExecPolicy::decide_program`] and
    /// [`ExecPolicy::decide_args`]. Pure.
    pub fn decide(&self, program: &Located, args: &[String]) -> Ruling {
        Ruling::strictest_or_deny(
            [
                self.decide_program(program),
                self.decide_args(program, args),
            ],
            String::new,
        )
    }

    /// Decides on the program alone: it must be an allowed path whose
    /// device and inode are those seen at load. Pure.
    pub fn decide_program(&self, program: &Located) -> Ruling {
        let Some(p) = self.program(&program.path) else {
            return Ruling::deny(format!(
                "add \"{}\" to {}",
                program.path.display(),
                self.key("allow")
            ));
        };
        if (program.dev, program.ino) != (p.dev, p.ino) {
            return Ruling::deny(format!(
                "the file at this path was replaced after the policy was loaded (an upgrade?); \
                 reload the policy to allow the new file via {}",
                self.key("allow")
            ));
        }
        Ruling::allow(format!("{} \"{}\"", self.key("allow"), p.written))
    }

    /// Decides on the arguments of an allowed program: no argument may
    /// match a `deny` glob, and with `allow_prefix` the arguments must
    /// start with one of its vectors. Deny wins. A program without
    /// argument rules takes any arguments (its allow is the rule). Pure.
    pub fn decide_args(&self, program: &Located, args: &[String]) -> Ruling {
        let Some(p) = self.program(&program.path) else {
            return Ruling::deny(format!(
                "add \"{}\" to {}",
                program.path.display(),
                self.key("allow")
            ));
        };
        let allow = Ruling::allow(format!("{} \"{}\"", self.key("allow"), p.written));
        let Some(rules) = &p.args else {
            return allow;
        };
        let denials = rules
            .denied(args)
            .into_iter()
            .map(|bad| Ruling::deny(format!("the argument \"{bad}\" matches {}.deny", rules.key)));
        let prefixed = |pre: &Vec<String>| {
            args.len() >= pre.len() && args.iter().zip(pre).all(|(a, b)| a == b)
        };
        let prefix = if rules.allow_prefix.is_empty() || rules.allow_prefix.iter().any(prefixed) {
            allow
        } else {
            Ruling::deny(format!(
                "add a prefix of these arguments to {}.allow_prefix",
                rules.key
            ))
        };
        Ruling::strictest_or_deny(denials.chain(std::iter::once(prefix)), String::new)
    }

    /// The program `path` as allowed (for running it).
    pub(crate) fn program(&self, path: &Path) -> Option<&Program> {
        self.programs.iter().find(|p| p.path == path)
    }

    /// Decides whether a tool may set variable `name`.
    pub fn decide_env(&self, name: &str) -> Ruling {
        if self.env.iter().any(|e| e == name) {
            Ruling::allow(format!("{} \"{name}\"", self.key("env")))
        } else {
            Ruling::deny(format!("add \"{name}\" to {}", self.key("env")))
        }
    }

    /// Decides on a working directory; `real` is its canonical path.
    pub fn decide_cwd(&self, real: &Path) -> Ruling {
        let entry = self
            .cwd_set
            .matches(real)
            .first()
            .and_then(|&i| self.cwd_entry.get(i));
        match entry.and_then(|&i| self.cwd.get(i)) {
            Some(glob) => Ruling::allow(format!("{} \"{glob}\"", self.key("cwd"))),
            None => Ruling::deny(format!(
                "add \"{}\" (or a glob matching it) to {}",
                real.display(),
                self.key("cwd")
            )),
        }
    }
}

/// Resolves a program as written: a bare name on [`SAFE_PATH`], or an
/// absolute path; canonical, a regular file with an execute bit.
pub fn resolve(program: &str) -> Result<PathBuf, String> {
    let candidate = if program.starts_with('/') {
        PathBuf::from(program)
    } else if program.is_empty() || program.contains('/') || program == "." || program == ".." {
        return Err(format!(
            "\"{program}\" is neither a bare program name nor an absolute path"
        ));
    } else {
        SAFE_PATH
            .split(':')
            .map(|dir| Path::new(dir).join(program))
            .find(|p| is_executable(p))
            .ok_or_else(|| format!("\"{program}\" is not found on the safe PATH {SAFE_PATH}"))?
    };
    let real = std::fs::canonicalize(&candidate)
        .map_err(|e| format!("\"{program}\" cannot be resolved: {e}"))?;
    if !is_executable(&real) {
        return Err(format!(
            "\"{program}\" ({}) is not an executable regular file",
            real.display()
        ));
    }
    Ok(real)
}

/// Whether a file name is a dynamic loader's (`ld-linux-x86-64.so.2`,
/// `ld.so`, `ld64.so.2`, musl's `ld-musl-x86_64.so.1`).
fn is_loader(name: &str) -> bool {
    name.starts_with("ld.so")
        || name.starts_with("ld64.so")
        || (name.starts_with("ld-") && name.contains(".so"))
}

/// The dynamic loader runs any file it can read, whatever Landlock's
/// execute right on that file says (it maps it with `mmap`, which
/// Landlock does not check): allowing it is allowing every readable file
/// as a program. So it is allowed only when written exactly, as an
/// absolute path whose own name is a loader's — not as a bare name, and
/// not through a symlink named like something else.
fn refuse_hidden_loader(written: &str, real: &Path) -> Result<(), String> {
    let real_name = real.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !is_loader(real_name) {
        return Ok(());
    }
    let written_name = Path::new(written)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    if written.starts_with('/') && is_loader(written_name) {
        return Ok(());
    }
    Err(format!(
        "\"{written}\" is the dynamic loader ({}), which runs any file it can read, also from \
         write grants; to allow it on purpose, write its absolute path (\"{}\")",
        real.display(),
        real.display()
    ))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The (device, inode) pair naming the file at `path` now.
fn identity(path: &Path) -> Result<(u64, u64), String> {
    std::fs::metadata(path)
        .map(|m| (m.dev(), m.ino()))
        .map_err(|e| format!("cannot stat {}: {e}", path.display()))
}

impl Capability for ExecPolicy {
    const NAME: &'static str = "exec";
    type Toml = ExecToml;

    fn deny_all(scope: RoleScope<'_>) -> Self {
        let mut policy = ExecPolicy::deny_all(scope.role);
        policy.limits = ExecLimits::defaults(scope.timeout_ms);
        policy
    }

    fn compile(scope: RoleScope<'_>, raw: &ExecToml) -> Result<Self, CompileError> {
        ExecPolicy::compile(scope.role, raw, scope.timeout_ms)
    }

    fn summary(&self) -> Vec<String> {
        ExecPolicy::summary(self)
    }

    fn requests() -> &'static [&'static str] {
        &["run PROGRAM [ARG…]", "env NAME", "cwd DIR"]
    }

    /// `run` locates the program as the host would (on [`SAFE_PATH`],
    /// canonical, its identity now) before deciding.
    fn explain(&self, operation: &str, args: &[String]) -> Result<Ruling, String> {
        match (operation, args) {
            ("run", [program, rest @ ..]) => Ok(match self.locate(program) {
                Ok(located) => self.decide(&located, rest),
                Err(refusal) => refusal,
            }),
            ("env", [name]) => Ok(self.decide_env(name)),
            ("cwd", [dir]) if dir.starts_with('/') => {
                let real = std::fs::canonicalize(dir).unwrap_or_else(|_| PathBuf::from(dir));
                Ok(self.decide_cwd(&real))
            }
            ("run" | "env" | "cwd", _) => Err(format!(
                "exec {operation} takes {}",
                match operation {
                    "run" => "a program and its arguments",
                    "env" => "one variable name",
                    _ => "one absolute directory",
                }
            )),
            (other, _) => Err(usage::<Self>(other)),
        }
    }

    fn unmet(&self) -> Vec<String> {
        if !self.require_landlock || self.programs.is_empty() {
            return Vec::new();
        }
        self.landlock_shortfall().into_iter().collect()
    }
}
