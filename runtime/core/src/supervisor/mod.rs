//! The supervisor: many agents in one process, started, stopped and listed
//! at run time (`llmagent serve`).
//!
//! Each agent is an [`Agent`] task with its own mailbox, history, role and
//! model; all share one [`Runtime`] (the policy and the loaded tools) and
//! one event store. Names are unique: starting a running name answers
//! `already_started`, stopping or prompting an unknown one `not_found` (the
//! seed's answers). A stopped agent stays stopped; a turn that fails or
//! panics is reported in its outcome and the agent takes its next prompt.
//!
//! Prompts to one agent run one at a time, in order; while one runs the
//! agent is `in_turn` (or `waiting_approval` while a call of the turn waits
//! for an answer in [`Approvals`]). Calls a role lists in `approve` are
//! asked through [`Approvals`] and refused when nobody answers in time.
//!
//! [`Supervisor::reload`] swaps in a new policy: a turn that is running
//! finishes under the policy it started with, then its agent is started
//! again under the new one (its conversation continues from the store).
//! [`Supervisor::shutdown`] refuses new prompts, gives running turns a
//! grace period, cancels what is left and stops every agent.

mod approvals;
mod error;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use llmagent_events::{Delivery, Event, Events, Filter, StoreRole, names};
use llmagent_llm::{ClientConfig, LlmClient, OpenAiClient};
use llmagent_policy::{Policy, ToolProtocol};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, AgentHandle, AgentSettings, Overrides, ResolvedAgent};
use crate::agent::{TurnEvent, TurnOutcome};
use crate::runtime::{Runtime, RuntimeOptions};

use approvals::now_ms;
pub use approvals::{Approvals, DEFAULT_APPROVAL_TIMEOUT, PendingApproval};
pub use error::SupervisorError;

/// How long [`Supervisor::stop`] waits for an agent's task to end after
/// its turn was cancelled: a cancelled turn ends at its next step, and a
/// tool call in flight at its own deadline (seconds), so this is generous.
const STOP_WAIT: Duration = Duration::from_secs(30);

/// Makes the model client of an agent (tests give a scripted one).
pub type ClientFactory =
    Arc<dyn Fn(&ResolvedAgent) -> Result<Arc<dyn LlmClient>, String> + Send + Sync>;

/// What is asked of [`Supervisor::start`]: an `[agents.NAME]` of the
/// policy (name alone), or an ad-hoc agent (name and role); the rest
/// overrides the entry, the environment and the defaults, as the flags of
/// `llmagent run` do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartRequest {
    /// The agent's name.
    pub name: String,
    /// The role of an ad-hoc agent (unset: `[agents.NAME]` of the policy).
    pub role: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// The API base URL.
    pub api_base: Option<String>,
    /// The tool protocol.
    pub protocol: Option<ToolProtocol>,
}

impl StartRequest {
    fn overrides(&self) -> Overrides {
        let entry = self.role.is_none();
        Overrides {
            agent: entry.then(|| self.name.clone()),
            role: self.role.clone(),
            name: (!entry).then(|| self.name.clone()),
            model: self.model.clone(),
            api_base: self.api_base.clone(),
            protocol: self.protocol,
        }
    }
}

/// What an agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    /// Waiting for a prompt.
    Idle,
    /// Running a turn.
    InTurn,
    /// Running a turn whose call waits for an approval.
    WaitingApproval,
}

impl AgentState {
    /// `idle`, `in_turn` or `waiting_approval`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::InTurn => "in_turn",
            Self::WaitingApproval => "waiting_approval",
        }
    }
}

/// One agent as [`Supervisor::list`] shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentInfo {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: String,
    /// Its model.
    pub model: String,
    /// Where its requests go.
    pub api_base: String,
    /// Its tool protocol as configured.
    pub protocol: String,
    /// What it is doing.
    pub state: AgentState,
    /// Messages in its conversation (as rebuilt from the store).
    pub history_length: usize,
    /// Turns it ran since it started.
    pub turns: u64,
    /// When it last started or finished a turn, or started
    /// (milliseconds since the Unix epoch).
    pub last_activity_ms: u64,
    /// How its last turn ended (`answer`, `cancelled` …; see
    /// [`crate::TurnEnd::code`]).
    pub last_end: Option<String>,
}

