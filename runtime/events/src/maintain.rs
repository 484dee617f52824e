//! Deleting events: retention, `clear_agent`, `clear`.
//!
//! Deletion works in chunks of [`CHUNK`] events, each one atomic batch
//! under the append lock (so the byte count stays exact), so appends wait
//! at most one chunk. Deleting never lowers `last_seq`: seqs are not reused.

use fjall::{Keyspace, PersistMode};

use crate::error::{EventsError, Result};
use crate::index::IndexQueue;
use crate::keys;
use crate::query::decode;
use crate::store::{EventStore, META_INDEXED_TO, META_LAST_SEQ, Owner};
use crate::time;

/// Events deleted per atomic batch: small enough that an append waits
/// ≈ 10 ms at most, big enough to amortise the commit.
const CHUNK: usize = 2000;

/// What one retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Events older than `max_age`.
    pub by_age: u64,
    /// Oldest events deleted to get under `max_bytes`.
    pub by_size: u64,
}

impl EventStore {
    /// Applies the retention policy now (the background thread calls this
    /// every `check_every`).
    pub fn enforce_retention(&self) -> Result<RetentionReport> {
        let owner = self.owner()?;
        owner.write_index()?;
        let mut report = RetentionReport::default();
        if let Some(max_age) = owner.retention.max_age {
            let cutoff = time::now()
                .0
                .saturating_sub(i64::try_from(max_age.as_micros()).unwrap_or(i64::MAX));
            let hi = keys::ts_key(cutoff, 0).to_vec();
            loop {
                let mut found = Vec::new();
                for g in owner.times.range(vec![keys::TS]..hi.clone()).take(CHUNK) {
                    let k = g.key()?;
                    found.push((k.to_vec(), keys::ts_key_seq(&k).unwrap_or(0)));
                }
                if found.is_empty() {
                    break;
                }
                report.by_age += delete_with_strays(owner, &owner.times, found)?;
            }
        }
        if let Some(max_bytes) = owner.retention.max_bytes {
            while self.stored_bytes() > max_bytes {
                let excess = self.stored_bytes().saturating_sub(max_bytes);
                let (mut seqs, mut freed) = (Vec::new(), 0u64);
                for g in owner.events.iter().take(CHUNK) {
                    let (k, v) = g.into_inner()?;
                    seqs.push(keys::decode_seq(&k).unwrap_or(0));
                    freed += v.len() as u64;
                    if freed >= excess {
                        break;
                    }
                }
                if seqs.is_empty() {
                    break;
                }
                report.by_size += delete(owner, &seqs)?;
            }
        }
        if report != RetentionReport::default() {
            owner.db.persist(PersistMode::SyncData)?;
        }
        Ok(report)
    }

    /// Deletes every event of `agent` (its conversation included; seqs are
    /// not reused). Returns how many.
    pub fn clear_agent(&self, agent: &str) -> Result<u64> {
        let owner = self.owner()?;
        owner.write_index()?;
        let mut total = 0;
        loop {
            let prefix = keys::str_prefix(keys::AGENT, agent);
            let mut found = Vec::new();
            for g in owner.agents.prefix(&prefix).take(CHUNK) {
                let k = g.key()?;
                if let Some(seq) = keys::str_key_seq(&k, agent) {
                    found.push((k.to_vec(), seq));
                }
            }
            if found.is_empty() {
                break;
            }
            total += delete_with_strays(owner, &owner.agents, found)?;
        }
        owner.db.persist(PersistMode::SyncData)?;
        Ok(total)
    }

    /// Deletes every event (memory is kept; seqs continue).
    pub fn clear(&self) -> Result<()> {
        let owner = self.owner()?;
        let _indexing = owner.indexing.lock().map_err(|_| EventsError::Closed)?;
        let mut st = owner.write.lock().map_err(|_| EventsError::Closed)?;
        st.queued = IndexQueue::default();
        owner.events.clear()?;
        for ks in owner.secondary() {
            ks.clear()?;
        }
        owner
            .meta
            .insert(META_LAST_SEQ, st.last_seq.to_be_bytes())?;
        owner
            .meta
            .insert(META_INDEXED_TO, st.last_seq.to_be_bytes())?;
        st.bytes = 0;
        owner.checkpoint_bytes_locked(&st)?;
        drop(st);
        owner.db.persist(PersistMode::SyncData)?;
        Ok(())
    }
}

/// Deletes the events of these entries of `index`; then removes the
/// entries themselves, which matters only for strays whose event is already
/// gone (a corrupt record), so that a deletion loop always makes progress.
fn delete_with_strays(owner: &Owner, index: &Keyspace, found: Vec<(Vec<u8>, u64)>) -> Result<u64> {
    let seqs: Vec<u64> = found.iter().map(|(_, s)| *s).collect();
    let removed = delete(owner, &seqs)?;
    if removed < seqs.len() as u64 {
        let mut batch = owner.db.batch();
        for (k, _) in found {
            batch.remove(index, k);
        }
        batch.commit()?;
    }
    Ok(removed)
}

/// Deletes these events and all their index entries in one batch (the
/// queued entries are written first, so none of a deleted event's is
/// written after it).
fn delete(owner: &Owner, seqs: &[u64]) -> Result<u64> {
    let indexing = owner.indexing.lock().map_err(|_| EventsError::Closed)?;
    owner.write_index_locked(&indexing)?;
    let mut st = owner.write.lock().map_err(|_| EventsError::Closed)?;
    let mut batch = owner.db.batch();
    let mut removed = 0u64;
    let mut bytes = st.bytes;
    for &seq in seqs {
        let key = keys::seq_key(seq);
        let Some(v) = owner.events.get(key)? else {
            continue;
        };
        batch.remove(&owner.events, key);
        bytes = bytes.saturating_sub(v.len() as u64);
        removed += 1;
        // A record that does not decode loses only its primary entry; its
        // dangling index entries are skipped by every query.
        let Ok(ev) = decode(&v) else { continue };
        let micros = time::parse_ts(&ev.ts).unwrap_or(i64::MIN);
        owner.keyspaces().remove(&mut batch, &ev, micros);
    }
    // The newest events may be among those deleted: keep their seq.
    batch.insert(&owner.meta, META_LAST_SEQ, st.last_seq.to_be_bytes());
    batch.commit()?;
    st.bytes = bytes;
    owner.checkpoint_bytes_locked(&st)?;
    Ok(removed)
}
