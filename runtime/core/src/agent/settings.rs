//! How an agent talks to its model, and where that comes from.
//!
//! [`AgentSettings::resolve`] reads an agent's settings the same way for
//! every front end (`llmagent run`, `serve`, MCP): a caller's
//! [`Overrides`] (command-line flags) win over the policy's
//! `[agents.NAME]`, which wins over the environment (`LLMAGENT_MODEL`,
//! `OPENAI_BASE_URL`, `OPENAI_API_KEY`), which wins over the defaults.

use std::path::PathBuf;

use llmagent_policy::{Policy, PolicyError, ToolProtocol};

/// Where requests go when neither the caller, the agent nor
/// `OPENAI_BASE_URL` says: Ollama's default address, as the predecessor.
pub const DEFAULT_API_BASE: &str = "http://localhost:11434/v1";

/// The environment variable naming the model when nothing else does.
const MODEL_ENV: &str = "LLMAGENT_MODEL";
/// The environment variable naming the API base when nothing else does.
const API_BASE_ENV: &str = "OPENAI_BASE_URL";
/// The API key of an agent whose entry names no `api_key_env`.
const API_KEY_ENV: &str = "OPENAI_API_KEY";

/// How one agent talks to its model.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSettings {
    /// The agent's name: its events and conversation are filed under it.
    pub name: String,
    /// The role whose prompt, tools and limits apply.
    pub role: String,
    /// The model name sent to the API.
    pub model: String,
    /// How tool calls are exchanged.
    pub protocol: ToolProtocol,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Cap on one reply's tokens.
    pub max_tokens: Option<u32>,
    /// Cap on one tool result as shown to the model, in bytes.
    pub max_result_bytes: usize,
    /// Calls of one reply that run; the rest are answered `too_many_calls`.
    pub max_calls_per_reply: usize,
    /// Arguments of one call larger than this (as JSON) are `invalid_args`.
    pub max_args_bytes: usize,
    /// Stream replies token by token (for interactive use).
    pub stream: bool,
}

/// What the caller (a command line, a request) says about the agent to
/// run; `None` leaves the choice to the policy, the environment and the
/// defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// Run this `[agents.NAME]`.
    pub agent: Option<String>,
    /// Run an ad-hoc agent under this role (ignored when `agent` is set).
    pub role: Option<String>,
    /// The ad-hoc agent's name (default: its role's name).
    pub name: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// The API base URL.
    pub api_base: Option<String>,
    /// The tool protocol.
    pub protocol: Option<ToolProtocol>,
}

/// An agent's settings with where its requests go.
#[derive(Clone, PartialEq)]
pub struct ResolvedAgent {
    /// The settings.
    pub settings: AgentSettings,
    /// The API base URL.
    pub api_base: String,
    /// The API key, when one is set and may go to `api_base` (see
    /// [`AgentSettings::resolve`]).
    pub api_key: Option<String>,
    /// What the front end should tell its user: e.g. that a key in the
    /// environment was not sent, and why.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for ResolvedAgent {
    // The key never reaches a log or a `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedAgent")
            .field("settings", &self.settings)
            .field("api_base", &self.api_base)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// How a request to an API base travels, as far as a key is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `https://`: the key is encrypted on the way.
    Tls,
    /// `http://` to this machine (`localhost`, 127.0.0.0/8, `::1`): the key
    /// does not cross the network, though any local user could have bound
    /// the port.
    Loopback,
    /// `http://` to another host: anyone on the path can read the key.
    Plain,
}

fn route(api_base: &str) -> Route {
    let Ok(url) = url::Url::parse(api_base) else {
        return Route::Plain;
    };
    if url.scheme() == "https" {
        return Route::Tls;
    }
    match url.host() {
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Route::Loopback,
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Route::Loopback,
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Route::Loopback,
        _ => Route::Plain,
    }
}

