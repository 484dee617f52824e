//! [`Role`]: what one role may do, compiled, and [`Role::decide`], the pure
//! decision whether a tool action may run under it.
//!
//! A call is denied unless an entry of the role's `tools` covers it; it
//! needs a human's yes if an entry of `approve` covers it too. Decisions
//! are ordered ([`Verdict`]) and the strictest matching rule wins.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use host_capabilities::{Grants, Ruling};

use crate::limits::Limits;
use crate::mcp::McpServer;

/// One role, compiled: its prompt, the tools it may call, and the
/// capabilities those tools get.
#[derive(Debug, Clone)]
pub struct Role {
    /// The role's name (`[roles.NAME]`).
    pub name: String,
    /// The system prompt (`prompt`, or the contents of `prompt_file`).
    pub prompt: Option<String>,
    /// The file the prompt was read from (`prompt_file`), resolved.
    pub prompt_file: Option<PathBuf>,
    /// Tools and actions the role may call (`tools`).
    pub tools: Vec<ToolRef>,
    /// Tools and actions that need a human's yes (`approve`); each is
    /// covered by an entry of `tools`.
    pub approve: Vec<ToolRef>,
    /// `[defaults]` with the role's overrides.
    pub limits: Limits,
    /// The compiled capability sections, shared by every call.
    pub grants: Arc<Grants>,
    /// External MCP servers (`[roles.R.mcp.NAME]`), by name: each is a
    /// tool whose actions are the server's tools its `tools` globs match.
    pub mcp: BTreeMap<String, McpServer>,
}

/// A `tools` or `approve` entry: a whole tool, or one of its actions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ToolRef {
    /// The tool's name.
    pub tool: String,
    /// One action of the tool, or `None` for all of them.
    pub action: Option<String>,
}

/// Displays as written in the file: `file` or `file.read`.
impl fmt::Display for ToolRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.action {
            Some(action) => write!(f, "{}.{action}", self.tool),
            None => f.write_str(&self.tool),
        }
    }
}

impl ToolRef {
    /// Parses `tool` or `tool.action`. A tool name is `[a-z][a-z0-9_]*`,
    /// an action `[a-z][a-z0-9_-]*`, each at most 64 characters.
    pub fn parse(text: &str) -> Option<ToolRef> {
        let (tool, action) = match text.split_once('.') {
            Some((tool, action)) => (tool, Some(action)),
            None => (text, None),
        };
        if !crate::compile::is_name(tool, false)
            || action.is_some_and(|a| !crate::compile::is_name(a, true))
        {
            return None;
        }
        Some(ToolRef {
            tool: tool.to_owned(),
            action: action.map(str::to_owned),
        })
    }

    /// Whether this entry covers `action` of `tool` (`None`: every action).
    pub fn covers(&self, tool: &str, action: Option<&str>) -> bool {
        self.tool == tool
            && match (&self.action, action) {
                (None, _) => true,
                (Some(mine), Some(asked)) => mine == asked,
                (Some(_), None) => false,
            }
    }
}

impl Role {
    /// Whether `action` of `tool` may run under this role. Pure: it looks
    /// at the compiled lists only. An empty `action` asks about the tool as
    /// a whole. The most specific `tools` entry that covers the action is
    /// the allow; every `approve` entry that covers it is stricter; the
    /// strictest wins, and among equals the first in the file.
    pub fn decide(&self, tool: &str, action: &str) -> Ruling {
        let asked = (!action.is_empty()).then_some(action);
        if let Some(server) = self.mcp.get(tool) {
            return self.decide_mcp(server, tool, asked);
        }
        let allowed = self
            .tools
            .iter()
            .filter(|r| r.covers(tool, asked))
            .max_by_key(|r| r.action.is_some());
        let Some(allowed) = allowed else {
            let wanted = ToolRef {
                tool: tool.to_owned(),
                action: asked.map(str::to_owned),
            };
            return Ruling::deny(format!("add \"{wanted}\" to [roles.{}].tools", self.name));
        };
        let allow = Ruling::allow(format!("[roles.{}].tools \"{allowed}\"", self.name));
        self.with_approvals(allow, tool, asked)
    }

    /// `allow`, or the strictest `approve` entry covering the action.
    fn with_approvals(&self, allow: Ruling, tool: &str, asked: Option<&str>) -> Ruling {
        let approvals = self
            .approve
            .iter()
            .filter(|r| r.covers(tool, asked))
            .map(|r| Ruling::Approve {
                rule: format!("[roles.{}].approve \"{r}\"", self.name),
            });
        Ruling::strictest_or_deny(std::iter::once(allow).chain(approvals), String::new)
    }

    /// [`Role::decide`] for a tool of an MCP server: its `tools` globs are
    /// the allow, `approve` entries as for any tool.
    fn decide_mcp(&self, server: &McpServer, tool: &str, asked: Option<&str>) -> Ruling {
        let Some(action) = asked else {
            return Ruling::deny(format!(
                "name one of the server's tools; {} lists those the role may use",
                server.key("tools")
            ));
        };
        let Some(glob) = server.permits(action) else {
            return Ruling::deny(format!("add \"{action}\" to {}", server.key("tools")));
        };
        let allow = Ruling::allow(format!("{} \"{glob}\"", server.key("tools")));
        self.with_approvals(allow, tool, asked)
    }

