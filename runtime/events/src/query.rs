//! Reading the store: every query is a range scan of one index, after the
//! index entries still queued are written (see [`crate::index`]).
//!
//! The driving index is chosen from the filters, most selective first:
//! `since` → the time index from that instant; `agent` + topic
//! `agent.message` → the covering messages index; `agent` → the agent
//! index; exact `topic` → the topic index; `kind` → every topic entry
//! (whose value is the kind);
//! topic `prefix` → the topic index over that prefix; nothing → the primary
//! keyspace. Seq-ordered indexes start at `after_seq` and stop at `limit`
//! (from the end for `tail`). Other filters are checked on the loaded
//! event. Results are always in seq order.

use fjall::Keyspace;

use crate::error::{EventsError, Result};
use crate::event::Event;
use crate::keys;
use crate::names::topic;
use crate::store::{EventStore, Owner};
use crate::time;

/// A query; every filter given must match. `Query::default()` is "all".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only this agent's events.
    pub agent: Option<String>,
    /// Only this exact topic.
    pub topic: Option<String>,
    /// Only topics starting with this.
    pub prefix: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only events strictly later than this RFC 3339 instant.
    pub since: Option<String>,
    /// Only events with a greater seq (paging and `--follow`).
    pub after_seq: Option<u64>,
    /// At most this many events.
    pub limit: Option<usize>,
    /// With `limit`: the newest `limit` matches instead of the oldest
    /// (still returned oldest first).
    pub tail: bool,
}

enum Driver {
    Ordered(Box<dyn DoubleEndedIterator<Item = Result<u64>>>),
    /// The stored events themselves (JSON), decoded by the consumer.
    Covering(Box<dyn DoubleEndedIterator<Item = Result<fjall::Slice>>>),
    Unordered(Vec<u64>),
}

impl EventStore {
    /// Runs a query.
    pub fn query(&self, q: &Query) -> Result<Vec<Event>> {
        let owner = self.owner()?;
        owner.write_index()?;
        let since = q.since.as_deref().map(time::parse_ts).transpose()?;
        let after = q.after_seq.unwrap_or(0);
        let limit = q.limit.unwrap_or(usize::MAX);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let keep = |ev: &Event| -> bool {
            q.agent
                .as_ref()
                .is_none_or(|a| ev.agent.as_ref() == Some(a))
                && q.topic.as_ref().is_none_or(|t| *t == ev.topic)
                && q.prefix
                    .as_ref()
                    .is_none_or(|p| ev.topic.starts_with(p.as_str()))
                && q.kind.as_ref().is_none_or(|k| *k == ev.kind)
                && ev.seq > after
                && since.is_none_or(|s| time::parse_ts(&ev.ts).is_ok_and(|t| t > s))
        };
        let mut out = Vec::new();
        let mut take = |ev: Event| {
            if keep(&ev) {
                out.push(ev);
            }
            out.len() >= limit
        };
        match driver(owner, q, since, after)? {
            Driver::Unordered(mut seqs) => {
                seqs.sort_unstable();
                seqs.dedup();
                if q.tail {
                    seqs.reverse();
                }
                for seq in seqs {
                    if let Some(ev) = load(owner, seq)?
                        && take(ev)
                    {
                        break;
                    }
                }
            }
            Driver::Ordered(it) => {
                let it: Box<dyn Iterator<Item = Result<u64>>> =
                    if q.tail { Box::new(it.rev()) } else { it };
                for seq in it {
                    if let Some(ev) = load(owner, seq?)?
                        && take(ev)
                    {
                        break;
                    }
                }
            }
            Driver::Covering(it) => {
                let it: Box<dyn Iterator<Item = Result<fjall::Slice>>> =
                    if q.tail { Box::new(it.rev()) } else { it };
                if limit == usize::MAX {
                    // All of them (a whole conversation): decoding is most
                    // of the time, so it is shared out between the cores.
                    let raw = it.collect::<Result<Vec<_>>>()?;
                    for ev in decode_all(&raw)? {
                        take(ev);
                    }
                } else {
                    for v in it {
                        if take(decode(&v?)?) {
                            break;
                        }
                    }
                }
            }
        }
        if q.tail {
            out.reverse();
        }
        Ok(out)
    }

    /// The newest `limit` events, oldest first.
    pub fn all(&self, limit: usize) -> Result<Vec<Event>> {
        self.query(&Query {
            limit: Some(limit),
            tail: true,
            ..Query::default()
        })
    }

    /// Events of exactly this topic.
    pub fn for_topic(&self, topic: &str) -> Result<Vec<Event>> {
        self.query(&Query {
            topic: Some(topic.to_owned()),
            ..Query::default()
        })
    }

    /// Events whose topic starts with `prefix`.
    pub fn for_topic_prefix(&self, prefix: &str) -> Result<Vec<Event>> {
        self.query(&Query {
            prefix: Some(prefix.to_owned()),
            ..Query::default()
        })
    }

