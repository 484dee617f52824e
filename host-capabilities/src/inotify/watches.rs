//! The watches: host state owned by an agent, not by a call. A
//! [`Watches`] registry lives as long as the runtime and holds each
//! owner's watches by id; a call reaches only its own owner's.
//!
//! Each watch is its own inotify instance (the `inotify` crate over the
//! kernel's API). Events wait in the kernel's queue (bounded by
//! `fs.inotify.max_queued_events`; past it the kernel reports an
//! overflow) until the owner's next `poll`, `stop` or `list`, which reads
//! them without blocking into the watch's buffer of at most
//! [`MAX_BUFFERED`] events; what does not fit is dropped and the overflow
//! flag set.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};

use crate::bindings::CapError;
use crate::bindings::inotify::{FsEvent, WatchInfo};

/// Events one watch buffers between polls: enough for a burst of log
/// lines, small enough that a busy tree cannot fill memory.
pub const MAX_BUFFERED: usize = 1024;

/// Directories one recursive watch may cover (each is a kernel watch,
/// counted against `fs.inotify.max_user_watches`).
pub const MAX_DIRS: usize = 4096;

/// The kernel's names of the event bits, in bit order, as `inotifywait`
/// prints them.
const NAMES: &[(EventMask, &str)] = &[
    (EventMask::ACCESS, "ACCESS"),
    (EventMask::MODIFY, "MODIFY"),
    (EventMask::ATTRIB, "ATTRIB"),
    (EventMask::CLOSE_WRITE, "CLOSE_WRITE"),
    (EventMask::CLOSE_NOWRITE, "CLOSE_NOWRITE"),
    (EventMask::OPEN, "OPEN"),
    (EventMask::MOVED_FROM, "MOVED_FROM"),
    (EventMask::MOVED_TO, "MOVED_TO"),
    (EventMask::CREATE, "CREATE"),
    (EventMask::DELETE, "DELETE"),
    (EventMask::DELETE_SELF, "DELETE_SELF"),
    (EventMask::MOVE_SELF, "MOVE_SELF"),
    (EventMask::UNMOUNT, "UNMOUNT"),
];

/// The names a tool may filter on, lower or upper case, and their bits.
pub(crate) fn mask_of(names: &[String]) -> Result<WatchMask, CapError> {
    if names.is_empty() {
        return Ok(WatchMask::ALL_EVENTS);
    }
    let mut mask = WatchMask::empty();
    for name in names {
        mask |= match name.to_ascii_lowercase().as_str() {
            "access" => WatchMask::ACCESS,
            "modify" => WatchMask::MODIFY,
            "attrib" => WatchMask::ATTRIB,
            "close_write" => WatchMask::CLOSE_WRITE,
            "close_nowrite" => WatchMask::CLOSE_NOWRITE,
            "close" => WatchMask::CLOSE,
            "open" => WatchMask::OPEN,
            "moved_from" => WatchMask::MOVED_FROM,
            "moved_to" => WatchMask::MOVED_TO,
            "move" => WatchMask::MOVE,
            "create" => WatchMask::CREATE,
            "delete" => WatchMask::DELETE,
            "delete_self" => WatchMask::DELETE_SELF,
            "move_self" => WatchMask::MOVE_SELF,
            "all" => WatchMask::ALL_EVENTS,
            _ => {
                return Err(CapError::InvalidArgument(format!(
                    "\"{name}\" is not an inotify event; use access, modify, attrib, close_write, close_nowrite, close, open, moved_from, moved_to, move, create, delete, delete_self, move_self or all"
                )));
            }
        };
    }
    Ok(mask)
}

/// `CREATE`, `CLOSE_WRITE,CLOSE`, `CREATE,ISDIR`: the event's names.
fn names_of(mask: EventMask) -> String {
    let mut names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| mask.contains(*bit))
        .map(|(_, name)| *name)
        .collect();
    if mask.intersects(EventMask::CLOSE_WRITE | EventMask::CLOSE_NOWRITE) {
        names.push("CLOSE");
    }
    if mask.contains(EventMask::ISDIR) {
        names.push("ISDIR");
    }
    names.join(",")
}

/// One watch.
struct Watch {
    path: PathBuf,
    recursive: bool,
    mask: WatchMask,
    inotify: Inotify,
    /// The directory (or file) each kernel watch stands for.
    dirs: HashMap<WatchDescriptor, PathBuf>,
    buffer: VecDeque<FsEvent>,
    overflowed: bool,
}

impl Watch {
    fn add(&mut self, path: &Path, extra: WatchMask) -> std::io::Result<()> {
        let wd = self
            .inotify
            .watches()
            .add(path, self.mask | WatchMask::DONT_FOLLOW | extra)?;
        self.dirs.insert(wd, path.to_owned());
        Ok(())
    }

