//! `[[tests]]`: expectations a policy file checks against itself, run by
//! `llmagent policy check`.
//!
//! ```toml
//! [[tests]]
//! name = "ops reads the logs"        # optional; "tests[N]" otherwise
//! role = "ops"
//! tool = "file.read"                 # or tool = "file" and action = "read"
//! capability = "fs"                  # optional: a capability request too
//! request = ["read", "/var/log/syslog"]
//! expect = "allow"                   # allow | approve | deny
//! ```
//!
//! A test names a tool action, a capability request, or both; the verdict
//! is the strictest of the two rulings, as when the tool runs and makes
//! that request. A capability request is decided as `llmagent policy
//! explain` decides it (see `host_capabilities::Capability::explain`).

use host_capabilities::{CAPABILITIES, Grants, Ruling, Verdict};
use toml::Spanned;

use crate::compile::Cx;
use crate::error::{Location, PolicyError};
use crate::raw::TestToml;
use crate::role::{Role, ToolRef};

/// One `[[tests]]` entry, checked at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTest {
    /// `name`, or `tests[N]` (0-based, in file order).
    pub name: String,
    /// Where the entry is.
    pub at: Location,
    /// The role it asks about.
    pub role: String,
    /// The tool action it asks about, if any.
    pub tool: Option<ToolRef>,
    /// The capability and request it asks about, if any.
    pub capability: Option<(String, Vec<String>)>,
    /// The verdict it expects.
    pub expect: Verdict,
}

/// A test that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFailure {
    /// The test's name.
    pub name: String,
    /// Where it is.
    pub at: Location,
    /// What it expected.
    pub expected: Verdict,
    /// What the policy decided, or why the request could not be decided.
    pub got: Result<Ruling, String>,
}

impl std::fmt::Display for TestFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}test \"{}\" expects {}, ",
            self.at,
            self.name,
            self.expected.as_str()
        )?;
        match &self.got {
            Ok(ruling) => write!(
                f,
                "but the policy says {}: {}",
                ruling.verdict().as_str(),
                ruling.reason()
            ),
            Err(message) => write!(f, "but its request cannot be decided: {message}"),
        }
    }
}

impl PolicyTest {
    /// Compiles entry `index` against the roles and tools of the file.
    pub(crate) fn compile(
        cx: &Cx<'_>,
        index: usize,
        raw: &Spanned<TestToml>,
        roles: &std::collections::BTreeMap<String, Role>,
        known_tools: &[&str],
    ) -> Result<PolicyTest, PolicyError> {
        let section = format!("tests[{index}]");
        let t = raw.get_ref();
        let invalid = |span: std::ops::Range<usize>, key: &str, message: String| {
            cx.invalid(span, Some(&section), Some(key), message)
        };
        let role = t.role.get_ref();
        if !roles.contains_key(role) {
            let known: Vec<&str> = roles.keys().map(String::as_str).collect();
            return Err(invalid(
                t.role.span(),
                "role",
                format!("no role \"{role}\"; the roles are: {}", known.join(", ")),
            ));
        }
        let tool = match (&t.tool, &t.action) {
            (None, None) => None,
            (None, Some(action)) => {
                return Err(invalid(
                    action.span(),
                    "action",
                    "an action needs its tool; add tool = \"<tool>\"".into(),
                ));
            }
            (Some(tool), action) => {
                let text = match action {
                    Some(a) => format!("{}.{}", tool.get_ref(), a.get_ref()),
                    None => tool.get_ref().clone(),
                };
                let r = ToolRef::parse(&text)
                    .filter(|r| known_tools.contains(&r.tool.as_str()))
                    .ok_or_else(|| {
                        invalid(
                            tool.span(),
                            "tool",
                            format!(
                                "\"{text}\" is not a known tool or tool.action; the known tools are {}",
                                known_tools.join(", ")
                            ),
                        )
                    })?;
                Some(r)
            }
        };
        let capability = match &t.capability {
            None if t.request.is_empty() => None,
            None => {
                return Err(invalid(
                    raw.span(),
                    "request",
                    "a request needs its capability; add capability = \"fs\" (or another)".into(),
                ));
            }
            Some(name) => {
                if !CAPABILITIES.contains(&name.get_ref().as_str()) {
                    return Err(invalid(
                        name.span(),
                        "capability",
                        format!(
                            "no capability \"{}\"; the capabilities are: {}",
                            name.get_ref(),
                            CAPABILITIES.join(", ")
                        ),
                    ));
                }
                if t.request.is_empty() {
                    let usage = Grants::requests(name.get_ref()).unwrap_or_default();
                    return Err(invalid(
                        name.span(),
                        "request",
                        format!(
                            "missing; write the request as a list, e.g. request = [\"{}\"] (one of: {})",
                            usage
                                .first()
                                .map_or("", |u| u.split(' ').next().unwrap_or("")),
                            usage.join(", ")
                        ),
                    ));
                }
                Some((name.get_ref().clone(), t.request.clone()))
            }
        };
        if tool.is_none() && capability.is_none() {
            return Err(invalid(
                raw.span(),
                "tool",
                "a test needs a tool (tool = \"file.read\"), a capability request \
                 (capability = \"fs\", request = [\"read\", \"/etc/hostname\"]), or both"
                    .into(),
            ));
        }
        let expect = Verdict::parse(t.expect.get_ref()).ok_or_else(|| {
            invalid(
                t.expect.span(),
                "expect",
                format!(
                    "\"{}\" is not a verdict; write \"allow\", \"approve\" or \"deny\"",
                    t.expect.get_ref()
                ),
            )
        })?;
        Ok(PolicyTest {
            name: t
                .name
                .as_ref()
                .map_or_else(|| section.clone(), |n| n.get_ref().clone()),
            at: cx.at(raw.span(), Some(&section), None),
            role: role.clone(),
            tool,
            capability,
            expect,
        })
    }

    /// Decides the test's request under `role`: the strictest of the tool
    /// ruling and the capability ruling.
    pub fn decide(&self, role: &Role) -> Result<Ruling, String> {
        let tool = self
            .tool
            .as_ref()
            .map(|t| role.decide(&t.tool, t.action.as_deref().unwrap_or("")));
        let capability = match &self.capability {
            None => None,
            Some((name, request)) => {
                let (operation, args) = match request.split_first() {
                    Some((operation, args)) => (operation.as_str(), args),
                    None => ("", &[][..]),
                };
                match role.grants.explain(name, operation, args) {
                    Some(ruling) => Some(ruling?),
                    None => return Err(format!("no capability \"{name}\"")),
                }
            }
        };
        Ruling::strictest(tool.into_iter().chain(capability))
            .ok_or_else(|| "the test asks nothing".to_owned())
    }
}

impl crate::Policy {
    /// Runs every `[[tests]]` entry; the ones that do not hold, in file
    /// order (empty when all hold).
    pub fn run_tests(&self) -> Vec<TestFailure> {
        self.tests
            .iter()
            .filter_map(|test| {
                let got = match self.roles.get(&test.role) {
                    Some(role) => test.decide(role),
                    None => Err(format!("no role \"{}\"", test.role)),
                };
                let holds = matches!(&got, Ok(r) if r.verdict() == test.expect);
                (!holds).then(|| TestFailure {
                    name: test.name.clone(),
                    at: test.at.clone(),
                    expected: test.expect,
                    got,
                })
            })
            .collect()
    }
}
