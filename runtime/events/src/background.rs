//! The owner's background threads: the group-commit syncer (which also
//! writes the queued index entries, see [`crate::index`]) and the
//! maintenance thread (spool ingestion and the byte-count checkpoint every
//! [`SPOOL_POLL`], retention every `Retention::check_every`). Neither holds the append lock for longer than
//! one commit, so appends are never blocked behind them.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{Durability, StoreConfig};
use crate::store::{Backend, EventStore, Inner};

/// How often the owner looks for events spooled by other processes: the
/// delay a `--follow` in one process sees for events written by another.
pub(crate) const SPOOL_POLL: Duration = Duration::from_millis(100);

/// Unsynced-append bookkeeping shared by appenders and the syncer thread.
#[derive(Default)]
pub(crate) struct Syncer {
    state: Mutex<SyncState>,
    cv: Condvar,
    /// Why the last group fsync failed, until one succeeds: appends are
    /// refused meanwhile (a store that cannot make its events durable must
    /// not acknowledge more of them; see `EventStore::commit`).
    failed: Mutex<Option<String>>,
    /// Tests: make every fsync of this store fail.
    #[cfg(test)]
    pub(crate) fail_syncs: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct SyncState {
    unsynced: usize,
    since: Option<Instant>,
    max_events: usize,
    stop: bool,
}

impl Syncer {
    /// Called after `n` events were committed without fsync.
    pub(crate) fn note(&self, n: usize) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        st.unsynced += n;
        // Wake the thread only when it has something new to decide: the
        // first unsynced event starts the clock, a full group ends it.
        if st.since.is_none() {
            st.since = Some(Instant::now());
            self.cv.notify_one();
        } else if st.unsynced >= st.max_events {
            self.cv.notify_one();
        }
    }

    fn run(&self, store: &Weak<Inner>, max_delay: Duration) {
        loop {
            let Ok(mut st) = self.state.lock() else {
                return;
            };
            loop {
                if st.stop && st.unsynced == 0 {
                    return;
                }
                match st.since {
                    Some(since)
                        if st.stop
                            || st.unsynced >= st.max_events
                            || since.elapsed() >= max_delay =>
                    {
                        break;
                    }
                    Some(since) => {
                        let wait = max_delay.saturating_sub(since.elapsed());
                        st = match self.cv.wait_timeout(st, wait) {
                            Ok((g, _)) => g,
                            Err(_) => return,
                        };
                    }
                    None => {
                        st = match self.cv.wait(st) {
                            Ok(g) => g,
                            Err(_) => return,
                        };
                    }
                }
            }
            st.unsynced = 0;
            st.since = None;
            drop(st);
            let Some(inner) = store.upgrade() else { return };
            let handle = EventStore::background_handle(inner);
            if let Ok(owner) = handle.owner() {
                if let Err(e) = owner.write_index() {
                    handle.record_failure("writing index entries", &e);
                }
                let result = crate::store::sync_journal(owner);
                if let Err(e) = &result {
                    handle.record_failure("group commit fsync", e);
                }
                self.set_result(&result);
            }
        }
    }

    /// Remembers the outcome of an fsync of the journal.
    pub(crate) fn set_result(&self, result: &crate::error::Result<()>) {
        if let Ok(mut failed) = self.failed.lock() {
            *failed = result.as_ref().err().map(ToString::to_string);
        }
    }

    /// Why the last fsync failed, if it did and none succeeded since.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failed.lock().ok().and_then(|f| f.clone())
    }

    fn stop(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.stop = true;
            self.cv.notify_one();
        }
    }
}

/// The running threads of one owner.
pub(crate) struct Background {
    stop: Arc<(Mutex<bool>, Condvar)>,
    syncer: Option<Arc<Syncer>>,
    threads: Vec<JoinHandle<()>>,
}

impl Background {
    pub(crate) fn start(store: &EventStore, config: &StoreConfig) -> Self {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let mut threads = Vec::new();
        let weak = Arc::downgrade(&store.inner);
        let syncer = match (&store.inner.backend, config.durability) {
            (
                Backend::Owner(owner),
                Durability::Group {
                    max_delay,
                    max_events,
                },
            ) => owner.syncer.clone().inspect(|s| {
                if let Ok(mut st) = s.state.lock() {
                    st.max_events = max_events.max(1);
                }
                let (s, w) = (Arc::clone(s), weak.clone());
                if let Ok(t) = std::thread::Builder::new()
                    .name("events-sync".into())
                    .spawn(move || s.run(&w, max_delay))
                {
                    threads.push(t);
                }
            }),
            _ => None,
        };
        let (stop2, retention) = (Arc::clone(&stop), config.retention);
        if let Ok(t) = std::thread::Builder::new()
            .name("events-maintain".into())
            .spawn(move || maintain(&weak, &stop2, retention.check_every))
        {
            threads.push(t);
        }
        Self {
            stop,
            syncer,
            threads,
        }
    }

    /// Stops and joins the threads (a final group sync included).
    pub(crate) fn stop(self) {
        if let Some(s) = &self.syncer {
            s.stop();
        }
        if let Ok(mut stopped) = self.stop.0.lock() {
            *stopped = true;
            self.stop.1.notify_all();
        }
        let me = std::thread::current().id();
        for t in self.threads {
            // The last handle may be dropped on one of these threads.
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
    }
}

fn maintain(store: &Weak<Inner>, stop: &(Mutex<bool>, Condvar), check_every: Duration) {
    let mut next_retention = Instant::now() + check_every;
    let mut checkpointed = 0;
    loop {
        {
            let Ok(stopped) = stop.0.lock() else { return };
            let Ok((stopped, _)) = stop.1.wait_timeout_while(stopped, SPOOL_POLL, |s| !*s) else {
                return;
            };
            if *stopped {
                return;
            }
        }
        let Some(inner) = store.upgrade() else { return };
        let handle = EventStore::background_handle(inner);
        handle.ingest_spool();
        if let Ok(owner) = handle.owner() {
            let now = owner.write.lock().map(|st| st.last_seq).unwrap_or(0);
            if now != checkpointed {
                match owner.checkpoint_bytes() {
                    Ok(()) => checkpointed = now,
                    Err(e) => handle.record_failure("byte-count checkpoint", &e),
                }
            }
        }
        if Instant::now() >= next_retention {
            next_retention = Instant::now() + check_every;
            if let Err(e) = handle.enforce_retention() {
                handle.record_failure("retention", &e);
            }
        }
    }
}
