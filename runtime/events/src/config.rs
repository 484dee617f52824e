//! How a store is opened: where, how durable, how long kept, what redacted.

use std::path::PathBuf;
use std::time::Duration;

use crate::redact::Redaction;

/// Everything [`crate::EventStore::open`] needs.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The store's directory (created if missing). It holds `db/` (fjall),
    /// `spool/` (events from other processes) and `owner.lock`.
    pub path: PathBuf,
    /// When an append is acknowledged.
    pub durability: Durability,
    /// What the background thread deletes.
    pub retention: Retention,
    /// Which data fields are stored as `"[redacted]"`.
    pub redaction: Redaction,
}

impl StoreConfig {
    /// Defaults (group commit, keep everything, default redaction) at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durability: Durability::default(),
            retention: Retention::default(),
            redaction: Redaction::default(),
        }
    }
}

/// When an append returns.
///
/// In both modes each append is written to the OS (page cache) before it
/// returns, so a crash of the process alone (panic, `kill -9`, OOM kill)
/// loses nothing acknowledged. The modes differ for a crash of the machine
/// (power loss, kernel panic):
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fdatasync` of the journal before every append returns: nothing
    /// acknowledged is ever lost. Concurrent appenders share fsyncs.
    /// Costs one fsync per append (≈ 0.3–5 ms on common disks).
    Sync,
    /// Group commit: appends return once written to the OS; a background
    /// thread `fdatasync`s the journal at the latest `max_delay` after the
    /// first unsynced append, or as soon as `max_events` are unsynced.
    /// **Loss window**: a machine crash loses at most the events
    /// acknowledged since the last completed sync, i.e. at most
    /// `max_events` events and at most `max_delay` plus one fsync's
    /// duration of them.
    Group {
        /// Longest an acknowledged event stays unsynced (plus fsync time).
        max_delay: Duration,
        /// Most acknowledged events left unsynced.
        max_events: usize,
    },
}

impl Default for Durability {
    /// Group commit every 5 ms or 1000 events.
    fn default() -> Self {
        Self::Group {
            max_delay: Duration::from_millis(5),
            max_events: 1000,
        }
    }
}

/// What the background thread deletes, oldest first. `None` keeps all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Delete events older than this (by `ts`).
    pub max_age: Option<Duration>,
    /// Delete the oldest events while the stored events' encoded size
    /// exceeds this (index overhead not counted; disk use follows after
    /// compaction).
    pub max_bytes: Option<u64>,
    /// How often the background thread checks (default one minute).
    pub check_every: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age: None,
            max_bytes: None,
            check_every: Duration::from_secs(60),
        }
    }
}