    /// Events of this kind (the seed's `for_type`).
    pub fn for_type(&self, kind: &str) -> Result<Vec<Event>> {
        self.query(&Query {
            kind: Some(kind.to_owned()),
            ..Query::default()
        })
    }

    /// Events strictly later than the RFC 3339 instant `ts`.
    pub fn since(&self, ts: &str) -> Result<Vec<Event>> {
        self.query(&Query {
            since: Some(ts.to_owned()),
            ..Query::default()
        })
    }

    /// An agent's events, optionally only those strictly later than `since`.
    pub fn events_for(&self, agent: &str, since: Option<&str>) -> Result<Vec<Event>> {
        self.query(&Query {
            agent: Some(agent.to_owned()),
            since: since.map(str::to_owned),
            ..Query::default()
        })
    }

    /// An agent's `agent.message` events in order: its conversation.
    /// `data` holds `agent_id`, `role`, `content`.
    pub fn messages_for(&self, agent: &str) -> Result<Vec<Event>> {
        self.query(&Query {
            agent: Some(agent.to_owned()),
            topic: Some(topic::AGENT_MESSAGE.to_owned()),
            ..Query::default()
        })
    }

    /// The agent's current conversation: its `agent.message` events after
    /// its latest `agent.session` marker (all of them when it has none).
    /// Older messages stay in the store; this is what a restarted agent
    /// continues from.
    pub fn conversation_for(&self, agent: &str) -> Result<Vec<Event>> {
        let marker = self.query(&Query {
            agent: Some(agent.to_owned()),
            topic: Some(topic::AGENT_SESSION.to_owned()),
            limit: Some(1),
            tail: true,
            ..Query::default()
        })?;
        self.query(&Query {
            agent: Some(agent.to_owned()),
            topic: Some(topic::AGENT_MESSAGE.to_owned()),
            after_seq: marker.last().map(|m| m.seq),
            ..Query::default()
        })
    }

    /// Up to `limit` events with a seq greater than `seq`, oldest first (for
    /// `--follow` by polling).
    pub fn after_seq(&self, seq: u64, limit: usize) -> Result<Vec<Event>> {
        self.query(&Query {
            after_seq: Some(seq),
            limit: Some(limit),
            ..Query::default()
        })
    }

    /// The event with this seq, if stored.
    pub fn get(&self, seq: u64) -> Result<Option<Event>> {
        load(self.owner()?, seq)
    }
}

fn driver(owner: &Owner, q: &Query, since: Option<i64>, after: u64) -> Result<Driver> {
    let start = after.saturating_add(1);
    if let Some(since) = since {
        let mut seqs = Vec::new();
        for g in owner
            .times
            .range(keys::ts_after(since).to_vec()..vec![keys::TS + 1])
        {
            let k = g.key()?;
            if let Some(seq) = keys::ts_key_seq(&k).filter(|s| *s > after) {
                seqs.push(seq);
            }
        }
        return Ok(Driver::Unordered(seqs));
    }
    if let Some(agent) = &q.agent {
        if q.topic.as_deref() == Some(topic::AGENT_MESSAGE) {
            let lo = keys::owned_key(agent, &keys::seq_key(start));
            let hi = keys::owned_key(agent, &[0xff; 8]);
            let want = keys::part(agent).len() + 9;
            let it = owner
                .messages
                .range(lo..=hi)
                .filter_map(move |g| match g.into_inner() {
                    Ok((k, _)) if k.len() != want => None,
                    Ok((_, v)) => Some(Ok(v)),
                    Err(e) => Some(Err(e.into())),
                });
            return Ok(Driver::Covering(Box::new(it)));
        }
        return Ok(Driver::Ordered(str_index(
            &owner.agents,
            keys::AGENT,
            agent,
            start,
        )));
    }
    if let Some(t) = &q.topic {
        return Ok(Driver::Ordered(str_index(
            &owner.topics,
            keys::TOPIC,
            t,
            start,
        )));
    }
    if let Some(kind) = &q.kind {
        // No index of its own: the kind is the topic entries' value, so
        // this reads every topic entry (small, no event decoded) and loads
        // only the matches. An empty value (older entries) is a candidate
        // checked on the event.
        let want = keys::part(kind);
        let mut seqs = Vec::new();
        for g in owner.topics.range(vec![keys::TOPIC]..vec![keys::TOPIC + 1]) {
            let (k, v) = g.into_inner()?;
            if (v.is_empty() || v[..] == want[..])
                && let Some((_, seq)) = keys::split_str_key(&k).filter(|(_, s)| *s > after)
            {
                seqs.push(seq);
            }
        }
        return Ok(Driver::Unordered(seqs));
    }
    if let Some(p) = &q.prefix {
        let mut prefix = vec![keys::TOPIC];
        prefix.extend_from_slice(p.as_bytes());
        let mut seqs = Vec::new();
        for g in owner.topics.prefix(&prefix) {
            let k = g.key()?;
            if let Some((_, seq)) = keys::split_str_key(&k).filter(|(_, s)| *s > after) {
                seqs.push(seq);
            }
        }
        return Ok(Driver::Unordered(seqs));
    }
    let it = owner.events.range(keys::seq_key(start)..).map(|g| {
        g.key()
            .map_err(EventsError::from)
            .map(|k| keys::decode_seq(&k).unwrap_or(0))
    });
    Ok(Driver::Ordered(Box::new(it)))
}

