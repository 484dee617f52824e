//! Host-level tests: `proc` called directly on a [`Capabilities`] built
//! from an inline policy, plus the pure policy tests.

mod host;
mod policy;

use std::sync::{Arc, Mutex};

use super::{ProcPolicy, ProcToml};
use crate::ctx::{Capabilities, Grants};
use crate::sink::{Decision, Sink};

/// Every decision, as `(operation, target, allowed, rule)`.
#[derive(Default)]
pub(super) struct Recorder(Mutex<Vec<(String, String, bool, String)>>);

impl Sink for Recorder {
    fn decision(&self, d: &Decision<'_>) {
        assert_eq!(d.capability, "proc");
        self.0.lock().unwrap().push((
            d.operation.into(),
            d.target.into(),
            d.allowed,
            d.rule.into(),
        ));
    }
}

impl Recorder {
    pub(super) fn seen(&self) -> Vec<(String, String, bool, String)> {
        self.0.lock().unwrap().clone()
    }
}

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
    let sink = Arc::new(Recorder::default());
    (Capabilities::new(Arc::new(grants), sink.clone()), sink)
}
