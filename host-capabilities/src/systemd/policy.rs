//! `[roles.R.systemd]`: the raw TOML shape, its compiled form and the pure
//! decisions (may the role take this action on this unit).

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use super::name;
use crate::capability::{Capability, RoleScope, usage};
use crate::decision::Ruling;
use crate::error::CompileError;

/// The job wait of a policy compiled without a role (the policy's built-in
/// `timeout_ms`).
const DEFAULT_MAX_WAIT_MS: u64 = 10_000;

/// The raw `[roles.R.systemd]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemdToml {
    /// Globs over unit names the role may touch (`"nginx.service"`,
    /// `"*.timer"`); none by default.
    #[serde(default)]
    pub units: Vec<String>,
    /// What the role may do: a subset of `list`, `status`, `start`, `stop`,
    /// `restart`; `["list", "status"]` when absent.
    pub actions: Option<Vec<String>>,
    /// `"system"` (the default) or a D-Bus address such as
    /// `"unix:path=/run/dbus/system_bus_socket"`.
    pub bus: Option<String>,
}

/// One thing a role may do with systemd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// List units.
    List,
    /// Read one unit's properties.
    Status,
    /// Start a unit.
    Start,
    /// Stop a unit.
    Stop,
    /// Restart a unit.
    Restart,
}

impl Action {
    /// Every action, in the order the policy documents them.
    pub const ALL: [Action; 5] = [
        Self::List,
        Self::Status,
        Self::Start,
        Self::Stop,
        Self::Restart,
    ];

    /// The word the policy writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Status => "status",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
        }
    }
}

/// Which bus the systemd manager is reached on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bus {
    /// The system bus (`DBUS_SYSTEM_BUS_ADDRESS` or its well-known socket).
    System,
    /// A bus at this D-Bus address (tests use a private one).
    Address(String),
}

impl Bus {
    /// How messages name the bus.
    pub fn describe(&self) -> String {
        match self {
            Self::System => "the system bus".to_owned(),
            Self::Address(a) => format!("the bus at {a}"),
        }
    }
}

/// The compiled `[roles.R.systemd]` section of one role.
#[derive(Debug, Clone)]
pub struct SystemdPolicy {
    role: String,
    units: Vec<String>,
    matcher: GlobSet,
    /// The granted actions.
    pub actions: Vec<Action>,
    /// Where the manager is reached.
    pub bus: Bus,
    /// The longest a job may be waited for, whatever the tool asks: the
    /// role's `timeout_ms`.
    pub(crate) max_wait_ms: u64,
}

impl PartialEq for SystemdPolicy {
    fn eq(&self, other: &Self) -> bool {
        (&self.role, &self.units, &self.actions, &self.bus)
            == (&other.role, &other.units, &other.actions, &other.bus)
    }
}

impl SystemdPolicy {
    /// A policy granting no unit (the default actions over no unit).
    pub fn deny_all(role: &str) -> Self {
        Self {
            role: role.to_owned(),
            units: Vec::new(),
            matcher: GlobSet::empty(),
            actions: vec![Action::List, Action::Status],
            bus: Bus::System,
            max_wait_ms: DEFAULT_MAX_WAIT_MS,
        }
    }