/// What a supervised agent is doing, and how to reach it.
struct Slot {
    request: StartRequest,
    /// Replaced when a reload starts the agent again.
    resolved: Mutex<ResolvedAgent>,
    handle: Mutex<Option<AgentHandle>>,
    join: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Held while a prompt runs: prompts through the supervisor queue here.
    turn: tokio::sync::Mutex<()>,
    status: Mutex<Status>,
}

#[derive(Default)]
struct Status {
    in_turn: bool,
    cancel: Option<CancellationToken>,
    turns: u64,
    last_activity_ms: u64,
    last_end: Option<String>,
    stopped: bool,
}

/// How [`Supervisor::new`] builds its agents.
#[derive(Clone)]
pub struct SupervisorOptions {
    /// Where every agent records (and rebuilds its conversation from).
    pub events: Option<Events>,
    /// Makes each agent's model client; `None`: the OpenAI-compatible
    /// client with the agent's api_base and key.
    pub client: Option<ClientFactory>,
    /// How long an approval question waits.
    pub approval_timeout: Duration,
    /// Retries of a model request (the client's default when `None`).
    pub retries: Option<u32>,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        Self {
            events: None,
            client: None,
            approval_timeout: DEFAULT_APPROVAL_TIMEOUT,
            retries: None,
        }
    }
}

/// Many agents under one policy. Cheap to clone.
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: RwLock<Runtime>,
    events: Option<Events>,
    client: ClientFactory,
    approvals: Approvals,
    agents: Mutex<BTreeMap<String, Arc<Slot>>>,
    accepting: AtomicBool,
    /// One start or stop at a time, so that a name's lock is free when the
    /// next start of that name comes.
    lifecycle: tokio::sync::Mutex<()>,
}