    /// Adds the directories below `dir` (not following symlinks) that
    /// `allowed` grants, up to [`MAX_DIRS`].
    fn add_tree(&mut self, dir: &Path, allowed: &dyn Fn(&Path) -> bool) {
        let mut pending = vec![dir.to_owned()];
        while let Some(next) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&next) else {
                continue;
            };
            for entry in entries.flatten() {
                if self.dirs.len() >= MAX_DIRS {
                    return;
                }
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                let path = entry.path();
                if is_dir && allowed(&path) && self.add(&path, WatchMask::ONLYDIR).is_ok() {
                    pending.push(path);
                }
            }
        }
    }

    /// Reads what the kernel queued, without blocking; answers the events
    /// buffered now (the ones dropped for lack of room are not).
    fn drain(&mut self, allowed: &dyn Fn(&Path) -> bool) -> Vec<FsEvent> {
        let mut fresh = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let events = match self.inotify.read_events(&mut buf) {
                Ok(events) => events,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            };
            let mut read_any = false;
            let mut new_dirs = Vec::new();
            for event in events {
                read_any = true;
                if event.mask.contains(EventMask::Q_OVERFLOW) {
                    self.overflowed = true;
                    continue;
                }
                if event.mask.contains(EventMask::IGNORED) {
                    self.dirs.remove(&event.wd);
                    continue;
                }
                let Some(dir) = self.dirs.get(&event.wd) else {
                    continue;
                };
                let path = match event.name {
                    Some(name) if !name.is_empty() => dir.join(name),
                    _ => dir.clone(),
                };
                if self.recursive
                    && event.mask.contains(EventMask::ISDIR)
                    && event
                        .mask
                        .intersects(EventMask::CREATE | EventMask::MOVED_TO)
                {
                    new_dirs.push(path.clone());
                }
                let names = names_of(event.mask);
                if names.is_empty() {
                    continue;
                }
                let fs_event = FsEvent {
                    event: names,
                    path: path.to_string_lossy().into_owned(),
                    timestamp: jiff::Timestamp::now().to_string(),
                };
                if self.buffer.len() >= MAX_BUFFERED {
                    self.overflowed = true;
                } else {
                    self.buffer.push_back(fs_event.clone());
                    fresh.push(fs_event);
                }
            }
            for dir in new_dirs {
                if self.dirs.len() < MAX_DIRS
                    && allowed(&dir)
                    && self.add(&dir, WatchMask::ONLYDIR).is_ok()
                {
                    self.add_tree(&dir, allowed);
                }
            }
            if !read_any {
                break;
            }
        }
        fresh
    }

    fn info(&self, id: u64) -> WatchInfo {
        WatchInfo {
            watch_id: id,
            path: self.path.to_string_lossy().into_owned(),
            pending: u32::try_from(self.buffer.len()).unwrap_or(u32::MAX),
        }
    }
}

/// What [`Watches::drop_owner`] closed: id, path and the events left.
pub type Closed = (u64, String, usize);

/// Every agent's watches. Shared by every call of a runtime.
#[derive(Default)]
pub struct Watches {
    inner: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    /// Ids are unique in the runtime, from 1, as the predecessor's were.
    last_id: u64,
    by_owner: HashMap<String, BTreeMap<u64, Watch>>,
}

impl std::fmt::Debug for Watches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watches").finish_non_exhaustive()
    }
}

impl Watches {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while the lock was held leaves whole watches behind,
        // never half-made ones: carry on with them.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes every watch `owner` holds (an agent that ends); answers
    /// what was closed.
    pub fn drop_owner(&self, owner: &str) -> Vec<Closed> {
        let removed = self.lock().by_owner.remove(owner).unwrap_or_default();
        removed
            .into_iter()
            .map(|(id, w)| (id, w.path.to_string_lossy().into_owned(), w.buffer.len()))
            .collect()
    }

    /// How many watches `owner` holds.
    pub fn held(&self, owner: &str) -> usize {
        self.lock().by_owner.get(owner).map_or(0, BTreeMap::len)
    }

