//! [`Agent`]: an `[agents.NAME]` entry — which role an agent runs under and
//! how it reaches its model. Checked now; used by the agent runtime.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::compile::{Cx, is_name, name_rule};
use crate::error::PolicyError;
use crate::raw::AgentToml;
use crate::role::Role;

/// One agent, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// The agent's name (`[agents.NAME]`).
    pub name: String,
    /// The role it runs under; always a role of the same policy.
    pub role: String,
    /// Model name sent to the API; `None`: the runtime's default.
    pub model: Option<String>,
    /// Base URL of the OpenAI-compatible API (`http://` or `https://`).
    pub api_base: Option<String>,
    /// Name of the environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// Send that key over plain `http://` to a host that is not loopback
    /// (off: such a key is refused, it would cross the network readable).
    pub key_over_plain_http: bool,
    /// How tool calls are exchanged with the model.
    pub tool_protocol: ToolProtocol,
    /// Sampling temperature, `0..=2`.
    pub temperature: Option<f64>,
    /// Cap on the tokens of one model reply.
    pub max_tokens: Option<u32>,
    /// Cap on one tool result as sent to the model, in bytes; longer
    /// results are cut with a visible marker.
    pub max_result_bytes: usize,
    /// At most this many tool calls of one model reply run; the rest are
    /// answered `too_many_calls`.
    pub max_calls_per_reply: usize,
    /// A call whose arguments are larger than this many bytes (as JSON) is
    /// refused `invalid_args` before it becomes an event or a request.
    pub max_args_bytes: usize,
    /// `llmagent serve` starts this agent when it starts.
    pub autostart: bool,
}

/// A tool result shown to the model is cut at this many bytes unless the
/// agent says otherwise: about 4k tokens, a quarter of a small local
/// model's context, while a whole log file would swamp any context.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 16 * 1024;

/// The range `max_result_bytes` may take: below 256 bytes no result is
/// readable; above 1 MiB no model's context holds it.
const MAX_RESULT_RANGE: std::ops::RangeInclusive<i64> = 256..=(1 << 20);

/// Calls of one reply that run unless the agent says otherwise: more than
/// any real plan needs in one step (models batch a handful), few enough
/// that a runaway reply cannot start thousands of tool instances.
pub const DEFAULT_MAX_CALLS_PER_REPLY: usize = 16;

/// The range `max_calls_per_reply` may take (256 is the runtime's limit on
/// calls running at once).
const MAX_CALLS_RANGE: std::ops::RangeInclusive<i64> = 1..=256;

/// Arguments of one call larger than this are refused unless the agent
/// says otherwise: a file write of 256 KiB is already more than a model
/// writes in one reply, and every argument is kept in the event log.
pub const DEFAULT_MAX_ARGS_BYTES: usize = 256 << 10;

/// The range `max_args_bytes` may take: below 1 KiB ordinary calls fail;
/// above 4 MiB no reply carries it (the model client refuses larger
/// replies).
const MAX_ARGS_RANGE: std::ops::RangeInclusive<i64> = 1024..=(4 << 20);

/// How an agent exchanges tool calls with its model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolProtocol {
    /// The API's native `tools` / `tool_calls` fields.
    Native,
    /// Tool calls written as JSON in the reply text (the predecessor's
    /// protocol).
    Json,
    /// The json protocol with the reply constrained by a JSON Schema
    /// (`response_format`), so that small local models write valid calls;
    /// falls back to `json` when the server refuses the schema.
    Constrained,
    /// Native if the API accepts it, else JSON.
    #[default]
    Auto,
}

impl ToolProtocol {
    /// `native`, `json`, `constrained` or `auto`, as written in the policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Json => "json",
            Self::Constrained => "constrained",
            Self::Auto => "auto",
        }
    }
}

impl std::fmt::Display for ToolProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ToolProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(Self::Native),
            "json" => Ok(Self::Json),
            "constrained" => Ok(Self::Constrained),
            "auto" => Ok(Self::Auto),
            other => Err(format!(
                "unknown tool protocol \"{other}\"; use native, json, constrained or auto"
            )),
        }
    }
}

