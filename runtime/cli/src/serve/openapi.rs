//! The API's bodies and answers, and its OpenAPI document (`GET
//! /v1/openapi.json`) generated from them by utoipa with the handlers'
//! `#[utoipa::path]` annotations. The handlers answer with these types, so
//! the document describes what is served by construction; the
//! schemathesis test checks every answer of the live service against it.
//! (`Outcome`, `Message` and `EventView` describe JSON that core and the
//! event store build for the CLI too.)

use llmagent_core::{AgentInfo, PendingApproval};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

/// An error answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

impl ErrorBody {
    pub(crate) fn new(code: &str, message: &str) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: message.to_owned(),
            },
        }
    }

    /// As JSON text (an SSE `error` event's data).
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// A stable code: `not_found`, `already_started`, `shutting_down`,
    /// `invalid_request`, `forbidden`, `unauthorized`, or a settings,
    /// policy, agent or events code.
    pub(crate) code: String,
    /// For a person.
    pub(crate) message: String,
}

/// `GET /v1/health`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok`, or `shutting_down`.
    pub(crate) status: String,
    pub(crate) pid: u32,
    pub(crate) version: String,
    /// Agents running.
    pub(crate) agents: usize,
    pub(crate) uptime_ms: u64,
    /// The policy file.
    pub(crate) policy: String,
    /// The event store: whether the audit log is recording.
    pub(crate) events: EventsHealth,
}

/// The event store's state in [`Health`]. Calls are refused
/// (`audit_unavailable`) while it cannot record.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventsHealth {
    /// `false` once a write to its disk failed: it takes no more writes
    /// until the service is restarted (after making the disk writable).
    pub(crate) writable: bool,
    /// Store failures since the service started.
    pub(crate) failures: u64,
    /// The latest of them.
    pub(crate) last_failure: Option<String>,
}

/// An agent and what it is doing.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgentView {
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) model: String,
    pub(crate) api_base: String,
    /// `native`, `json`, `constrained` or `auto`.
    pub(crate) protocol: String,
    /// `idle`, `in_turn` or `waiting_approval`.
    pub(crate) state: String,
    /// Messages in its conversation.
    pub(crate) history_length: usize,
    /// Turns since it started.
    pub(crate) turns: u64,
    /// Milliseconds since the Unix epoch.
    pub(crate) last_activity_ms: u64,
    /// How its last turn ended.
    pub(crate) last_end: Option<String>,
}

impl From<&AgentInfo> for AgentView {
    fn from(a: &AgentInfo) -> Self {
        AgentView {
            name: a.name.clone(),
            role: a.role.clone(),
            model: a.model.clone(),
            api_base: a.api_base.clone(),
            protocol: a.protocol.clone(),
            state: a.state.as_str().to_owned(),
            history_length: a.history_length,
            turns: a.turns,
            last_activity_ms: a.last_activity_ms,
            last_end: a.last_end.clone(),
        }
    }
}

/// `POST /v1/agents`: an `[agents.NAME]` of the policy (name alone) or an
/// ad-hoc agent (name and role).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartBody {
    pub(crate) name: String,
    pub(crate) role: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) api_base: Option<String>,
    /// `native`, `json`, `constrained` or `auto`.
    pub(crate) protocol: Option<String>,
}

/// `POST /v1/agents/{name}/prompt`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PromptBody {
    pub(crate) text: String,
    /// Answer with the turn's events as server-sent events (`event`
    /// events with a stored event each, then one `outcome` or `error`).
    #[serde(default)]
    pub(crate) stream: bool,
}

/// Tokens used.
#[allow(dead_code)] // described, not built: see the module's doc
#[derive(Serialize, ToSchema)]
pub(crate) struct Usage {
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
    pub(crate) total_tokens: u64,
}

