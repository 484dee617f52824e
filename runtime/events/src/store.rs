//! The store: opening, ownership, appends, durability.
//!
//! One process at a time *owns* a store directory (fjall allows one
//! process per database; ownership is an `flock` on `owner.lock`, which also
//! holds the owner's pid). Other processes open it with
//! [`EventStore::open_or_spool`] and become *spool writers*: their appends
//! go to a file of their own under `spool/`, and the owner ingests them
//! (see [`crate::spool`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::background::{Background, Syncer};
use crate::bus::{Bus, DEFAULT_CAPACITY, Filter, Subscription};
use crate::config::{Durability, Retention, StoreConfig};
use crate::error::{EventsError, Result};
use crate::event::{Event, NewEvent};
use crate::index::{IndexQueue, Keyspaces, MAX_QUEUED};
use crate::keys;
use crate::pidlock::{PidLock, PidLockError};
use crate::redact::Redaction;
use crate::spool::SpoolWriter;
use crate::time;

/// Whether this handle owns the database or spools into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreRole {
    /// This process holds the database: appends, queries, retention.
    Owner,
    /// Another process owns it: appends go to a spool file, queries fail
    /// with `events.not_owner`.
    SpoolWriter,
}

/// A cheap-to-clone handle on an event store. Closing happens when the last
/// clone is dropped (background threads stopped, a final flush and fsync,
/// the owner's lock released), on the dropping thread, before `drop`
/// returns: the store can be opened again at once.
#[derive(Clone)]
pub struct EventStore {
    /// Shared by the clones users hold, not by the background threads'
    /// short-lived handles; declared first, so dropped before `inner`.
    _users: Option<Arc<LastUser>>,
    pub(crate) inner: Arc<Inner>,
}

/// Dropped with the last user's handle: stops and joins the background
/// threads, so that none of them holds the store when that handle lets go
/// (the close would then run on it, after `drop` returned, with the lock
/// still held).
struct LastUser(Weak<Inner>);

impl Drop for LastUser {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.stop_background();
        }
    }
}

pub(crate) struct Inner {
    pub(crate) path: PathBuf,
    pub(crate) backend: Backend,
    pub(crate) bus: Bus,
    pub(crate) redaction: Redaction,
    pub(crate) failures: AtomicU64,
    pub(crate) last_failure: Mutex<Option<String>>,
}

pub(crate) enum Backend {
    Owner(Box<Owner>),
    Spool(SpoolWriter),
}

pub(crate) struct Owner {
    pub(crate) db: Database,
    pub(crate) db_dir: PathBuf,
    pub(crate) events: Keyspace,
    /// Topic entries (see [`crate::index::Target`] for the other three).
    pub(crate) topics: Keyspace,
    pub(crate) messages: Keyspace,
    pub(crate) times: Keyspace,
    pub(crate) agents: Keyspace,
    pub(crate) meta: Keyspace,
    pub(crate) memory: Keyspace,
    pub(crate) write: Mutex<WriteState>,
    /// Held while secondary entries are written (see [`crate::index`]), and
    /// by deletion, so that no entry of a deleted event is written after it.
    /// Taken before `write`, never while holding it.
    pub(crate) indexing: Mutex<()>,
    pub(crate) durability: Durability,
    pub(crate) retention: Retention,
    pub(crate) syncer: Option<Arc<Syncer>>,
    pub(crate) background: Mutex<Option<Background>>,
    /// A write to the journal failed: fjall takes no more writes in this
    /// process (see [`EventsError::Poisoned`]).
    pub(crate) poisoned: AtomicBool,
    _lock: PidLock,
}

/// Guarded by `Owner::write`: everything an append must see atomically.
pub(crate) struct WriteState {
    pub(crate) last_seq: u64,
    pub(crate) bytes: u64,
    /// Group mode: secondary entries not yet written.
    pub(crate) queued: IndexQueue,
}

const MAX_JOURNAL_BYTES: u64 = 64 << 20;

/// At a clean close, memtables holding more than this are flushed (see
/// `Owner::flush_at_close`).
const FLUSH_AT_CLOSE_BYTES: u64 = 4 << 20;

/// The longest a close waits for those memtables to be written.
const FLUSH_AT_CLOSE_WAIT: Duration = Duration::from_secs(5);