impl Supervisor {
    /// A supervisor with no agents running under `runtime`'s policy.
    pub fn new(runtime: Runtime, options: SupervisorOptions) -> Self {
        let retries = options.retries;
        let client = options.client.unwrap_or_else(|| {
            Arc::new(move |r: &ResolvedAgent| {
                let mut config = ClientConfig::new(&r.api_base);
                config.api_key = r.api_key.clone();
                if let Some(n) = retries {
                    config.max_retries = n;
                }
                OpenAiClient::new(config)
                    .map(|c| Arc::new(c) as Arc<dyn LlmClient>)
                    .map_err(|e| e.to_string())
            })
        });
        Self {
            inner: Arc::new(Inner {
                runtime: RwLock::new(runtime),
                approvals: Approvals::new(options.approval_timeout, options.events.clone()),
                events: options.events.map(|e| e.with_source("supervisor")),
                client,
                agents: Mutex::new(BTreeMap::new()),
                accepting: AtomicBool::new(true),
                lifecycle: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The runtime new agents start under.
    pub fn runtime(&self) -> Runtime {
        match self.inner.runtime.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.runtime().policy().clone()
    }

    /// The approval questions.
    pub fn approvals(&self) -> &Approvals {
        &self.inner.approvals
    }

    /// Whether new prompts are taken (false once shutting down).
    pub fn accepting(&self) -> bool {
        self.inner.accepting.load(Ordering::SeqCst)
    }

    /// Starts every `[agents.NAME]` with `autostart = true`; the names that
    /// failed, with why.
    pub async fn autostart(&self) -> Vec<(String, SupervisorError)> {
        let names: Vec<String> = self
            .policy()
            .agents
            .values()
            .filter(|a| a.autostart)
            .map(|a| a.name.clone())
            .collect();
        let mut failed = Vec::new();
        for name in names {
            let request = StartRequest {
                name: name.clone(),
                ..StartRequest::default()
            };
            if let Err(e) = self.start(request).await {
                failed.push((name, e));
            }
        }
        failed
    }

    /// Starts an agent; its conversation continues from the store.
    ///
    /// # Errors
    /// `already_started` when the name runs; the settings' and agent's own
    /// errors (an unknown agent or role, no model, the name locked by
    /// another process …).
    pub async fn start(&self, request: StartRequest) -> Result<AgentInfo, SupervisorError> {
        if !self.accepting() {
            return Err(SupervisorError::ShuttingDown);
        }
        if request.name.trim().is_empty() {
            return Err(SupervisorError::Invalid("an agent needs a name".into()));
        }
        let _one = self.inner.lifecycle.lock().await;
        if self.slot(&request.name).is_ok() {
            return Err(SupervisorError::AlreadyStarted(request.name));
        }
        let runtime = self.runtime();
        let (resolved, handle, join) = self.launch(&runtime, &request)?;
        let name = resolved.settings.name.clone();
        let slot = Arc::new(Slot {
            request,
            resolved: Mutex::new(resolved),
            handle: Mutex::new(Some(handle)),
            join: Mutex::new(Some(join)),
            turn: tokio::sync::Mutex::new(()),
            status: Mutex::new(Status {
                last_activity_ms: now_ms(),
                ..Status::default()
            }),
        });
        if let Ok(mut agents) = self.inner.agents.lock() {
            agents.insert(name.clone(), slot);
        }
        self.info(&name)
    }

    /// Resolves, builds and spawns the agent `request` asks for.
    fn launch(
        &self,
        runtime: &Runtime,
        request: &StartRequest,
    ) -> Result<(ResolvedAgent, AgentHandle, tokio::task::JoinHandle<()>), SupervisorError> {
        let resolved = AgentSettings::resolve(runtime.policy(), &request.overrides(), |v| {
            std::env::var(v).ok()
        })?;
        for w in &resolved.warnings {
            tracing::warn!(agent = %resolved.settings.name, "{w}");
        }
        let client = (self.inner.client)(&resolved).map_err(|message| SupervisorError::Client {
            agent: resolved.settings.name.clone(),
            message,
        })?;
        let approver = Arc::new(self.inner.approvals.clone());
        let agent = Agent::new(
            runtime.clone(),
            client,
            resolved.settings.clone(),
            self.inner.events.clone(),
            approver,
        )?;
        let (handle, join) = agent.spawn_joined();
        Ok((resolved, handle, join))
    }

    fn slot(&self, name: &str) -> Result<Arc<Slot>, SupervisorError> {
        self.inner
            .agents
            .lock()
            .ok()
            .and_then(|a| a.get(name).cloned())
            .ok_or_else(|| SupervisorError::NotFound(name.to_owned()))
    }

    /// Stops an agent: its running turn is cancelled, prompts queued for it
    /// are refused, and it is gone (with its lock) when this returns.
    ///
    /// # Errors
    /// `not_found` when no agent of that name runs.
    pub async fn stop(&self, name: &str) -> Result<(), SupervisorError> {
        let _one = self.inner.lifecycle.lock().await;
        let slot = self
            .inner
            .agents
            .lock()
            .ok()
            .and_then(|mut a| a.remove(name))
            .ok_or_else(|| SupervisorError::NotFound(name.to_owned()))?;
        halt(&slot).await;
        Ok(())
    }

    /// Every agent, by name.
    pub fn list(&self) -> Vec<AgentInfo> {
        let names: Vec<String> = self
            .inner
            .agents
            .lock()
            .map(|a| a.keys().cloned().collect())
            .unwrap_or_default();
        names.iter().filter_map(|n| self.info(n).ok()).collect()
    }

    /// One agent.
    ///
    /// # Errors
    /// `not_found`.
    pub fn info(&self, name: &str) -> Result<AgentInfo, SupervisorError> {
        let slot = self.slot(name)?;
        let resolved = slot
            .resolved
            .lock()
            .map(|r| r.clone())
            .map_err(|_| SupervisorError::NotFound(name.to_owned()))?;
        let settings = &resolved.settings;
        let history_length = self
            .inner
            .events
            .as_ref()
            .filter(|e| e.store().role() == StoreRole::Owner)
            .and_then(|e| e.store().conversation_for(name).ok())
            .map_or(0, |m| m.len());
        let status = slot
            .status
            .lock()
            .map_err(|_| SupervisorError::NotFound(name.to_owned()))?;
        let state = if !status.in_turn {
            AgentState::Idle
        } else if self.inner.approvals.is_waiting(name) {
            AgentState::WaitingApproval
        } else {
            AgentState::InTurn
        };
        Ok(AgentInfo {
            name: settings.name.clone(),
            role: settings.role.clone(),
            model: settings.model.clone(),
            api_base: resolved.api_base.clone(),
            protocol: settings.protocol.as_str().to_owned(),
            state,
            history_length,
            turns: status.turns,
            last_activity_ms: status.last_activity_ms,
            last_end: status.last_end.clone(),
        })
    }

    /// Runs one turn of agent `name` (after the prompts sent before it).
    /// `observer` gets the turn's [`TurnEvent`]s; `tap` every stored event
    /// of the agent while the turn runs, in store order.
    ///
    /// # Errors
    /// `not_found`, `shutting_down`, or the agent's own error when its task
    /// is gone.
    pub async fn prompt(
        &self,
        name: &str,
        text: &str,
        observer: Option<mpsc::UnboundedSender<TurnEvent>>,
        tap: Option<mpsc::UnboundedSender<Arc<Event>>>,
    ) -> Result<TurnOutcome, SupervisorError> {
        if !self.accepting() {
            return Err(SupervisorError::ShuttingDown);
        }
        let slot = self.slot(name)?;
        let _turn = slot.turn.lock().await;
        if !self.accepting() {
            return Err(SupervisorError::ShuttingDown);
        }
        let handle = slot
            .handle
            .lock()
            .ok()
            .and_then(|h| h.clone())
            .ok_or_else(|| SupervisorError::NotFound(name.to_owned()))?;
        let cancel = CancellationToken::new();
        if let Ok(mut st) = slot.status.lock() {
            if st.stopped {
                return Err(SupervisorError::NotFound(name.to_owned()));
            }
            st.in_turn = true;
            st.cancel = Some(cancel.clone());
            st.last_activity_ms = now_ms();
        }
        let tapping = tap.and_then(|tx| self.tap(name, tx));
        let result = handle.prompt(text, observer, cancel).await;
        drop(handle);
        if let Some((done, task)) = tapping {
            let _ = done.send(());
            let _ = task.await;
        }
        if let Ok(mut st) = slot.status.lock() {
            st.in_turn = false;
            st.cancel = None;
            st.turns += 1;
            st.last_activity_ms = now_ms();
            st.last_end = result.as_ref().ok().map(|o| o.end.code().to_owned());
        }
        Ok(result?)
    }

    /// Forwards the agent's stored events to `tx` until told to stop, then
    /// drains what was already published.
    fn tap(
        &self,
        name: &str,
        tx: mpsc::UnboundedSender<Arc<Event>>,
    ) -> Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )> {
        let mut sub = self.inner.events.as_ref()?.store().subscribe(Filter::All);
        let (done, mut stop) = tokio::sync::oneshot::channel::<()>();
        let name = name.to_owned();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    d = sub.recv() => match d {
                        Some(Delivery::Event(e)) if e.agent.as_deref() == Some(name.as_str()) => {
                            let _ = tx.send(e);
                        }
                        Some(_) => {}
                        None => return,
                    },
                    _ = &mut stop => break,
                }
            }
            while let Some(d) = sub.try_recv() {
                if let Delivery::Event(e) = d
                    && e.agent.as_deref() == Some(name.as_str())
                {
                    let _ = tx.send(e);
                }
            }
        });
        Some((done, task))
    }

    /// Cancels agent `name`'s running turn; whether one was running.
    ///
    /// # Errors
    /// `not_found`.
    pub fn cancel(&self, name: &str) -> Result<bool, SupervisorError> {
        let slot = self.slot(name)?;
        let cancel = slot.status.lock().ok().and_then(|st| st.cancel.clone());
        Ok(match cancel {
            Some(c) => {
                c.cancel();
                true
            }
            None => false,
        })
    }

    /// Connects every role's MCP servers of `runtime`, so that agents are
    /// offered their tools, logging each one that is not available (its
    /// tools are offered once a later call reaches it). Call on a runtime
    /// before handing it to [`Supervisor::new`]; reloads do it themselves.
    pub async fn attach_mcp(runtime: &Runtime) {
        for a in runtime.attach_mcp(None).await {
            if let Err(why) = a.tools {
                tracing::warn!(role = %a.role, server = %a.server, "MCP server not available: {why}");
            }
        }
    }

    /// Loads the policy at `path` and puts it in force: new agents start
    /// under it; each running agent finishes its turn under the old one
    /// and then starts again under the new one. A file that does not
    /// check is refused and the old policy stays. Either way the attempt is
    /// recorded (`service.reload`).
    ///
    /// # Errors
    /// The policy's error, or the runtime's when its tools do not load.
    pub async fn reload(&self, path: &Path) -> Result<(), SupervisorError> {
        let loaded = Policy::load(path, &crate::builtin::builtin_names())
            .map_err(SupervisorError::from)
            .and_then(|policy| {
                let options = RuntimeOptions {
                    events: self.inner.events.clone(),
                    ..RuntimeOptions::default()
                };
                Runtime::new(policy, options).map_err(|e| SupervisorError::Runtime(Box::new(e)))
            });
        let runtime = match loaded {
            Ok(r) => r,
            Err(e) => {
                self.record_reload(path, Some(&e));
                return Err(e);
            }
        };
        Self::attach_mcp(&runtime).await;
        match self.inner.runtime.write() {
            Ok(mut r) => *r = runtime.clone(),
            Err(poisoned) => *poisoned.into_inner() = runtime.clone(),
        }
        self.record_reload(path, None);
        let _one = self.inner.lifecycle.lock().await;
        let slots: Vec<Arc<Slot>> = self
            .inner
            .agents
            .lock()
            .map(|a| a.values().cloned().collect())
            .unwrap_or_default();
        for slot in slots {
            // The turn lock: a running turn ends under its own policy first.
            let _turn = slot.turn.lock().await;
            let name = slot.request.name.clone();
            let old = slot.handle.lock().ok().and_then(|mut h| h.take());
            drop(old);
            let join = slot.join.lock().ok().and_then(|mut j| j.take());
            if let Some(join) = join {
                let _ = tokio::time::timeout(STOP_WAIT, join).await;
            }
            match self.launch(&runtime, &slot.request) {
                Ok((resolved, handle, join)) => {
                    if let Ok(mut r) = slot.resolved.lock() {
                        *r = resolved;
                    }
                    if let Ok(mut h) = slot.handle.lock() {
                        *h = Some(handle);
                    }
                    if let Ok(mut j) = slot.join.lock() {
                        *j = Some(join);
                    }
                }
                Err(e) => {
                    tracing::error!(agent = %name, code = e.code(), "not restarted under the reloaded policy: {e}");
                    if let Some(ev) = &self.inner.events {
                        ev.emit_for(
                            &name,
                            names::kind::ERROR,
                            names::topic::AGENT_ERROR,
                            json!({"reason": e.to_string(), "code": e.code(), "source": "reload"}),
                        );
                    }
                    if let Ok(mut agents) = self.inner.agents.lock() {
                        agents.remove(&name);
                    }
                    if let Ok(mut st) = slot.status.lock() {
                        st.stopped = true;
                    }
                }
            }
        }
        Ok(())
    }

    fn record_reload(&self, path: &Path, error: Option<&SupervisorError>) {
        let Some(ev) = &self.inner.events else { return };
        let data = match error {
            None => json!({"policy": path.display().to_string(), "result": "ok"}),
            Some(e) => json!({"policy": path.display().to_string(), "result": "refused",
                              "code": e.code(), "error": e.to_string()}),
        };
        ev.emit(names::kind::RELOAD, names::topic::SERVICE_RELOAD, data);
    }

    /// Refuses new prompts and starts, waits up to `grace` for running
    /// turns, cancels those still running, and stops every agent.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.accepting.store(false, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + grace;
        let busy = |s: &Supervisor| {
            s.inner.agents.lock().is_ok_and(|a| {
                a.values()
                    .any(|slot| slot.status.lock().is_ok_and(|st| st.in_turn))
            })
        };
        while busy(self) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let slots: Vec<Arc<Slot>> = self
            .inner
            .agents
            .lock()
            .map(|mut a| std::mem::take(&mut *a).into_values().collect())
            .unwrap_or_default();
        let halts = slots.iter().map(|s| halt(s));
        futures_util::future::join_all(halts).await;
    }
}