/// How a turn ended and what it did.
#[allow(dead_code)] // described, not built: see the module's doc
#[derive(Serialize, ToSchema)]
pub(crate) struct Outcome {
    /// `answer`, `step_limit`, `cancelled`, `failed` or an `llm_…` code.
    pub(crate) end: String,
    /// The answer, or what went wrong; null when cancelled.
    pub(crate) text: Option<String>,
    pub(crate) steps: u32,
    pub(crate) tool_calls: u32,
    pub(crate) tool_errors: u32,
    pub(crate) requests: u32,
    pub(crate) usage: Usage,
    pub(crate) trace_id: String,
}

/// An agent stopped.
#[derive(Serialize, ToSchema)]
pub(crate) struct Stopped {
    pub(crate) name: String,
    pub(crate) stopped: bool,
}

/// A cancellation.
#[derive(Serialize, ToSchema)]
pub(crate) struct Cancelled {
    pub(crate) name: String,
    /// Whether a turn was running.
    pub(crate) cancelled: bool,
}

/// One message of a conversation.
#[allow(dead_code)] // described, not built: see the module's doc
#[derive(Serialize, ToSchema)]
pub(crate) struct Message {
    pub(crate) seq: u64,
    pub(crate) ts: String,
    /// `system`, `user`, `assistant` or `tool`.
    pub(crate) role: String,
    pub(crate) content: String,
    /// The calls of an assistant message (OpenAI's shape).
    pub(crate) tool_calls: Option<Vec<Value>>,
    /// The call a tool message answers.
    pub(crate) tool_call_id: Option<String>,
}

/// One stored event (see the README's events reference).
#[allow(dead_code)] // described, not built: see the module's doc
#[derive(Serialize, ToSchema)]
pub(crate) struct EventView {
    pub(crate) v: u32,
    pub(crate) seq: u64,
    pub(crate) ts: String,
    pub(crate) agent: Option<String>,
    pub(crate) topic: String,
    pub(crate) kind: String,
    pub(crate) source: String,
    /// `request_id`, `trace_id`, `correlation_id`.
    pub(crate) context: Option<std::collections::BTreeMap<String, String>>,
    pub(crate) data: Value,
}

/// A call waiting for a human's yes.
#[derive(Serialize, ToSchema)]
pub(crate) struct Approval {
    pub(crate) id: u64,
    pub(crate) agent: String,
    pub(crate) role: String,
    pub(crate) tool: String,
    pub(crate) action: String,
    pub(crate) args: Value,
    pub(crate) asked_ms: u64,
    /// Refused unless answered by then (ms since the Unix epoch).
    pub(crate) deadline_ms: u64,
}

impl From<&PendingApproval> for Approval {
    fn from(p: &PendingApproval) -> Self {
        Approval {
            id: p.id,
            agent: p.request.agent.clone(),
            role: p.request.role.clone(),
            tool: p.request.tool.clone(),
            action: p.request.action.clone(),
            args: p.request.args.clone(),
            asked_ms: p.asked_ms,
            deadline_ms: p.deadline_ms,
        }
    }
}

/// An approval answered.
#[derive(Serialize, ToSchema)]
pub(crate) struct Answered {
    pub(crate) id: u64,
    pub(crate) approved: bool,
}

/// A reload done.
#[derive(Serialize, ToSchema)]
pub(crate) struct Reloaded {
    /// `ok`.
    pub(crate) result: String,
    pub(crate) policy: String,
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "llmagent serve",
        description = "The local API of `llmagent serve`: agents, prompts, approvals, events."
    ),
    paths(
        super::api::health,
        super::api::list_agents,
        super::api::start_agent,
        super::api::agent,
        super::api::stop_agent,
        super::api::prompt,
        super::api::cancel,
        super::api::history,
        super::api::events,
        super::api::stream_events,
        super::api::approvals,
        super::api::approve,
        super::api::deny,
        super::api::reload,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        Health,
        EventsHealth,
        AgentView,
        StartBody,
        PromptBody,
        Usage,
        Outcome,
        Stopped,
        Cancelled,
        Message,
        EventView,
        Approval,
        Answered,
        Reloaded
    ))
)]
pub(crate) struct ApiDoc;

/// The document as JSON.
pub(crate) fn document() -> Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null)
}
