//! Raw TOML → [`Policy`]: checks every rule of the format and resolves
//! what the file leaves relative (tool paths, prompt files, limits), so
//! that nothing downstream sees TOML or an unchecked value.

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use host_capabilities::fs::FsPolicy;
use host_capabilities::{Capability, CompileError, Grants, PLANNED, RoleScope};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::Policy;
use crate::agent::Agent;
use crate::error::{Location, PolicyError};
use crate::limits::Limits;
use crate::mcp::McpServer;
use crate::raw::{PolicyToml, RoleToml};
use crate::role::{Role, ToolRef};
use crate::selftest::PolicyTest;
use crate::tool::ToolSource;
use crate::{span, syntax};

/// The policy format this crate reads.
pub(crate) const VERSION: u32 = 1;

/// A prompt file larger than 256 KiB is a mistake (a log, a binary), not a
/// system prompt: it would not fit a model's context.
const MAX_PROMPT_BYTES: u64 = 256 << 10;

/// What every check needs: the text (for positions), the parsed tree (to
/// find nested keys), and the file's name and directory.
pub(crate) struct Cx<'a> {
    text: &'a str,
    root: DeTable<'a>,
    origin: &'a Path,
    pub(crate) dir: PathBuf,
}

impl Cx<'_> {
    /// The location of `span`, in `section`, at `key`.
    pub(crate) fn at(
        &self,
        span: Range<usize>,
        section: Option<&str>,
        key: Option<&str>,
    ) -> Location {
        let (line, col) = span::line_col(self.text, span.start);
        Location {
            file: self.origin.to_path_buf(),
            line,
            col,
            section: section.map(str::to_owned),
            key: key.map(str::to_owned),
        }
    }

    /// A broken rule at `span`.
    pub(crate) fn invalid(
        &self,
        span: Range<usize>,
        section: Option<&str>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> PolicyError {
        PolicyError::Invalid {
            at: self.at(span, section, key),
            message: message.into(),
        }
    }
}

/// Parses, checks and compiles `text`. See [`Policy::parse`].
pub(crate) fn policy(text: &str, origin: &Path, builtins: &[&str]) -> Result<Policy, PolicyError> {
    let root = DeTable::parse(text)
        .map_err(|e| syntax::error(text, origin, &e))?
        .into_inner();
    let dir = std::path::absolute(origin)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let cx = Cx {
        text,
        root,
        origin,
        dir,
    };
    let version = version(&cx)?;
    planned(&cx)?;
    let raw: PolicyToml = toml::from_str(text).map_err(|e| syntax::error(text, origin, &e))?;

    let defaults = Limits::apply(Limits::default(), &raw.defaults, &cx, "defaults")?;
    let mut tools = BTreeMap::new();
    for (name, tool) in in_file_order(&raw.tools) {
        let source = ToolSource::compile(&cx, name, tool, builtins)?;
        tools.insert(source.name.clone(), source);
    }
    let mut known: Vec<&str> = builtins
        .iter()
        .copied()
        .chain(tools.keys().map(String::as_str))
        .collect();
    known.sort_unstable();
    known.dedup();

    let mut roles = BTreeMap::new();
    for (name, role) in in_file_order(&raw.roles) {
        let role = compile_role(&cx, name, role, defaults, &known)?;
        roles.insert(role.name.clone(), role);
    }
    let fs: Vec<&FsPolicy> = roles.values().map(|r: &Role| &r.grants.fs).collect();
    if let Err((role, e)) = host_capabilities::fs::check_plantable_links(&fs) {
        return Err(located::<FsPolicy>(&cx, &role, e, None));
    }
    let mut agents = BTreeMap::new();
    for (name, agent) in in_file_order(&raw.agents) {
        let agent = Agent::compile(&cx, name, agent, &roles)?;
        agents.insert(agent.name.clone(), agent);
    }
    let tests = raw
        .tests
        .iter()
        .enumerate()
        .map(|(i, t)| PolicyTest::compile(&cx, i, t, &roles, &known))
        .collect::<Result<Vec<_>, _>>()?;
    let redact = crate::redact::RedactRules::compile(&cx, &raw.redact)?;
    Ok(Policy {
        version,
        defaults,
        tools,
        roles,
        agents,
        tests,
        events: raw.events,
        redact,
        origin: origin.to_path_buf(),
    })
}

