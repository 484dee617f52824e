//! Where capabilities report their decisions. The runtime implements
//! [`Sink`] with its event store (`policy.decision` events).

use crate::bindings::{CapError, Denial};
use crate::decision::{Decision, Ruling, Subject};

/// Why a decision could not be put on record (the store's failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrecorded(pub String);

/// Receives every capability decision. Implementations must not block for
/// long: they run inside a tool call.
pub trait Sink: Send + Sync {
    /// Records one decision. An error says it is not on record: an
    /// operation it allowed is then refused (the audit log fails closed);
    /// a refusal stands either way.
    fn decision(&self, decision: &Decision<'_>) -> Result<(), Unrecorded>;

    /// Records one event that is not a decision: what a capability saw or
    /// did (`tool.inotify` / `watch_started`, `tool.inotify.event` /
    /// `fs_event` …). Ignored unless the sink keeps events.
    fn event(&self, _topic: &str, _kind: &str, _data: &serde_json::Value) {}
}

/// Reports `decision` to `sink` and turns anything but an allow into the
/// guest's `denied` error, naming the capability, the target and the hint;
/// an allow the sink could not put on record is refused the same way.
/// Every capability enforces its rulings through here.
pub(crate) fn enforce(sink: &dyn Sink, decision: &Decision<'_>) -> Result<(), CapError> {
    let recorded = sink.decision(decision);
    match decision.ruling {
        Ruling::Allow { .. } => recorded.map_err(|Unrecorded(why)| {
            denied(
                decision,
                format!(
                    "the event log cannot record this operation ({why}), so it was refused; the operator must make the event store writable again"
                ),
            )
        }),
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
    report_refusal(sink, &decision);
    denied(&decision, hint)
}

/// Reports a refusal to `sink`. It stands whether or not it is on record
/// (a store that cannot record logs and counts its own failure).
pub(crate) fn report_refusal(sink: &dyn Sink, decision: &Decision<'_>) {
    let _unrecorded = sink.decision(decision);
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
    fn decision(&self, _decision: &Decision<'_>) -> Result<(), Unrecorded> {
        Ok(())
    }
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
    fn decision(&self, d: &Decision<'_>) -> Result<(), Unrecorded> {
        assert_eq!(d.subject, crate::Subject::Capability(self.capability));
        self.seen.lock().unwrap().push((
            d.operation.into(),
            d.target.into(),
            d.ruling.verdict() == crate::Verdict::Allow,
            d.ruling.reason().into(),
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Sink, Unrecorded, enforce};
    use crate::bindings::CapError;
    use crate::decision::{Decision, Ruling};

    /// A sink whose store has stopped recording.
    struct Broken;

    impl Sink for Broken {
        fn decision(&self, _decision: &Decision<'_>) -> Result<(), Unrecorded> {
            Err(Unrecorded("emit: the disk is full".into()))
        }
    }

    /// `(capability, target, hint)` of a denial; `None` for anything else.
    fn denial(result: Result<(), CapError>) -> Option<(String, String, String)> {
        match result {
            Err(CapError::Denied(d)) => Some((d.capability, d.target, d.hint)),
            _ => None,
        }
    }

    #[test]
    fn an_allowed_operation_that_is_not_on_record_is_refused_naming_why() {
        let allow = Ruling::allow("[roles.ops.fs].read \"/etc/**\"");
        let d = Decision::capability("fs", "read", "/etc/hosts", &allow);
        assert_eq!(
            denial(enforce(&Broken, &d)),
            Some((
                "fs".into(),
                "/etc/hosts".into(),
                "the event log cannot record this operation (emit: the disk is full), so it was refused; the operator must make the event store writable again".into(),
            ))
        );
        assert!(enforce(&super::NullSink, &d).is_ok());
    }

    #[test]
    fn a_refusal_that_is_not_on_record_keeps_its_own_hint() {
        let deny = Ruling::deny("add \"/etc/shadow\" to [roles.ops.fs].read");
        let d = Decision::capability("fs", "read", "/etc/shadow", &deny);
        assert_eq!(
            denial(enforce(&Broken, &d)),
            Some((
                "fs".into(),
                "/etc/shadow".into(),
                "add \"/etc/shadow\" to [roles.ops.fs].read".into(),
            ))
        );
    }
}
