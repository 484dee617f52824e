//! The secondary entries of an event (its index entries and, for a
//! message, its covering copy), and how they reach the store.
//!
//! [`entries`] is the one definition of what an event writes besides its
//! primary record; appends, deletion and recovery all use it.
//!
//! In group mode an append writes only the primary record; its secondary
//! entries wait in an [`IndexQueue`] (under the append lock, so in seq
//! order) and are written in large batches by the syncer thread, by every
//! query before it reads (so a query sees every event appended before it
//! began), and by the appender itself when the queue grows past
//! [`MAX_QUEUED`]. Writing them later halves what an append costs (the
//! memtable inserts of the index entries are most of it) and moves that
//! work to the other core, in batches that cost less per entry.
//!
//! Crash safety: `meta[indexed_to]` is the seq up to which every event's
//! entries are written; it is written in the same atomic batch as the
//! entries. After a crash, open writes the entries of the events past it
//! again from their primary records (idempotent: the same keys and values).
//! In sync mode the entries go into the append's own batch, as before.

use fjall::{Keyspace, OwnedWriteBatch};

use crate::event::Event;
use crate::keys;
use crate::names::topic;

/// The keyspace a secondary entry belongs to. Each kind of entry has a
/// keyspace of its own, so that each keyspace's keys arrive nearly in
/// order (by seq within a topic or an agent, by time): fjall's memtables
/// take them cheaply, and its flushed tables rarely overlap, so compaction
/// mostly moves them instead of merging (with one keyspace for all three,
/// fjall alone spent ~20% more CPU per event, the store ~7%).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// `index`: topic entries (the keyspace's name predates the split).
    Topics = 0,
    /// `messages`: the covering copy of an `agent.message` event.
    Messages = 1,
    /// `by_time`: time entries.
    Times = 2,
    /// `by_agent`: agent entries.
    Agents = 3,
}

/// Calls `f(target, key, value)` for every secondary entry of `ev` (seq
/// `ev.seq`, time `micros`, stored as `json`): the topic entry (its value
/// the kind), the time entry, and with an agent the agent entry and, for a
/// message, the covering copy.
pub(crate) fn entries(
    ev: &Event,
    micros: i64,
    json: &[u8],
    key: &mut Vec<u8>,
    mut f: impl FnMut(Target, &[u8], &[u8]),
) {
    let seq = ev.seq;
    keys::str_key_into(key, keys::TOPIC, &ev.topic, seq);
    f(Target::Topics, key, &keys::part(&ev.kind));
    f(Target::Times, &keys::ts_key(micros, seq), &[]);
    if let Some(agent) = &ev.agent {
        keys::str_key_into(key, keys::AGENT, agent, seq);
        f(Target::Agents, key, &[]);
        if ev.topic == topic::AGENT_MESSAGE {
            f(
                Target::Messages,
                &keys::owned_key(agent, &keys::seq_key(seq)),
                json,
            );
        }
    }
}

/// Above this many queued bytes an appender writes the queue itself, so
/// that a writer faster than the syncer cannot grow it without bound.
pub(crate) const MAX_QUEUED: usize = 16 << 20;

/// Secondary entries of committed events not yet written, in one buffer
/// (`target u8 ‖ key len u32 ‖ value len u32 ‖ key ‖ value` each): queueing
/// an event allocates nothing once the buffer has grown.
#[derive(Default)]
pub(crate) struct IndexQueue {
    buf: Vec<u8>,
    /// The highest seq whose entries are queued.
    last_seq: u64,
    key: Vec<u8>,
}