/// The entries of a `[tools]`, `[roles]` or `[agents]` table in the order
/// they appear in the file, so the first error reported is the first one
/// a reader meets.
fn in_file_order<V>(map: &BTreeMap<Spanned<String>, V>) -> Vec<(&Spanned<String>, &V)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    entries
}

/// `version`, checked before anything else so that a file written for
/// another version says so instead of tripping over its new keys.
fn version(cx: &Cx<'_>) -> Result<u32, PolicyError> {
    let Some((_, value)) = cx.root.iter().find(|(k, _)| k.get_ref() == "version") else {
        return Err(cx.invalid(
            0..0,
            None,
            Some("version"),
            format!("missing; add `version = {VERSION}` as the first line (this llmagent reads policy version {VERSION})"),
        ));
    };
    let found = match value.get_ref() {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
        other => {
            return Err(cx.invalid(
                value.span(),
                None,
                Some("version"),
                format!(
                    "must be the integer {VERSION}, not a {}; write `version = {VERSION}`",
                    other.type_str()
                ),
            ));
        }
    };
    match found {
        Some(v) if v == i64::from(VERSION) => Ok(VERSION),
        Some(v) => Err(cx.invalid(
            value.span(),
            None,
            Some("version"),
            format!("unsupported policy version {v}; this llmagent reads version {VERSION}"),
        )),
        None => Err(cx.invalid(
            value.span(),
            None,
            Some("version"),
            format!("unsupported policy version; this llmagent reads version {VERSION}"),
        )),
    }
}

/// Refuses a role section of a capability this version does not
/// implement (`[roles.R.net]` …), before serde would call it an unknown
/// key: the contract has it, so say it is not built yet.
fn planned(cx: &Cx<'_>) -> Result<(), PolicyError> {
    let Some(DeValue::Table(roles)) = cx
        .root
        .iter()
        .find(|(k, _)| k.get_ref() == "roles")
        .map(|(_, v)| v.get_ref())
    else {
        return Ok(());
    };
    let mut found: Vec<(Range<usize>, String, &str)> = Vec::new();
    for (role, table) in roles.iter() {
        let DeValue::Table(role_table) = table.get_ref() else {
            continue;
        };
        for (key, value) in role_table.iter() {
            if let Some(name) = PLANNED.iter().find(|p| **p == key.get_ref().as_ref()) {
                found.push((value.span(), role.get_ref().to_string(), name));
            }
        }
    }
    found.sort_by_key(|(span, _, _)| span.start);
    match found.into_iter().next() {
        None => Ok(()),
        Some((span, role, capability)) => Err(cx.invalid(
            span,
            Some(&format!("roles.{role}.{capability}")),
            None,
            format!("the {capability} capability is not available in this version of llmagent; remove this section"),
        )),
    }
}

