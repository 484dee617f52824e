//! The agent: a conversation with a model that may call the sandboxed
//! tools its role allows.
//!
//! An [`Agent`] owns one conversation. [`Agent::prompt`] runs one turn:
//! model and tools alternate until a final answer, the role's `max_steps`,
//! a model error (after the client's retries) or cancellation — each ends
//! with an event and a [`TurnOutcome`], never a panic. A turn is a
//! `Turn` (in `turn/`) borrowing the agent while it runs. Every tool call
//! is decided once by the role's policy in the [`Runtime`]
//! ([`Runtime::decide_call`]); an action the role lists in `approve` asks
//! the [`Approver`] first, and the call runs with that one ruling.
//!
//! [`AgentSettings::resolve`] reads an agent's settings from the policy,
//! the caller's overrides and the environment, the same for every front end.
//!
//! [`Agent::spawn`] turns an agent into a task with a mailbox
//! ([`AgentHandle`]): prompts sent to it run one at a time, in order.
//!
//! What the model sees of tool results is sealed: secrets a tool returns
//! (a `private_key`, the key from `crypto generate_key`, any field named
//! like a secret) are replaced by handles kept in the agent's memory
//! ([`crate::redact`]), and a handle the model passes back is swapped for
//! the secret just before the tool runs — only into an argument the
//! tool's schema declares a secret input (`"writeOnly": true`; see
//! `secrets`). Secrets never reach the model, the disk or a log.
//!
//! What the model sends is bounded before it becomes an event or a
//! request (`bounds`): names, argument sizes and depth, and the calls of
//! one reply (`max_calls_per_reply`).

mod approval;
pub(crate) mod bounds;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod history;
mod lock;
mod prompt;
pub(crate) mod protocol;
mod secrets;
mod settings;
mod turn;

use std::sync::Arc;

use llmagent_events::{Events, StoreRole};
use llmagent_llm::{LlmClient, Message};
use llmagent_policy::ToolProtocol;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;
use crate::redact::Redactor;
use crate::runtime::Runtime;

pub use approval::{ApprovalRequest, Approver, DenyApprovals};
use lock::AgentLock;
pub use lock::LockError;
pub use prompt::DEFAULT_PROMPT;
use protocol::{FunctionNames, Offered};
pub use settings::{AgentSettings, DEFAULT_API_BASE, Overrides, ResolvedAgent, SettingsError};
use turn::Turn;
pub use turn::{TurnEnd, TurnEvent, TurnOutcome};

/// Errors that stop an agent from starting or answering. Every variant has
/// a stable code ([`AgentError::code`]).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The role or a tool is not usable.
    #[error(transparent)]
    Runtime(Box<RuntimeError>),
    /// The conversation could not be read from the event store.
    #[error("cannot read the conversation of agent `{agent}` from the event store: {source}")]
    History {
        /// The agent.
        agent: String,
        /// Why.
        source: llmagent_events::EventsError,
    },
    /// The agent's task is gone (stopped, or failed).
    #[error("agent `{0}` is not running")]
    Stopped(String),
    /// Another agent of the same name (in this process or another) is
    /// writing its conversation.
    #[error(transparent)]
    Locked(#[from] LockError),
}

impl AgentError {
    /// The stable code of this error: the runtime's own code for
    /// [`AgentError::Runtime`] (see [`RuntimeError::code`]),
    /// `agent.history`, `agent.stopped`, `agent.locked` (another process
    /// runs this agent) or `agent.lock_io`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Runtime(e) => e.code(),
            Self::History { .. } => "agent.history",
            Self::Stopped(_) => "agent.stopped",
            Self::Locked(LockError::Busy { .. }) => "agent.locked",
            Self::Locked(LockError::Io { .. }) => "agent.lock_io",
        }
    }
}

/// The wire protocol in use (auto has been resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    Native,
    Json,
    Constrained,
}

impl Wire {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Json => "json",
            Self::Constrained => "constrained",
        }
    }
}

/// One conversation with a model.
pub struct Agent {
    settings: AgentSettings,
    runtime: Runtime,
    client: Arc<dyn LlmClient>,
    events: Option<Events>,
    approver: Arc<dyn Approver>,
    wire: Wire,
    /// Auto mode: fall back to json when the server refuses `tools`.
    may_fall_back: bool,
    offered: Vec<Offered>,
    names: FunctionNames,
    /// The native protocol's function definitions of `offered`, built
    /// once: every request of the agent's life sends the same list.
    tool_defs: Arc<[llmagent_llm::ToolDef]>,
    /// The system prompt for the wire it was built for (rebuilt after a
    /// fallback changes the wire).
    system_prompt: std::sync::Mutex<Option<(Wire, Arc<str>)>>,
    history: Vec<Message>,
    /// Secrets sealed out of tool results, by handle.
    vault: secrets::Vault,
    /// What of a tool's answer is sealed or redacted.
    redactor: Redactor,
    /// Which fields of the offered actions accept handles (for messages).
    secret_inputs: String,
    /// Held while the agent lives: one writer per agent's conversation.
    _lock: Option<AgentLock>,
}