/// Seqs of `tag|s|0|seq` entries for exactly `s`, from `start`, in order.
fn str_index(
    index: &Keyspace,
    tag: u8,
    s: &str,
    start: u64,
) -> Box<dyn DoubleEndedIterator<Item = Result<u64>>> {
    let lo = keys::str_key(tag, s, start);
    let hi = keys::str_key(tag, s, u64::MAX);
    let s = s.to_owned();
    Box::new(index.range(lo..=hi).filter_map(move |g| match g.key() {
        Ok(k) => keys::str_key_seq(&k, &s).map(Ok),
        Err(e) => Some(Err(e.into())),
    }))
}

pub(crate) fn load(owner: &Owner, seq: u64) -> Result<Option<Event>> {
    owner
        .events
        .get(keys::seq_key(seq))?
        .map(|v| decode(&v))
        .transpose()
}

/// Below this many events per thread, [`decode_all`] stays on one thread.
const DECODE_PER_THREAD: usize = 4096;

/// Decodes stored events in order, on as many threads as there are cores
/// once there are enough of them to pay for the threads.
fn decode_all(raw: &[fjall::Slice]) -> Result<Vec<Event>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(raw.len() / DECODE_PER_THREAD)
        .max(1);
    if threads == 1 {
        return raw.iter().map(|v| decode(v)).collect();
    }
    let chunk = raw.len().div_ceil(threads);
    let decode_part = |part: &[fjall::Slice]| part.iter().map(|v| decode(v)).collect();
    std::thread::scope(|scope| {
        // A part whose thread cannot be started is decoded here instead.
        let parts: Vec<_> = raw
            .chunks(chunk)
            .map(|part| {
                let thread = std::thread::Builder::new().name("decode events".into());
                (
                    part,
                    thread.spawn_scoped(scope, move || decode_part(part)).ok(),
                )
            })
            .collect();
        let mut out = Vec::with_capacity(raw.len());
        for (part, thread) in parts {
            let decoded: Result<Vec<Event>> = match thread {
                Some(t) => t.join().map_err(|_| EventsError::Corrupt {
                    keyspace: "messages",
                    detail: "decoding panicked".to_owned(),
                })?,
                None => decode_part(part),
            };
            out.extend(decoded?);
        }
        Ok(out)
    })
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Event> {
    serde_json::from_slice(bytes).map_err(|e| EventsError::Corrupt {
        keyspace: "events",
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::META_NO_KIND_INDEX;
    use crate::{NewEvent, StoreConfig};

    /// A store written before the kind moved into the topic entries: its
    /// topic entries have empty values and it has a kind index. Reopened,
    /// the kind index is gone and kind queries still find every event.
    #[test]
    fn a_store_with_the_old_kind_index_is_migrated_and_still_answers() {
        let dir = tempfile::tempdir().unwrap();
        let all = {
            let store = EventStore::open(StoreConfig::new(dir.path())).unwrap();
            let kinds = ["message", "decision", "message", "error"];
            let all = store
                .append_batch(
                    kinds
                        .iter()
                        .enumerate()
                        .map(|(i, k)| {
                            NewEvent::new(format!("t{}", i % 2), *k, serde_json::json!({}))
                        })
                        .collect(),
                )
                .unwrap();
            let owner = store.owner().unwrap();
            for ev in &all {
                owner
                    .topics
                    .insert(keys::str_key(keys::TOPIC, &ev.topic, ev.seq), [])
                    .unwrap();
                owner
                    .topics
                    .insert(keys::str_key(b'k', &ev.kind, ev.seq), [])
                    .unwrap();
            }
            owner.meta.remove(META_NO_KIND_INDEX).unwrap();
            all
        };
        let store = EventStore::open(StoreConfig::new(dir.path())).unwrap();
        let owner = store.owner().unwrap();
        assert_eq!(owner.topics.prefix([b'k']).count(), 0);
        assert_eq!(
            store.for_type("message").unwrap(),
            vec![all[0].clone(), all[2].clone()]
        );
        assert_eq!(store.for_type("error").unwrap(), vec![all[3].clone()]);
        let newer = store
            .append(NewEvent::new("t0", "error", serde_json::json!({})))
            .unwrap();
        let q = Query {
            kind: Some("error".into()),
            limit: Some(1),
            tail: true,
            ..Query::default()
        };
        assert_eq!(store.query(&q).unwrap(), vec![newer]);
    }
}