/// The highest seq ever assigned, written when deletion could remove the
/// newest events (so seqs are never reused); otherwise the primary's last
/// key says it.
pub(crate) const META_LAST_SEQ: &[u8] = b"last_seq";
/// The byte count as of `META_LAST_SEQ`, written by stores before the
/// checkpoint below existed; read only when that is missing.
pub(crate) const META_BYTES: &[u8] = b"bytes";
/// `seq ‖ bytes` (two big-endian u64s): the stored bytes counting every
/// event up to `seq`. Events after `seq` are counted at open.
pub(crate) const META_BYTES_AT: &[u8] = b"bytes_at";
/// `1` once the time and agent entries are in keyspaces of their own.
pub(crate) const META_SPLIT_INDEX: &[u8] = b"split_index";
/// The store's layout: [`FORMAT`] once this build has opened it. A build
/// refuses a store of a newer format (its queries would miss what the
/// newer layout keeps elsewhere) instead of reading it wrong.
pub(crate) const META_FORMAT: &[u8] = b"format";
/// 2: time and agent entries in keyspaces of their own. (Stores without
/// the key are 1, or new.)
pub(crate) const FORMAT: u64 = 2;
/// `1` once the retired kind index (`k|kind|0|seq`) has been removed.
pub(crate) const META_NO_KIND_INDEX: &[u8] = b"no_kind_index";
/// Every event up to this seq has its secondary entries written (see
/// [`crate::index`]).
pub(crate) const META_INDEXED_TO: &[u8] = b"indexed_to";

/// An event about to be committed, with its timestamp when it already has
/// one (spooled events keep the time they were emitted).
pub(crate) struct Pending {
    pub(crate) event: NewEvent,
    pub(crate) ts: Option<(i64, String)>,
}

impl EventStore {
    /// Opens (or creates) the store and becomes its owner. Fails with
    /// `events.locked` when another process owns it.
    pub fn open(config: StoreConfig) -> Result<Self> {
        let lock = acquire_owner_lock(&config.path)?;
        let owner = open_owner(&config, lock)?;
        let store = Self::from_backend(&config, Backend::Owner(Box::new(owner)));
        store.ingest_spool();
        if let Backend::Owner(owner) = &store.inner.backend
            && let Ok(mut bg) = owner.background.lock()
        {
            *bg = Some(Background::start(&store, &config));
        }
        Ok(store)
    }

    /// Opens as owner if possible, else as a spool writer (for short-lived
    /// writers such as `llmagent tools call` while another process owns the
    /// store).
    pub fn open_or_spool(config: StoreConfig) -> Result<Self> {
        match Self::open(config.clone()) {
            Err(EventsError::Locked { .. }) => {
                let spool = SpoolWriter::create(&config.path, config.durability)?;
                Ok(Self::from_backend(&config, Backend::Spool(spool)))
            }
            other => other,
        }
    }

    fn from_backend(config: &StoreConfig, backend: Backend) -> Self {
        let inner = Arc::new(Inner {
            path: config.path.clone(),
            backend,
            bus: Bus::default(),
            redaction: config.redaction.clone(),
            failures: AtomicU64::new(0),
            last_failure: Mutex::new(None),
        });
        Self {
            _users: Some(Arc::new(LastUser(Arc::downgrade(&inner)))),
            inner,
        }
    }

    /// A handle for the store's own background threads: it does not keep
    /// the store open for its users (see [`LastUser`]).
    pub(crate) fn background_handle(inner: Arc<Inner>) -> Self {
        Self {
            _users: None,
            inner,
        }
    }

