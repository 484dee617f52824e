//! MCP, both ways.
//!
//! - [`McpService`] serves a role's actions as MCP tools (`llmagent mcp`);
//!   every call goes through the runtime's one call path.
//! - The role's `[roles.R.mcp.NAME]` servers are tools of the runtime
//!   (`client`): each call is decided by the role's policy like any other,
//!   then sent to the server instead of a component.

pub(crate) mod client;
mod server;

pub use server::{McpService, stdio_pipes};

/// How attaching one role's server went ([`crate::Runtime::attach_mcp`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpAttach {
    /// The role.
    pub role: String,
    /// The server's name.
    pub server: String,
    /// The tools the role may use, or why the server is not available.
    pub tools: Result<Vec<String>, String>,
}
