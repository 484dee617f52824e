//! Per-agent key-value memory (the seed's memory backend contract).
//!
//! Values are JSON. [`InMemory`] lives as long as the process;
//! [`StoreMemory`] keeps them in the event store's database (keyspace
//! `memory`, key `agent|0|key`), so they survive restarts and are not
//! touched by `clear` or retention of events.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::Value;

use crate::error::{EventsError, Result};
use crate::keys;
use crate::store::EventStore;

/// Key-value storage per agent.
pub trait Memory: Send + Sync {
    /// Sets `key` for `agent`.
    fn store(&self, agent: &str, key: &str, value: Value) -> Result<()>;
    /// The value of `key`, if set.
    fn fetch(&self, agent: &str, key: &str) -> Result<Option<Value>>;
    /// Removes `key`; whether it was set.
    fn delete(&self, agent: &str, key: &str) -> Result<bool>;
    /// Every key and value of `agent`, sorted by key.
    fn list(&self, agent: &str) -> Result<Vec<(String, Value)>>;
    /// Removes everything of `agent`.
    fn teardown(&self, agent: &str) -> Result<()>;
}

/// Memory that lives as long as the value.
#[derive(Debug, Default)]
pub struct InMemory {
    agents: Mutex<HashMap<String, BTreeMap<String, Value>>>,
}

impl InMemory {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut HashMap<String, BTreeMap<String, Value>>) -> R,
    ) -> Result<R> {
        let mut guard = self.agents.lock().map_err(|_| EventsError::Closed)?;
        Ok(f(&mut guard))
    }
}

impl Memory for InMemory {
    fn store(&self, agent: &str, key: &str, value: Value) -> Result<()> {
        self.with(|m| {
            m.entry(agent.to_owned())
                .or_default()
                .insert(key.to_owned(), value);
        })
    }

    fn fetch(&self, agent: &str, key: &str) -> Result<Option<Value>> {
        self.with(|m| m.get(agent).and_then(|a| a.get(key)).cloned())
    }

    fn delete(&self, agent: &str, key: &str) -> Result<bool> {
        self.with(|m| m.get_mut(agent).is_some_and(|a| a.remove(key).is_some()))
    }

    fn list(&self, agent: &str) -> Result<Vec<(String, Value)>> {
        self.with(|m| {
            m.get(agent)
                .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        })
    }

    fn teardown(&self, agent: &str) -> Result<()> {
        self.with(|m| {
            m.remove(agent);
        })
    }
}

/// Memory in the event store's database. Needs an owning store.
#[derive(Clone)]
pub struct StoreMemory {
    store: EventStore,
}

impl StoreMemory {
    /// Memory backed by `store`; `events.not_owner` for a spool writer.
    pub fn new(store: EventStore) -> Result<Self> {
        store.owner()?;
        Ok(Self { store })
    }

    fn ks(&self) -> Result<&fjall::Keyspace> {
        Ok(&self.store.owner()?.memory)
    }
}

fn corrupt(e: serde_json::Error) -> EventsError {
    EventsError::Corrupt {
        keyspace: "memory",
        detail: e.to_string(),
    }
}

impl Memory for StoreMemory {
    fn store(&self, agent: &str, key: &str, value: Value) -> Result<()> {
        let bytes = serde_json::to_vec(&value).map_err(corrupt)?;
        self.ks()?
            .insert(keys::owned_key(agent, key.as_bytes()), bytes)?;
        Ok(())
    }

    fn fetch(&self, agent: &str, key: &str) -> Result<Option<Value>> {
        match self.ks()?.get(keys::owned_key(agent, key.as_bytes()))? {
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    fn delete(&self, agent: &str, key: &str) -> Result<bool> {
        let ks = self.ks()?;
        let k = keys::owned_key(agent, key.as_bytes());
        let existed = ks.contains_key(&k)?;
        ks.remove(k)?;
        Ok(existed)
    }

    fn list(&self, agent: &str) -> Result<Vec<(String, Value)>> {
        let prefix = keys::owned_key(agent, b"");
        let mut out = Vec::new();
        for g in self.ks()?.prefix(&prefix) {
            let (k, v) = g.into_inner()?;
            let key = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            out.push((key, serde_json::from_slice(&v).map_err(corrupt)?));
        }
        Ok(out)
    }

    fn teardown(&self, agent: &str) -> Result<()> {
        let ks = self.ks()?;
        let prefix = keys::owned_key(agent, b"");
        let owner = self.store.owner()?;
        let mut batch = owner.db.batch();
        for g in ks.prefix(&prefix) {
            batch.remove(ks, g.key()?);
        }
        batch.commit()?;
        Ok(())
    }
}