    /// Owner or spool writer.
    pub fn role(&self) -> StoreRole {
        match self.inner.backend {
            Backend::Owner(_) => StoreRole::Owner,
            Backend::Spool(_) => StoreRole::SpoolWriter,
        }
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub(crate) fn owner(&self) -> Result<&Owner> {
        match &self.inner.backend {
            Backend::Owner(o) => Ok(o),
            Backend::Spool(_) => Err(EventsError::NotOwner),
        }
    }

    /// Appends one event; see [`EventStore::append_batch`].
    pub fn append(&self, event: NewEvent) -> Result<Event> {
        let mut out = self.commit(vec![Pending { event, ts: None }], &[])?;
        out.pop().ok_or(EventsError::Closed)
    }

    /// Appends events atomically (all or none), in order, redacted, and
    /// returns them as stored. Returns after the fsync in
    /// [`Durability::Sync`], after the write to the OS in
    /// [`Durability::Group`].
    pub fn append_batch(&self, events: Vec<NewEvent>) -> Result<Vec<Event>> {
        let pending = events
            .into_iter()
            .map(|event| Pending { event, ts: None })
            .collect();
        self.commit(pending, &[])
    }

    /// Redacts, assigns seq (and ts where missing), commits one atomic
    /// batch with `extra_meta`, publishes, and applies the durability mode.
    pub(crate) fn commit(
        &self,
        mut pending: Vec<Pending>,
        extra_meta: &[(Vec<u8>, u64)],
    ) -> Result<Vec<Event>> {
        for p in &mut pending {
            self.inner.redaction.redact(&mut p.event.data);
        }
        let owner = match &self.inner.backend {
            Backend::Owner(o) => o,
            Backend::Spool(s) => {
                let events = s.append(pending)?;
                self.publish(&events);
                return Ok(events);
            }
        };
        if owner.poisoned.load(Ordering::Relaxed) {
            return Err(EventsError::Poisoned);
        }
        let now = time::now();
        let mut st = owner.write.lock().map_err(|_| EventsError::Closed)?;
        if let Some(syncer) = &owner.syncer
            && syncer.failure().is_some()
        {
            // The last group fsync failed (an I/O error, or ENOSPC found
            // at writeback): events acknowledged since may not be on disk.
            // Try again now; refuse while it keeps failing, so that callers
            // (a tool call's decision) fail closed instead of going on
            // unrecorded.
            let retry = sync_journal(owner);
            syncer.set_result(&retry);
            if let Err(e) = retry {
                return Err(EventsError::Storage(format!(
                    "the journal cannot be synced to disk ({e}); appends are refused until it can"
                )));
            }
        }
        // Buffer: each commit is written to the OS before it returns, so a
        // process crash loses nothing acknowledged; fsync is separate.
        let mut batch = owner.db.batch().durability(Some(PersistMode::Buffer));
        let mut events = Vec::with_capacity(pending.len());
        let mut seq = st.last_seq;
        let mut bytes = st.bytes;
        // Grown on first use (sync mode only).
        let mut key = Vec::new();
        // Group mode queues the secondary entries (written later, see
        // `crate::index`); sync mode writes them in this batch.
        let defer = owner.defers_index();
        let mark = st.queued.mark();
        for p in pending {
            seq += 1;
            let (micros, ts) = p.ts.unwrap_or_else(|| now.clone());
            let ev = p.event.into_event(seq, ts);
            // Sized for a typical event, so that it is not regrown six times.
            let mut json = Vec::with_capacity(512);
            let json = match serde_json::to_writer(&mut json, &ev) {
                Ok(()) => json,
                Err(e) => {
                    st.queued.truncate(mark);
                    return Err(EventsError::Storage(e.to_string()));
                }
            };
            bytes += json.len() as u64;
            if defer {
                st.queued.push(&ev, micros, &json);
            } else {
                owner
                    .keyspaces()
                    .insert(&mut batch, &ev, micros, &json, &mut key);
            }
            batch.insert(&owner.events, keys::seq_key(seq), json);
            events.push(ev);
        }
        if !defer {
            batch.insert(&owner.meta, META_INDEXED_TO, seq.to_be_bytes());
        }
        // `last_seq` and the byte count are not written per commit (they
        // were two more memtable entries each time): the seq is the
        // primary's last key, the count is checkpointed by the maintenance
        // thread and at close, and recounted past the checkpoint at open.
        for (k, v) in extra_meta {
            batch.insert(&owner.meta, k.clone(), v.to_be_bytes());
        }
        if let Err(e) = batch.commit() {
            // The batch is not acknowledged, nor is what it queued. (A
            // failed write can still have reached the journal whole: then
            // the next open finds the events and writes their entries.)
            st.queued.truncate(mark);
            // fjall takes no write after a failed one.
            owner.poisoned.store(true, Ordering::Relaxed);
            return Err(e.into());
        }
        st.last_seq = seq;
        st.bytes = bytes;
        let backlog = st.queued.len();
        self.publish(&events);
        drop(st);
        // The events are stored: a failure to write the queue is the
        // store's to report, not this append's (it stays queued).
        if backlog > MAX_QUEUED
            && let Err(e) = owner.write_index()
        {
            self.record_failure("writing index entries", &e);
        }
        match (&owner.durability, &owner.syncer) {
            (Durability::Sync, _) => sync_journal(owner)?,
            (Durability::Group { .. }, Some(syncer)) => syncer.note(events.len()),
            (Durability::Group { .. }, None) => {}
        }
        Ok(events)
    }

    fn publish(&self, events: &[Event]) {
        if self.inner.bus.subscriber_count() > 0 {
            let arcs: Vec<Arc<Event>> = events.iter().cloned().map(Arc::new).collect();
            self.inner.bus.publish(&arcs);
        }
    }

    /// Subscribes to new events with the default queue size.
    pub fn subscribe(&self, filter: Filter) -> Subscription {
        self.inner.bus.subscribe(filter, DEFAULT_CAPACITY)
    }

    /// Subscribes with a queue of `capacity` events.
    pub fn subscribe_with_capacity(&self, filter: Filter, capacity: usize) -> Subscription {
        self.inner.bus.subscribe(filter, capacity)
    }

    /// Live subscriptions (dropped ones are removed at the next publish).
    pub fn subscriber_count(&self) -> usize {
        self.inner.bus.subscriber_count()
    }

    /// Forces an fsync of everything appended so far (any mode), the
    /// index entries of group mode included.
    pub fn sync(&self) -> Result<()> {
        match &self.inner.backend {
            Backend::Owner(o) => {
                o.write_index()?;
                Ok(o.db.persist(PersistMode::SyncData)?)
            }
            Backend::Spool(s) => s.sync(),
        }
    }

    /// The highest seq assigned so far (0 for an empty store or a spool writer).
    pub fn last_seq(&self) -> u64 {
        self.owner()
            .ok()
            .and_then(|o| o.write.lock().ok().map(|s| s.last_seq))
            .unwrap_or(0)
    }

    /// Encoded size of the stored events (what `max_bytes` retention counts).
    pub fn stored_bytes(&self) -> u64 {
        self.owner()
            .ok()
            .and_then(|o| o.write.lock().ok().map(|s| s.bytes))
            .unwrap_or(0)
    }

    /// Store failures seen by [`crate::Events::emit`] and the background
    /// threads since open (for `doctor`).
    pub fn failures(&self) -> u64 {
        self.inner.failures.load(Ordering::Relaxed)
    }

    /// The most recent of those failures.
    pub fn last_failure(&self) -> Option<String> {
        self.inner.last_failure.lock().ok().and_then(|f| f.clone())
    }

    /// Whether the store takes no more writes until it is reopened: a
    /// write to its disk failed (see [`EventsError::Poisoned`]). A spool
    /// writer never is.
    pub fn is_poisoned(&self) -> bool {
        match &self.inner.backend {
            Backend::Owner(o) => o.poisoned.load(Ordering::Relaxed),
            Backend::Spool(_) => false,
        }
    }

    pub(crate) fn record_failure(&self, what: &str, err: &EventsError) {
        if matches!(err, EventsError::Poisoned)
            && let Backend::Owner(o) = &self.inner.backend
        {
            o.poisoned.store(true, Ordering::Relaxed);
        }
        self.inner.failures.fetch_add(1, Ordering::Relaxed);
        tracing::error!(code = err.code(), "event store: {what}: {err}");
        if let Ok(mut last) = self.inner.last_failure.lock() {
            *last = Some(format!("{what}: {err}"));
        }
    }
}

/// `fdatasync`s the active journal through a file descriptor of our own,
/// so that appenders keep committing while one thread waits for the disk
/// (fjall's `persist` would hold its journal lock during the fsync).
/// Correct because every commit is already written to the OS, fjall fsyncs
/// a journal before it rotates to the next, and fjall names journals
/// `<n>.jnl` with increasing `n`: syncing the newest one as listed *after*
/// the commit covers it. Falls back to fjall's `persist` on any surprise.
pub(crate) fn sync_journal(owner: &Owner) -> Result<()> {
    injected_sync_failure(owner)?;
    let newest = std::fs::read_dir(&owner.db_dir).ok().and_then(|entries| {
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let id: u64 = name.to_str()?.strip_suffix(".jnl")?.parse().ok()?;
                Some((id, e.path()))
            })
            .max_by_key(|(id, _)| *id)
    });
    match newest.map(|(_, p)| File::open(p).and_then(|f| f.sync_data())) {
        Some(Ok(())) => Ok(()),
        _ => owner.db.persist(PersistMode::SyncData).map_err(|e| {
            // fjall takes no write after a failed flush.
            owner.poisoned.store(true, Ordering::Relaxed);
            e.into()
        }),
    }
}

