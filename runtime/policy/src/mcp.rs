//! `[roles.R.mcp.NAME]`: an external MCP server whose tools a role may use.
//!
//! ```toml
//! [roles.ops.mcp.notes]
//! command = ["/usr/bin/python3", "/srv/notes/server.py"]  # started by llmagent, confined like an exec child
//! env = ["LANG"]                  # variables passed on from llmagent's environment; nothing else is
//! tools = ["search", "note_*"]    # globs over the server's tool names: what the role may call
//!
//! [roles.ops.mcp.wiki]
//! url = "http://127.0.0.1:8931/mcp"   # streamable HTTP
//! token_env = "WIKI_TOKEN"            # optional: a bearer token, read from this variable
//! tools = ["*"]
//! ```
//!
//! A server is a tool named `NAME` whose actions are the server's tools;
//! the model sees them as `NAME-tool`. Its `tools` globs are the grant:
//! [`crate::Role::decide`] allows a server tool only when a glob matches
//! it (the rule names the glob; a denial names the key to add to), and
//! the role's `approve` may name `NAME` or `NAME.tool` like any tool.
//! Exactly one of `command` and `url` is given; `env` is for `command`,
//! `token_env` for `url`.

use std::path::PathBuf;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::compile::{Cx, is_name, name_rule};
use crate::error::PolicyError;

/// `[roles.R.mcp.NAME]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct McpServerToml {
    pub command: Option<Spanned<Vec<String>>>,
    pub url: Option<Spanned<String>>,
    #[serde(default)]
    pub env: Vec<Spanned<String>>,
    pub token_env: Option<Spanned<String>>,
    pub tools: Spanned<Vec<String>>,
}

/// How llmagent reaches a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum McpTransport {
    /// A local server speaking MCP on its stdin and stdout.
    Command {
        /// The program as it is started: absolute (a bare name is looked
        /// up on the exec capability's safe `PATH` when the policy loads).
        program: PathBuf,
        /// Its arguments.
        args: Vec<String>,
        /// Names of variables passed on from llmagent's environment.
        env: Vec<String>,
    },
    /// A server speaking streamable HTTP.
    Url {
        /// Its endpoint, `http://` or `https://`.
        url: String,
        /// The variable holding a bearer token for it, if any.
        token_env: Option<String>,
    },
}

impl std::fmt::Display for McpTransport {
    /// The program or the URL: where the server's tools come from.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            McpTransport::Command { program, .. } => write!(f, "{}", program.display()),
            McpTransport::Url { url, .. } => f.write_str(url),
        }
    }
}

/// One `[roles.R.mcp.NAME]`, compiled.
#[derive(Debug, Clone)]
pub struct McpServer {
    /// The server's name: the tool name its tools are offered under.
    pub name: String,
    /// The role whose section it is.
    pub role: String,
    /// How to reach it.
    pub transport: McpTransport,
    /// The `tools` globs, as written.
    pub tools: Vec<String>,
    matcher: GlobSet,
}

impl PartialEq for McpServer {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, &self.role, &self.transport, &self.tools)
            == (&other.name, &other.role, &other.transport, &other.tools)
    }
}

impl McpServer {
    /// `[roles.R.mcp.NAME].key`, as messages name it.
    pub fn key(&self, key: &str) -> String {
        format!("[roles.{}.mcp.{}].{key}", self.role, self.name)
    }

    /// The first `tools` glob that matches the server tool `tool`.
    pub fn permits(&self, tool: &str) -> Option<&str> {
        self.matcher
            .matches(tool)
            .first()
            .and_then(|&i| self.tools.get(i))
            .map(String::as_str)
    }

    /// One line for `llmagent policy check`.
    pub fn summary(&self) -> String {
        let how = match &self.transport {
            McpTransport::Command { program, args, env } => {
                let mut s = format!("command {}", program.display());
                for a in args {
                    s.push(' ');
                    s.push_str(a);
                }
                if !env.is_empty() {
                    s.push_str(&format!(" (env {})", env.join(", ")));
                }
                s
            }
            McpTransport::Url { url, token_env } => match token_env {
                Some(v) => format!("url {url} (token from ${v})"),
                None => format!("url {url}"),
            },
        };
        format!("{}: {how}; tools {}", self.name, self.tools.join(", "))
    }

