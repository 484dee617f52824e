//! `[roles.R.proc]`: the raw TOML shape, its compiled form and the pure
//! decisions (may the role list processes; may it see one process's
//! details).

use serde::Deserialize;

use crate::error::CompileError;
use crate::exec::Refusal;

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

    /// Decides on a listing; the rule that allowed it, or the refusal.
    pub fn decide_list(&self) -> Result<String, Refusal> {
        if self.list {
            Ok(format!("{}.list = true", self.section()))
        } else {
            Err(Refusal {
                target: String::new(),
                hint: format!("set list = true in {}", self.section()),
            })
        }
    }

    /// Decides, before anything is read, whether details may be read at all.
    pub fn decide_info_scope(&self, pid: u32) -> Result<(), Refusal> {
        match self.info {
            InfoScope::None => Err(Refusal {
                target: pid.to_string(),
                hint: format!(
                    "set info = \"own\" (processes of the runtime's user) or \"all\" in {}",
                    self.section()
                ),
            }),
            InfoScope::Own | InfoScope::All => Ok(()),
        }
    }

    /// Decides on the details of `pid`, owned by `owner`, when the runtime
    /// runs as `me`; the rule that allowed it, or the refusal.
    pub fn decide_info(&self, pid: u32, owner: u32, me: u32) -> Result<String, Refusal> {
        self.decide_info_scope(pid)?;
        match self.info {
            InfoScope::Own if owner != me => Err(Refusal {
                target: pid.to_string(),
                hint: format!(
                    "process {pid} runs as uid {owner}, not as the runtime's uid {me}; \
                     set info = \"all\" in {} to read any process",
                    self.section()
                ),
            }),
            scope => Ok(format!("{}.info = \"{}\"", self.section(), scope.as_str())),
        }
    }
}
