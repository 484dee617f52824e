//! Asking a human before a call the role lists in `approve`.

use async_trait::async_trait;
use serde_json::Value;

/// A call that needs a human's yes.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRequest {
    /// The agent asking.
    pub agent: String,
    /// Its role.
    pub role: String,
    /// The tool.
    pub tool: String,
    /// The action.
    pub action: String,
    /// The arguments as the model wrote them (secrets still sealed).
    pub args: Value,
}

/// Answers approval questions.
#[async_trait]
pub trait Approver: Send + Sync {
    /// Whether the call may run.
    async fn approve(&self, request: &ApprovalRequest) -> bool;
}

/// The approver of a non-interactive session: every answer is no.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyApprovals;

#[async_trait]
impl Approver for DenyApprovals {
    async fn approve(&self, _request: &ApprovalRequest) -> bool {
        false
    }
}