/// Tests: the failure `Syncer::fail_syncs` asks for.
#[cfg(test)]
fn injected_sync_failure(owner: &Owner) -> Result<()> {
    match &owner.syncer {
        Some(s) if s.fail_syncs.load(Ordering::Relaxed) => Err(EventsError::io(
            "syncing the journal",
            std::io::Error::from_raw_os_error(5),
        )),
        _ => Ok(()),
    }
}

#[cfg(not(test))]
fn injected_sync_failure(_: &Owner) -> Result<()> {
    Ok(())
}

/// Creates `dir` (and missing parents) owner-only: events hold prompts,
/// arguments and answers, for the owner's eyes. An existing directory is
/// left as it is (it may be one the operator chose to share).
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| EventsError::io(format!("creating {}", dir.display()), e))
}

fn acquire_owner_lock(path: &Path) -> Result<PidLock> {
    private_dir(path)?;
    let lock_path = path.join("owner.lock");
    // A store of this very process that another of its threads is closing
    // (its last handle dropped there) releases the lock within
    // milliseconds: wait for that, not for another owner.
    let closing = Instant::now() + Duration::from_millis(500);
    let mut taken = PidLock::acquire(&lock_path);
    while matches!(taken, Err(PidLockError::Busy(Some(pid))) if pid == std::process::id())
        && Instant::now() < closing
    {
        std::thread::sleep(Duration::from_millis(5));
        taken = PidLock::acquire(&lock_path);
    }
    taken.map_err(|e| match e {
        PidLockError::Busy(holder) => EventsError::Locked {
            path: path.to_owned(),
            holder,
        },
        PidLockError::Io(what, e) => EventsError::io(format!("{what} {}", lock_path.display()), e),
    })
}

