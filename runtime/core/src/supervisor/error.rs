//! What the supervisor answers when it cannot do what it was asked.

use crate::agent::{AgentError, SettingsError};
use crate::error::RuntimeError;

/// Why a supervisor request failed. Every variant has a stable code
/// ([`SupervisorError::code`]); `already_started` and `not_found` are the
/// seed's answers.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// An agent of that name is running.
    #[error("agent `{0}` is already started; stop it first, or start this one with another name")]
    AlreadyStarted(String),
    /// No agent of that name is running.
    #[error("no agent `{0}` is running")]
    NotFound(String),
    /// The service is shutting down and takes no new work.
    #[error("the service is shutting down and takes no new prompts")]
    ShuttingDown,
    /// The request itself is wrong (a missing role, an empty name …).
    #[error("{0}")]
    Invalid(String),
    /// The agent's settings could not be resolved.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The agent could not start or answer.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// A reloaded policy file does not check.
    #[error(transparent)]
    Policy(#[from] llmagent_policy::PolicyError),
    /// The runtime could not be built (a reloaded policy's tools).
    #[error(transparent)]
    Runtime(Box<RuntimeError>),
    /// The model client could not be made for the agent's api_base.
    #[error("agent `{agent}`: {message}")]
    Client {
        /// The agent.
        agent: String,
        /// Why.
        message: String,
    },
}

impl SupervisorError {
    /// `already_started`, `not_found`, `shutting_down`, `invalid_request`,
    /// `client`, or the code of the settings, agent, policy or runtime
    /// error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyStarted(_) => "already_started",
            Self::NotFound(_) => "not_found",
            Self::ShuttingDown => "shutting_down",
            Self::Invalid(_) => "invalid_request",
            Self::Settings(e) => e.code(),
            Self::Agent(e) => e.code(),
            Self::Policy(e) => e.code(),
            Self::Runtime(e) => e.code(),
            Self::Client { .. } => "client",
        }
    }
}
