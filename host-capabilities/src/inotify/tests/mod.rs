//! Host-level tests: `inotify` called directly on [`Capabilities`] built
//! from an inline policy over a temporary directory, with real inotify.

mod host;

use std::sync::Arc;

use super::{InotifyPolicy, InotifyToml, Watches};
use crate::ctx::{Capabilities, Grants};
pub(super) use crate::sink::Recorder;

/// Capabilities of role `ops` with `[roles.ops.inotify]` `paths` and
/// `max_watches`, for `owner`, over `watches`, and its sink.
pub(super) fn caps(
    paths: &[String],
    max_watches: Option<u32>,
    watches: &Arc<Watches>,
    owner: &str,
) -> (Capabilities, Arc<Recorder>) {
    let raw = InotifyToml {
        paths: paths.to_vec(),
        max_watches,
    };
    let mut grants = Grants::none("ops");
    grants.inotify = InotifyPolicy::compile("ops", &raw).unwrap();
    let sink = Arc::new(Recorder::new("inotify"));
    let caps =
        Capabilities::new(Arc::new(grants), sink.clone()).with_watches(Arc::clone(watches), owner);
    (caps, sink)
}