    /// Starts a watch of `path` (canonical, already allowed) for `owner`;
    /// answers its id. `max` is the owner's limit, checked again under the
    /// lock.
    pub(crate) fn start(
        &self,
        owner: &str,
        path: &Path,
        mask: WatchMask,
        recursive: bool,
        max: usize,
        allowed: &dyn Fn(&Path) -> bool,
    ) -> Result<u64, CapError> {
        let inotify = Inotify::init()
            .map_err(|e| CapError::Io(format!("cannot open an inotify instance: {e}")))?;
        let mut watch = Watch {
            path: path.to_owned(),
            recursive,
            mask,
            inotify,
            dirs: HashMap::new(),
            buffer: VecDeque::new(),
            overflowed: false,
        };
        watch
            .add(path, WatchMask::empty())
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => {
                    CapError::NotFound(format!("{} does not exist", path.display()))
                }
                _ => CapError::Io(format!("cannot watch {}: {e}", path.display())),
            })?;
        if recursive && path.is_dir() {
            watch.add_tree(path, allowed);
        }
        let mut registry = self.lock();
        if registry.by_owner.get(owner).map_or(0, BTreeMap::len) >= max {
            return Err(CapError::TooLarge(format!(
                "the agent already holds {max} watches"
            )));
        }
        registry.last_id += 1;
        let id = registry.last_id;
        registry
            .by_owner
            .entry(owner.to_owned())
            .or_default()
            .insert(id, watch);
        Ok(id)
    }

    /// Reads the kernel's queue of `owner`'s watch `id` and takes up to
    /// `max` buffered events; `fresh` receives the events read now (for
    /// `tool.inotify.event`), with the watch's path.
    pub(crate) fn poll(
        &self,
        owner: &str,
        id: u64,
        max: usize,
        allowed: &dyn Fn(&Path) -> bool,
    ) -> Result<(Vec<FsEvent>, bool, Vec<FsEvent>), CapError> {
        let mut registry = self.lock();
        let watch = registry
            .by_owner
            .get_mut(owner)
            .and_then(|w| w.get_mut(&id))
            .ok_or_else(|| no_watch(id))?;
        let fresh = watch.drain(allowed);
        let take = max.min(watch.buffer.len());
        let events: Vec<FsEvent> = watch.buffer.drain(..take).collect();
        let overflowed = std::mem::take(&mut watch.overflowed);
        Ok((events, overflowed, fresh))
    }

    /// Stops `owner`'s watch `id`; answers its path, the events it still
    /// had and the ones read now.
    pub(crate) fn stop(
        &self,
        owner: &str,
        id: u64,
        allowed: &dyn Fn(&Path) -> bool,
    ) -> Result<(String, Vec<FsEvent>, Vec<FsEvent>), CapError> {
        let mut registry = self.lock();
        let mut watch = registry
            .by_owner
            .get_mut(owner)
            .and_then(|w| w.remove(&id))
            .ok_or_else(|| no_watch(id))?;
        if registry.by_owner.get(owner).is_some_and(BTreeMap::is_empty) {
            registry.by_owner.remove(owner);
        }
        drop(registry);
        let fresh = watch.drain(allowed);
        Ok((
            watch.path.to_string_lossy().into_owned(),
            watch.buffer.drain(..).collect(),
            fresh,
        ))
    }

    /// `owner`'s watches, after reading what the kernel queued; the events
    /// read now come back for `tool.inotify.event`, each with its watch id.
    pub(crate) fn list(
        &self,
        owner: &str,
        allowed: &dyn Fn(&Path) -> bool,
    ) -> (Vec<WatchInfo>, Vec<(u64, FsEvent)>) {
        let mut registry = self.lock();
        let mut infos = Vec::new();
        let mut fresh = Vec::new();
        if let Some(watches) = registry.by_owner.get_mut(owner) {
            for (id, watch) in watches.iter_mut() {
                fresh.extend(watch.drain(allowed).into_iter().map(|e| (*id, e)));
                infos.push(watch.info(*id));
            }
        }
        (infos, fresh)
    }
}

fn no_watch(id: u64) -> CapError {
    CapError::NotFound(format!("No active watch with id {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_follow_inotifywait() {
        assert_eq!(names_of(EventMask::CREATE), "CREATE");
        assert_eq!(names_of(EventMask::CLOSE_WRITE), "CLOSE_WRITE,CLOSE");
        assert_eq!(
            names_of(EventMask::CREATE | EventMask::ISDIR),
            "CREATE,ISDIR"
        );
        assert_eq!(names_of(EventMask::MOVED_FROM), "MOVED_FROM");
    }

    #[test]
    fn the_filter_takes_names_in_either_case_and_refuses_others() {
        assert_eq!(mask_of(&[]).unwrap(), WatchMask::ALL_EVENTS);
        assert_eq!(
            mask_of(&["create".into(), "DELETE".into()]).unwrap(),
            WatchMask::CREATE | WatchMask::DELETE
        );
        assert_eq!(mask_of(&["move".into()]).unwrap(), WatchMask::MOVE);
        let Err(CapError::InvalidArgument(why)) = mask_of(&["explode".into()]) else {
            panic!("explode is no event");
        };
        assert!(
            why.starts_with("\"explode\" is not an inotify event"),
            "{why}"
        );
    }
}
