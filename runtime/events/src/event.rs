//! The event record, its JSON form, and what callers hand to the store.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The schema version written into every event's `v`. Readers accept any
/// version ≤ this one; a change that renames or drops a field bumps it.
pub const SCHEMA_VERSION: u32 = 1;

/// One stored event. Its JSON form is documented in the crate docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Schema version ([`SCHEMA_VERSION`]).
    pub v: u32,
    /// Global sequence number: unique, increasing, never reused, also across
    /// restarts and `clear`. `0` only on events returned by a spool writer
    /// (the owner assigns the real one when it ingests them).
    pub seq: u64,
    /// When the event was recorded: RFC 3339, UTC, microseconds
    /// (`2026-11-25T08:01:02.123456Z`).
    pub ts: String,
    /// The agent the event belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Dotted topic (`agent.message`, `tool.fs` …).
    pub topic: String,
    /// The kind of event within the topic (the seed's `type`: `message`,
    /// `invocation` …).
    pub kind: String,
    /// What emitted it (`agent`, `sandbox`, `policy`, `cli` …).
    pub source: String,
    /// Request/trace/correlation ids; omitted when all are absent.
    #[serde(default, skip_serializing_if = "Context::is_empty")]
    pub context: Context,
    /// The payload, redacted before storage. A JSON object for every topic
    /// this runtime emits.
    pub data: Value,
}

/// Ids linking the events of one request, one trace, and follow-ups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Context {
    /// One user prompt or tool follow-up (`req_` + 16 hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Everything caused by one user request, across follow-ups and
    /// sub-calls (`trace_` + 16 hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The `request_id` this one follows from (a tool follow-up, a
    /// sub-agent's request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

impl Context {
    /// No ids at all.
    pub fn is_empty(&self) -> bool {
        self.request_id.is_none() && self.trace_id.is_none() && self.correlation_id.is_none()
    }

    /// A fresh request starting a fresh trace (a user prompt).
    pub fn new_request() -> Self {
        Self {
            request_id: Some(crate::ids::new_id("req_")),
            trace_id: Some(crate::ids::new_id("trace_")),
            correlation_id: None,
        }
    }

    /// A new request inside this trace that follows from this one (a tool
    /// follow-up, a sub-call): new `request_id`, same `trace_id` (a fresh one
    /// if this context has none), `correlation_id` = this `request_id`.
    pub fn follow_up(&self) -> Self {
        Self {
            request_id: Some(crate::ids::new_id("req_")),
            trace_id: self
                .trace_id
                .clone()
                .or_else(|| Some(crate::ids::new_id("trace_"))),
            correlation_id: self.request_id.clone(),
        }
    }
}

/// An event before the store gives it `seq`, `ts` and `v`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// See [`Event::agent`].
    pub agent: Option<String>,
    /// See [`Event::topic`].
    pub topic: String,
    /// See [`Event::kind`].
    pub kind: String,
    /// See [`Event::source`].
    pub source: String,
    /// See [`Event::context`].
    pub context: Context,
    /// See [`Event::data`]; redacted by the store.
    pub data: Value,
}

impl NewEvent {
    /// An event with no agent, source `runtime` and no context.
    pub fn new(topic: impl Into<String>, kind: impl Into<String>, data: Value) -> Self {
        Self {
            agent: None,
            topic: topic.into(),
            kind: kind.into(),
            source: "runtime".to_owned(),
            context: Context::default(),
            data,
        }
    }

    /// Sets the agent.
    #[must_use]
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = Some(agent.into());
        self
    }

    /// Sets the source.
    #[must_use]
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Sets the context.
    #[must_use]
    pub fn context(mut self, context: Context) -> Self {
        self.context = context;
        self
    }

    pub(crate) fn into_event(self, seq: u64, ts: String) -> Event {
        Event {
            v: SCHEMA_VERSION,
            seq,
            ts,
            agent: self.agent,
            topic: self.topic,
            kind: self.kind,
            source: self.source,
            context: self.context,
            data: self.data,
        }
    }
}

impl From<Event> for NewEvent {
    fn from(e: Event) -> Self {
        Self {
            agent: e.agent,
            topic: e.topic,
            kind: e.kind,
            source: e.source,
            context: e.context,
            data: e.data,
        }
    }
}