    /// Compiles the section of `role`.
    pub fn compile(role: &str, raw: &SystemdToml) -> Result<Self, CompileError> {
        let mut builder = GlobSetBuilder::new();
        for (i, pattern) in raw.units.iter().enumerate() {
            let key = format!("units[{i}]");
            if pattern.is_empty() || pattern.starts_with('-') || pattern.len() > name::MAX_LEN {
                return Err(CompileError::new(
                    key,
                    format!(
                        "\"{pattern}\" cannot match a unit name; write a unit name or a glob such as \"nginx.service\" or \"*.timer\""
                    ),
                ));
            }
            let glob = Glob::new(pattern)
                .map_err(|e| CompileError::new(key, format!("\"{pattern}\" is not a glob: {e}")))?;
            builder.add(glob);
        }
        let matcher = builder
            .build()
            .map_err(|e| CompileError::new("units", e.to_string()))?;
        let actions = match &raw.actions {
            None => vec![Action::List, Action::Status],
            Some(words) => {
                let mut actions = Vec::new();
                for (i, word) in words.iter().enumerate() {
                    let action = Action::ALL
                        .into_iter()
                        .find(|a| a.as_str() == word)
                        .ok_or_else(|| {
                            CompileError::new(
                                format!("actions[{i}]"),
                                format!("\"{word}\" is not an action; use \"list\", \"status\", \"start\", \"stop\" or \"restart\""),
                            )
                        })?;
                    if !actions.contains(&action) {
                        actions.push(action);
                    }
                }
                actions
            }
        };
        let bus = match raw.bus.as_deref() {
            None | Some("system") => Bus::System,
            Some(address) => {
                zbus::Address::try_from(address).map_err(|e| {
                    CompileError::new(
                        "bus",
                        format!("\"{address}\" is neither \"system\" nor a D-Bus address such as \"unix:path=/run/dbus/system_bus_socket\": {e}"),
                    )
                })?;
                Bus::Address(address.to_owned())
            }
        };
        Ok(Self {
            role: role.to_owned(),
            units: raw.units.clone(),
            matcher,
            actions,
            bus,
            max_wait_ms: DEFAULT_MAX_WAIT_MS,
        })
    }

    /// One line per grant, for `policy check`.
    pub fn summary(&self) -> Vec<String> {
        if self.units.is_empty() {
            return Vec::new();
        }
        let actions: Vec<&str> = self.actions.iter().map(|a| a.as_str()).collect();
        let mut lines = vec![format!(
            "{} units {}",
            actions.join(", "),
            self.units.join(", ")
        )];
        if let Bus::Address(a) = &self.bus {
            lines.push(format!("bus {a}"));
        }
        lines
    }

    /// `[roles.R.systemd]`.
    pub fn section(&self) -> String {
        format!("[roles.{}.systemd]", self.role)
    }

    /// Whether `unit` is one of the role's units (listings show only these).
    pub fn covers(&self, unit: &str) -> bool {
        self.matcher.is_match(unit)
    }

    /// Decides on `action` over `unit` (empty for a listing): the action
    /// must be granted and, except for a listing, the unit must match a
    /// `units` glob (the first that matches is the rule).
    pub fn decide(&self, action: Action, unit: &str) -> Ruling {
        if !self.actions.contains(&action) {
            return Ruling::deny(format!(
                "add \"{}\" to {}.actions",
                action.as_str(),
                self.section()
            ));
        }
        if action == Action::List {
            return Ruling::allow(format!("{}.actions has \"list\"", self.section()));
        }
        let matches = self
            .matcher
            .matches(unit)
            .into_iter()
            .filter_map(|i| self.units.get(i))
            .map(|glob| Ruling::allow(format!("{}.units has \"{glob}\"", self.section())));
        Ruling::strictest_or_deny(matches, || {
            format!("add \"{unit}\" to {}.units", self.section())
        })
    }
}

impl Capability for SystemdPolicy {
    const NAME: &'static str = "systemd";
    type Toml = SystemdToml;

    fn deny_all(scope: RoleScope<'_>) -> Self {
        SystemdPolicy::deny_all(scope.role)
    }

    fn compile(scope: RoleScope<'_>, raw: &SystemdToml) -> Result<Self, CompileError> {
        let mut policy = SystemdPolicy::compile(scope.role, raw)?;
        policy.max_wait_ms = scope.timeout_ms;
        Ok(policy)
    }

    fn summary(&self) -> Vec<String> {
        SystemdPolicy::summary(self)
    }

    fn requests() -> &'static [&'static str] {
        &[
            "list",
            "status UNIT",
            "start UNIT",
            "stop UNIT",
            "restart UNIT",
        ]
    }

    fn explain(&self, operation: &str, args: &[String]) -> Result<Ruling, String> {
        let Some(action) = Action::ALL.into_iter().find(|a| a.as_str() == operation) else {
            return Err(usage::<Self>(operation));
        };
        match (action, args) {
            (Action::List, []) => Ok(self.decide(action, "")),
            (Action::List, _) => Err("systemd list takes no arguments".into()),
            (_, [unit]) => {
                name::check(unit)?;
                Ok(self.decide(action, unit))
            }
            _ => Err(format!("systemd {operation} takes one unit name")),
        }
    }
}
