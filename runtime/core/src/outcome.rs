//! What a tool call asks for and what it answers.

use std::time::Duration;

use llmagent_policy::Ruling;
use serde::Serialize;
use serde_json::{Value, json};

use crate::reason::Reason;
use crate::redact::Unsealed;

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
    /// The arguments as they are recorded, when they differ from
    /// `args_json`: secrets unsealed into the call are recorded as the
    /// handles the model passed.
    pub(crate) recorded_args: Option<String>,
    /// The secrets unsealed into `args_json`, so that no record of the
    /// call (an error message, the tool's stdout) carries them.
    pub(crate) secrets: Unsealed,
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
            recorded_args: None,
            secrets: Unsealed::default(),
        }
    }

    /// The call as its records show it: `recorded_args` (the handles the
    /// model passed, redacted) instead of `args_json`, into which
    /// `secrets` were unsealed.
    pub(crate) fn recorded_as(mut self, recorded_args: String, secrets: Unsealed) -> Self {
        if recorded_args != self.args_json {
            self.recorded_args = Some(recorded_args);
        }
        self.secrets = secrets;
        self
    }

    /// The arguments as records show them.
    pub(crate) fn recorded_args(&self) -> &str {
        self.recorded_args.as_deref().unwrap_or(&self.args_json)
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

impl ToolSuccess {
    /// The answer as the seed sent it: `{"status":"ok","output":…,"metadata":…}`
    /// (keys sorted when written, as the seed's encoder wrote them).
    pub fn envelope(&self) -> Value {
        json!({"status": "ok", "output": self.output, "metadata": self.metadata})
    }
}

/// A failed call, with the predecessor's four fields. `reason` is a stable
/// code: the tool's own (`invalid_args`, `file_error`, `denied` …) or one
/// the runtime gives, a [`Reason`]'s code.
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
    /// A failure the runtime makes, with a reason and a message.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason: reason.code().to_owned(),
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

    /// Names the argument at fault.
    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }

    /// The runtime's reason, when `reason` is one of its codes (a tool's
    /// own reason is `None`).
    pub fn runtime_reason(&self) -> Option<Reason> {
        Reason::from_code(&self.reason)
    }

    /// The failure as the seed sent it:
    /// `{"status":"error","error":{"reason","message","field","suggestion"}}`
    /// (keys sorted when written; absent fields are `null`).
    pub fn envelope(&self) -> Value {
        json!({
            "status": "error",
            "error": {
                "reason": self.reason,
                "message": self.message,
                "field": self.field,
                "suggestion": self.suggestion,
            },
        })
    }
}

/// A call's answer in the seed's envelope: [`ToolSuccess::envelope`] or
/// [`ToolFailure::envelope`]. The one place such an object is made.
pub fn envelope(result: &Result<ToolSuccess, ToolFailure>) -> Value {
    match result {
        Ok(ok) => ok.envelope(),
        Err(e) => e.envelope(),
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
    /// The answer in the seed's envelope (see [`envelope`]).
    pub fn envelope(&self) -> Value {
        envelope(&self.result)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_have_the_seed_shape_with_sorted_keys() {
        let ok = ToolSuccess {
            output: json!("x"),
            metadata: json!({"n": 1}),
        };
        assert_eq!(
            envelope(&Ok(ok)).to_string(),
            r#"{"metadata":{"n":1},"output":"x","status":"ok"}"#
        );
        let err = ToolFailure::new(Reason::InvalidArgs, "no")
            .field("path")
            .suggestion("give a path");
        assert_eq!(
            envelope(&Err(err.clone())).to_string(),
            r#"{"error":{"field":"path","message":"no","reason":"invalid_args","suggestion":"give a path"},"status":"error"}"#
        );
        assert_eq!(err.runtime_reason(), Some(Reason::InvalidArgs));
        let theirs = ToolFailure {
            reason: "file_error".into(),
            ..err
        };
        assert_eq!(theirs.runtime_reason(), None);
    }
}
