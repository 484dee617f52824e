//! `[roles.R.dbus]`: the raw TOML shape, its compiled form and the pure
//! decisions (may the role do this operation on this destination, object,
//! interface and member).

use globset::{Glob, GlobBuilder, GlobMatcher};
use serde::Deserialize;

use crate::capability::{Capability, RoleScope, usage};
use crate::decision::Ruling;
use crate::error::CompileError;

/// Destinations that only a rule naming them exactly can reach: systemd
/// has its own capability (with unit rules), and the bus driver's methods
/// (`BecomeMonitor`, `UpdateActivationEnvironment` …) act on the whole
/// bus. A glob such as `"*"` or `"org.freedesktop.*"` never covers them.
pub const EXPLICIT_ONLY: &[&str] = &["org.freedesktop.systemd1", "org.freedesktop.DBus"];

/// One raw rule: globs over the four parts of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleToml {
    /// Bus names (`"org.example.*"`); required.
    pub destination: String,
    /// Object paths (`"/org/example/**"`, `*` stays within one element);
    /// any when absent.
    pub path: Option<String>,
    /// Interfaces; any when absent. Not for `introspect` rules.
    pub interface: Option<String>,
    /// Methods (for `call`) or properties (for `get`, `set`); any when
    /// absent. Not for `introspect` rules.
    pub member: Option<String>,
}

/// The raw `[roles.R.dbus]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbusToml {
    /// `"system"` (the default), `"session"` or a D-Bus address.
    pub bus: Option<String>,
    /// Whether the role may list the names on the bus.
    #[serde(default)]
    pub list: bool,
    /// Objects the role may introspect.
    #[serde(default)]
    pub introspect: Vec<RuleToml>,
    /// Methods the role may call.
    #[serde(default)]
    pub call: Vec<RuleToml>,
    /// Properties the role may read.
    #[serde(default)]
    pub get: Vec<RuleToml>,
    /// Properties the role may write.
    #[serde(default)]
    pub set: Vec<RuleToml>,
}

/// Which bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bus {
    /// The system bus.
    System,
    /// The session bus of llmagent's user (`DBUS_SESSION_BUS_ADDRESS`).
    Session,
    /// A bus at this D-Bus address.
    Address(String),
}

impl Bus {
    /// How messages name the bus.
    pub fn describe(&self) -> String {
        match self {
            Self::System => "the system bus".to_owned(),
            Self::Session => "the session bus".to_owned(),
            Self::Address(a) => format!("the bus at {a}"),
        }
    }
}

/// What a role asks of D-Bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// List the names on the bus.
    List,
    /// Introspect an object.
    Introspect,
    /// Call a method.
    Call,
    /// Read a property.
    Get,
    /// Write a property.
    Set,
}

impl Operation {
    /// Every operation, in the order the policy documents them.
    pub const ALL: [Operation; 5] = [
        Self::List,
        Self::Introspect,
        Self::Call,
        Self::Get,
        Self::Set,
    ];

    /// The word the policy (and `policy explain`) writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Introspect => "introspect",
            Self::Call => "call",
            Self::Get => "get",
            Self::Set => "set",
        }
    }
}

/// One request, as the host decides on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The bus name called.
    pub destination: &'a str,
    /// The object path.
    pub path: &'a str,
    /// The interface (empty for `introspect`).
    pub interface: &'a str,
    /// The method or property (empty for `introspect`).
    pub member: &'a str,
}

impl Request<'_> {
    /// The request as decisions and denials show it:
    /// `org.example.Calc /org/example/Calc org.example.Calc.Add`.
    pub fn target(&self) -> String {
        if self.interface.is_empty() && self.member.is_empty() {
            format!("{} {}", self.destination, self.path)
        } else {
            format!(
                "{} {} {}.{}",
                self.destination, self.path, self.interface, self.member
            )
        }
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    raw: RuleToml,
    destination: GlobMatcher,
    path: Option<GlobMatcher>,
    interface: Option<GlobMatcher>,
    member: Option<GlobMatcher>,
}

impl Rule {
    fn matches(&self, r: &Request<'_>) -> bool {
        let part = |m: &Option<GlobMatcher>, v: &str| m.as_ref().is_none_or(|m| m.is_match(v));
        // A unique connection name (`:1.42`) is reached only by a rule
        // written for unique names, never by a glob over well-known ones.
        if r.destination.starts_with(':') != self.raw.destination.starts_with(':') {
            return false;
        }
        if EXPLICIT_ONLY.contains(&r.destination) && self.raw.destination != r.destination {
            return false;
        }
        self.destination.is_match(r.destination)
            && part(&self.path, r.path)
            && part(&self.interface, r.interface)
            && part(&self.member, r.member)
    }

