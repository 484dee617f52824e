//! `[events]`: how the event log records, and what a call does when it
//! cannot be recorded.

use serde::Deserialize;

/// When an append to the event log returns (see the events crate's
/// `Durability` for the exact loss window of each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Written to the OS before an append returns, fsynced in groups
    /// (every 5 ms or 1000 events): a machine crash may lose that window.
    #[default]
    Group,
    /// fsynced before an append returns: nothing acknowledged is lost.
    Sync,
}

/// What a tool call does when its events cannot be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnAuditFailure {
    /// The call is refused with `audit_unavailable`: nothing runs that the
    /// log cannot show (neither the call nor an operation of it).
    #[default]
    Refuse,
    /// The call runs anyway; the failure is still logged loudly.
    Continue,
}

/// `[events]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSettings {
    /// `durability = "group" | "sync"` (default `group`); the CLI's
    /// `--durability` overrides it.
    #[serde(default)]
    pub durability: Durability,
    /// `on_failure = "refuse" | "continue"` (default `refuse`).
    #[serde(default)]
    pub on_failure: OnAuditFailure,
}
