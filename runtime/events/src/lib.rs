//! llmagent's event log: a durable fjall store, a live bus, request/trace
//! context, and per-agent memory.
//!
//! Every step of every agent — prompt, model reply, tool dispatch, policy
//! decision, tool result, error — is an [`Event`]. The store is the source
//! of truth of each agent's conversation (`agent.message` events), so an
//! agent restarted under the same name continues.
//!
//! ```no_run
//! use llmagent_events::{Context, EventStore, Events, StoreConfig, names, with_scope, Scope};
//! # async fn demo() -> Result<(), llmagent_events::EventsError> {
//! let store = EventStore::open(StoreConfig::new("/var/lib/llmagent/events"))?;
//! let events = Events::new(store.clone()).with_source("agent");
//! let scope = Scope { agent: Some("helper".into()), context: Context::new_request() };
//! with_scope(scope, async {
//!     events.emit(names::kind::MESSAGE, names::topic::AGENT_MESSAGE,
//!                 names::message_data("helper", "user", "disk usage?"));
//! }).await;
//! let history = store.messages_for("helper")?;
//! # Ok(()) }
//! ```
//!
//! # Events reference
//!
//! One event is one JSON object (one line in `llmagent events --json`):
//!
//! ```json
//! {"v":1,"seq":42,"ts":"2026-11-25T08:01:02.123456Z","agent":"helper",
//!  "topic":"tool.fs","kind":"invocation","source":"sandbox",
//!  "context":{"request_id":"req_5f0c2a9d41b7e388","trace_id":"trace_0d94e1c6a2f3b750"},
//!  "data":{"agent_id":"helper","action":"read","args":{"path":"/var/log/syslog"},"result":"ok","duration_ms":3}}
//! ```
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `v` | integer | schema version, currently `1`; bumped when a field is renamed or removed |
//! | `seq` | integer | global sequence number: unique, increasing, never reused (also across restarts and `clear`) |
//! | `ts` | string | when it was recorded: RFC 3339, UTC, exactly 6 fractional digits |
//! | `agent` | string | the agent it belongs to; **omitted** when none |
//! | `topic` | string | dotted topic, below |
//! | `kind` | string | kind within the topic (the seed's `type`) |
//! | `source` | string | emitter: `agent`, `sandbox`, `policy`, `cli`, `runtime` … |
//! | `context` | object | `request_id` (`req_` + 16 hex), `trace_id` (`trace_` + 16 hex), `correlation_id` (the `request_id` this follows from); each **omitted** when absent, the whole object omitted when all are |
//! | `data` | object | payload; fields named like a secret are `"[redacted]"` |
//!
//! Topics and kinds (the seed's names and data keys, plus the new topics):
//!
//! | topic | kind | data keys |
//! |---|---|---|
//! | `agent.prompt` | `prompt` | `content`, `role` |
//! | `agent.message` | `message` | `agent_id`, `role`, `content` — the conversation; history is rebuilt from these |
//! | `agent.llm_response` | `llm_response` | `content_length`, `is_tool_call` |
//! | `agent.tool_dispatch` | `tool_dispatch` | `agent_id`, `tool`, `action` |
//! | `tool.<name>` | `invocation` | `agent_id`, `action`, `args` (sanitised, redacted), `result` (`ok`/`error`), `duration_ms` |
//! | `agent.error` | `error` | `reason`, `source` (`llm_request`) |
//! | `tool.inotify` | `watch_started` / `watch_stopped` | `watch_id`, `path` (+ `final_event_count` on stop) |
//! | `tool.inotify.event` | `fs_event` | `watch_id`, `event`, `path` |
//! | `policy.decision` | `decision` | `capability` (e.g. `fs`) **or** `tool` (e.g. `file`), `operation`, `target` (path, host, or `""`), `verdict` (`allow`/`deny`/`approve`), `rule` (the policy key that matched, `null` = default deny) |
//! | `agent.started` | `started` | `agent_id`, `role` |
//! | `agent.stopped` | `stopped` | `agent_id`, `reason` |
//! | `agent.session` | `new_session` | `agent_id` — a new conversation starts here; older messages are kept but not replayed |
//! | `tool.trap` | `trap` | `tool`, `action`, `reason` (`timeout`/`memory_limit`/`tool_crashed`), `message` |
//! | `agent.approval` | `approval_requested` / `approval_answered` | `id`, `tool`, `action`, `args`, `deadline_ms` / `id`, `tool`, `action`, `approved`, `by` (`api`/`deadline`) |
//! | `service.reload` | `reload` | `policy`, `result` (`ok`/`refused`), `code`, `error` |
//!
//! Differences from the seed: the context is a top-level field, not
//! `data.context`; every event has `seq`, `v` and (when known) `agent`;
//! `since` is strictly later, as in the seed, but results are ordered by
//! `seq`, not by timestamp string.
//!
//! # Durability
//!
//! See [`Durability`]: `sync` fsyncs before an append returns; `group`
//! (default: 5 ms / 1000 events) may lose, on a machine crash, the events
//! acknowledged since the last group sync. A process crash (`kill -9`)
//! loses nothing acknowledged in either mode.
//!
//! # Several processes
//!
//! fjall lets one process open a database. The first process to open a
//! store owns it; [`EventStore::open`] in another process fails with
//! `events.locked` (naming the owner's pid), and
//! [`EventStore::open_or_spool`] gives a spool writer whose events the
//! owner ingests within 100 ms ([`spool`]). So `llmagent events --follow`
//! (owner) sees events of `llmagent tools call` in another terminal
//! (spooling) live; a process that needs to *read* while another owns the
//! store must ask the owner (e.g. `llmagent serve`'s API).

mod background;
mod bus;
mod config;
mod context;
mod emit;
mod error;
mod event;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod index;
mod keys;
mod maintain;
mod memory;
pub mod names;
mod pidlock;
mod query;
mod redact;
pub mod spool;
mod store;
mod time;

pub use bus::{DEFAULT_CAPACITY, Delivery, Filter, Subscription};
pub use config::{Durability, Retention, StoreConfig};
pub use context::{
    Scope, current_agent, current_context, current_scope, spawn_with_context, sync_scope,
    with_agent, with_context, with_scope,
};
pub use emit::Events;
pub use error::{EventsError, Result};
pub use event::{Context, Event, NewEvent, SCHEMA_VERSION};
pub use maintain::RetentionReport;
pub use memory::{InMemory, Memory, StoreMemory};
pub use pidlock::{PidLock, PidLockError};
pub use query::Query;
pub use redact::{REDACTED, Redaction, Sealed, seal_value, unseal};
pub use store::{EventStore, StoreRole};
pub use time::parse_ts;
