//! Tool errors: the predecessor's four fields, plus conversions from
//! capability errors.

use crate::bindings::exports::llmagent::tools::tool as wit;
use crate::bindings::llmagent::tools::types::CapError;
use crate::spec::Spec;

/// A failed answer: `reason` (stable code), `message`, and optionally the
/// `field` at fault and a `suggestion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    /// Stable machine code (`invalid_args`, `file_error`, `denied` …).
    pub reason: String,
    /// What went wrong.
    pub message: String,
    /// The argument at fault.
    pub field: Option<String>,
    /// What to do about it.
    pub suggestion: Option<String>,
}

impl ToolError {
    /// An error with a reason code and a message.
    pub fn new(reason: &str, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_owned(),
            message: message.into(),
            field: None,
            suggestion: None,
        }
    }

    /// Names the argument at fault.
    pub fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// Adds a suggestion.
    pub fn suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }

    /// `invalid_args` naming `field`.
    pub fn invalid_args(field: &str, message: impl Into<String>) -> Self {
        Self::new("invalid_args", message).field(field)
    }

    /// `unknown_command` for an action the tool does not have (the
    /// predecessor's code).
    pub fn unknown_action(action: &str) -> Self {
        Self::new("unknown_command", format!("unrecognized action `{action}`"))
    }

    /// `unknown_command` listing the actions the tool does have.
    pub fn unknown_action_of(spec: &Spec, action: &str) -> Self {
        Self::new(
            "unknown_command",
            format!("the {} tool has no action `{action}`", spec.name()),
        )
        .suggestion(format!("use one of: {}", spec.action_names().join(", ")))
    }

    /// Converts a capability error; `field` names the argument that led to
    /// the request (a path, a unit …). `io` errors get the reason `io_reason`
    /// so a tool can keep its predecessor's code (e.g. `file_error`).
    pub fn from_cap(err: CapError, field: &str, io_reason: &str) -> Self {
        match err {
            CapError::Denied(d) => Self::new(
                "denied",
                format!("{} denied access to {}", d.capability, d.target),
            )
            .field(field)
            .suggestion(d.hint),
            CapError::NotFound(m) => Self::new("not_found", m).field(field),
            CapError::InvalidArgument(m) => Self::new("invalid_args", m).field(field),
            CapError::Timeout(m) => Self::new("timeout", m).field(field),
            CapError::TooLarge(m) => Self::new("too_large", m).field(field),
            CapError::Unsupported(m) => Self::new("unsupported", m).field(field),
            CapError::Io(m) => Self::new(io_reason, m).field(field),
        }
    }

    /// Converts a capability error of a tool in front of a service (a bus,
    /// systemd): `unsupported` (no bus, no service) is `unavailable`, an
    /// error the service answered is `command_failed`; `field`, when given,
    /// names the argument that led to the request.
    pub fn from_service_cap(err: CapError, field: Option<&str>) -> Self {
        let mut e = match err {
            CapError::Unsupported(m) => Self::new("unavailable", m),
            other => Self::from_cap(other, field.unwrap_or(""), "command_failed"),
        };
        e.field = field.map(str::to_owned);
        e
    }

    /// The WIT record.
    pub fn into_wit(self) -> wit::ToolError {
        wit::ToolError {
            reason: self.reason,
            message: self.message,
            field: self.field,
            suggestion: self.suggestion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_tools_errors_name_the_argument_and_no_service_is_unavailable() {
        let e = ToolError::from_service_cap(
            CapError::Unsupported("systemd is not reachable".into()),
            Some("unit"),
        );
        assert_eq!(
            (e.reason.as_str(), e.message.as_str(), e.field.as_deref()),
            ("unavailable", "systemd is not reachable", Some("unit"))
        );
        let e = ToolError::from_service_cap(CapError::Io("org.x.Error: no".into()), None);
        assert_eq!(
            (e.reason.as_str(), e.message.as_str(), e.field.as_deref()),
            ("command_failed", "org.x.Error: no", None)
        );
    }
}
