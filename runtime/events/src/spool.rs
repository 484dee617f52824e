//! Events from processes that do not own the store.
//!
//! A spool writer appends each batch as JSON lines (one [`Event`] per line,
//! `seq` 0) to its own file `spool/<pid>-<16 hex>.jsonl`, written with one
//! `write` call per batch and, in [`Durability::Sync`], `fdatasync`ed before
//! the append returns. It holds an `flock` on the file while it lives.
//!
//! The owner ingests every spool file at open and then every 100 ms: it
//! reads the complete lines past the offset it has recorded for that file,
//! and commits those events (with new seqs, keeping their `ts`) together
//! with the new offset in one atomic batch, so each line is ingested exactly
//! once even across crashes. When it can take the file's lock (the writer
//! is gone) and has read everything, it deletes the file; a trailing partial
//! line (a writer killed mid-write, never acknowledged) is dropped.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::config::Durability;
use crate::error::{EventsError, Result};
use crate::event::{Event, NewEvent};
use crate::keys;
use crate::store::{EventStore, Pending};
use crate::time;

/// Most bytes ingested from one spool file per commit (bounds memory).
const INGEST_CHUNK: u64 = 4 << 20;

/// The longest spool line (one event, newline excluded) a writer may write:
/// one less than a chunk, so that every line can be read whole.
const MAX_LINE: usize = (INGEST_CHUNK - 1) as usize;

pub(crate) struct SpoolWriter {
    file: Mutex<File>,
    durability: Durability,
}

fn spool_dir(store: &Path) -> PathBuf {
    store.join("spool")
}

impl SpoolWriter {
    pub(crate) fn create(store: &Path, durability: Durability) -> Result<Self> {
        let dir = spool_dir(store);
        crate::store::private_dir(&dir)?;
        let name = format!(
            "{}-{}.jsonl",
            std::process::id(),
            &crate::ids::new_id("")[..16]
        );
        let path = dir.join(name);
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| EventsError::io(format!("creating {}", path.display()), e))?;
        file.try_lock()
            .map_err(|e| EventsError::io(format!("locking {}", path.display()), e.into()))?;
        Ok(Self {
            file: Mutex::new(file),
            durability,
        })
    }

    pub(crate) fn append(&self, pending: Vec<Pending>) -> Result<Vec<Event>> {
        let now = time::now();
        let mut buf = Vec::new();
        let mut events = Vec::with_capacity(pending.len());
        for p in pending {
            let (_, ts) = p.ts.unwrap_or_else(|| now.clone());
            let ev = p.event.into_event(0, ts);
            let start = buf.len();
            serde_json::to_writer(&mut buf, &ev)
                .map_err(|e| EventsError::Storage(e.to_string()))?;
            // The owner reads at most a chunk at a time: a longer line
            // could never be read back.
            if buf.len() - start >= MAX_LINE {
                return Err(EventsError::Storage(format!(
                    "an event of {} bytes is over the spool's line limit of {MAX_LINE} bytes",
                    buf.len() - start
                )));
            }
            buf.push(b'\n');
            events.push(ev);
        }
        let mut file = self.file.lock().map_err(|_| EventsError::Closed)?;
        file.write_all(&buf)
            .map_err(|e| EventsError::io("writing the spool file", e))?;
        if self.durability == Durability::Sync {
            file.sync_data()
                .map_err(|e| EventsError::io("syncing the spool file", e))?;
        }
        Ok(events)
    }

    pub(crate) fn sync(&self) -> Result<()> {
        let file = self.file.lock().map_err(|_| EventsError::Closed)?;
        file.sync_data()
            .map_err(|e| EventsError::io("syncing the spool file", e))
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        if let Ok(f) = self.file.lock() {
            let _ = f.sync_data();
        }
    }
}

impl EventStore {
    /// Ingests what other processes spooled; failures are counted, never
    /// returned (the next poll retries).
    pub(crate) fn ingest_spool(&self) {
        let dir = spool_dir(self.path());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "jsonl")
                && let Err(e) = self.ingest_file(&path)
            {
                self.record_failure(&format!("ingesting {}", path.display()), &e);
            }
        }
    }

    fn ingest_file(&self, path: &Path) -> Result<()> {
        let owner = self.owner()?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let meta_key = format!("spool:{name}").into_bytes();
        let io = |e| EventsError::io(format!("reading {}", path.display()), e);
        let mut file = File::open(path).map_err(io)?;
        // Lock first: if we get it the writer is gone and the file is final.
        let writer_gone = file.try_lock().is_ok();
        loop {
            let offset = owner
                .meta
                .get(&meta_key)?
                .and_then(|v| keys::decode_seq(&v))
                .unwrap_or(0);
            file.seek(SeekFrom::Start(offset)).map_err(io)?;
            let mut buf = Vec::new();
            (&mut file)
                .take(INGEST_CHUNK)
                .read_to_end(&mut buf)
                .map_err(io)?;
            let complete = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            if complete == 0 && buf.len() == INGEST_CHUNK as usize {
                // A line longer than any writer may write: not ours to
                // trust, and it would be re-read forever. Set the file
                // aside (no longer `.jsonl`), loudly, and go on.
                let aside = path.with_extension("quarantined");
                std::fs::rename(path, &aside).map_err(io)?;
                owner.meta.remove(meta_key)?;
                return Err(EventsError::Corrupt {
                    keyspace: "spool",
                    detail: format!(
                        "a line over {MAX_LINE} bytes at offset {offset}; the file is set aside as {}",
                        aside.display()
                    ),
                });
            }
            if complete == 0 {
                // Nothing new, or only a partial line.
                if writer_gone && (buf.is_empty() || buf.len() < INGEST_CHUNK as usize) {
                    std::fs::remove_file(path).map_err(io)?;
                    owner.meta.remove(meta_key)?;
                }
                return Ok(());
            }
            let mut pending = Vec::new();
            for line in buf[..complete]
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
            {
                match parse_line(line) {
                    Ok(p) => pending.push(p),
                    Err(e) => self.record_failure(&format!("bad line in {}", path.display()), &e),
                }
            }
            let new_offset = offset + complete as u64;
            self.commit(pending, &[(meta_key.clone(), new_offset)])?;
        }
    }
}

pub(crate) fn parse_line(line: &[u8]) -> Result<Pending> {
    let ev: Event = serde_json::from_slice(line).map_err(|e| EventsError::Corrupt {
        keyspace: "spool",
        detail: e.to_string(),
    })?;
    let micros = time::parse_ts(&ev.ts)?;
    let ts = Some((micros, ev.ts.clone()));
    Ok(Pending {
        event: NewEvent::from(ev),
        ts,
    })
}
