//! The `inotify` host functions: resolve the path, decide, report, then
//! start, poll, stop or list the owner's watches, recording what they saw.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

use super::watches::{MAX_BUFFERED, Watches, mask_of};
use crate::bindings::CapError;
use crate::bindings::inotify::{FsEvent, Host, WatchInfo};
use crate::ctx::Capabilities;
use crate::decision::{Decision, Ruling};
use crate::sink::{Sink, enforce};

/// Topics and kinds of the events recorded (the predecessor's names).
const TOPIC: &str = "tool.inotify";
const TOPIC_EVENT: &str = "tool.inotify.event";

/// Event names a filter may list: more is a confused tool.
const MAX_FILTER: usize = 32;

impl Capabilities {
    /// The registry and the owner, or `unsupported` when the runtime keeps
    /// no watches (a host that builds capabilities without them).
    fn watches(&self) -> Result<(Arc<Watches>, String), CapError> {
        self.watches.clone().ok_or_else(|| {
            CapError::Unsupported(
                "inotify watches need a runtime that keeps them across calls".into(),
            )
        })
    }

    /// Whether a directory found below a recursive watch is granted.
    fn inotify_allows(&self) -> impl Fn(&Path) -> bool + '_ {
        |p: &Path| self.grants.inotify.decide(p).verdict() == crate::Verdict::Allow
    }
}

fn report(sink: &dyn Sink, target: &Path, ruling: &Ruling) -> Result<(), CapError> {
    let target = target.display().to_string();
    enforce(
        sink,
        &Decision::capability("inotify", "watch", &target, ruling),
    )
    .map_err(|e| match e {
        CapError::Denied(mut d) => {
            d.target = format!("watch of {target}");
            CapError::Denied(d)
        }
        other => other,
    })
}

/// Records each event read as `tool.inotify.event` / `fs_event`.
fn record(sink: &dyn Sink, id: u64, events: &[FsEvent]) {
    for e in events {
        sink.event(
            TOPIC_EVENT,
            "fs_event",
            &json!({"watch_id": id, "event": e.event, "path": e.path}),
        );
    }
}

/// The canonical path of `path`, which must be absolute.
fn canonical(path: &str) -> Result<PathBuf, CapError> {
    if !path.starts_with('/') {
        return Err(CapError::InvalidArgument(format!(
            "\"{path}\" is not an absolute path; give the full path, starting with \"/\""
        )));
    }
    std::fs::canonicalize(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CapError::NotFound(format!("Path does not exist: {path}")),
        _ => CapError::Io(format!("cannot resolve {path}: {e}")),
    })
}

impl Host for Capabilities {
    fn watch(
        &mut self,
        path: String,
        events: Vec<String>,
        recursive: bool,
    ) -> wasmtime::Result<Result<u64, CapError>> {
        Ok((|| {
            if events.len() > MAX_FILTER {
                return Err(CapError::InvalidArgument(format!(
                    "at most {MAX_FILTER} event names"
                )));
            }
            let mask = mask_of(&events)?;
            let (watches, owner) = self.watches()?;
            let target = canonical(&path)?;
            let policy = &self.grants.inotify;
            let sink = self.sink.as_ref();
            report(sink, &target, &policy.decide(&target))?;
            report(sink, &target, &policy.decide_count(watches.held(&owner)))?;
            let allowed = self.inotify_allows();
            let id = watches.start(
                &owner,
                &target,
                mask,
                recursive,
                policy.max_watches as usize,
                &allowed,
            )?;
            sink.event(
                TOPIC,
                "watch_started",
                &json!({"watch_id": id, "path": target.display().to_string()}),
            );
            Ok(id)
        })())
    }

    fn poll(
        &mut self,
        watch_id: u64,
        max: u32,
    ) -> wasmtime::Result<Result<(Vec<FsEvent>, bool), CapError>> {
        Ok((|| {
            let (watches, owner) = self.watches()?;
            let max = match max as usize {
                0 => MAX_BUFFERED,
                n => n.min(MAX_BUFFERED),
            };
            let allowed = self.inotify_allows();
            let (events, overflowed, fresh) = watches.poll(&owner, watch_id, max, &allowed)?;
            record(self.sink.as_ref(), watch_id, &fresh);
            Ok((events, overflowed))
        })())
    }

    fn stop(&mut self, watch_id: u64) -> wasmtime::Result<Result<Vec<FsEvent>, CapError>> {
        Ok((|| {
            let (watches, owner) = self.watches()?;
            let allowed = self.inotify_allows();
            let (path, events, fresh) = watches.stop(&owner, watch_id, &allowed)?;
            let sink = self.sink.as_ref();
            record(sink, watch_id, &fresh);
            sink.event(
                TOPIC,
                "watch_stopped",
                &json!({"watch_id": watch_id, "path": path, "final_event_count": events.len()}),
            );
            Ok(events)
        })())
    }

    fn list_watches(&mut self) -> wasmtime::Result<Result<Vec<WatchInfo>, CapError>> {
        Ok((|| {
            let (watches, owner) = self.watches()?;
            let allowed = self.inotify_allows();
            let (infos, fresh) = watches.list(&owner, &allowed);
            for (id, event) in fresh {
                record(self.sink.as_ref(), id, std::slice::from_ref(&event));
            }
            Ok(infos)
        })())
    }
}
