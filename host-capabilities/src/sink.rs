//! Where capabilities report their decisions. The runtime implements
//! [`Sink`] with its event store (`policy.decision` events).

use crate::bindings::{CapError, Denial};
use crate::decision::{Decision, Ruling, Subject};

/// Receives every capability decision. Implementations must not block for
/// long: they run inside a tool call.
pub trait Sink: Send + Sync {
    /// Records one decision.
    fn decision(&self, decision: &Decision<'_>);

    /// Records one event that is not a decision: what a capability saw or
    /// did (`tool.inotify` / `watch_started`, `tool.inotify.event` /
    /// `fs_event` …). Ignored unless the sink keeps events.
    fn event(&self, _topic: &str, _kind: &str, _data: &serde_json::Value) {}
}

/// Reports `decision` to `sink` and turns anything but an allow into the
/// guest's `denied` error, naming the capability, the target and the hint.
/// Every capability enforces its rulings through here.
pub(crate) fn enforce(sink: &dyn Sink, decision: &Decision<'_>) -> Result<(), CapError> {
    sink.decision(decision);
    match decision.ruling {
        Ruling::Allow { .. } => Ok(()),
        Ruling::Approve { rule } => {
            Err(denied(decision, format!("{rule} needs a human's approval")))
        }
        Ruling::Deny { hint } => Err(denied(decision, hint.clone())),
    }
}

/// Reports `refusal` (a deny) on `target` to `sink` and answers the
/// guest's `denied` error, for refusals found after the policy allowed the
/// operation (the kernel or the file system said no).
pub(crate) fn refuse(
    sink: &dyn Sink,
    capability: &'static str,
    operation: &'static str,
    target: &str,
    hint: String,
) -> CapError {
    let ruling = Ruling::deny(hint.clone());
    let decision = Decision::capability(capability, operation, target, &ruling);
    sink.decision(&decision);
    denied(&decision, hint)
}

fn denied(decision: &Decision<'_>, hint: String) -> CapError {
    let (Subject::Capability(name) | Subject::Tool(name)) = decision.subject;
    CapError::Denied(Denial {
        capability: name.to_owned(),
        target: decision.target.to_owned(),
        hint,
    })
}

/// A sink that drops everything (tests, benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink;

impl Sink for NullSink {
    fn decision(&self, _decision: &Decision<'_>) {}
}

/// A sink for tests that keeps every decision of one capability as
/// `(operation, target, allowed, rule)` and fails on any other capability.
#[cfg(test)]
pub(crate) struct Recorder {
    capability: &'static str,
    seen: std::sync::Mutex<Vec<(String, String, bool, String)>>,
}

#[cfg(test)]
impl Recorder {
    /// Records decisions of `capability`.
    pub(crate) fn new(capability: &'static str) -> Self {
        Self {
            capability,
            seen: std::sync::Mutex::default(),
        }
    }

    /// Every decision so far, oldest first.
    pub(crate) fn seen(&self) -> Vec<(String, String, bool, String)> {
        self.seen.lock().unwrap().clone()
    }
}

#[cfg(test)]
impl Sink for Recorder {
    fn decision(&self, d: &Decision<'_>) {
        assert_eq!(d.subject, crate::Subject::Capability(self.capability));
        self.seen.lock().unwrap().push((
            d.operation.into(),
            d.target.into(),
            d.ruling.verdict() == crate::Verdict::Allow,
            d.ruling.reason().into(),
        ));
    }
}
