//! Integration tests of the event store, bus, context and memory, with real
//! fjall databases in temporary directories.

// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bus;
mod context;
mod kill;
mod memory;
mod query;
mod store;

use llmagent_events::{Durability, EventStore, NewEvent, StoreConfig};
use serde_json::json;

/// A sync-mode store in `dir` (tests want every append on disk).
pub fn open(dir: &std::path::Path) -> EventStore {
    let mut cfg = StoreConfig::new(dir);
    cfg.durability = Durability::Sync;
    EventStore::open(cfg).unwrap()
}

/// `agent.message` from `agent`.
pub fn message(agent: &str, role: &str, content: &str) -> NewEvent {
    NewEvent::new(
        "agent.message",
        "message",
        json!({"agent_id": agent, "role": role, "content": content}),
    )
    .agent(agent)
    .source("agent")
}

/// A tool invocation by `agent`.
pub fn invocation(agent: &str, tool: &str, action: &str) -> NewEvent {
    NewEvent::new(
        format!("tool.{tool}"),
        "invocation",
        json!({"agent_id": agent, "action": action, "args": {}, "result": "ok", "duration_ms": 1}),
    )
    .agent(agent)
    .source("sandbox")
}
