//! Topic and kind names, kept exactly as the seed spelled them, plus the
//! topics this runtime adds, and builders for the data of the new ones.
//!
//! Tool events use the topic `tool.<name>` ([`tool_topic`]); the seed's
//! kinds are its event `type` atoms.

use serde_json::{Value, json};

/// Topic names.
pub mod topic {
    /// A user prompt or a tool follow-up entering the loop.
    pub const AGENT_PROMPT: &str = "agent.prompt";
    /// Every history append; the source of truth of a conversation.
    pub const AGENT_MESSAGE: &str = "agent.message";
    /// A successful model reply.
    pub const AGENT_LLM_RESPONSE: &str = "agent.llm_response";
    /// Just before a tool call.
    pub const AGENT_TOOL_DISPATCH: &str = "agent.tool_dispatch";
    /// A model request failed.
    pub const AGENT_ERROR: &str = "agent.error";
    /// An agent started (added by this runtime).
    pub const AGENT_STARTED: &str = "agent.started";
    /// An agent stopped (added by this runtime).
    pub const AGENT_STOPPED: &str = "agent.stopped";
    /// A new conversation began for an agent; history is rebuilt from the
    /// messages after the latest one (added by this runtime).
    pub const AGENT_SESSION: &str = "agent.session";
    /// An agent changed tool protocol because the model server refused
    /// one (added by this runtime).
    pub const AGENT_PROTOCOL: &str = "agent.protocol";
    /// A capability or tool decision (added by this runtime).
    pub const POLICY_DECISION: &str = "policy.decision";
    /// The prefix of every tool topic (`tool.fs`, `tool.bash` …).
    pub const TOOL_PREFIX: &str = "tool.";
    /// inotify watch lifecycle.
    pub const TOOL_INOTIFY: &str = "tool.inotify";
    /// One inotify event.
    pub const TOOL_INOTIFY_EVENT: &str = "tool.inotify.event";
    /// A tool instance trapped (added by this runtime).
    pub const TOOL_TRAP: &str = "tool.trap";
    /// A call waits for, or got, an answer to its approval question
    /// through `llmagent serve` (added by this runtime).
    pub const AGENT_APPROVAL: &str = "agent.approval";
    /// `llmagent serve` reloaded its policy, or refused to (added by this
    /// runtime).
    pub const SERVICE_RELOAD: &str = "service.reload";
}

/// Kind names (the seed's event `type`).
pub mod kind {
    /// `agent.prompt`.
    pub const PROMPT: &str = "prompt";
    /// `agent.message`.
    pub const MESSAGE: &str = "message";
    /// `agent.llm_response`.
    pub const LLM_RESPONSE: &str = "llm_response";
    /// `agent.tool_dispatch`.
    pub const TOOL_DISPATCH: &str = "tool_dispatch";
    /// `tool.<name>`: after every tool call attempt.
    pub const INVOCATION: &str = "invocation";
    /// `agent.error`.
    pub const ERROR: &str = "error";
    /// `tool.inotify`: a watch opened.
    pub const WATCH_STARTED: &str = "watch_started";
    /// `tool.inotify`: a watch closed.
    pub const WATCH_STOPPED: &str = "watch_stopped";
    /// `tool.inotify.event`.
    pub const FS_EVENT: &str = "fs_event";
    /// `agent.started`.
    pub const STARTED: &str = "started";
    /// `agent.stopped`.
    pub const STOPPED: &str = "stopped";
    /// `policy.decision`.
    pub const DECISION: &str = "decision";
    /// `tool.trap`.
    pub const TRAP: &str = "trap";
    /// `agent.session`.
    pub const NEW_SESSION: &str = "new_session";
    /// `agent.protocol`.
    pub const FALLBACK: &str = "fallback";
    /// An approval question is waiting (`agent.approval`).
    pub const APPROVAL_REQUESTED: &str = "approval_requested";
    /// An approval question was answered, or its deadline passed
    /// (`agent.approval`).
    pub const APPROVAL_ANSWERED: &str = "approval_answered";
    /// A policy reload (`service.reload`).
    pub const RELOAD: &str = "reload";
}

/// `tool.<name>`.
pub fn tool_topic(tool: &str) -> String {
    format!("{}{tool}", topic::TOOL_PREFIX)
}

/// Data of `tool.<name>` / `invocation` (the seed's keys): `agent_id`,
/// `action`, `args` (sanitised by the caller, redacted by the store),
/// `result` (`ok` | `error`), `duration_ms`.
pub fn invocation_data(
    agent_id: &str,
    action: &str,
    args: Value,
    ok: bool,
    duration_ms: u64,
) -> Value {
    json!({
        "agent_id": agent_id,
        "action": action,
        "args": args,
        "result": if ok { "ok" } else { "error" },
        "duration_ms": duration_ms,
    })
}

/// Data of `agent.message` / `message`: `agent_id`, `role`, `content`.
pub fn message_data(agent_id: &str, role: &str, content: &str) -> Value {
    json!({ "agent_id": agent_id, "role": role, "content": content })
}

/// Data of `tool.trap` / `trap`: `tool`, `action`, `reason` (`timeout`,
/// `memory_limit`, `tool_crashed`), `message`.
pub fn trap_data(tool: &str, action: &str, reason: &str, message: &str) -> Value {
    json!({ "tool": tool, "action": action, "reason": reason, "message": message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_use_the_documented_keys() {
        assert_eq!(
            invocation_data("a1", "read", json!({"path": "/x"}), false, 12),
            json!({"agent_id": "a1", "action": "read", "args": {"path": "/x"}, "result": "error", "duration_ms": 12})
        );
        assert_eq!(tool_topic("fs"), "tool.fs");
    }
}
