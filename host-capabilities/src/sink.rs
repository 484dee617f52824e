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