fn open_owner(config: &StoreConfig, lock: PidLock) -> Result<Owner> {
    // The journal is replayed at open: cap it at fjall's minimum (64 MiB,
    // default 512 MiB) so that reopening after a crash stays well under a
    // second; memtables are flushed to tables when it fills.
    let db_dir = config.path.join("db");
    let db = Database::builder(&db_dir)
        .max_journaling_size(MAX_JOURNAL_BYTES)
        .open()?;
    let ks = |name: &str| db.keyspace(name, KeyspaceCreateOptions::default);
    // Bloom filters only speed up point reads of keys that are missing;
    // these keyspaces are read by range, or by keys that exist, so their
    // filters would be pure cost (CPU at every flush and compaction, disk,
    // memory). A keyspace keeps the options it was created with.
    let scanned = |name: &str| {
        db.keyspace(name, || {
            KeyspaceCreateOptions::default().filter_policy(fjall::config::FilterPolicy::disabled())
        })
    };
    // The format first: a store of a newer one is left untouched.
    let meta = ks("meta")?;
    let meta_u64 = |k: &[u8]| -> Result<u64> {
        Ok(meta.get(k)?.and_then(|v| keys::decode_seq(&v)).unwrap_or(0))
    };
    let format = meta_u64(META_FORMAT)?;
    if format > FORMAT {
        return Err(EventsError::NewerFormat {
            path: config.path.clone(),
            found: format,
            supported: FORMAT,
        });
    }
    let (events, topics, messages, times, agents, memory) = (
        scanned("events")?,
        scanned("index")?,
        scanned("messages")?,
        scanned("by_time")?,
        scanned("by_agent")?,
        ks("memory")?,
    );
    let last_key = match events.last_key_value() {
        Some(g) => keys::decode_seq(&g.key()?).unwrap_or(0),
        None => 0,
    };
    let last_seq = meta_u64(META_LAST_SEQ)?.max(last_key);
    let (counted_to, counted) = match meta.get(META_BYTES_AT)? {
        Some(v) if v.len() == 16 => (
            keys::decode_seq(&v[..8]).unwrap_or(0),
            keys::decode_seq(&v[8..]).unwrap_or(0),
        ),
        _ => (meta_u64(META_LAST_SEQ)?, meta_u64(META_BYTES)?),
    };
    // After a crash, the events past the last checkpoint (at most one
    // maintenance period's worth) are counted again.
    let mut bytes = counted;
    for g in events.range(keys::seq_key(counted_to.saturating_add(1))..) {
        bytes += g.into_inner()?.1.len() as u64;
    }
    drop_kind_index(&db, &topics, &meta)?;
    let keyspaces = Keyspaces {
        topics: &topics,
        messages: &messages,
        times: &times,
        agents: &agents,
    };
    split_index(&db, &keyspaces, &meta)?;
    write_missing_index(&db, &events, &meta, &keyspaces, last_key)?;
    if format != FORMAT {
        meta.insert(META_FORMAT, FORMAT.to_be_bytes())?;
    }
    let syncer = match config.durability {
        Durability::Group { .. } => Some(Arc::new(Syncer::default())),
        Durability::Sync => None,
    };
    Ok(Owner {
        db,
        db_dir,
        events,
        topics,
        messages,
        times,
        agents,
        meta,
        memory,
        write: Mutex::new(WriteState {
            last_seq,
            bytes,
            queued: IndexQueue::default(),
        }),
        indexing: Mutex::new(()),
        durability: config.durability,
        retention: config.retention,
        syncer,
        background: Mutex::new(None),
        poisoned: AtomicBool::new(false),
        _lock: lock,
    })
}

