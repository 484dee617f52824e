//! Where capabilities report their decisions. The runtime implements
//! [`Sink`] with its event store (`policy.decision` events).

/// One allow or deny decision by a capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    /// Capability that decided (`fs`, `exec`, `http` …).
    pub capability: &'a str,
    /// Operation asked for (`read`, `write`, `delete`, `list`, `stat` …).
    pub operation: &'a str,
    /// Target as the host resolved it (canonical path, program, URL).
    pub target: &'a str,
    /// Whether the request was allowed.
    pub allowed: bool,
    /// The policy rule that matched (`[roles.ops.fs].read "/var/log/**"`),
    /// or for a denial the key that would allow it.
    pub rule: &'a str,
}

/// Receives every capability decision. Implementations must not block for
/// long: they run inside a tool call.
pub trait Sink: Send + Sync {
    /// Records one decision.
    fn decision(&self, decision: &Decision<'_>);
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
        assert_eq!(d.capability, self.capability);
        self.seen.lock().unwrap().push((
            d.operation.into(),
            d.target.into(),
            d.allowed,
            d.rule.into(),
        ));
    }
}
