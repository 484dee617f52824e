//! The `inotify` capability (`wit/inotify.wit`) and its policy section
//! `[roles.R.inotify]`.
//!
//! ```toml
//! [roles.ops.inotify]
//! paths = ["/var/log/**", "/etc/nginx/**"]   # globs over canonical paths
//! max_watches = 8                            # per agent (the default)
//! ```
//!
//! Watches are made with the `inotify` crate, never by running
//! `inotifywait`. A path is resolved to its canonical form first (so
//! `..` and symlinks cannot leave a granted tree) and must match a `paths`
//! glob, matched as `[roles.R.fs]` globs are (`dir/**` covers `dir`). A
//! recursive watch adds the directories below, not following symlinks,
//! each only if granted, and follows directories created later. The
//! `events` filter is the kernel's mask (`create`, `modify`, `close_write`,
//! `move`, `delete` …; all when empty).
//!
//! **Ownership.** Watches are host state in a [`Watches`] registry the
//! runtime keeps: they outlive the call that made them, belong to the
//! agent that made them (another agent gets `not-found` for their ids),
//! and are closed when that agent ends. An agent holds at most
//! `max_watches`.
//!
//! **Events.** Each watch buffers at most
//! [`MAX_BUFFERED`](watches::MAX_BUFFERED) events; a poll answers whether
//! any were dropped since the last one. Every event read is also recorded
//! through the [`Sink`](crate::Sink) as `tool.inotify.event` / `fs_event`
//! `{watch_id, event, path}`; starting and stopping a watch as
//! `tool.inotify` / `watch_started` `{watch_id, path}` and `watch_stopped`
//! `{watch_id, path, final_event_count}`. Decisions go to the sink as
//! capability `inotify`, operation `watch`, target the canonical path.

mod host;
mod policy;
#[cfg(test)]
mod tests;
pub mod watches;

pub use policy::{DEFAULT_MAX_WATCHES, InotifyPolicy, InotifyToml, MAX_MAX_WATCHES};
pub use watches::Watches;
