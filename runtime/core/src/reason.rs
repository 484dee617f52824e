//! Why a call failed: the reasons the runtime itself gives.
//!
//! A [`crate::ToolFailure`]'s `reason` is a string on the wire, because a
//! tool sends its own (`file_error`, `not_found` …). Every failure the
//! runtime, the sandbox or the agent makes is built from a [`Reason`], so
//! its code is spelled in one place; the README's reasons table is checked
//! against [`Reason::ALL`] by a test.

/// A failure reason the runtime gives, with a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No tool of that name.
    InvalidTool,
    /// The tool has no such action.
    UnknownCommand,
    /// An argument is missing, mistyped or unknown.
    InvalidArgs,
    /// The role does not grant the action.
    ToolNotPermitted,
    /// The action needs a human's yes and none was given.
    ApprovalRequired,
    /// A capability refused a request (given by the host capabilities).
    Denied,
    /// The call ran past the role's timeout.
    Timeout,
    /// The tool needed more memory than the role allows.
    MemoryLimit,
    /// The tool trapped or panicked.
    ToolCrashed,
    /// The answer exceeded the role's output cap.
    OutputTooLarge,
    /// The answer was not JSON.
    InvalidOutput,
    /// Too many calls were running at once.
    TooBusy,
    /// The model repeated the call it had just made.
    RepeatedCall,
    /// The reply asked for more calls than the agent's `max_calls_per_reply`.
    TooManyCalls,
    /// The call was cancelled: its turn before it ran, or its caller
    /// (dropping the call) while it ran.
    Cancelled,
    /// The agent stopped before the call finished.
    Interrupted,
    /// The runtime could not serve the call at all.
    RuntimeError,
    /// The call, or an operation of it, could not be recorded in the event
    /// log, so it (or that operation) did not run.
    AuditUnavailable,
}

impl Reason {
    /// Every reason, in the order the README's table lists them.
    pub const ALL: &[Reason] = &[
        Self::InvalidTool,
        Self::UnknownCommand,
        Self::InvalidArgs,
        Self::ToolNotPermitted,
        Self::ApprovalRequired,
        Self::Denied,
        Self::Timeout,
        Self::MemoryLimit,
        Self::ToolCrashed,
        Self::OutputTooLarge,
        Self::InvalidOutput,
        Self::TooBusy,
        Self::RepeatedCall,
        Self::TooManyCalls,
        Self::Cancelled,
        Self::Interrupted,
        Self::RuntimeError,
        Self::AuditUnavailable,
    ];

    /// The stable code sent as `reason`.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidTool => "invalid_tool",
            Self::UnknownCommand => "unknown_command",
            Self::InvalidArgs => "invalid_args",
            Self::ToolNotPermitted => "tool_not_permitted",
            Self::ApprovalRequired => "approval_required",
            Self::Denied => "denied",
            Self::Timeout => "timeout",
            Self::MemoryLimit => "memory_limit",
            Self::ToolCrashed => "tool_crashed",
            Self::OutputTooLarge => "output_too_large",
            Self::InvalidOutput => "invalid_output",
            Self::TooBusy => "too_busy",
            Self::RepeatedCall => "repeated_call",
            Self::TooManyCalls => "too_many_calls",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::RuntimeError => "runtime_error",
            Self::AuditUnavailable => "audit_unavailable",
        }
    }

    /// What the code means, in one line (the README's table says the same).
    pub fn meaning(self) -> &'static str {
        match self {
            Self::InvalidTool => "no tool of that name",
            Self::UnknownCommand => "the tool has no such action (`suggestion` lists them)",
            Self::InvalidArgs => "an argument is missing, mistyped or unknown (`field` names it)",
            Self::ToolNotPermitted => {
                "the role does not grant this action (`suggestion` names the entry to add)"
            }
            Self::ApprovalRequired => "the action is in `approve` and no human said yes",
            Self::Denied => "a capability refused a request (`suggestion` names the policy key)",
            Self::Timeout => "the call ran past the role's `timeout_ms` and was stopped",
            Self::MemoryLimit => "the tool needed more than the role's `memory_mib`",
            Self::ToolCrashed => {
                "the tool trapped or panicked (the message carries its last words)"
            }
            Self::OutputTooLarge => "the answer exceeded `max_output_bytes`",
            Self::InvalidOutput => "the tool answered something that is not JSON",
            Self::TooBusy => {
                "as many tool calls as the runtime allows (256 by default) were already running; nothing was started"
            }
            Self::RepeatedCall => {
                "the model repeated the call it had just made; its result is the previous message"
            }
            Self::TooManyCalls => {
                "the reply asked for more calls than the agent's `max_calls_per_reply`; this one did not run"
            }
            Self::Cancelled => {
                "the call was cancelled: its turn before it ran, or its caller while it ran"
            }
            Self::Interrupted => {
                "the agent stopped before the call finished (found when its conversation is rebuilt)"
            }
            Self::RuntimeError => {
                "the runtime could not serve the call at all (the message says why)"
            }
            Self::AuditUnavailable => {
                "the event log could not record the call or one of its operations, so that did not run (`[events] on_failure`)"
            }
        }
    }

    /// The reason whose code is `code`, if the runtime gives it.
    pub fn from_code(code: &str) -> Option<Reason> {
        Self::ALL.iter().copied().find(|r| r.code() == code)
    }

    /// Whether the sandbox stopped the tool (recorded as a `tool.trap`).
    pub fn is_trap(self) -> bool {
        matches!(self, Self::Timeout | Self::MemoryLimit | Self::ToolCrashed)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = include_str!("../../../README.md");

    /// The rows of the README table whose header is `header`.
    fn table_rows(header: &str) -> Vec<String> {
        README
            .lines()
            .skip_while(|l| l.trim() != header)
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_readme_reasons_table_is_the_enum() {
        let expected: Vec<String> = Reason::ALL
            .iter()
            .map(|r| format!("| `{}` | {} |", r.code(), r.meaning()))
            .collect();
        assert_eq!(table_rows("| reason | meaning |"), expected);
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r.code()), Some(*r));
        }
        assert_eq!(Reason::from_code("file_error"), None);
    }
}
