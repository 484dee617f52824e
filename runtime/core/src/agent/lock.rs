//! One agent, one writer: an agent's conversation is appended by one
//! process at a time.
//!
//! Two processes running the same agent would interleave its history (each
//! rebuilt from the log, each appending its own turns). So an agent with
//! an event store holds an advisory lock (`flock`, exclusive, never
//! waited for) on `agents/<name>.lock` inside the store's directory, with
//! its pid written in it; the kernel releases it when the process exits,
//! however it exits. A second agent of the same name, in this process or
//! another, is refused with a message naming the holder's pid.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Agent names longer than this (or with other characters than
/// `[A-Za-z0-9_-]`) are hashed for their lock file's name.
const MAX_PLAIN_NAME: usize = 64;

/// Why an agent could not take its lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another agent of that name holds it.
    #[error(
        "agent `{agent}` is already running{}; one agent's conversation has one writer: stop it first, or run this one with another name (--name)",
        holder.map(|p| format!(" in process {p}")).unwrap_or_default()
    )]
    Busy {
        /// The agent.
        agent: String,
        /// The pid of the process holding it, when it could be read.
        holder: Option<u32>,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be made or locked.
    #[error("cannot lock agent `{agent}` at {}: {source}", path.display())]
    Io {
        /// The agent.
        agent: String,
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A held agent lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub(crate) struct AgentLock {
    _lock: llmagent_events::PidLock,
}

impl AgentLock {
    /// Takes the lock of agent `name` in the event store at `store_dir`.
    pub(crate) fn acquire(store_dir: &Path, name: &str) -> Result<AgentLock, LockError> {
        let dir = store_dir.join("agents");
        let path = dir.join(format!("{}.lock", file_name(name)));
        std::fs::create_dir_all(&dir).map_err(|source| LockError::Io {
            agent: name.to_owned(),
            path: path.clone(),
            source,
        })?;
        let lock = llmagent_events::PidLock::acquire(&path).map_err(|e| match e {
            llmagent_events::PidLockError::Busy(holder) => LockError::Busy {
                agent: name.to_owned(),
                holder,
                path: path.clone(),
            },
            llmagent_events::PidLockError::Io(_, source) => LockError::Io {
                agent: name.to_owned(),
                path: path.clone(),
                source,
            },
        })?;
        Ok(AgentLock { _lock: lock })
    }
}

/// The lock file's name for agent `name`: the name itself when it is
/// short and plain, else `sha256-<hex>` of it (a name from `--name` may be
/// anything; a path must not be).
fn file_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= MAX_PLAIN_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        name.to_owned()
    } else {
        format!("sha256-{}", hex::encode(Sha256::digest(name.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_naming_the_first_and_a_drop_releases() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = AgentLock::acquire(dir.path(), "ops");
        assert!(first.is_ok());
        let second = AgentLock::acquire(dir.path(), "ops").err();
        let pid = std::process::id();
        assert_eq!(
            second.as_ref().map(ToString::to_string),
            Some(format!(
                "agent `ops` is already running in process {pid}; one agent's conversation has one writer: stop it first, or run this one with another name (--name)"
            ))
        );
        assert!(AgentLock::acquire(dir.path(), "other").is_ok());
        drop(first);
        assert!(AgentLock::acquire(dir.path(), "ops").is_ok());
    }

    #[test]
    fn odd_names_get_hashed_file_names() {
        assert_eq!(file_name("ops-1"), "ops-1");
        assert_eq!(file_name("../x").len(), "sha256-".len() + 64);
        assert_eq!(file_name(&"a".repeat(65)).len(), "sha256-".len() + 64);
    }
}
