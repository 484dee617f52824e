//! How a turn ends and what it did, and what it shows while it runs.

use llmagent_llm::{LlmError, Usage};
use serde_json::Value;

/// Something that happened during a turn, for a live display.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnEvent {
    /// A request went to the model; waiting for its reply.
    Waiting,
    /// A piece of the reply's text (when streaming).
    Text(String),
    /// A tool call is about to run.
    ToolCall {
        /// Tool.
        tool: String,
        /// Action.
        action: String,
        /// Arguments as the model wrote them.
        args: Value,
    },
    /// A tool call finished; `result` is what the model is shown.
    ToolResult {
        /// Tool.
        tool: String,
        /// Action.
        action: String,
        /// Whether it succeeded.
        ok: bool,
        /// The result as sent to the model.
        result: String,
    },
    /// The agent changed protocol because the server refused one.
    Fallback {
        /// The protocol refused.
        from: String,
        /// The protocol used from now on.
        to: String,
        /// What the server said.
        reason: String,
    },
}

/// How a turn ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnEnd {
    /// The model's final answer.
    Answer(String),
    /// The model was still calling tools after the role's `max_steps`
    /// round-trips; `message` says so (it is also the turn's last
    /// assistant message).
    StepLimit {
        /// The limit.
        max_steps: u32,
        /// What the user is told.
        message: String,
    },
    /// The model could not be asked (after retries).
    ModelError(LlmError),
    /// The turn was cancelled.
    Cancelled,
    /// The agent failed internally (a bug); the message says how.
    Failed(String),
}

/// What one turn did.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnOutcome {
    /// How it ended.
    pub end: TurnEnd,
    /// Tool round-trips made.
    pub steps: u32,
    /// Tool calls made (a reply may hold several).
    pub tool_calls: u32,
    /// Of those, the calls that answered an error (refused, failed, or
    /// malformed).
    pub tool_errors: u32,
    /// Model requests made.
    pub requests: u32,
    /// Tokens used, summed over the turn's requests (as reported).
    pub usage: Usage,
    /// The turn's trace id (every event of the turn carries it).
    pub trace_id: String,
}

impl TurnEnd {
    /// A stable code for how the turn ended: `answer`, `step_limit`, the
    /// model error's code (`llm_…`, see [`LlmError::code`]), `cancelled`
    /// or `failed`. `llmagent run --json` prints it as `end`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Answer(_) => "answer",
            Self::StepLimit { .. } => "step_limit",
            Self::ModelError(e) => e.code(),
            Self::Cancelled => "cancelled",
            Self::Failed(_) => "failed",
        }
    }

    /// What the user is told (none for a cancellation).
    pub fn text(&self) -> Option<String> {
        match self {
            Self::Answer(a) => Some(a.clone()),
            Self::StepLimit { message, .. } => Some(message.clone()),
            Self::ModelError(e) => Some(e.to_string()),
            Self::Cancelled => None,
            Self::Failed(m) => Some(m.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_end_has_a_code_and_says_what_it_tells_the_user() {
        let ends = [
            TurnEnd::Answer("a".into()),
            TurnEnd::StepLimit {
                max_steps: 2,
                message: "stopped".into(),
            },
            TurnEnd::ModelError(LlmError::InvalidReply {
                message: "bad".into(),
            }),
            TurnEnd::Cancelled,
            TurnEnd::Failed("bug".into()),
        ];
        let seen: Vec<(&str, Option<String>)> = ends.iter().map(|e| (e.code(), e.text())).collect();
        assert_eq!(
            seen,
            [
                ("answer", Some("a".into())),
                ("step_limit", Some("stopped".into())),
                (
                    "llm_invalid_reply",
                    Some("the model server sent an invalid reply: bad".into())
                ),
                ("cancelled", None),
                ("failed", Some("bug".into())),
            ]
        );
    }
}
