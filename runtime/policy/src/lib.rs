//! llmagent's `policy.toml`: parse, check, compile, decide.
//!
//! Nothing is reachable unless the policy grants it. This crate reads the
//! file into raw `*Toml` structs that reject unknown keys, compiles them into
//! the runtime types below (absolute paths, checked limits, compiled
//! capability sections), and answers [`Role::decide`]: may this role run this
//! tool action? Host code never sees TOML.
//!
//! # The format (version 1)
//!
//! ```toml
//! version = 1                     # required; the only version this crate reads
//!
//! [defaults]                      # per-call limits; every key optional; overridable per role
//! timeout_ms = 10000              # wall clock of one tool call (1..=600000)
//! memory_mib = 64                 # linear memory of one tool instance (1..=4096)
//! max_output_bytes = 1048576      # cap on a tool's output (1024..=67108864)
//! max_steps = 16                  # tool round-trips per prompt (1..=256)
//!
//! [tools.weather]                 # a third-party tool component; built-ins need no entry
//! path = "tools/weather.wasm"     # relative to the policy file's directory
//! sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # optional pin
//!
//! [roles.ops]
//! prompt = "You keep this machine healthy."  # or prompt_file = "prompts/ops.md"; not both
//! tools = ["crypto", "file.read", "file.list", "file.write"]  # a tool (all its actions) or tool.action
//! approve = ["file.write"]        # covered by `tools`; a human must say yes
//! timeout_ms = 2000               # any [defaults] key may be overridden here
//!
//! [roles.ops.fs]                  # the fs capability (host_capabilities::fs)
//! read = ["/var/log/**"]
//! write = ["/tmp/llmagent/**"]
//!
//! [roles.ops.mcp.notes]           # an external MCP server; its tools are `notes.<tool>`
//! command = ["/usr/bin/python3", "/srv/notes/server.py"]  # or url = "http://127.0.0.1:9000/mcp"
//! env = ["LANG"]                  # command only: variables passed on (token_env = "VAR" for url)
//! tools = ["search", "note_*"]    # required: globs over the server's tools, the grant
//!
//! [agents.helper]
//! role = "ops"                    # required; a role of this file
//! model = "llama3.2"              # optional
//! api_base = "http://localhost:11434/v1"  # optional; an http(s) URL
//! api_key_env = "OPENAI_API_KEY"  # optional; the NAME of an environment variable
//! tool_protocol = "auto"          # optional: native | json | constrained | auto (the default)
//! temperature = 0.2               # optional, 0..=2
//! max_tokens = 1024               # optional
//! max_result_bytes = 16384        # optional: a tool result shown to the model is cut here (256..=1048576)
//! max_calls_per_reply = 16        # optional: calls of one reply that run; the rest are too_many_calls (1..=256)
//! max_args_bytes = 262144         # optional: larger call arguments are invalid_args (1024..=4194304)
//!
//! [redact]                        # added to the runtime's redaction of tool results
//! fields = ["pin"]                # field names (substrings, any case) sealed before the model sees them
//! patterns = ["AKIA[0-9A-Z]{16}"] # regular expressions whose matches are redacted
//! ```
//!
//! Rules, all checked at load:
//!
//! - `version` must be `1`. It is checked before anything else, so a file
//!   written for another version says so.
//! - Every table rejects keys it does not know.
//! - Tool names are `[a-z][a-z0-9_]*`; role and agent names may also
//!   contain `-`; at most 64 characters. A `[tools.NAME]` may not reuse the
//!   name of a built-in tool.
//! - A `tools` or `approve` entry is `tool` or `tool.action` and names a
//!   built-in tool or a `[tools.NAME]`. Whether the action exists is checked
//!   by the runtime against the tool's own description. Every `approve`
//!   entry must be covered by a `tools` entry.
//! - Relative paths (`path`, `prompt_file`) are resolved against the policy
//!   file's directory. Prompt files are read at load (at most 256 KiB).
//! - Capability sections (`[roles.NAME.fs]` …) are the capabilities of
//!   `host_capabilities`' registry ([`CAPABILITIES`]); each is compiled by its
//!   own module, which owns the section's shape, and this crate adds the
//!   file position to its errors. A capability in the contract but not built
//!   yet ([`PLANNED`], empty in this version) is refused by name, so that
//!   nobody believes such a grant is in force.
//! - `[redact]` field names are not empty; each pattern is a valid regular
//!   expression (Rust `regex` syntax) that does not match the empty string;
//!   at most 64 patterns. See [`RedactRules`].
//! - `[[tests]]` entries name an existing role, a known tool (and action)
//!   and/or a registered capability with a request, and a verdict; see
//!   [`PolicyTest`]. `llmagent policy check` runs them ([`Policy::run_tests`]).
//!
//! # Decisions
//!
//! [`Role::decide`] denies a tool action unless a `tools` entry covers it,
//! and asks for approval if an `approve` entry covers it too. The answer
//! is a [`Ruling`], the vocabulary every capability shares: an allow
//! carries the rule that matched, an approval its `approve` entry, a
//! denial the entry that would allow it. [`Verdict`]s are ordered (`Allow
//! < Approve < Deny`) and the strictest match wins.
//!
//! # Errors
//!
//! Every error about the file displays as `file:line:col: [section] key:
//! message`, and has a stable code ([`PolicyError::code`]):
//!
//! ```text
//! policy.toml:7:1: [roles.ops.fs] raed: unknown field `raed`, expected `read` or `write`
//! policy.toml:1:11: version: unsupported policy version 2; this llmagent reads version 1
//! ```

