//! The live bus: subscribers get new events as they are stored.
//!
//! Each subscriber has its own bounded queue (default
//! [`DEFAULT_CAPACITY`]). Publishing never waits: when a queue is full the
//! event is dropped *for that subscriber only* and counted, and the next
//! event that fits is preceded by [`Delivery::Lagged`] with the number
//! missed. The store itself misses nothing. Dropping the [`Subscription`]
//! unsubscribes (its queue is removed at the next publish).

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::event::Event;

/// Events a subscriber may fall behind by before it starts missing some.
/// Big enough for a burst of a busy turn, small enough (≈ 1 MB of events)
/// to bound a stuck subscriber's memory.
pub const DEFAULT_CAPACITY: usize = 4096;

/// Which events a subscription receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Every event.
    All,
    /// Events whose topic is exactly this.
    Topic(String),
    /// Events whose topic starts with this (`tool.` gets every tool event).
    Prefix(String),
}

impl Filter {
    /// Whether `topic` passes.
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Self::All => true,
            Self::Topic(t) => t == topic,
            Self::Prefix(p) => topic.starts_with(p.as_str()),
        }
    }
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The next event, in store order.
    Event(Arc<Event>),
    /// This many matching events were dropped because the queue was full;
    /// they are in the store (query them with `after_seq`).
    Lagged(u64),
}

struct Sub {
    filter: Filter,
    tx: mpsc::Sender<(u64, Arc<Event>)>,
    missed: u64,
}

/// The subscriber list. Publishing happens under the store's write lock, so
/// every subscriber sees events in seq order.
#[derive(Default)]
pub(crate) struct Bus {
    subs: Mutex<Vec<Sub>>,
}

impl Bus {
    pub(crate) fn subscribe(&self, filter: Filter, capacity: usize) -> Subscription {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        if let Ok(mut subs) = self.subs.lock() {
            subs.push(Sub {
                filter,
                tx,
                missed: 0,
            });
        }
        Subscription { rx, pending: None }
    }

    pub(crate) fn publish(&self, events: &[Arc<Event>]) {
        let Ok(mut subs) = self.subs.lock() else {
            return;
        };
        if subs.is_empty() {
            return;
        }
        subs.retain_mut(|sub| {
            for ev in events.iter().filter(|e| sub.filter.matches(&e.topic)) {
                match sub.tx.try_send((sub.missed, Arc::clone(ev))) {
                    Ok(()) => sub.missed = 0,
                    Err(mpsc::error::TrySendError::Full(_)) => sub.missed += 1,
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            !sub.tx.is_closed()
        });
    }

    pub(crate) fn subscriber_count(&self) -> usize {
        self.subs.lock().map(|s| s.len()).unwrap_or(0)
    }
}

/// A live feed of events; drop it to unsubscribe.
pub struct Subscription {
    rx: mpsc::Receiver<(u64, Arc<Event>)>,
    pending: Option<Arc<Event>>,
}

impl Subscription {
    /// The next delivery; `None` once the store is closed and the queue is
    /// drained.
    pub async fn recv(&mut self) -> Option<Delivery> {
        if let Some(ev) = self.pending.take() {
            return Some(Delivery::Event(ev));
        }
        let item = self.rx.recv().await?;
        Some(self.unpack(item))
    }

    /// The next delivery if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Delivery> {
        if let Some(ev) = self.pending.take() {
            return Some(Delivery::Event(ev));
        }
        let item = self.rx.try_recv().ok()?;
        Some(self.unpack(item))
    }

    fn unpack(&mut self, (missed, ev): (u64, Arc<Event>)) -> Delivery {
        if missed > 0 {
            self.pending = Some(ev);
            Delivery::Lagged(missed)
        } else {
            Delivery::Event(ev)
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}