/// Writes the secondary entries of the events past `meta[indexed_to]`
/// from their primary records: after a crash in group mode, those whose
/// entries were still queued. A store without the key predates deferred
/// entries and is complete.
fn write_missing_index(
    db: &Database,
    events: &Keyspace,
    meta: &Keyspace,
    keyspaces: &Keyspaces<'_>,
    last_key: u64,
) -> Result<()> {
    let Some(v) = meta.get(META_INDEXED_TO)? else {
        meta.insert(META_INDEXED_TO, last_key.to_be_bytes())?;
        return Ok(());
    };
    let mut from = keys::decode_seq(&v).unwrap_or(0);
    let mut key = Vec::new();
    while from < last_key {
        let mut batch = db.batch();
        let mut to = from;
        for g in events.range(keys::seq_key(from + 1)..).take(10_000) {
            let (k, v) = g.into_inner()?;
            to = keys::decode_seq(&k).unwrap_or(to);
            // A record that does not decode has no entries (every query
            // skips it, as it would skip its dangling entries).
            let Ok(ev) = crate::query::decode(&v) else {
                tracing::warn!(
                    seq = to,
                    "event store: an event does not decode; it is left out of the index"
                );
                continue;
            };
            let micros = time::parse_ts(&ev.ts).unwrap_or(i64::MIN);
            keyspaces.insert(&mut batch, &ev, micros, &v, &mut key);
        }
        if to == from {
            break;
        }
        batch.insert(meta, META_INDEXED_TO, to.to_be_bytes());
        batch.commit()?;
        from = to;
    }
    Ok(())
}

/// Stores built before each kind of entry had a keyspace of its own kept
/// the time and agent entries with the topic entries (in `index`): move
/// them, once, in chunks (each chunk atomic, so a crash midway leaves every
/// entry in one place or the other, and the next open goes on).
fn split_index(db: &Database, ks: &Keyspaces<'_>, meta: &Keyspace) -> Result<()> {
    if meta.get(META_SPLIT_INDEX)?.is_some() {
        return Ok(());
    }
    for (tag, to) in [(keys::TS, ks.times), (keys::AGENT, ks.agents)] {
        loop {
            let mut batch = db.batch();
            for g in ks.topics.prefix([tag]).take(10_000) {
                let (k, v) = g.into_inner()?;
                batch.insert(to, k.clone(), v);
                batch.remove(ks.topics, k);
            }
            if batch.is_empty() {
                break;
            }
            batch.commit()?;
        }
    }
    meta.insert(META_SPLIT_INDEX, [1u8])?;
    Ok(())
}

/// Stores built before the kind moved into the topic entries' values had
/// a kind index: remove it once, in chunks, so that no entry of it goes
/// stale under retention. Topic entries without a value are read as "kind
/// unknown" and checked on the event.
fn drop_kind_index(db: &Database, index: &Keyspace, meta: &Keyspace) -> Result<()> {
    if meta.get(META_NO_KIND_INDEX)?.is_some() {
        return Ok(());
    }
    let (lo, hi) = (vec![keys::KIND], vec![keys::KIND + 1]);
    loop {
        let mut batch = db.batch();
        let mut n = 0;
        for g in index.range(lo.clone()..hi.clone()).take(10_000) {
            batch.remove(index, g.key()?);
            n += 1;
        }
        if n == 0 {
            break;
        }
        batch.commit()?;
    }
    meta.insert(META_NO_KIND_INDEX, [1u8])?;
    Ok(())
}

impl Owner {
    /// Group mode defers secondary entries; sync mode writes them with
    /// their event.
    pub(crate) fn defers_index(&self) -> bool {
        matches!(self.durability, Durability::Group { .. })
    }