/// `[roles.NAME]` and its capability sections.
fn compile_role(
    cx: &Cx<'_>,
    name: &Spanned<String>,
    raw: &RoleToml,
    defaults: Limits,
    known: &[&str],
) -> Result<Role, PolicyError> {
    let role = name.get_ref().as_str();
    let section = format!("roles.{role}");
    if !is_name(role, true) {
        return Err(cx.invalid(
            name.span(),
            Some(&section),
            None,
            format!("\"{role}\" is not a valid role name; {}", name_rule(true)),
        ));
    }
    let (prompt, prompt_file) = prompt(cx, &section, raw)?;
    let tools = tool_refs(cx, &section, "tools", &raw.tools, known)?;
    let mut mcp = BTreeMap::new();
    for (server_name, server) in in_file_order(&raw.mcp) {
        let server = McpServer::compile(cx, role, server_name, server, known)?;
        mcp.insert(server.name.clone(), server);
    }
    // `approve` may also name the role's MCP servers and their tools.
    let mut known_here: Vec<&str> = known.to_vec();
    known_here.extend(mcp.keys().map(String::as_str));
    let approve = tool_refs(cx, &section, "approve", &raw.approve, &known_here)?;
    for (entry, raw_entry) in approve.iter().zip(&raw.approve) {
        let by_server = mcp.get(&entry.tool).is_some_and(|s| {
            entry
                .action
                .as_deref()
                .is_none_or(|a| s.permits(a).is_some())
        });
        if !by_server
            && !tools
                .iter()
                .any(|t| t.covers(&entry.tool, entry.action.as_deref()))
        {
            let whole = if entry.action.is_some() {
                format!(" (or \"{}\")", entry.tool)
            } else {
                String::new()
            };
            return Err(cx.invalid(
                raw_entry.span(),
                Some(&section),
                Some("approve"),
                format!(
                    "\"{entry}\" is not granted by tools, so there is nothing to approve; add \"{entry}\"{whole} to [{section}].tools, or remove it from approve"
                ),
            ));
        }
    }
    let limits = Limits::apply(defaults, &raw.limits(), cx, &section)?;
    let scope = RoleScope {
        role,
        timeout_ms: limits.timeout_ms,
    };
    let grants = grants(cx, scope, raw, limits.max_output_bytes)?;
    Ok(Role {
        name: role.to_owned(),
        prompt,
        prompt_file,
        tools,
        approve,
        limits,
        grants: Arc::new(grants),
        mcp,
    })
}

/// Generates [`grants`] from the capability registry.
macro_rules! compile_grants {
    ($($name:ident: $ty:ty,)*) => {
        /// Compiles every capability section of a role; a capability the
        /// role has no section for grants nothing.
        fn grants(
            cx: &Cx<'_>,
            scope: RoleScope<'_>,
            raw: &RoleToml,
            max_output_bytes: u64,
        ) -> Result<Grants, PolicyError> {
            Ok(Grants {
                role: scope.role.to_owned(),
                $($name: section::<$ty>(cx, scope, raw.$name.as_ref())?,)*
                max_output_bytes,
            })
        }
    };
}

host_capabilities::for_each_capability!(compile_grants);

/// Compiles one capability section, turning its error's key into a place
/// in the file.
fn section<C: Capability>(
    cx: &Cx<'_>,
    scope: RoleScope<'_>,
    raw: Option<&Spanned<C::Toml>>,
) -> Result<C, PolicyError> {
    let Some(raw) = raw else {
        return Ok(C::deny_all(scope));
    };
    C::compile(scope, raw.get_ref()).map_err(|e| located::<C>(cx, scope.role, e, Some(raw.span())))
}

/// A capability's compile error of `role`, placed at its key in the file
/// (else at `fallback`, else at the section).
fn located<C: Capability>(
    cx: &Cx<'_>,
    role: &str,
    e: CompileError,
    fallback: Option<Range<usize>>,
) -> PolicyError {
    let steps = key_path(&e.key);
    let path: Vec<&str> = ["roles", role, C::NAME]
        .into_iter()
        .chain(steps.iter().map(String::as_str))
        .collect();
    let span = span::find(&cx.root, &path)
        .or(fallback)
        .or_else(|| span::find(&cx.root, &["roles", role]))
        .unwrap_or_default();
    cx.invalid(
        span,
        Some(&format!("roles.{role}.{}", C::NAME)),
        Some(&e.key),
        e.message,
    )
}

