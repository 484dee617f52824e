//! The current request context and agent, carried by the task.
//!
//! [`with_scope`] (or [`with_context`] / [`with_agent`]) runs a future with
//! a [`Scope`] in a tokio task-local; every [`crate::Events::emit`] inside
//! it, across any number of awaits, reads it. A spawned task does not
//! inherit task-locals by itself: spawn with [`spawn_with_context`], or wrap
//! the future in [`with_scope`]`(`[`current_scope`]`(), …)`. Outside any
//! scope the context is empty and the agent unset. Synchronous code (a
//! blocking host call on a worker thread) uses [`sync_scope`].

use std::future::Future;

use crate::event::Context;

tokio::task_local! {
    static SCOPE: Scope;
}

/// What an event emitted here is attributed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The agent, if any.
    pub agent: Option<String>,
    /// The request context.
    pub context: Context,
}

/// The scope of the current task (empty outside any).
pub fn current_scope() -> Scope {
    SCOPE.try_with(Clone::clone).unwrap_or_default()
}

/// The request context of the current task (empty outside any scope).
pub fn current_context() -> Context {
    SCOPE.try_with(|s| s.context.clone()).unwrap_or_default()
}

/// The agent of the current task, if any.
pub fn current_agent() -> Option<String> {
    SCOPE.try_with(|s| s.agent.clone()).ok().flatten()
}

/// Runs `fut` in `scope`.
pub async fn with_scope<F: Future>(scope: Scope, fut: F) -> F::Output {
    SCOPE.scope(scope, fut).await
}

/// Runs `fut` with this context, keeping the current agent.
pub async fn with_context<F: Future>(context: Context, fut: F) -> F::Output {
    let scope = Scope {
        agent: current_agent(),
        context,
    };
    SCOPE.scope(scope, fut).await
}

/// Runs `fut` as this agent, keeping the current context.
pub async fn with_agent<F: Future>(agent: impl Into<String>, fut: F) -> F::Output {
    let scope = Scope {
        agent: Some(agent.into()),
        context: current_context(),
    };
    SCOPE.scope(scope, fut).await
}

/// Spawns `fut` on the current tokio runtime carrying the current scope.
///
/// # Panics
///
/// Like `tokio::spawn`, when called outside a tokio runtime.
pub fn spawn_with_context<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(SCOPE.scope(current_scope(), fut))
}

/// Runs a synchronous closure in `scope` (for `spawn_blocking` work).
pub fn sync_scope<R>(scope: Scope, f: impl FnOnce() -> R) -> R {
    SCOPE.sync_scope(scope, f)
}
