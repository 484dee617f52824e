//! The raw shape of `policy.toml`: dumb `*Toml` structs that serde fills
//! and that reject unknown keys. Nothing here is checked beyond its type;
//! [`crate::compile`] turns these into the runtime types. Values checked in
//! the compile step are [`Spanned`] so its errors point at a line too.

use std::collections::BTreeMap;

use host_capabilities::Capability;
use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

use crate::agent::ToolProtocol;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyToml {
    /// Checked before this struct is read (see `compile::version`), so a
    /// file written for another version gets that message first.
    #[serde(rename = "version")]
    pub _version: Option<IgnoredAny>,
    #[serde(default)]
    pub defaults: LimitsToml,
    #[serde(default)]
    pub tools: BTreeMap<Spanned<String>, ToolToml>,
    #[serde(default)]
    pub roles: BTreeMap<Spanned<String>, RoleToml>,
    #[serde(default)]
    pub agents: BTreeMap<Spanned<String>, AgentToml>,
    #[serde(default)]
    pub tests: Vec<Spanned<TestToml>>,
    #[serde(default)]
    pub events: crate::events::EventsSettings,
    #[serde(default)]
    pub redact: RedactToml,
}

/// `[redact]`: additions to the runtime's redaction of tool results.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedactToml {
    #[serde(default)]
    pub fields: Vec<Spanned<String>>,
    #[serde(default)]
    pub patterns: Vec<Spanned<String>>,
}

/// `[defaults]`. Integers are read as `i64` so that a negative or huge
/// value gets the range message, not a type error.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsToml {
    pub timeout_ms: Option<Spanned<i64>>,
    pub memory_mib: Option<Spanned<i64>>,
    pub max_output_bytes: Option<Spanned<i64>>,
    pub max_steps: Option<Spanned<i64>>,
}

/// `[tools.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolToml {
    pub path: Spanned<String>,
    pub sha256: Option<Spanned<String>>,
}

/// Generates [`RoleToml`] from the capability registry: one optional,
/// spanned section per capability.
macro_rules! role_toml {
    ($($name:ident: $ty:ty,)*) => {
        /// `[roles.NAME]` with its capability sections.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct RoleToml {
            pub prompt: Option<Spanned<String>>,
            pub prompt_file: Option<Spanned<String>>,
            #[serde(default)]
            pub tools: Vec<Spanned<String>>,
            #[serde(default)]
            pub approve: Vec<Spanned<String>>,

            pub timeout_ms: Option<Spanned<i64>>,
            pub memory_mib: Option<Spanned<i64>>,
            pub max_output_bytes: Option<Spanned<i64>>,
            pub max_steps: Option<Spanned<i64>>,

            /// `[roles.R.mcp.NAME]`: external MCP servers (`crate::mcp`).
            #[serde(default)]
            pub mcp: BTreeMap<Spanned<String>, crate::mcp::McpServerToml>,

            $(pub $name: Option<Spanned<<$ty as Capability>::Toml>>,)*
        }
    };
}

host_capabilities::for_each_capability!(role_toml);

impl RoleToml {
    /// The limit overrides, in `[defaults]` shape.
    pub fn limits(&self) -> LimitsToml {
        LimitsToml {
            timeout_ms: self.timeout_ms.clone(),
            memory_mib: self.memory_mib.clone(),
            max_output_bytes: self.max_output_bytes.clone(),
            max_steps: self.max_steps.clone(),
        }
    }
}

/// `[[tests]]`: an expectation the policy checks against itself.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestToml {
    pub name: Option<Spanned<String>>,
    pub role: Spanned<String>,
    pub tool: Option<Spanned<String>>,
    pub action: Option<Spanned<String>>,
    pub capability: Option<Spanned<String>>,
    #[serde(default)]
    pub request: Vec<String>,
    pub expect: Spanned<String>,
}

/// `[agents.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentToml {
    pub role: Spanned<String>,
    pub model: Option<Spanned<String>>,
    pub api_base: Option<Spanned<String>>,
    pub api_key_env: Option<Spanned<String>>,
    #[serde(default)]
    pub key_over_plain_http: bool,
    pub tool_protocol: Option<ToolProtocol>,
    pub temperature: Option<Spanned<f64>>,
    pub max_tokens: Option<Spanned<i64>>,
    pub max_result_bytes: Option<Spanned<i64>>,
    pub max_calls_per_reply: Option<Spanned<i64>>,
    pub max_args_bytes: Option<Spanned<i64>>,
    #[serde(default)]
    pub autostart: bool,
}