/// The steps of a capability's error key (`args."/usr/bin/x".deny[1]` →
/// `args`, `/usr/bin/x`, `deny`, `1`) for [`span::find`].
fn key_path(key: &str) -> Vec<String> {
    let mut steps = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in key.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' | '[' | ']' if !quoted => {
                if !cur.is_empty() {
                    steps.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        steps.push(cur);
    }
    steps
}

/// A `tools` or `approve` list, each entry parsed and checked against the
/// tools the runtime knows.
fn tool_refs(
    cx: &Cx<'_>,
    section: &str,
    key: &str,
    entries: &[Spanned<String>],
    known: &[&str],
) -> Result<Vec<ToolRef>, PolicyError> {
    let mut refs = Vec::with_capacity(entries.len());
    for entry in entries {
        let text = entry.get_ref();
        let Some(r) = ToolRef::parse(text) else {
            return Err(cx.invalid(
                entry.span(),
                Some(section),
                Some(key),
                format!("\"{text}\" is not a tool reference; write a tool name (\"file\") or a tool and one of its actions (\"file.read\")"),
            ));
        };
        if !known.contains(&r.tool.as_str()) {
            return Err(cx.invalid(
                entry.span(),
                Some(section),
                Some(key),
                match syntax::closest(&r.tool, known.iter().copied()) {
                    Some(near) => format!(
                        "unknown tool \"{}\"; did you mean \"{near}\"? The known tools are {}",
                        r.tool,
                        known.join(", ")
                    ),
                    None => format!(
                        "unknown tool \"{}\"; the known tools are {} (declare a third-party tool in a [tools.{}] section)",
                        r.tool,
                        known.join(", "),
                        r.tool
                    ),
                },
            ));
        }
        refs.push(r);
    }
    Ok(refs)
}

/// The role's prompt: `prompt`, or the contents of `prompt_file` (and
/// that file's path).
fn prompt(
    cx: &Cx<'_>,
    section: &str,
    raw: &RoleToml,
) -> Result<(Option<String>, Option<PathBuf>), PolicyError> {
    match (&raw.prompt, &raw.prompt_file) {
        (Some(_), Some(file)) => Err(cx.invalid(
            file.span(),
            Some(section),
            Some("prompt_file"),
            "both prompt and prompt_file are set; keep one of them",
        )),
        (Some(text), None) => Ok((Some(text.get_ref().clone()), None)),
        (None, None) => Ok((None, None)),
        (None, Some(file)) => {
            let at = || cx.at(file.span(), Some(section), Some("prompt_file"));
            if file.get_ref().trim().is_empty() {
                return Err(PolicyError::Invalid {
                    at: at(),
                    message: "empty; name a text file, relative to the policy file's directory"
                        .into(),
                });
            }
            let path = cx.dir.join(file.get_ref());
            match read_prompt(&path) {
                Ok(text) => Ok((Some(text), Some(path))),
                Err(source) => Err(PolicyError::PromptFile {
                    at: at(),
                    path,
                    source,
                }),
            }
        }
    }
}

/// Reads a prompt file of at most [`MAX_PROMPT_BYTES`] of UTF-8.
fn read_prompt(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_PROMPT_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_PROMPT_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "larger than {} KiB; a prompt must fit in a model's context",
                MAX_PROMPT_BYTES >> 10
            ),
        ));
    }
    Ok(text)
}

/// Whether `name` is a valid tool name (`[a-z][a-z0-9_]*`), or with
/// `dash`, a valid role or agent name (`-` allowed too); at most 64 chars.
pub(crate) fn is_name(name: &str, dash: bool) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (dash && c == '-'))
}

/// The rule [`is_name`] checks, in words.
pub(crate) fn name_rule(dash: bool) -> &'static str {
    if dash {
        "use lowercase letters, digits, \"_\" and \"-\", starting with a letter, at most 64 characters"
    } else {
        "use lowercase letters, digits and \"_\", starting with a letter, at most 64 characters"
    }
}