/// Why an agent's settings could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The policy has no `[agents.NAME]` of that name.
    #[error("{} has no agent `{name}`; its agents: {}", policy.display(), list(known))]
    UnknownAgent {
        /// The policy file.
        policy: PathBuf,
        /// The name asked for.
        name: String,
        /// The agents it has.
        known: Vec<String>,
    },
    /// Neither an agent nor a role was named, and the policy has no single
    /// agent or `default` role to fall back on.
    #[error(
        "say which agent to run: --agent NAME (agents of {}: {}) or --role ROLE --model MODEL",
        policy.display(),
        agents.join(", ")
    )]
    NoAgentChosen {
        /// The policy file.
        policy: PathBuf,
        /// The agents it has.
        agents: Vec<String>,
    },
    /// The role does not exist.
    #[error(transparent)]
    Role(PolicyError),
    /// No model was named anywhere.
    #[error(
        "no model named: pass --model NAME, set LLMAGENT_MODEL, or set model in the agent's [agents.NAME]"
    )]
    NoModel,
    /// The agent's key would go over plain HTTP to another host.
    #[error(
        "agent `{agent}` would send its API key (${var}) over plain HTTP to {api_base}, where anyone on the path can read it; use an https:// api_base, or set key_over_plain_http = true in [agents.{agent}] if that network is trusted"
    )]
    KeyOverPlainHttp {
        /// The agent.
        agent: String,
        /// The variable holding the key.
        var: String,
        /// Where it would go.
        api_base: String,
    },
    /// The agent reads its API key from a variable that is not set.
    #[error(
        "agent `{agent}` reads its API key from ${var}, which is not set; export it, or remove api_key_env for a server without keys"
    )]
    MissingApiKey {
        /// The agent.
        agent: String,
        /// The variable.
        var: String,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".to_owned()
    } else {
        names.join(", ")
    }
}

impl SettingsError {
    /// The stable code of this error: `settings.unknown_agent`,
    /// `settings.no_agent_chosen`, the policy's code for an unknown role
    /// (`policy.unknown_role`), `settings.no_model`,
    /// `settings.missing_api_key`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownAgent { .. } => "settings.unknown_agent",
            Self::NoAgentChosen { .. } => "settings.no_agent_chosen",
            Self::Role(e) => e.code(),
            Self::NoModel => "settings.no_model",
            Self::MissingApiKey { .. } => "settings.missing_api_key",
            Self::KeyOverPlainHttp { .. } => "settings.key_over_plain_http",
        }
    }

    /// Whether the policy is at fault (an agent or role it lacks) rather
    /// than the caller's request (exit 3 rather than 2 on the command line).
    pub fn is_policy(&self) -> bool {
        matches!(self, Self::UnknownAgent { .. } | Self::Role(_))
    }
}

impl AgentSettings {
    /// Settings for an agent of `role` talking to `model`, with the
    /// defaults of an `[agents.NAME]` entry that sets nothing else.
    pub fn new(name: &str, role: &str, model: &str) -> Self {
        Self {
            name: name.to_owned(),
            role: role.to_owned(),
            model: model.to_owned(),
            protocol: ToolProtocol::Auto,
            temperature: None,
            max_tokens: None,
            max_result_bytes: llmagent_policy::DEFAULT_MAX_RESULT_BYTES,
            max_calls_per_reply: llmagent_policy::DEFAULT_MAX_CALLS_PER_REPLY,
            max_args_bytes: llmagent_policy::DEFAULT_MAX_ARGS_BYTES,
            stream: false,
        }
    }

