//! A pid lock file: an exclusive advisory lock (`flock`, never waited for)
//! with the holder's pid written in it, released by the kernel when the
//! process exits, however it exits. The event store's owner lock and each
//! agent's one-writer lock are both one.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

/// Why a pid lock was not taken.
#[derive(Debug)]
pub enum PidLockError {
    /// Another holder has it; its pid when the file could be read.
    Busy(Option<u32>),
    /// The file could not be opened, locked or written (what, and why).
    Io(&'static str, std::io::Error),
}

/// A held pid lock; released when dropped.
#[derive(Debug)]
pub struct PidLock {
    /// Holding the open file is holding the lock.
    _file: File,
}

impl PidLock {
    /// Takes the lock at `path` (created if missing) and writes this
    /// process's pid in it.
    ///
    /// # Errors
    /// [`PidLockError::Busy`] when another holder has it.
    pub fn acquire(path: &Path) -> Result<PidLock, PidLockError> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| PidLockError::Io("opening", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let holder = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(PidLockError::Busy(holder));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(PidLockError::Io("locking", e)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(std::process::id().to_string().as_bytes()))
            .map_err(|e| PidLockError::Io("writing", e))?;
        Ok(PidLock { _file: file })
    }
}
