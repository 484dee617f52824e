//! Host-level tests: `proc` called directly on a [`Capabilities`] built
//! from an inline policy, plus the pure policy tests.

mod host;
mod policy;

use std::sync::Arc;

use super::{ProcPolicy, ProcToml};
use crate::ctx::{Capabilities, Grants};
pub(super) use crate::sink::Recorder;

/// A `[roles.ops.proc]` section.
pub(super) fn section(list: bool, info: Option<&str>) -> ProcToml {
    ProcToml {
        list,
        info: info.map(str::to_owned),
    }
}

/// Capabilities of role `ops` with the `proc` section `raw`, and its sink.
pub(super) fn caps(raw: &ProcToml) -> (Capabilities, Arc<Recorder>) {
    let mut grants = Grants::none("ops");
    grants.proc = ProcPolicy::compile("ops", raw).unwrap();
    let sink = Arc::new(Recorder::new("proc"));
    (Capabilities::new(Arc::new(grants), sink.clone()), sink)
}