    /// The agent `overrides` asks for under `policy`: its settings, API
    /// base and key. `env` looks up an environment variable (empty values
    /// count as unset). Which agent: `overrides.agent`; else an ad-hoc
    /// agent of `overrides.role`; else the policy's only agent; else an
    /// ad-hoc agent of the `default` role.
    pub fn resolve(
        policy: &Policy,
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ResolvedAgent, SettingsError> {
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let entry = match (&overrides.agent, &overrides.role) {
            (Some(name), _) => {
                Some(
                    policy
                        .agents
                        .get(name)
                        .ok_or_else(|| SettingsError::UnknownAgent {
                            policy: policy.origin.clone(),
                            name: name.clone(),
                            known: policy.agents.keys().cloned().collect(),
                        })?,
                )
            }
            (None, Some(_)) => None,
            (None, None) if policy.agents.len() == 1 => policy.agents.values().next(),
            (None, None) if policy.roles.contains_key("default") => None,
            (None, None) => {
                return Err(SettingsError::NoAgentChosen {
                    policy: policy.origin.clone(),
                    agents: policy.agents.keys().cloned().collect(),
                });
            }
        };
        let role = match (entry, &overrides.role) {
            (Some(a), _) => a.role.clone(),
            (None, Some(r)) => r.clone(),
            (None, None) => "default".to_owned(),
        };
        policy.role(&role).map_err(SettingsError::Role)?;
        let name = match (entry, &overrides.name) {
            (Some(a), _) => a.name.clone(),
            (None, Some(n)) => n.clone(),
            (None, None) => role.clone(),
        };
        let model = overrides
            .model
            .clone()
            .or_else(|| entry.and_then(|a| a.model.clone()))
            .or_else(|| env(MODEL_ENV))
            .ok_or(SettingsError::NoModel)?;
        let api_base = overrides
            .api_base
            .clone()
            .or_else(|| entry.and_then(|a| a.api_base.clone()))
            .or_else(|| env(API_BASE_ENV))
            .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
        // A key goes where the operator sent it: an agent's own variable
        // to its api_base (plain HTTP to another host only when the entry
        // says so); the default variable only to an https:// server — not
        // to the default `http://localhost:11434`, which any local user
        // can bind.
        let mut warnings = Vec::new();
        let api_key = match entry.and_then(|a| a.api_key_env.as_deref().map(|v| (a, v))) {
            Some((agent, var)) => {
                let key = env(var).ok_or_else(|| SettingsError::MissingApiKey {
                    agent: name.clone(),
                    var: var.to_owned(),
                })?;
                if route(&api_base) == Route::Plain && !agent.key_over_plain_http {
                    return Err(SettingsError::KeyOverPlainHttp {
                        agent: name.clone(),
                        var: var.to_owned(),
                        api_base,
                    });
                }
                Some(key)
            }
            None => match env(API_KEY_ENV) {
                Some(key) if route(&api_base) == Route::Tls => Some(key),
                Some(_) => {
                    warnings.push(format!(
                        "${API_KEY_ENV} is set but not sent to {api_base}: the default key goes only to https:// servers; to send a key to this server, name its variable in [agents.NAME] api_key_env"
                    ));
                    None
                }
                None => None,
            },
        };
        let mut settings = AgentSettings::new(&name, &role, &model);
        if let Some(a) = entry {
            settings.protocol = a.tool_protocol;
            settings.temperature = a.temperature;
            settings.max_tokens = a.max_tokens;
            settings.max_result_bytes = a.max_result_bytes;
            settings.max_calls_per_reply = a.max_calls_per_reply;
            settings.max_args_bytes = a.max_args_bytes;
        }
        if let Some(p) = overrides.protocol {
            settings.protocol = p;
        }
        Ok(ResolvedAgent {
            settings,
            api_base,
            api_key,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;

    const POLICY: &str = r#"
version = 1
[roles.default]
tools = ["crypto"]
[roles.ops]
tools = ["crypto"]
[agents.ops]
role = "ops"
model = "agent-model"
api_base = "https://agent.example/v1"
api_key_env = "OPS_KEY"
tool_protocol = "json"
temperature = 0.5
max_tokens = 100
max_calls_per_reply = 5
max_args_bytes = 4096
[agents.plain]
role = "default"
"#;

    fn policy(text: &str) -> Policy {
        Policy::parse(text, Path::new("/etc/llmagent/policy.toml"), &["crypto"])
            .unwrap_or_else(|e| panic!("policy: {e}"))
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn resolve(
        p: &Policy,
        o: &Overrides,
        vars: &[(&str, &str)],
    ) -> Result<ResolvedAgent, SettingsError> {
        AgentSettings::resolve(p, o, env(vars))
    }

    const ENV: &[(&str, &str)] = &[
        ("LLMAGENT_MODEL", "env-model"),
        ("OPENAI_BASE_URL", "http://env.example/v1"),
        ("OPENAI_API_KEY", "env-key"),
        ("OPS_KEY", "ops-key"),
    ];

    #[test]
    fn the_agent_entry_wins_over_the_environment() {
        let o = Overrides {
            agent: Some("ops".into()),
            ..Overrides::default()
        };
        let mut settings = AgentSettings::new("ops", "ops", "agent-model");
        settings.protocol = ToolProtocol::Json;
        settings.temperature = Some(0.5);
        settings.max_tokens = Some(100);
        settings.max_calls_per_reply = 5;
        settings.max_args_bytes = 4096;
        assert_eq!(
            resolve(&policy(POLICY), &o, ENV).ok(),
            Some(ResolvedAgent {
                settings,
                api_base: "https://agent.example/v1".into(),
                api_key: Some("ops-key".into()),
                warnings: vec![],
            })
        );
    }

    #[test]
    fn flags_win_over_the_agent_entry() {
        let o = Overrides {
            agent: Some("ops".into()),
            model: Some("flag-model".into()),
            api_base: Some("https://flag.example/v1".into()),
            protocol: Some(ToolProtocol::Native),
            ..Overrides::default()
        };
        let r = resolve(&policy(POLICY), &o, ENV).ok();
        let r = r.as_ref().map(|r| {
            (
                r.settings.model.as_str(),
                r.api_base.as_str(),
                r.settings.protocol,
            )
        });
        assert_eq!(
            r,
            Some((
                "flag-model",
                "https://flag.example/v1",
                ToolProtocol::Native
            ))
        );
    }

    #[test]
    fn the_environment_wins_over_the_defaults_and_empty_values_are_unset() {
        let o = Overrides {
            role: Some("ops".into()),
            name: Some("adhoc".into()),
            ..Overrides::default()
        };
        assert_eq!(
            resolve(&policy(POLICY), &o, ENV).ok(),
            Some(ResolvedAgent {
                settings: AgentSettings::new("adhoc", "ops", "env-model"),
                api_base: "http://env.example/v1".into(),
                api_key: None,
                warnings: vec!["$OPENAI_API_KEY is set but not sent to http://env.example/v1: the default key goes only to https:// servers; to send a key to this server, name its variable in [agents.NAME] api_key_env".into()],
            })
        );
        let o = Overrides {
            role: Some("ops".into()),
            model: Some("m".into()),
            ..Overrides::default()
        };
        let empty = [("OPENAI_BASE_URL", ""), ("OPENAI_API_KEY", "")];
        assert_eq!(
            resolve(&policy(POLICY), &o, &empty).ok(),
            Some(ResolvedAgent {
                settings: AgentSettings::new("ops", "ops", "m"),
                api_base: DEFAULT_API_BASE.into(),
                api_key: None,
                warnings: vec![],
            })
        );
    }

    #[test]
    fn without_a_choice_the_only_agent_or_the_default_role_runs() {
        let one = policy(
            "version = 1\n[roles.ops]\ntools = [\"crypto\"]\n[agents.solo]\nrole = \"ops\"\nmodel = \"m\"\n",
        );
        let r = resolve(&one, &Overrides::default(), &[]).ok();
        assert_eq!(
            r.map(|r| r.settings),
            Some(AgentSettings::new("solo", "ops", "m"))
        );
        let r = resolve(&policy(POLICY), &Overrides::default(), ENV).ok();
        assert_eq!(
            r.map(|r| r.settings),
            Some(AgentSettings::new("default", "default", "env-model"))
        );
    }

    #[test]
    fn errors_say_what_exists_and_whose_fault_it_is() {
        let p = policy(POLICY);
        let unknown = Overrides {
            agent: Some("nope".into()),
            ..Overrides::default()
        };
        let e = resolve(&p, &unknown, ENV).err();
        assert_eq!(
            e.as_ref().map(|e| (e.to_string(), e.is_policy(), e.code())),
            Some((
                "/etc/llmagent/policy.toml has no agent `nope`; its agents: ops, plain".into(),
                true,
                "settings.unknown_agent"
            ))
        );
        let none = policy(
            "version = 1\n[roles.a]\ntools = [\"crypto\"]\n[agents.x]\nrole = \"a\"\n[agents.y]\nrole = \"a\"\n",
        );
        let e = resolve(&none, &Overrides::default(), ENV).err();
        assert_eq!(
            e.as_ref().map(|e| (e.to_string(), e.is_policy())),
            Some((
                "say which agent to run: --agent NAME (agents of /etc/llmagent/policy.toml: x, y) or --role ROLE --model MODEL".into(),
                false
            ))
        );
        let role = Overrides {
            role: Some("ghost".into()),
            ..Overrides::default()
        };
        let e = resolve(&p, &role, ENV).err();
        assert_eq!(
            e.as_ref().map(|e| (e.is_policy(), e.code())),
            Some((true, "policy.unknown_role"))
        );
        let plain = Overrides {
            agent: Some("plain".into()),
            ..Overrides::default()
        };
        let e = resolve(&p, &plain, &[]).err();
        assert_eq!(
            e.as_ref().map(|e| (e.is_policy(), e.code())),
            Some((false, "settings.no_model"))
        );
        let ops = Overrides {
            agent: Some("ops".into()),
            ..Overrides::default()
        };
        let e = resolve(&p, &ops, &[("LLMAGENT_MODEL", "m")]).err();
        assert_eq!(
            e.as_ref().map(|e| (e.to_string(), e.is_policy())),
            Some((
                "agent `ops` reads its API key from $OPS_KEY, which is not set; export it, or remove api_key_env for a server without keys".into(),
                false
            ))
        );
    }

    /// `(api_key, warnings)` for `agent`/`role` with `api_base` and `vars`.
    fn key_for(
        p: &Policy,
        agent: Option<&str>,
        api_base: &str,
        vars: &[(&str, &str)],
    ) -> Result<(Option<String>, usize), String> {
        let o = Overrides {
            agent: agent.map(str::to_owned),
            role: Some("default".into()),
            model: Some("m".into()),
            api_base: Some(api_base.into()),
            ..Overrides::default()
        };
        resolve(p, &o, vars)
            .map(|r| (r.api_key, r.warnings.len()))
            .map_err(|e| e.code().to_owned())
    }

    #[test]
    fn the_default_key_goes_only_to_https_servers() {
        let p = policy(POLICY);
        let vars = [("OPENAI_API_KEY", "env-key")];
        assert_eq!(
            key_for(&p, None, "https://api.example/v1", &vars),
            Ok((Some("env-key".into()), 0))
        );
        for base in [
            DEFAULT_API_BASE,
            "http://127.0.0.1:8080/v1",
            "http://[::1]:8080/v1",
            "http://api.example/v1",
        ] {
            assert_eq!(key_for(&p, None, base, &vars), Ok((None, 1)), "{base}");
        }
    }

    #[test]
    fn an_agents_own_key_goes_to_its_server_but_not_in_clear_across_the_network() {
        let vars = [("OPS_KEY", "ops-key")];
        let p = policy(POLICY);
        for base in [
            "https://api.example/v1",
            "http://localhost:8080/v1",
            "http://127.0.0.2/v1",
            "http://[::1]/v1",
        ] {
            assert_eq!(
                key_for(&p, Some("ops"), base, &vars),
                Ok((Some("ops-key".into()), 0)),
                "{base}"
            );
        }
        assert_eq!(
            key_for(&p, Some("ops"), "http://10.0.0.5:8080/v1", &vars),
            Err("settings.key_over_plain_http".into())
        );
        assert_eq!(
            key_for(&p, Some("ops"), "http://localhost.example/v1", &vars),
            Err("settings.key_over_plain_http".into())
        );
        let trusting = policy(&POLICY.replace(
            "api_key_env = \"OPS_KEY\"",
            "api_key_env = \"OPS_KEY\"\nkey_over_plain_http = true",
        ));
        assert_eq!(
            key_for(&trusting, Some("ops"), "http://10.0.0.5:8080/v1", &vars),
            Ok((Some("ops-key".into()), 0))
        );
    }

    #[test]
    fn the_key_is_never_in_a_debug_print() {
        let o = Overrides {
            agent: Some("ops".into()),
            ..Overrides::default()
        };
        let r = resolve(&policy(POLICY), &o, ENV).expect("resolves");
        let shown = format!("{r:?}");
        assert!(
            !shown.contains("ops-key") && shown.contains("[redacted]"),
            "{shown}"
        );
    }
}
