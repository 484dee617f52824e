//! What a tool call asks for and what it answers.

use std::time::Duration;

use llmagent_policy::Ruling;
use serde::Serialize;
use serde_json::Value;

/// One tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// The role whose policy applies.
    pub role: String,
    /// The tool.
    pub tool: String,
    /// The action.
    pub action: String,
    /// The arguments, a JSON object.
    pub args_json: String,
    /// Whether a human already approved this call. Needed only for actions
    /// listed in the role's `approve`; without it they answer
    /// `approval_required`.
    pub approved: bool,
}

impl CallRequest {
    /// A call not (yet) approved by a human.
    pub fn new(role: &str, tool: &str, action: &str, args_json: &str) -> Self {
        Self {
            role: role.to_owned(),
            tool: tool.to_owned(),
            action: action.to_owned(),
            args_json: args_json.to_owned(),
            approved: false,
        }
    }
}

/// A tool's successful answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSuccess {
    /// The result (any JSON value).
    pub output: Value,
    /// Facts about it (a JSON object).
    pub metadata: Value,
}

/// A failed call, with the predecessor's four fields. `reason` is a stable
/// code: the tool's own (`invalid_args`, `file_error`, `denied` …) or the
/// runtime's (`invalid_tool`, `unknown_command`, `tool_not_permitted`,
/// `approval_required`, `timeout`, `memory_limit`, `tool_crashed`,
/// `output_too_large`, `invalid_output`, `too_busy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolFailure {
    /// Stable machine code.
    pub reason: String,
    /// What went wrong.
    pub message: String,
    /// The argument at fault.
    pub field: Option<String>,
    /// What to do about it.
    pub suggestion: Option<String>,
}

impl ToolFailure {
    /// A failure with a reason and a message.
    pub fn new(reason: &str, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_owned(),
            message: message.into(),
            field: None,
            suggestion: None,
        }
    }

    /// Adds a suggestion.
    pub fn suggestion(mut self, s: impl Into<String>) -> Self {
        self.suggestion = Some(s.into());
        self
    }
}

/// Everything a call produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallOutcome {
    /// The answer.
    pub result: Result<ToolSuccess, ToolFailure>,
    /// The policy decision that let the call through or stopped it.
    #[serde(skip)]
    pub decision: Option<Ruling>,
    /// Wall-clock time inside the sandbox (zero when stopped before it).
    pub duration: Duration,
    /// The tool's stdout and stderr, capped.
    pub stdout: String,
    /// Stderr, capped.
    pub stderr: String,
    /// Whether stdout or stderr was cut at the cap.
    pub stdio_truncated: bool,
}

impl CallOutcome {
    /// An outcome decided before any tool code ran.
    pub(crate) fn refused(failure: ToolFailure, decision: Option<Ruling>) -> Self {
        Self {
            result: Err(failure),
            decision,
            duration: Duration::ZERO,
            stdout: String::new(),
            stderr: String::new(),
            stdio_truncated: false,
        }
    }
}
