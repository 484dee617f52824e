//! The crate's one error type.
//!
//! Every variant has a stable code ([`EventsError::code`]) that `doctor`,
//! scripts and the event log can match on; the `Display` text is for people
//! and may change.

use std::path::PathBuf;

/// What went wrong in the event store, the spool or a memory backend.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// Another process holds the store (fjall allows one process per
    /// database). Writers can use [`crate::EventStore::open_or_spool`].
    #[error("the event store at {path} is held by another process{}", holder_text(.holder))]
    Locked {
        /// The store directory.
        path: PathBuf,
        /// The pid written by the holder, when it could be read.
        holder: Option<u32>,
    },
    /// This handle is a spool writer (another process owns the store), and
    /// the operation needs the database itself.
    #[error("this process only spools events; the store is owned by another process")]
    NotOwner,
    /// An I/O error outside fjall (directories, lock file, spool files).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// fjall reported an error (disk full, corruption, poisoned after a
    /// failed fsync …).
    #[error("event store: {0}")]
    Storage(String),
    /// A stored record could not be decoded.
    #[error("corrupt record in {keyspace}: {detail}")]
    Corrupt {
        /// The keyspace holding it.
        keyspace: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A timestamp argument was not RFC 3339.
    #[error("invalid timestamp {input:?}: expected RFC 3339 like 2026-11-25T08:01:02.123456Z")]
    InvalidTimestamp {
        /// What was given.
        input: String,
    },
    /// The store was written by a newer llmagent, in a layout this build
    /// does not know (its queries would miss events): it is not opened.
    #[error(
        "the event store at {path} was written by a newer llmagent (store format {found}; this build reads formats up to {supported}): run that version, or use another store directory"
    )]
    NewerFormat {
        /// The store directory.
        path: PathBuf,
        /// The store's format.
        found: u64,
        /// The newest format this build reads.
        supported: u64,
    },
    /// The store has been closed (its background writer stopped).
    #[error("the event store is closed")]
    Closed,
    /// A write to the store's disk failed earlier in this process; fjall
    /// takes no write after one, so that the log stays consistent. The
    /// store takes writes again once reopened.
    #[error(
        "the event store takes no more writes: a write to its disk failed, after which it refuses every write to stay consistent; make the disk writable (space, permissions), then restart llmagent"
    )]
    Poisoned,
}

fn holder_text(holder: &Option<u32>) -> String {
    holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

impl EventsError {
    /// The stable code of this error (`events.locked` …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Locked { .. } => "events.locked",
            Self::NotOwner => "events.not_owner",
            Self::Io { .. } => "events.io",
            Self::Storage(_) => "events.storage",
            Self::Corrupt { .. } => "events.corrupt",
            Self::InvalidTimestamp { .. } => "events.invalid_timestamp",
            Self::NewerFormat { .. } => "events.newer_format",
            Self::Closed => "events.closed",
            Self::Poisoned => "events.poisoned",
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<fjall::Error> for EventsError {
    fn from(e: fjall::Error) -> Self {
        match e {
            fjall::Error::Poisoned => Self::Poisoned,
            other => Self::Storage(other.to_string()),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = EventsError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::EventsError;

    #[test]
    fn a_store_that_takes_no_more_writes_says_to_restart() {
        let e = EventsError::from(fjall::Error::Poisoned);
        assert_eq!(e.code(), "events.poisoned");
        assert_eq!(
            e.to_string(),
            "the event store takes no more writes: a write to its disk failed, after which it refuses every write to stay consistent; make the disk writable (space, permissions), then restart llmagent"
        );
    }
}