    fn describe(&self) -> String {
        describe(
            &self.raw.destination,
            self.raw.path.as_deref(),
            self.raw.interface.as_deref(),
            self.raw.member.as_deref(),
        )
    }
}

/// A rule as TOML writes it: `{destination = "…", path = "…"}`.
fn describe(
    destination: &str,
    path: Option<&str>,
    interface: Option<&str>,
    member: Option<&str>,
) -> String {
    let mut parts = vec![format!("destination = \"{destination}\"")];
    for (key, value) in [("path", path), ("interface", interface), ("member", member)] {
        if let Some(v) = value {
            parts.push(format!("{key} = \"{v}\""));
        }
    }
    format!("{{{}}}", parts.join(", "))
}

/// The compiled `[roles.R.dbus]` section of one role.
#[derive(Debug, Clone)]
pub struct DbusPolicy {
    role: String,
    /// The bus.
    pub bus: Bus,
    list: bool,
    introspect: Vec<Rule>,
    call: Vec<Rule>,
    get: Vec<Rule>,
    set: Vec<Rule>,
    /// The longest a D-Bus request may take: the role's `timeout_ms`.
    pub(crate) max_wait_ms: u64,
}

/// The built-in `timeout_ms` of a policy compiled without a role.
const DEFAULT_MAX_WAIT_MS: u64 = 10_000;

/// A glob over bus names, interfaces or members: `*` matches dots too.
fn name_glob(key: &str, pattern: &str) -> Result<GlobMatcher, CompileError> {
    if pattern.is_empty() || pattern.len() > 255 {
        return Err(CompileError::new(
            key,
            format!("\"{pattern}\" cannot match a D-Bus name (1 to 255 bytes)"),
        ));
    }
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| CompileError::new(key, format!("\"{pattern}\" is not a glob: {e}")))
}

/// A glob over object paths: `*` stays within one element, `**` crosses.
fn path_glob(key: &str, pattern: &str) -> Result<GlobMatcher, CompileError> {
    if !pattern.starts_with('/') {
        return Err(CompileError::new(
            key,
            format!(
                "\"{pattern}\" is not an object path glob; write one such as \"/org/example/**\""
            ),
        ));
    }
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| CompileError::new(key, format!("\"{pattern}\" is not a glob: {e}")))
}

fn compile_rules(op: Operation, raw: &[RuleToml]) -> Result<Vec<Rule>, CompileError> {
    let mut rules = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let key = |part: &str| format!("{}[{i}].{part}", op.as_str());
        if op == Operation::Introspect && (r.interface.is_some() || r.member.is_some()) {
            return Err(CompileError::new(
                format!("{}[{i}]", op.as_str()),
                "an introspect rule names a destination and a path only",
            ));
        }
        rules.push(Rule {
            raw: r.clone(),
            destination: name_glob(&key("destination"), &r.destination)?,
            path: r
                .path
                .as_deref()
                .map(|p| path_glob(&key("path"), p))
                .transpose()?,
            interface: r
                .interface
                .as_deref()
                .map(|p| name_glob(&key("interface"), p))
                .transpose()?,
            member: r
                .member
                .as_deref()
                .map(|p| name_glob(&key("member"), p))
                .transpose()?,
        });
    }
    Ok(rules)
}

impl DbusPolicy {
    /// A policy granting nothing.
    pub fn deny_all(role: &str) -> Self {
        Self {
            role: role.to_owned(),
            bus: Bus::System,
            list: false,
            introspect: Vec::new(),
            call: Vec::new(),
            get: Vec::new(),
            set: Vec::new(),
            max_wait_ms: DEFAULT_MAX_WAIT_MS,
        }
    }

