//! llmagent's sandbox runtime.
//!
//! One wasmtime [`Engine`](wasmtime::Engine) per process with epoch
//! interruption and a ticker thread; built-in tools embedded in the binary;
//! every component compiled once and cached as `.cwasm` (the `cache`
//! module's docs say how entries are keyed and verified); an `InstancePre`
//! per tool for calls that block their thread and one for calls on a fiber
//! of an async task;
//! and **a fresh `Store` and instance for every call**, with a memory cap, an
//! epoch deadline and captured, capped stdout/stderr, all from the role's
//! policy. A trap becomes a [`ToolFailure`] with reason `timeout`,
//! `memory_limit` or `tool_crashed`; the runtime carries on.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use llmagent_core::{CallRequest, Runtime, RuntimeOptions, builtin_names};
//! let policy = llmagent_policy::Policy::load("policy.toml".as_ref(), &builtin_names())?;
//! let runtime = Runtime::new(policy, RuntimeOptions::default())?;
//! let outcome = runtime
//!     .call(CallRequest::new("default", "crypto", "sha256", r#"{"data":"hello"}"#))
//!     .await?;
//! println!("{:?}", outcome.result);
//! # Ok(()) }
//! ```

mod agent;
mod builtin;
mod cache;
mod capture;
mod engine;
mod error;
mod mcp;
mod outcome;
mod reason;
mod record;
mod redact;
mod registry;
mod runtime;
mod sandbox;
mod supervisor;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use agent::fuzzing;
pub use agent::{
    Agent, AgentError, AgentHandle, AgentSettings, ApprovalRequest, Approver, DEFAULT_API_BASE,
    DEFAULT_PROMPT, DenyApprovals, LockError, Overrides, ResolvedAgent, SettingsError, TurnEnd,
    TurnEvent, TurnOutcome,
};
pub use builtin::{BUILTINS, Builtin, builtin_names};
pub use cache::CacheOutcome;

/// Where compiled components are cached unless told otherwise
/// (`$XDG_CACHE_HOME/llmagent/components`, else `~/.cache/…`).
pub fn default_cache_dir() -> Option<std::path::PathBuf> {
    cache::ComponentCache::default_dir()
}
pub use engine::EPOCH_TICK;
pub use error::RuntimeError;
pub use mcp::{McpAttach, McpService, stdio_pipes};
pub use outcome::{CallOutcome, CallRequest, ToolFailure, ToolSuccess, envelope};
pub use reason::Reason;
pub use registry::{ActionInfo, ToolInfo, ToolOrigin};
pub use runtime::{DecidedCall, LoadReport, Runtime, RuntimeOptions};
pub use sandbox::STDIO_CAP;
pub use supervisor::{
    AgentInfo, AgentState, Approvals, ClientFactory, DEFAULT_APPROVAL_TIMEOUT, PendingApproval,
    StartRequest, Supervisor, SupervisorError, SupervisorOptions, outcome_json,
};