impl Agent {
    /// An agent under `settings.role`, continuing its conversation from
    /// the event store when `events` is given. With a store, the agent
    /// holds its name's lock there while it lives: a second agent of the
    /// same name is refused ([`AgentError::Locked`], naming the pid). When another process owns
    /// the store, the conversation cannot be read: the agent is refused
    /// ([`AgentError::History`]) rather than started without it.
    pub fn new(
        runtime: Runtime,
        client: Arc<dyn LlmClient>,
        settings: AgentSettings,
        events: Option<Events>,
        approver: Arc<dyn Approver>,
    ) -> Result<Agent, AgentError> {
        let role = runtime
            .policy()
            .role(&settings.role)
            .map_err(|e| AgentError::Runtime(Box::new(RuntimeError::from(e))))?;
        let lock = match &events {
            Some(ev) => Some(AgentLock::acquire(ev.store().path(), &settings.name)?),
            None => None,
        };
        let offered = protocol::offered(
            runtime.tools_for(&settings.role).iter().map(|t| &**t),
            |tool, action| role.decide(tool, action).verdict() != llmagent_policy::Verdict::Deny,
        );
        let names = FunctionNames::new(&offered);
        let tool_defs = protocol::tool_defs(&offered, &names).into();
        let secret_inputs = secrets::secret_inputs(&offered);
        let redactor = Redactor::new(&runtime.policy().redact);
        let history = match &events {
            Some(ev) if ev.store().role() == StoreRole::Owner => {
                let stored = ev
                    .store()
                    .conversation_for(&settings.name)
                    .map_err(|source| AgentError::History {
                        agent: settings.name.clone(),
                        source,
                    })?;
                history::rebuild(&stored)
            }
            // Another process owns the store: the conversation cannot be
            // read, and an agent must not silently start without it.
            Some(_) => {
                return Err(AgentError::History {
                    agent: settings.name.clone(),
                    source: llmagent_events::EventsError::NotOwner,
                });
            }
            None => Vec::new(),
        };
        let (wire, may_fall_back) = match settings.protocol {
            ToolProtocol::Native => (Wire::Native, false),
            ToolProtocol::Auto => (Wire::Native, true),
            ToolProtocol::Json => (Wire::Json, false),
            ToolProtocol::Constrained => (Wire::Constrained, true),
        };
        Ok(Agent {
            events: events.map(|e| e.with_source("agent")),
            settings,
            runtime,
            client,
            approver,
            wire,
            may_fall_back,
            offered,
            names,
            tool_defs,
            system_prompt: std::sync::Mutex::new(None),
            history,
            vault: secrets::Vault::default(),
            redactor,
            secret_inputs,
            _lock: lock,
        })
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &AgentSettings {
        &self.settings
    }

    /// The protocol in use now: `native`, `json` or `constrained` (after an
    /// auto fallback, `json`).
    pub fn protocol(&self) -> &'static str {
        self.wire.as_str()
    }

    /// The conversation so far (without the system prompt).
    pub fn history(&self) -> &[Message] {
        &self.history
    }

    /// The system prompt the next request will carry.
    pub fn system_prompt(&self) -> String {
        self.system_prompt_text().to_string()
    }

    /// Runs one turn for `text`. `observer` sees what happens as it
    /// happens; `cancel` ends the turn early (between model requests and
    /// tool calls; a model request in flight is abandoned at once).
    pub async fn prompt(
        &mut self,
        text: &str,
        observer: &mut (dyn FnMut(TurnEvent) + Send),
        cancel: &CancellationToken,
    ) -> TurnOutcome {
        Turn::new(self, observer, cancel).run_guarded(text).await
    }

    /// Runs the agent as a task with a mailbox; prompts run one at a time,
    /// in the order they were sent. Records `agent.started`, and
    /// `agent.stopped` when the last handle is dropped.
    pub fn spawn(self) -> AgentHandle {
        self.spawn_joined().0
    }

    /// [`Agent::spawn`], with the task's join handle: it finishes once the
    /// last [`AgentHandle`] is dropped, the prompts already sent have run
    /// and the agent (with its lock) is gone — what a supervisor awaits
    /// before the name may run again.
    pub fn spawn_joined(self) -> (AgentHandle, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<Job>(MAILBOX);
        let name = self.settings.name.clone();
        let join = tokio::spawn(mailbox(self, rx));
        (AgentHandle { tx, name }, join)
    }
}

/// An agent's inotify watches end with it.
impl Drop for Agent {
    fn drop(&mut self) {
        self.runtime.drop_watches(&self.settings.name);
    }
}

/// Prompts waiting for an agent beyond this many make `prompt` wait: a
/// bound keeps a runaway client from queueing without limit.
const MAILBOX: usize = 64;

struct Job {
    text: String,
    observer: Option<mpsc::UnboundedSender<TurnEvent>>,
    cancel: CancellationToken,
    reply: oneshot::Sender<TurnOutcome>,
}

async fn mailbox(mut agent: Agent, mut rx: mpsc::Receiver<Job>) {
    agent.record_lifecycle(true);
    while let Some(job) = rx.recv().await {
        let mut observe = |e: TurnEvent| {
            if let Some(tx) = &job.observer {
                let _ = tx.send(e);
            }
        };
        let outcome = Turn::new(&mut agent, &mut observe, &job.cancel)
            .run_guarded(&job.text)
            .await;
        let _ = job.reply.send(outcome);
    }
    agent.record_lifecycle(false);
    // The lock goes with the agent, before the task is seen to finish.
    drop(agent);
}

/// A running agent's mailbox. Cheap to clone; the agent stops when the
/// last handle is dropped (after the prompts already sent).
#[derive(Clone)]
pub struct AgentHandle {
    tx: mpsc::Sender<Job>,
    name: String,
}

impl AgentHandle {
    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues a prompt and waits for its turn to finish. `observer`
    /// receives the turn's [`TurnEvent`]s.
    pub async fn prompt(
        &self,
        text: &str,
        observer: Option<mpsc::UnboundedSender<TurnEvent>>,
        cancel: CancellationToken,
    ) -> Result<TurnOutcome, AgentError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            text: text.to_owned(),
            observer,
            cancel,
            reply,
        };
        self.tx
            .send(job)
            .await
            .map_err(|_| AgentError::Stopped(self.name.clone()))?;
        answer
            .await
            .map_err(|_| AgentError::Stopped(self.name.clone()))
    }
}