    /// Compiles the section of `role`.
    pub fn compile(role: &str, raw: &DbusToml) -> Result<Self, CompileError> {
        let bus = match raw.bus.as_deref() {
            None | Some("system") => Bus::System,
            Some("session") => Bus::Session,
            Some(address) => {
                zbus::Address::try_from(address).map_err(|e| {
                    CompileError::new(
                        "bus",
                        format!("\"{address}\" is neither \"system\", \"session\" nor a D-Bus address such as \"unix:path=/run/dbus/system_bus_socket\": {e}"),
                    )
                })?;
                Bus::Address(address.to_owned())
            }
        };
        Ok(Self {
            role: role.to_owned(),
            bus,
            list: raw.list,
            introspect: compile_rules(Operation::Introspect, &raw.introspect)?,
            call: compile_rules(Operation::Call, &raw.call)?,
            get: compile_rules(Operation::Get, &raw.get)?,
            set: compile_rules(Operation::Set, &raw.set)?,
            max_wait_ms: DEFAULT_MAX_WAIT_MS,
        })
    }

    /// `[roles.R.dbus]`.
    pub fn section(&self) -> String {
        format!("[roles.{}.dbus]", self.role)
    }

    fn rules(&self, op: Operation) -> &[Rule] {
        match op {
            Operation::List => &[],
            Operation::Introspect => &self.introspect,
            Operation::Call => &self.call,
            Operation::Get => &self.get,
            Operation::Set => &self.set,
        }
    }

    /// Decides on `op` over `request` (ignored for a listing): the first
    /// rule of the operation's list that covers every part allows it.
    pub fn decide(&self, op: Operation, request: &Request<'_>) -> Ruling {
        let section = self.section();
        if op == Operation::List {
            return if self.list {
                Ruling::allow(format!("{section}.list is true"))
            } else {
                Ruling::deny(format!("set list = true in {section}"))
            };
        }
        let rules = self.rules(op);
        let matched = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.matches(request))
            .map(|(i, r)| {
                Ruling::allow(format!("{section}.{}[{i}] {}", op.as_str(), r.describe()))
            });
        Ruling::strictest_or_deny(matched, || {
            let (interface, member) = if op == Operation::Introspect {
                (None, None)
            } else {
                (Some(request.interface), Some(request.member))
            };
            let rule = describe(request.destination, Some(request.path), interface, member);
            let mut hint = format!("add {rule} to {section}.{}", op.as_str());
            if EXPLICIT_ONLY.contains(&request.destination) {
                hint.push_str(&format!(
                    " (only a rule naming {} exactly reaches it)",
                    request.destination
                ));
            }
            hint
        })
    }

    /// One line per grant, for `policy check`.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.list {
            lines.push("list names".to_owned());
        }
        for op in [
            Operation::Introspect,
            Operation::Call,
            Operation::Get,
            Operation::Set,
        ] {
            for rule in self.rules(op) {
                lines.push(format!("{} {}", op.as_str(), rule.describe()));
            }
        }
        if !lines.is_empty() {
            lines.push(format!("on {}", self.bus.describe()));
        }
        lines
    }
}

impl Capability for DbusPolicy {
    const NAME: &'static str = "dbus";
    type Toml = DbusToml;

    fn deny_all(scope: RoleScope<'_>) -> Self {
        DbusPolicy::deny_all(scope.role)
    }

    fn compile(scope: RoleScope<'_>, raw: &DbusToml) -> Result<Self, CompileError> {
        let mut policy = DbusPolicy::compile(scope.role, raw)?;
        policy.max_wait_ms = scope.timeout_ms;
        Ok(policy)
    }

    fn summary(&self) -> Vec<String> {
        DbusPolicy::summary(self)
    }

    fn requests() -> &'static [&'static str] {
        &[
            "list",
            "introspect DESTINATION PATH",
            "call DESTINATION PATH INTERFACE METHOD",
            "get DESTINATION PATH INTERFACE PROPERTY",
            "set DESTINATION PATH INTERFACE PROPERTY",
        ]
    }

    fn explain(&self, operation: &str, args: &[String]) -> Result<Ruling, String> {
        let Some(op) = Operation::ALL.into_iter().find(|o| o.as_str() == operation) else {
            return Err(usage::<Self>(operation));
        };
        let request = match (op, args) {
            (Operation::List, []) => Request {
                destination: "",
                path: "",
                interface: "",
                member: "",
            },
            (Operation::Introspect, [destination, path]) => Request {
                destination,
                path,
                interface: "",
                member: "",
            },
            (
                Operation::Call | Operation::Get | Operation::Set,
                [destination, path, interface, member],
            ) => Request {
                destination,
                path,
                interface,
                member,
            },
            _ => return Err(usage::<Self>(operation)),
        };
        Ok(self.decide(op, &request))
    }
}