    /// What the role may do, for `llmagent policy check`: labelled groups
    /// of lines — `tools`, `approve`, `limits`, then every registered
    /// capability in registry order (an empty group grants nothing).
    pub fn summary(&self) -> Vec<(&'static str, Vec<String>)> {
        let list = |refs: &[ToolRef]| {
            if refs.is_empty() {
                "(none)".to_owned()
            } else {
                refs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let l = &self.limits;
        let mut groups = vec![
            ("tools", vec![list(&self.tools)]),
            ("approve", vec![list(&self.approve)]),
            (
                "limits",
                vec![format!(
                    "timeout {} ms, memory {} MiB, output {} bytes, {} steps",
                    l.timeout_ms, l.memory_mib, l.max_output_bytes, l.max_steps
                )],
            ),
        ];
        groups.extend(self.grants.summaries());
        groups.push(("mcp", self.mcp.values().map(McpServer::summary).collect()));
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use host_capabilities::Verdict;

    fn refs(list: &[&str]) -> Vec<ToolRef> {
        list.iter().filter_map(|s| ToolRef::parse(s)).collect()
    }

    fn role(tools: &[&str], approve: &[&str]) -> Role {
        Role {
            name: "ops".into(),
            prompt: None,
            prompt_file: None,
            tools: refs(tools),
            approve: refs(approve),
            limits: Limits::default(),
            grants: Arc::new(Grants::none("ops")),
            mcp: BTreeMap::new(),
        }
    }

    fn decision(verdict: Verdict, reason: &str) -> Ruling {
        match verdict {
            Verdict::Allow => Ruling::allow(reason),
            Verdict::Approve => Ruling::Approve {
                rule: reason.into(),
            },
            Verdict::Deny => Ruling::deny(reason),
        }
    }

    #[test]
    fn whole_tool_grants_every_action() {
        let r = role(&["crypto"], &[]);
        assert_eq!(
            r.decide("crypto", "hash"),
            decision(Verdict::Allow, "[roles.ops].tools \"crypto\"")
        );
        assert_eq!(
            r.decide("crypto", "uuid"),
            decision(Verdict::Allow, "[roles.ops].tools \"crypto\"")
        );
    }

    #[test]
    fn action_grant_is_only_that_action() {
        let r = role(&["file.read", "file.list"], &[]);
        assert_eq!(
            r.decide("file", "read"),
            decision(Verdict::Allow, "[roles.ops].tools \"file.read\"")
        );
        assert_eq!(
            r.decide("file", "list"),
            decision(Verdict::Allow, "[roles.ops].tools \"file.list\"")
        );
        assert_eq!(
            r.decide("file", "write"),
            decision(Verdict::Deny, "add \"file.write\" to [roles.ops].tools")
        );
        assert_eq!(
            r.decide("file", ""),
            decision(Verdict::Deny, "add \"file\" to [roles.ops].tools")
        );
    }

    #[test]
    fn deny_names_the_entry_to_add() {
        let r = role(&[], &[]);
        assert_eq!(
            r.decide("bash", "run"),
            decision(Verdict::Deny, "add \"bash.run\" to [roles.ops].tools")
        );
    }

    #[test]
    fn the_most_specific_allow_is_reported() {
        let r = role(&["file", "file.read"], &[]);
        assert_eq!(
            r.decide("file", "read"),
            decision(Verdict::Allow, "[roles.ops].tools \"file.read\"")
        );
        assert_eq!(
            r.decide("file", "stat"),
            decision(Verdict::Allow, "[roles.ops].tools \"file\"")
        );
    }

    #[test]
    fn approve_is_stricter_than_allow() {
        let r = role(&["file"], &["file.write"]);
        assert_eq!(
            r.decide("file", "write"),
            decision(Verdict::Approve, "[roles.ops].approve \"file.write\"")
        );
        assert_eq!(
            r.decide("file", "read"),
            decision(Verdict::Allow, "[roles.ops].tools \"file\"")
        );
        let whole = role(&["file.write", "file.read"], &["file"]);
        assert_eq!(
            whole.decide("file", "read"),
            decision(Verdict::Approve, "[roles.ops].approve \"file\"")
        );
    }

    #[test]
    fn tool_refs_parse_and_display() {
        let parsed: Vec<String> = refs(&["file", "file.read", "my_tool.do-it"])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(parsed, ["file", "file.read", "my_tool.do-it"]);
        for bad in [
            "",
            "file..read",
            "file.",
            ".read",
            "File",
            "file.read.x",
            "fi le",
            "file.Read",
            "1file",
        ] {
            assert_eq!(ToolRef::parse(bad), None, "{bad:?}");
        }
    }
}
