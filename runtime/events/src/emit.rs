//! Emission: the one API the runtime uses to record what happens.
//!
//! [`Events`] wraps a store with a `source` name. `emit` takes the agent and
//! context from the current task ([`crate::context`]), appends, and never
//! fails its caller: a store error is logged (`tracing::error!`), counted in
//! [`Events::failures`] and remembered in [`Events::last_failure`] for
//! `doctor`. Subscribers get the event from the bus when it is stored.

use serde_json::Value;

use crate::bus::{Filter, Subscription};
use crate::context::current_scope;
use crate::event::{Event, NewEvent};
use crate::store::EventStore;

/// A cheap-to-clone emitter.
#[derive(Clone)]
pub struct Events {
    store: EventStore,
    source: String,
}

impl Events {
    /// Emits with source `runtime`.
    pub fn new(store: EventStore) -> Self {
        Self {
            store,
            source: "runtime".to_owned(),
        }
    }

    /// The same store, another source name (`agent`, `sandbox`, `policy` …).
    #[must_use]
    pub fn with_source(&self, source: impl Into<String>) -> Self {
        Self {
            store: self.store.clone(),
            source: source.into(),
        }
    }

    /// The store underneath (for queries).
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Records an event for the current task's agent and context. Returns
    /// it as stored, or `None` when the store failed (logged and counted).
    pub fn emit(&self, kind: &str, topic: &str, data: Value) -> Option<Event> {
        let scope = current_scope();
        let mut ev = NewEvent::new(topic, kind, data)
            .source(self.source.clone())
            .context(scope.context);
        ev.agent = scope.agent;
        self.emit_event(ev)
    }

    /// Like [`Events::emit`] with an explicit agent (overriding the task's).
    pub fn emit_for(&self, agent: &str, kind: &str, topic: &str, data: Value) -> Option<Event> {
        let scope = current_scope();
        let ev = NewEvent::new(topic, kind, data)
            .agent(agent)
            .source(self.source.clone())
            .context(scope.context);
        self.emit_event(ev)
    }

    /// Records a fully built event as is (no context is added).
    pub fn emit_event(&self, event: NewEvent) -> Option<Event> {
        match self.store.append(event) {
            Ok(ev) => Some(ev),
            Err(e) => {
                self.store.record_failure("emit", &e);
                None
            }
        }
    }

    /// Subscribes to new events.
    pub fn subscribe(&self, filter: Filter) -> Subscription {
        self.store.subscribe(filter)
    }

    /// Store failures since open.
    pub fn failures(&self) -> u64 {
        self.store.failures()
    }

    /// The most recent store failure.
    pub fn last_failure(&self) -> Option<String> {
        self.store.last_failure()
    }
}