impl Agent {
    /// Checks `[agents.NAME]` against the compiled roles.
    pub(crate) fn compile(
        cx: &Cx<'_>,
        name: &Spanned<String>,
        raw: &AgentToml,
        roles: &BTreeMap<String, Role>,
    ) -> Result<Agent, PolicyError> {
        let agent = name.get_ref().as_str();
        let section = format!("agents.{agent}");
        let bad = |span, key, message: String| cx.invalid(span, Some(&section), key, message);
        if !is_name(agent, true) {
            return Err(bad(
                name.span(),
                None,
                format!("\"{agent}\" is not a valid agent name; {}", name_rule(true)),
            ));
        }
        let role = raw.role.get_ref();
        if !roles.contains_key(role) {
            let known: Vec<&str> = roles.keys().map(String::as_str).collect();
            let hint = if known.is_empty() {
                format!("the policy defines no roles; add a [roles.{role}] section")
            } else if let Some(near) = crate::syntax::closest(role, known.iter().copied()) {
                format!(
                    "did you mean \"{near}\"? The roles are {}",
                    known.join(", ")
                )
            } else {
                format!("the roles are {}", known.join(", "))
            };
            return Err(bad(
                raw.role.span(),
                Some("role"),
                format!("unknown role \"{role}\"; {hint}"),
            ));
        }
        if let Some(base) = &raw.api_base
            && !is_http_url(base.get_ref())
        {
            return Err(bad(
                base.span(),
                Some("api_base"),
                format!(
                    "\"{}\" is not an http(s) URL; write the API's base URL, like \"http://localhost:11434/v1\"",
                    base.get_ref()
                ),
            ));
        }
        if let Some(env) = &raw.api_key_env
            && !is_env_name(env.get_ref())
        {
            return Err(bad(
                env.span(),
                Some("api_key_env"),
                // The value is not echoed: it may be the key itself.
                "not an environment variable name (A-Z, 0-9 and \"_\", not starting with a digit); write the variable's NAME, like \"OPENAI_API_KEY\", never the key itself".into(),
            ));
        }
        if let Some(t) = &raw.temperature
            && !(0.0..=2.0).contains(t.get_ref())
        {
            return Err(bad(
                t.span(),
                Some("temperature"),
                format!("{} is out of range; use a value from 0 to 2", t.get_ref()),
            ));
        }
        let max_tokens = match &raw.max_tokens {
            None => None,
            Some(m) => match u32::try_from(*m.get_ref()) {
                Ok(v) if v >= 1 => Some(v),
                _ => {
                    return Err(bad(
                        m.span(),
                        Some("max_tokens"),
                        format!(
                            "{} is out of range; use a value from 1 to {}",
                            m.get_ref(),
                            u32::MAX
                        ),
                    ));
                }
            },
        };
        let in_range = |value: &Option<Spanned<i64>>,
                        key: &'static str,
                        range: std::ops::RangeInclusive<i64>,
                        default: usize|
         -> Result<usize, PolicyError> {
            match value {
                None => Ok(default),
                Some(m) if range.contains(m.get_ref()) => {
                    Ok(usize::try_from(*m.get_ref()).unwrap_or(default))
                }
                Some(m) => Err(bad(
                    m.span(),
                    Some(key),
                    format!(
                        "{} is out of range; use a value from {} to {}",
                        m.get_ref(),
                        range.start(),
                        range.end()
                    ),
                )),
            }
        };
        let max_result_bytes = in_range(
            &raw.max_result_bytes,
            "max_result_bytes",
            MAX_RESULT_RANGE,
            DEFAULT_MAX_RESULT_BYTES,
        )?;
        let max_calls_per_reply = in_range(
            &raw.max_calls_per_reply,
            "max_calls_per_reply",
            MAX_CALLS_RANGE,
            DEFAULT_MAX_CALLS_PER_REPLY,
        )?;
        let max_args_bytes = in_range(
            &raw.max_args_bytes,
            "max_args_bytes",
            MAX_ARGS_RANGE,
            DEFAULT_MAX_ARGS_BYTES,
        )?;
        if let Some(model) = &raw.model
            && model.get_ref().trim().is_empty()
        {
            return Err(bad(
                model.span(),
                Some("model"),
                "empty; name a model, or remove the key to use the runtime's default".into(),
            ));
        }
        Ok(Agent {
            name: agent.to_owned(),
            role: role.clone(),
            model: raw.model.as_ref().map(|m| m.get_ref().clone()),
            api_base: raw.api_base.as_ref().map(|b| b.get_ref().clone()),
            api_key_env: raw.api_key_env.as_ref().map(|e| e.get_ref().clone()),
            key_over_plain_http: raw.key_over_plain_http,
            tool_protocol: raw.tool_protocol.unwrap_or_default(),
            temperature: raw.temperature.as_ref().map(|t| *t.get_ref()),
            max_tokens,
            max_result_bytes,
            max_calls_per_reply,
            max_args_bytes,
            autostart: raw.autostart,
        })
    }
}

/// `http://host…` or `https://host…` with a non-empty host and no spaces.
fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !r.chars().any(char::is_whitespace)
    })
}

/// `[A-Z_][A-Z0-9_]*`.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_env_names() {
        for ok in [
            "http://localhost:11434/v1",
            "https://api.openai.com/v1",
            "http://[::1]:8080",
        ] {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in [
            "localhost:11434",
            "ftp://x",
            "http://",
            "https:///v1",
            "http://a b",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
        assert!(is_env_name("OPENAI_API_KEY") && is_env_name("_X1"));
        assert!(!is_env_name("") && !is_env_name("1X") && !is_env_name("sk-abc"));
    }
}