#![deny(missing_docs)]

mod agent;
mod compile;
mod error;
mod events;
mod limits;
mod mcp;
mod raw;
mod redact;
mod role;
mod selftest;
mod span;
mod syntax;
#[cfg(test)]
mod tests;
mod tool;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use agent::{
    Agent, DEFAULT_MAX_ARGS_BYTES, DEFAULT_MAX_CALLS_PER_REPLY, DEFAULT_MAX_RESULT_BYTES,
    ToolProtocol,
};
pub use error::{Location, PolicyError};
pub use events::{Durability, EventsSettings, OnAuditFailure};
pub use host_capabilities::{CAPABILITIES, Grants, PLANNED, Ruling, Verdict};
pub use limits::Limits;
pub use mcp::{McpServer, McpTransport};
pub use redact::{Pattern, RedactRules};
pub use role::{Role, ToolRef};
pub use selftest::{PolicyTest, TestFailure};
pub use tool::ToolSource;

/// The policy format version this crate reads.
pub const POLICY_VERSION: u32 = compile::VERSION;

/// A policy file larger than 1 MiB is not a policy someone wrote by hand;
/// refusing it keeps a wrong path (a log, a binary) from being parsed.
const MAX_POLICY_BYTES: u64 = 1 << 20;

/// A whole policy file, checked and compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The format version (always [`POLICY_VERSION`]).
    pub version: u32,
    /// `[defaults]`, with built-in values for the keys it leaves out.
    pub defaults: Limits,
    /// The third-party tools (`[tools.NAME]`), by name.
    pub tools: BTreeMap<String, ToolSource>,
    /// The roles (`[roles.NAME]`), by name.
    pub roles: BTreeMap<String, Role>,
    /// The agents (`[agents.NAME]`), by name.
    pub agents: BTreeMap<String, Agent>,
    /// The policy's tests of itself (`[[tests]]`), in file order; run
    /// them with [`Policy::run_tests`].
    pub tests: Vec<PolicyTest>,
    /// `[events]`: durability and what a call does when it cannot be
    /// recorded.
    pub events: EventsSettings,
    /// `[redact]`: what the operator adds to the runtime's redaction of
    /// tool results.
    pub redact: RedactRules,
    /// The policy file as the caller named it (used in messages).
    pub origin: PathBuf,
}

impl Policy {
    /// Reads and compiles the policy file at `path`, and the prompt files it
    /// names. `builtin_tools` are the names of the tools the runtime ships.
    pub fn load(path: &Path, builtin_tools: &[&str]) -> Result<Policy, PolicyError> {
        let io = |source| PolicyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_POLICY_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_POLICY_BYTES {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!(
                    "larger than {} KiB; is this the right file?",
                    MAX_POLICY_BYTES >> 10
                ),
            )));
        }
        Self::parse(&text, path, builtin_tools)
    }

    /// Compiles policy `text`. `origin` is the file it came from: messages
    /// name it, and relative paths (tool components, prompt files, which
    /// are read now) are resolved against its directory.
    pub fn parse(text: &str, origin: &Path, builtin_tools: &[&str]) -> Result<Policy, PolicyError> {
        compile::policy(text, origin, builtin_tools)
    }

    /// The files this policy was read from and makes trusted: the policy
    /// file, every role's prompt file and every `[tools.*]` component. A
    /// tool that could rewrite one would change what runs, or with what
    /// instructions, at the next load.
    pub fn own_files(&self) -> Vec<PathBuf> {
        std::iter::once(self.origin.clone())
            .chain(self.roles.values().filter_map(|r| r.prompt_file.clone()))
            .chain(self.tools.values().map(|t| t.path.clone()))
            .collect()
    }

    /// The role called `name`, or an error listing the roles that exist.
    pub fn role(&self, name: &str) -> Result<&Role, PolicyError> {
        self.roles
            .get(name)
            .ok_or_else(|| PolicyError::UnknownRole {
                name: name.to_owned(),
                origin: self.origin.clone(),
                known: self.roles.keys().cloned().collect(),
            })
    }
}
