//! `[roles.R.proc]`: the raw TOML shape, its compiled form and the pure
//! decisions (may the role list processes; may it see one process's
//! details).

use serde::Deserialize;

use crate::capability::{Capability, RoleScope, usage};
use crate::decision::Ruling;
use crate::error::CompileError;

/// The raw `[roles.R.proc]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcToml {
    /// Whether the role may list every process (default false).
    #[serde(default)]
    pub list: bool,
    /// Whose process details the role may read: `"own"` (processes of the
    /// runtime's uid), `"all"` or `"none"` (the default). A string, not an
    /// enum, so a wrong value gets the compile step's message and line.
    pub info: Option<String>,
}

/// Whose process details a role may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoScope {
    /// No process's.
    None,
    /// Processes running as the runtime's own uid.
    Own,
    /// Every process.
    All,
}

impl InfoScope {
    /// The word the policy writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Own => "own",
            Self::All => "all",
        }
    }
}

/// The compiled `[roles.R.proc]` section of one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcPolicy {
    role: String,
    /// Whether listing is granted.
    pub list: bool,
    /// Whose details are granted.
    pub info: InfoScope,
}

impl ProcPolicy {
    /// A policy granting nothing.
    pub fn deny_all(role: &str) -> Self {
        Self {
            role: role.to_owned(),
            list: false,
            info: InfoScope::None,
        }
    }

    /// Compiles the section of `role`.
    pub fn compile(role: &str, raw: &ProcToml) -> Result<Self, CompileError> {
        let info = match raw.info.as_deref() {
            None | Some("none") => InfoScope::None,
            Some("own") => InfoScope::Own,
            Some("all") => InfoScope::All,
            Some(other) => {
                return Err(CompileError::new(
                    "info",
                    format!(
                        "\"{other}\" is not a scope; use \"own\" (processes of the runtime's user), \"all\" or \"none\""
                    ),
                ));
            }
        };
        Ok(Self {
            role: role.to_owned(),
            list: raw.list,
            info,
        })
    }

    /// One line per grant, for `policy check`.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.list {
            lines.push("list processes".to_owned());
        }
        match self.info {
            InfoScope::None => {}
            InfoScope::Own => lines.push("info of the runtime user's processes".to_owned()),
            InfoScope::All => lines.push("info of every process".to_owned()),
        }
        lines
    }

    /// `[roles.R.proc]`.
    pub fn section(&self) -> String {
        format!("[roles.{}.proc]", self.role)
    }

    /// Decides on a listing.
    pub fn decide_list(&self) -> Ruling {
        if self.list {
            Ruling::allow(format!("{}.list = true", self.section()))
        } else {
            Ruling::deny(format!("set list = true in {}", self.section()))
        }
    }

    /// Decides, before anything is read, whether details may be read at
    /// all: a role without any info grant learns nothing, not even whether
    /// a process exists.
    pub fn decide_info_scope(&self) -> Ruling {
        match self.info {
            InfoScope::None => Ruling::deny(format!(
                "set info = \"own\" (processes of the runtime's user) or \"all\" in {}",
                self.section()
            )),
            scope => Ruling::allow(format!("{}.info = \"{}\"", self.section(), scope.as_str())),
        }
    }

    /// Decides on the details of `pid`, owned by `owner`, when the runtime
    /// runs as `me`.
    pub fn decide_info(&self, pid: u32, owner: u32, me: u32) -> Ruling {
        match self.info {
            InfoScope::Own if owner != me => Ruling::deny(format!(
                "process {pid} runs as uid {owner}, not as the runtime's uid {me}; \
                 set info = \"all\" in {} to read any process",
                self.section()
            )),
            _ => self.decide_info_scope(),
        }
    }
}

impl Capability for ProcPolicy {
    const NAME: &'static str = "proc";
    type Toml = ProcToml;

    fn deny_all(scope: RoleScope<'_>) -> Self {
        ProcPolicy::deny_all(scope.role)
    }

    fn compile(scope: RoleScope<'_>, raw: &ProcToml) -> Result<Self, CompileError> {
        ProcPolicy::compile(scope.role, raw)
    }

    fn summary(&self) -> Vec<String> {
        ProcPolicy::summary(self)
    }

    fn requests() -> &'static [&'static str] {
        &["list", "info PID"]
    }

    /// `info` reads the process's owner from `/proc` when the scope allows
    /// reading at all, as the host does.
    fn explain(&self, operation: &str, args: &[String]) -> Result<Ruling, String> {
        match (operation, args) {
            ("list", []) => Ok(self.decide_list()),
            ("info", [pid]) => {
                let pid: u32 = pid
                    .parse()
                    .map_err(|_| format!("\"{pid}\" is not a process id"))?;
                let scope = self.decide_info_scope();
                if !matches!(scope, Ruling::Allow { .. }) {
                    return Ok(scope);
                }
                let (_, owner) = super::read::open(pid)
                    .map_err(|_| format!("there is no process {pid} on this machine"))?;
                Ok(self.decide_info(pid, owner, super::host::runtime_uid()))
            }
            ("list", _) => Err("proc list takes no arguments".into()),
            ("info", _) => Err("proc info takes one process id".into()),
            (other, _) => Err(usage::<Self>(other)),
        }
    }
}