/// A turn's outcome as JSON, as `llmagent run --json` and the API's
/// prompt answer it: `end` (see [`crate::TurnEnd::code`]), `text`,
/// `steps`, `tool_calls`, `tool_errors`, `requests`, `usage`, `trace_id`.
pub fn outcome_json(outcome: &TurnOutcome) -> serde_json::Value {
    json!({
        "end": outcome.end.code(),
        "text": outcome.end.text(),
        "steps": outcome.steps,
        "tool_calls": outcome.tool_calls,
        "tool_errors": outcome.tool_errors,
        "requests": outcome.requests,
        "usage": outcome.usage,
        "trace_id": outcome.trace_id,
    })
}

/// Cancels a slot's turn, refuses what is queued, and waits for its task.
async fn halt(slot: &Slot) {
    let cancel = slot.status.lock().ok().and_then(|mut st| {
        st.stopped = true;
        st.cancel.clone()
    });
    if let Some(c) = cancel {
        c.cancel();
    }
    let handle = slot.handle.lock().ok().and_then(|mut h| h.take());
    drop(handle);
    let join = slot.join.lock().ok().and_then(|mut j| j.take());
    if let Some(join) = join
        && tokio::time::timeout(STOP_WAIT, join).await.is_err()
    {
        tracing::error!(agent = %slot.request.name, "the agent did not stop in time");
    }
}