    pub(crate) fn keyspaces(&self) -> Keyspaces<'_> {
        Keyspaces {
            topics: &self.topics,
            messages: &self.messages,
            times: &self.times,
            agents: &self.agents,
        }
    }

    /// The keyspaces of the secondary entries.
    pub(crate) fn secondary(&self) -> [&Keyspace; 4] {
        [&self.topics, &self.messages, &self.times, &self.agents]
    }

    /// Writes the queued secondary entries (see [`crate::index`]): after
    /// this returns, every event appended before it was called is found by
    /// every query.
    pub(crate) fn write_index(&self) -> Result<()> {
        let indexing = self.indexing.lock().map_err(|_| EventsError::Closed)?;
        self.write_index_locked(&indexing)
    }

    /// The same, with `indexing` already held.
    pub(crate) fn write_index_locked(&self, _indexing: &MutexGuard<'_, ()>) -> Result<()> {
        let queued = {
            let mut st = self.write.lock().map_err(|_| EventsError::Closed)?;
            if st.queued.is_empty() {
                return Ok(());
            }
            st.queued.take()
        };
        let mut batch = self.db.batch().durability(Some(PersistMode::Buffer));
        queued.write_into(&mut batch, &self.keyspaces());
        batch.insert(&self.meta, META_INDEXED_TO, queued.last_seq().to_be_bytes());
        if let Err(e) = batch.commit() {
            if let Ok(mut st) = self.write.lock() {
                st.queued.put_back(queued);
            }
            self.poisoned.store(true, Ordering::Relaxed);
            return Err(e.into());
        }
        Ok(())
    }

    /// A clean close with much in the memtables writes them to tables, so
    /// that the next open has little journal to replay (replaying a full
    /// journal takes about a second; a crash still costs that). A close
    /// with little unflushed (a short CLI command) leaves it to the journal
    /// rather than write tiny tables.
    ///
    /// The wait is bounded: fjall's `rotate_memtable_and_wait` polls
    /// without end for a flush, and a close that never ends was seen here
    /// (a benchmark's store after ~1 GB of events); past
    /// [`FLUSH_AT_CLOSE_WAIT`] the close goes on and the next open replays
    /// the journal instead.
    fn flush_at_close(&self) {
        if self.db.write_buffer_size() < FLUSH_AT_CLOSE_BYTES {
            return;
        }
        for ks in [&self.events, &self.meta, &self.memory]
            .into_iter()
            .chain(self.secondary())
        {
            if let Err(e) = ks.rotate_memtable() {
                tracing::warn!(
                    "event store: flushing at close failed ({e}); the next open replays the journal"
                );
                return;
            }
        }
        // The memtables just sealed are flushed by fjall's workers; what
        // is left in the write buffer is what they have not written yet.
        let deadline = Instant::now() + FLUSH_AT_CLOSE_WAIT;
        while self.db.write_buffer_size() >= FLUSH_AT_CLOSE_BYTES {
            if Instant::now() >= deadline {
                tracing::warn!(
                    unflushed = self.db.write_buffer_size(),
                    "event store: the memtables were not flushed within {FLUSH_AT_CLOSE_WAIT:?} of closing; the next open replays the journal"
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Writes the byte-count checkpoint (see [`META_BYTES_AT`]) as of now.
    pub(crate) fn checkpoint_bytes(&self) -> Result<()> {
        let st = self.write.lock().map_err(|_| EventsError::Closed)?;
        self.checkpoint_bytes_locked(&st)
    }

    /// The same, with the append lock already held.
    pub(crate) fn checkpoint_bytes_locked(&self, st: &WriteState) -> Result<()> {
        let mut v = [0u8; 16];
        v[..8].copy_from_slice(&st.last_seq.to_be_bytes());
        v[8..].copy_from_slice(&st.bytes.to_be_bytes());
        Ok(self.meta.insert(META_BYTES_AT, v)?)
    }
}

impl Inner {
    /// Stops and joins the background threads, once (later calls find
    /// them gone).
    fn stop_background(&self) {
        if let Backend::Owner(owner) = &self.backend
            && let Some(bg) = owner.background.lock().ok().and_then(|mut b| b.take())
        {
            bg.stop();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_background();
        if let Backend::Owner(owner) = &self.backend {
            if let Err(e) = owner.write_index() {
                tracing::error!(
                    "event store: writing the index at close failed ({e}); the next open writes it"
                );
            }
            if let Err(e) = owner.checkpoint_bytes() {
                tracing::error!("event store: byte-count checkpoint at close failed: {e}");
            }
            owner.flush_at_close();
            if let Err(e) = owner.db.persist(PersistMode::SyncAll) {
                tracing::error!("event store: final fsync failed: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewEvent;

    /// A store records its format; a store of a newer format is refused,
    /// untouched, with an error that names both formats.
    #[test]
    fn a_store_of_a_newer_format_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let format = |store: &EventStore| {
            let meta = &store.owner().unwrap().meta;
            keys::decode_seq(&meta.get(META_FORMAT).unwrap().unwrap()).unwrap()
        };
        let ev = NewEvent::new("tool.fs", "invocation", serde_json::json!({})).agent("a");
        {
            let store = EventStore::open(StoreConfig::new(dir.path())).unwrap();
            assert_eq!(format(&store), FORMAT);
            store.append(ev).unwrap();
            let meta = &store.owner().unwrap().meta;
            meta.insert(META_FORMAT, (FORMAT + 1).to_be_bytes())
                .unwrap();
        }
        let Err(err) = EventStore::open(StoreConfig::new(dir.path())) else {
            panic!("a newer store was opened");
        };
        assert_eq!(err.code(), "events.newer_format");
        assert_eq!(
            err.to_string(),
            format!(
                "the event store at {} was written by a newer llmagent (store format {}; \
                 this build reads formats up to {FORMAT}): run that version, or use another \
                 store directory",
                dir.path().display(),
                FORMAT + 1
            )
        );
        // Nothing was changed: back at this build's format, it opens whole.
        {
            let cfg = StoreConfig::new(dir.path());
            let db = Database::builder(cfg.path.join("db")).open().unwrap();
            let meta = db.keyspace("meta", KeyspaceCreateOptions::default).unwrap();
            assert_eq!(
                keys::decode_seq(&meta.get(META_FORMAT).unwrap().unwrap()),
                Some(FORMAT + 1)
            );
            meta.insert(META_FORMAT, FORMAT.to_be_bytes()).unwrap();
        }
        let store = EventStore::open(StoreConfig::new(dir.path())).unwrap();
        assert_eq!(store.events_for("a", None).unwrap().len(), 1);
    }

    /// A failed group fsync (EIO, or ENOSPC found at writeback) refuses
    /// appends until an fsync succeeds again: a caller that records before
    /// it acts (a tool call's decision) fails closed.
    #[test]
    fn appends_are_refused_while_the_journal_cannot_be_synced() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = StoreConfig::new(dir.path());
        cfg.durability = Durability::Group {
            max_delay: Duration::from_millis(1),
            max_events: 1,
        };
        let store = EventStore::open(cfg).unwrap();
        let ev = || NewEvent::new("tool.fs", "invocation", serde_json::json!({}));
        let syncer = store.owner().unwrap().syncer.clone().unwrap();
        syncer.fail_syncs.store(true, Ordering::Relaxed);
        assert_eq!(store.append(ev()).unwrap().seq, 1);
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.failures() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(store.failures(), 1);
        let err = store.append(ev()).unwrap_err();
        assert_eq!(err.code(), "events.storage");
        assert_eq!(
            err.to_string(),
            "event store: the journal cannot be synced to disk (syncing the journal: \
             Input/output error (os error 5)); appends are refused until it can"
        );
        assert_eq!(store.last_seq(), 1);
        syncer.fail_syncs.store(false, Ordering::Relaxed);
        assert_eq!(store.append(ev()).unwrap().seq, 2);
    }

    /// A clean close with more than `FLUSH_AT_CLOSE_BYTES` in the memtables
    /// writes them to tables: the next open replays nothing into memory
    /// (reopening after a million events took a second of replay), and
    /// every event is still there. A close with a few events leaves them
    /// to the journal.
    #[test]
    fn a_clean_close_flushes_large_memtables_and_the_next_open_replays_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let open = || EventStore::open(StoreConfig::new(dir.path())).unwrap();
        let ev = |i: u64| {
            NewEvent::new(
                "agent.message",
                "message",
                serde_json::json!({"content": format!("reply {i}: {}", "x".repeat(200))}),
            )
            .agent("a")
        };
        let buffered = |s: &EventStore| s.owner().unwrap().db.write_buffer_size();
        let store = open();
        store.append(ev(0)).unwrap();
        drop(store);
        let store = open();
        assert!(
            buffered(&store) > 0,
            "a small close leaves its events to the journal"
        );
        for b in 0..30u64 {
            store
                .append_batch((0..1000).map(|i| ev(b * 1000 + i)).collect())
                .unwrap();
        }
        assert!(buffered(&store) > FLUSH_AT_CLOSE_BYTES);
        drop(store);
        let store = open();
        assert_eq!(buffered(&store), 0);
        assert_eq!(store.last_seq(), 30_001);
        // Read back on every core (`decode_all`), in order.
        let seqs: Vec<u64> = store
            .messages_for("a")
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (1..=30_001).collect::<Vec<u64>>());
    }
}