    /// Checks and compiles `[roles.ROLE.mcp.NAME]`. `taken` are the tool
    /// names a server may not reuse.
    pub(crate) fn compile(
        cx: &Cx<'_>,
        role: &str,
        name: &Spanned<String>,
        raw: &McpServerToml,
        taken: &[&str],
    ) -> Result<McpServer, PolicyError> {
        let section = format!("roles.{role}.mcp.{}", name.get_ref());
        let bad = |span, key: Option<&str>, message: String| {
            cx.invalid(span, Some(&section), key, message)
        };
        if !is_name(name.get_ref(), false) {
            return Err(bad(
                name.span(),
                None,
                format!(
                    "\"{}\" is not a valid MCP server name (it becomes a tool name); {}",
                    name.get_ref(),
                    name_rule(false)
                ),
            ));
        }
        if taken.contains(&name.get_ref().as_str()) {
            return Err(bad(
                name.span(),
                None,
                format!(
                    "\"{}\" is already a tool's name; give the MCP server another name",
                    name.get_ref()
                ),
            ));
        }
        let transport = match (&raw.command, &raw.url) {
            (Some(_), Some(url)) => {
                return Err(bad(
                    url.span(),
                    Some("url"),
                    "both command and url are set; keep one of them".into(),
                ));
            }
            (None, None) => {
                return Err(bad(
                    name.span(),
                    None,
                    "neither command nor url is set; give command = [\"/path/to/server\", …] for a local server or url = \"http://…\" for a streamable HTTP one".into(),
                ));
            }
            (Some(command), None) => {
                if let Some(t) = &raw.token_env {
                    return Err(bad(
                        t.span(),
                        Some("token_env"),
                        "token_env is for url servers; pass a local server's secrets with env"
                            .into(),
                    ));
                }
                let Some((first, args)) = command.get_ref().split_first() else {
                    return Err(bad(
                        command.span(),
                        Some("command"),
                        "empty; give the program and its arguments".into(),
                    ));
                };
                let program = if first.starts_with('/') {
                    PathBuf::from(first)
                } else {
                    host_capabilities::exec::resolve_program(first)
                        .map_err(|why| bad(command.span(), Some("command"), why))?
                };
                if !program.is_file() {
                    return Err(bad(
                        command.span(),
                        Some("command"),
                        format!("\"{}\" is not a file", program.display()),
                    ));
                }
                let mut env = Vec::with_capacity(raw.env.len());
                for v in &raw.env {
                    if !is_env_name(v.get_ref()) {
                        return Err(bad(
                            v.span(),
                            Some("env"),
                            format!("\"{}\" is not an environment variable name", v.get_ref()),
                        ));
                    }
                    env.push(v.get_ref().clone());
                }
                McpTransport::Command {
                    program,
                    args: args.to_vec(),
                    env,
                }
            }
            (None, Some(url)) => {
                if let Some(e) = raw.env.first() {
                    return Err(bad(
                        e.span(),
                        Some("env"),
                        "env is for command servers; a url server is not started by llmagent"
                            .into(),
                    ));
                }
                let text = url.get_ref();
                let rest = text
                    .strip_prefix("http://")
                    .or_else(|| text.strip_prefix("https://"));
                if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                    return Err(bad(
                        url.span(),
                        Some("url"),
                        format!("\"{text}\" is not an http:// or https:// URL with a host"),
                    ));
                }
                let token_env = match &raw.token_env {
                    Some(t) if !is_env_name(t.get_ref()) => {
                        return Err(bad(
                            t.span(),
                            Some("token_env"),
                            format!(
                                "\"{}\" is not an environment variable name; give the NAME of the variable holding the token, not the token",
                                t.get_ref()
                            ),
                        ));
                    }
                    t => t.as_ref().map(|t| t.get_ref().clone()),
                };
                McpTransport::Url {
                    url: text.clone(),
                    token_env,
                }
            }
        };
        let tools = raw.tools.get_ref();
        if tools.is_empty() {
            return Err(bad(
                raw.tools.span(),
                Some("tools"),
                "empty, so no tool of this server could be used; name them (globs, \"*\" for all)"
                    .into(),
            ));
        }
        let mut builder = GlobSetBuilder::new();
        for t in tools {
            let glob = Glob::new(t).map_err(|e| {
                bad(
                    raw.tools.span(),
                    Some("tools"),
                    format!("\"{t}\" is not a valid glob: {e}"),
                )
            })?;
            builder.add(glob);
        }
        let matcher = builder.build().map_err(|e| {
            bad(
                raw.tools.span(),
                Some("tools"),
                format!("the globs cannot be compiled: {e}"),
            )
        })?;
        Ok(McpServer {
            name: name.get_ref().clone(),
            role: role.to_owned(),
            transport,
            tools: tools.clone(),
            matcher,
        })
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
