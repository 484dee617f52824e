//! What a turn puts on record: the conversation (`agent.message`), the
//! ends that are errors (`agent.error`, with a stable `code`), and the
//! agent's start and stop.

use llmagent_events::names;
use llmagent_llm::{LlmError, Message};
use serde_json::{Value, json};

use super::super::{Agent, history};
use super::{Turn, TurnEnd};

/// The `code` of an `agent.error` the agent itself records. A failed model
/// request records its [`LlmError::code`] instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// The model was still calling tools after `max_steps` round-trips.
    MaxSteps,
    /// The model repeated its call (constrained protocol); it is asked for
    /// the answer.
    RepeatedCall,
    /// The turn was cancelled.
    Cancelled,
    /// The agent loop failed (a bug).
    Internal,
}

impl ErrorCode {
    /// Every code, in the order the README lists them.
    #[cfg(test)]
    const ALL: &[ErrorCode] = &[
        Self::MaxSteps,
        Self::RepeatedCall,
        Self::Cancelled,
        Self::Internal,
    ];

    /// The stable code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::MaxSteps => "max_steps",
            Self::RepeatedCall => "repeated_call",
            Self::Cancelled => "cancelled",
            Self::Internal => "internal",
        }
    }
}

/// Where an `agent.error` came from (its `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The model request.
    LlmRequest,
    /// The agent loop.
    Agent,
    /// The user (cancellation).
    User,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::LlmRequest => "llm_request",
            Self::Agent => "agent",
            Self::User => "user",
        }
    }
}

/// The data of an `agent.error` event.
pub(super) fn error_data(reason: &str, source: Source, code: &str) -> Value {
    json!({"reason": reason, "source": source.as_str(), "code": code})
}

impl Turn<'_> {
    /// Records a failed model request; the turn ends with it.
    pub(super) fn model_error(&self, e: LlmError) -> TurnEnd {
        self.agent
            .agent_error(&e.to_string(), Source::LlmRequest, e.code());
        TurnEnd::ModelError(e)
    }

    /// Records the cancellation; the turn ends with it.
    pub(super) fn cancelled(&self) -> TurnEnd {
        self.agent.agent_error(
            "the turn was cancelled",
            Source::User,
            ErrorCode::Cancelled.code(),
        );
        TurnEnd::Cancelled
    }
}

impl Agent {
    /// Appends to the conversation and records it.
    pub(super) fn push(&mut self, message: Message) {
        self.record_message(&message);
        self.history.push(message);
    }

    /// Records a message as `agent.message`.
    pub(super) fn record_message(&self, message: &Message) {
        let data = history::message_data(&self.settings.name, message);
        self.emit(names::kind::MESSAGE, names::topic::AGENT_MESSAGE, data);
    }

    /// Records an `agent.error`.
    pub(super) fn agent_error(&self, reason: &str, source: Source, code: &str) {
        self.emit(
            names::kind::ERROR,
            names::topic::AGENT_ERROR,
            error_data(reason, source, code),
        );
    }

    /// Records an event of the agent (when it has a store).
    pub(super) fn emit(&self, kind: &str, topic: &str, data: Value) {
        if let Some(ev) = &self.events {
            ev.emit(kind, topic, data);
        }
    }

    /// Records `agent.started` or `agent.stopped`.
    pub(in crate::agent) fn record_lifecycle(&self, started: bool) {
        let Some(ev) = &self.events else { return };
        let name = &self.settings.name;
        if started {
            ev.emit_for(
                name,
                names::kind::STARTED,
                names::topic::AGENT_STARTED,
                json!({"agent_id": name, "role": self.settings.role, "model": self.settings.model, "protocol": self.wire.as_str()}),
            );
        } else {
            ev.emit_for(
                name,
                names::kind::STOPPED,
                names::topic::AGENT_STOPPED,
                json!({"agent_id": name, "reason": "stopped"}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = include_str!("../../../../../README.md");

    #[test]
    fn the_readme_lists_every_agent_error_code_and_no_other() {
        let row = README
            .lines()
            .find(|l| l.starts_with("| `agent.error` |"))
            .unwrap_or_default();
        let codes = row.split_once("`code`:").map_or("", |(_, c)| c);
        let listed: Vec<&str> = codes.split('`').skip(1).step_by(2).collect();
        let expected: Vec<&str> = LlmError::CODES
            .iter()
            .copied()
            .chain(ErrorCode::ALL.iter().map(|c| c.code()))
            .collect();
        assert_eq!(listed, expected);
    }
}