impl IndexQueue {
    /// Queues the entries of `ev` (see [`entries`]).
    pub(crate) fn push(&mut self, ev: &Event, micros: i64, json: &[u8]) {
        let Self { buf, key, .. } = self;
        entries(ev, micros, json, key, |target, k, v| {
            buf.push(target as u8);
            buf.extend_from_slice(&(k.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
            buf.extend_from_slice(k);
            buf.extend_from_slice(v);
        });
        self.last_seq = ev.seq;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes queued.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// The highest seq queued (0 when nothing ever was).
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Where the queue ends now, for [`IndexQueue::truncate`].
    pub(crate) fn mark(&self) -> (usize, u64) {
        (self.buf.len(), self.last_seq)
    }

    /// Forgets what was queued after `mark` (its commit failed).
    pub(crate) fn truncate(&mut self, (len, last_seq): (usize, u64)) {
        self.buf.truncate(len);
        self.last_seq = last_seq;
    }

    /// Takes everything queued, leaving the queue empty.
    pub(crate) fn take(&mut self) -> Self {
        Self {
            buf: std::mem::take(&mut self.buf),
            last_seq: self.last_seq,
            key: Vec::new(),
        }
    }

    /// Puts back entries taken before any queued since (a write of them
    /// failed), so that they are written first next time.
    pub(crate) fn put_back(&mut self, mut earlier: Self) {
        earlier.buf.extend_from_slice(&self.buf);
        self.buf = earlier.buf;
        self.last_seq = self.last_seq.max(earlier.last_seq);
    }

    /// Adds every queued entry to `batch`.
    pub(crate) fn write_into(&self, batch: &mut OwnedWriteBatch, ks: &Keyspaces<'_>) {
        let mut rest = &self.buf[..];
        while rest.len() >= 9 {
            let target = rest[0];
            let klen = u32::from_le_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            let vlen = u32::from_le_bytes([rest[5], rest[6], rest[7], rest[8]]) as usize;
            let (k, after) = rest[9..].split_at(klen);
            let (v, after) = after.split_at(vlen);
            batch.insert(ks.of(target), k, v);
            rest = after;
        }
    }
}

/// The keyspaces secondary entries go to.
pub(crate) struct Keyspaces<'a> {
    pub(crate) topics: &'a Keyspace,
    pub(crate) messages: &'a Keyspace,
    pub(crate) times: &'a Keyspace,
    pub(crate) agents: &'a Keyspace,
}

impl Keyspaces<'_> {
    fn of(&self, target: u8) -> &Keyspace {
        match target {
            t if t == Target::Messages as u8 => self.messages,
            t if t == Target::Times as u8 => self.times,
            t if t == Target::Agents as u8 => self.agents,
            _ => self.topics,
        }
    }

    /// Adds the entries of `ev` to `batch` directly.
    pub(crate) fn insert(
        &self,
        batch: &mut OwnedWriteBatch,
        ev: &Event,
        micros: i64,
        json: &[u8],
        key: &mut Vec<u8>,
    ) {
        entries(ev, micros, json, key, |t, k, v| {
            batch.insert(self.of(t as u8), k, v);
        });
    }

    /// Removes the entries of `ev` in `batch`.
    pub(crate) fn remove(&self, batch: &mut OwnedWriteBatch, ev: &Event, micros: i64) {
        entries(ev, micros, &[], &mut Vec::new(), |t, k, _| {
            batch.remove(self.of(t as u8), k);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::Target;
    use crate::store::META_INDEXED_TO;
    use crate::{Durability, EventStore, NewEvent, Query, StoreConfig};

    /// Group mode whose syncer never runs in a test's time: entries stay
    /// queued until something writes them.
    const NEVER_SYNCED: Durability = Durability::Group {
        max_delay: Duration::from_secs(3600),
        max_events: usize::MAX,
    };

    fn open(dir: &std::path::Path, durability: Durability) -> EventStore {
        let mut cfg = StoreConfig::new(dir);
        cfg.durability = durability;
        EventStore::open(cfg).unwrap()
    }

    fn append(store: &EventStore, agent: &str, n: u64) -> Vec<crate::Event> {
        (0..n)
            .map(|i| {
                let (topic, kind) = if i % 2 == 0 {
                    ("agent.message", "message")
                } else {
                    ("tool.fs", "invocation")
                };
                store
                    .append(NewEvent::new(topic, kind, json!({"i": i})).agent(agent))
                    .unwrap()
            })
            .collect()
    }

    /// Every secondary entry, as (keyspace, key, value).
    fn stored_entries(store: &EventStore) -> Vec<(u8, Vec<u8>, Vec<u8>)> {
        let owner = store.owner().unwrap();
        let mut all = Vec::new();
        for (t, ks) in [
            (Target::Topics, &owner.topics),
            (Target::Messages, &owner.messages),
            (Target::Times, &owner.times),
            (Target::Agents, &owner.agents),
        ] {
            let t = t as u8;
            for g in ks.iter() {
                let (k, v) = g.into_inner().unwrap();
                all.push((t, k.to_vec(), v.to_vec()));
            }
        }
        all.sort();
        all
    }

    /// The store's `meta[indexed_to]`.
    fn indexed_to(store: &EventStore) -> Option<u64> {
        let mark = store.owner().unwrap().meta.get(META_INDEXED_TO).unwrap()?;
        crate::keys::decode_seq(&mark)
    }

    /// What [`super::entries`] says the events should have written.
    fn expected_entries(events: &[crate::Event]) -> Vec<(u8, Vec<u8>, Vec<u8>)> {
        let mut all = Vec::new();
        for ev in events {
            let json = serde_json::to_vec(ev).unwrap();
            let micros = crate::time::parse_ts(&ev.ts).unwrap();
            super::entries(ev, micros, &json, &mut Vec::new(), |t, k, v| {
                all.push((t as u8, k.to_vec(), v.to_vec()));
            });
        }
        all.sort();
        all
    }

    #[test]
    fn queued_entries_are_written_before_a_query_and_match_sync_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), NEVER_SYNCED);
        let events = append(&store, "a", 6);
        assert_eq!(stored_entries(&store), Vec::new(), "nothing written yet");
        assert_eq!(store.events_for("a", None).unwrap(), events);
        assert_eq!(stored_entries(&store), expected_entries(&events));

        let sync_dir = tempfile::tempdir().unwrap();
        let sync = open(sync_dir.path(), Durability::Sync);
        let sync_events = append(&sync, "a", 6);
        assert_eq!(
            stored_entries(&sync).len(),
            expected_entries(&sync_events).len()
        );
        assert_eq!(stored_entries(&sync), expected_entries(&sync_events));
    }

    #[test]
    fn deleting_events_whose_entries_are_queued_leaves_none_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), NEVER_SYNCED);
        let mut a = append(&store, "a", 5);
        let b = append(&store, "b", 4);
        a.extend(append(&store, "a", 3));
        // `clear_agent` finds a's events through the index: it must see
        // the queued entries, and leave none of a's.
        assert_eq!(store.clear_agent("a").unwrap(), 8);
        assert_eq!(stored_entries(&store), expected_entries(&b));

        let c = append(&store, "c", 3);
        store.clear().unwrap();
        assert_eq!(stored_entries(&store), Vec::new());
        assert_eq!(store.query(&Query::default()).unwrap(), Vec::new());
        let d = append(&store, "d", 2);
        assert!(d[0].seq > c[2].seq);
        drop(store);
        let store = open(dir.path(), NEVER_SYNCED);
        assert_eq!(store.query(&Query::default()).unwrap(), d);
        assert_eq!(stored_entries(&store), expected_entries(&d));
    }

    #[test]
    fn entries_lost_with_the_process_are_written_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let events = {
            let store = open(dir.path(), Durability::Sync);
            let events = append(&store, "a", 7);
            // What a crash with entries still queued leaves: the primary
            // records, the entries of the first two events, the mark at 2.
            let owner = store.owner().unwrap();
            for ks in [&owner.topics, &owner.messages, &owner.times, &owner.agents] {
                ks.clear().unwrap();
            }
            let mut batch = owner.db.batch();
            for ev in &events[..2] {
                let json = serde_json::to_vec(ev).unwrap();
                let micros = crate::time::parse_ts(&ev.ts).unwrap();
                owner
                    .keyspaces()
                    .insert(&mut batch, ev, micros, &json, &mut Vec::new());
            }
            batch.insert(&owner.meta, META_INDEXED_TO, 2u64.to_be_bytes());
            batch.commit().unwrap();
            events
        };
        let store = open(dir.path(), NEVER_SYNCED);
        assert_eq!(stored_entries(&store), expected_entries(&events));
        assert_eq!(store.messages_for("a").unwrap().len(), 4);
        assert_eq!(indexed_to(&store), Some(7));
    }

    #[test]
    fn a_store_from_before_deferred_entries_is_taken_as_complete() {
        let dir = tempfile::tempdir().unwrap();
        let events = {
            let store = open(dir.path(), Durability::Sync);
            let events = append(&store, "a", 3);
            store.owner().unwrap().meta.remove(META_INDEXED_TO).unwrap();
            events
        };
        let store = open(dir.path(), NEVER_SYNCED);
        assert_eq!(indexed_to(&store), Some(3));
        assert_eq!(store.events_for("a", None).unwrap(), events);
    }

    /// A store from before the split kept time and agent entries with the
    /// topic entries: open moves them, and every query finds the same.
    #[test]
    fn time_and_agent_entries_kept_with_the_topic_entries_are_moved() {
        let dir = tempfile::tempdir().unwrap();
        let (events, before) = {
            let store = open(dir.path(), Durability::Sync);
            let mut events = append(&store, "a", 5);
            events.extend(append(&store, "b", 4));
            let before = (
                store.events_for("a", None).unwrap(),
                store.since("1970-01-01T00:00:00Z").unwrap(),
                store.for_topic("tool.fs").unwrap(),
                store.messages_for("b").unwrap(),
            );
            let owner = store.owner().unwrap();
            let mut batch = owner.db.batch();
            for ks in [&owner.times, &owner.agents] {
                for g in ks.iter() {
                    let (k, v) = g.into_inner().unwrap();
                    batch.insert(&owner.topics, k.clone(), v);
                    batch.remove(ks, k);
                }
            }
            batch.remove(&owner.meta, crate::store::META_SPLIT_INDEX);
            batch.commit().unwrap();
            assert_eq!(owner.times.iter().count() + owner.agents.iter().count(), 0);
            (events, before)
        };
        let store = open(dir.path(), NEVER_SYNCED);
        assert_eq!(stored_entries(&store), expected_entries(&events));
        let after = (
            store.events_for("a", None).unwrap(),
            store.since("1970-01-01T00:00:00Z").unwrap(),
            store.for_topic("tool.fs").unwrap(),
            store.messages_for("b").unwrap(),
        );
        assert_eq!(after, before);
        assert_eq!(before.0.len(), 5);
        assert_eq!(before.1, events);
        assert_eq!(store.clear_agent("a").unwrap(), 5);
        assert_eq!(stored_entries(&store), expected_entries(&events[5..]));
    }
}
