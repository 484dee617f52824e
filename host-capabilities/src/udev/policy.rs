//! `[roles.R.udev]`: the raw TOML shape, its compiled form and the pure
//! decision (may the role read devices of this subsystem).

use serde::Deserialize;

use crate::capability::{Capability, RoleScope, usage};
use crate::decision::Ruling;
use crate::error::CompileError;

/// The raw `[roles.R.udev]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdevToml {
    /// Subsystems whose devices the role may list and read (`"block"`,
    /// `"usb"`, `"pci"`, `"net"`); `"*"` for all.
    #[serde(default)]
    pub subsystems: Vec<String>,
}

/// The compiled `[roles.R.udev]` section of one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdevPolicy {
    role: String,
    subsystems: Vec<String>,
}

impl UdevPolicy {
    /// A policy granting nothing.
    pub fn deny_all(role: &str) -> Self {
        Self {
            role: role.to_owned(),
            subsystems: Vec::new(),
        }
    }

    /// Compiles the section of `role`.
    pub fn compile(role: &str, raw: &UdevToml) -> Result<Self, CompileError> {
        for (i, s) in raw.subsystems.iter().enumerate() {
            let ok = s == "*"
                || (!s.is_empty()
                    && s.len() <= 64
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b)));
            if !ok {
                return Err(CompileError::new(
                    format!("subsystems[{i}]"),
                    format!(
                        "\"{s}\" is not a subsystem name such as \"block\", \"usb\" or \"net\" (or \"*\" for all)"
                    ),
                ));
            }
        }
        Ok(Self {
            role: role.to_owned(),
            subsystems: raw.subsystems.clone(),
        })
    }

    /// `[roles.R.udev]`.
    pub fn section(&self) -> String {
        format!("[roles.{}.udev]", self.role)
    }

    /// Decides on reading devices of `subsystem`.
    pub fn decide(&self, subsystem: &str) -> Ruling {
        let rules = self
            .subsystems
            .iter()
            .filter(|s| *s == "*" || *s == subsystem)
            .map(|s| Ruling::allow(format!("{}.subsystems has \"{s}\"", self.section())));
        Ruling::strictest_or_deny(rules, || {
            format!("add \"{subsystem}\" to {}.subsystems", self.section())
        })
    }

    /// One line per grant, for `policy check`.
    pub fn summary(&self) -> Vec<String> {
        if self.subsystems.is_empty() {
            Vec::new()
        } else {
            vec![format!("read devices of {}", self.subsystems.join(", "))]
        }
    }
}

impl Capability for UdevPolicy {
    const NAME: &'static str = "udev";
    type Toml = UdevToml;

    fn deny_all(scope: RoleScope<'_>) -> Self {
        UdevPolicy::deny_all(scope.role)
    }

    fn compile(scope: RoleScope<'_>, raw: &UdevToml) -> Result<Self, CompileError> {
        UdevPolicy::compile(scope.role, raw)
    }

    fn summary(&self) -> Vec<String> {
        UdevPolicy::summary(self)
    }

    fn requests() -> &'static [&'static str] {
        &["list SUBSYSTEM"]
    }

    fn explain(&self, operation: &str, args: &[String]) -> Result<Ruling, String> {
        match (operation, args) {
            ("list", [subsystem]) => Ok(self.decide(subsystem)),
            ("list", _) => Err("udev list takes one subsystem".into()),
            _ => Err(usage::<Self>(operation)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subsystem_must_be_listed() {
        let p = UdevPolicy::compile(
            "ops",
            &UdevToml {
                subsystems: vec!["net".into(), "block".into()],
            },
        )
        .unwrap();
        assert_eq!(
            p.decide("net"),
            Ruling::allow("[roles.ops.udev].subsystems has \"net\"")
        );
        assert_eq!(
            p.decide("usb"),
            Ruling::deny("add \"usb\" to [roles.ops.udev].subsystems")
        );
        let all = UdevPolicy::compile(
            "ops",
            &UdevToml {
                subsystems: vec!["*".into()],
            },
        )
        .unwrap();
        assert_eq!(all.decide("pci").verdict(), crate::Verdict::Allow);
        assert_eq!(
            UdevPolicy::deny_all("ops").decide("net").verdict(),
            crate::Verdict::Deny
        );
        assert_eq!(
            UdevPolicy::compile(
                "ops",
                &UdevToml {
                    subsystems: vec!["a b".into()]
                }
            )
            .unwrap_err()
            .key,
            "subsystems[0]"
        );
    }
}
