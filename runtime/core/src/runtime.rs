//! The public runtime: a policy, the loaded tools, and calls.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use host_capabilities::inotify::Watches;
use host_capabilities::{Capabilities, NullSink, Sink};
use llmagent_events::Events;
use llmagent_policy::{OnAuditFailure, Policy, Role, Ruling};

use crate::cache::{CacheOutcome, ComponentCache};
use crate::engine::{MAX_CONCURRENT_CALLS, SandboxEngine};
use crate::error::RuntimeError;
use crate::mcp::McpAttach;
use crate::mcp::client::{McpClients, Server};
use crate::outcome::{CallOutcome, CallRequest, ToolFailure, ToolSuccess};
use crate::reason::Reason;
use crate::record::{self, EventSink, Tee};
use crate::registry::{self, LoadedTool, ToolInfo};
use crate::sandbox::{self, CallLimits};

/// How to build a [`Runtime`].
#[derive(Clone)]
pub struct RuntimeOptions {
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Receives every capability decision (besides the event store). A
    /// decision it answers with an error is not on record: under `[events]
    /// on_failure = "refuse"` the operation it allowed is refused.
    pub sink: Arc<dyn Sink>,
    /// Where decisions, invocations and traps are recorded; `None` records
    /// nothing.
    pub events: Option<Events>,
    /// Calls that may run at once; a call beyond is answered `too_busy`
    /// before anything is instantiated. At most (and by default) the
    /// instance pool's 256.
    pub max_concurrent_calls: u32,
    /// Instances come from wasmtime's pooling allocator, reserved once at
    /// start (a call is about a quarter cheaper). `false` allocates each
    /// on demand: for a runtime that lists, describes or checks its tools
    /// and calls none, which then starts faster. Calls still work.
    pub instance_pool: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            cache_dir: ComponentCache::default_dir(),
            sink: Arc::new(NullSink),
            events: None,
            max_concurrent_calls: MAX_CONCURRENT_CALLS,
            instance_pool: true,
        }
    }
}

/// A call with the policy's ruling on it, made once by
/// [`Runtime::decide_call`]. Only the runtime makes one, so a ruling cannot
/// be forged; [`Runtime::call_decided`] uses it rather than deciding again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedCall {
    request: CallRequest,
    ruling: Ruling,
}

impl DecidedCall {
    /// The call.
    pub fn request(&self) -> &CallRequest {
        &self.request
    }

    /// What the role's policy says about it.
    pub fn ruling(&self) -> &Ruling {
        &self.ruling
    }

    /// Records a human's answer to an [`Ruling::Approve`] ruling (for other
    /// rulings it changes nothing).
    pub fn approve(&mut self, yes: bool) {
        self.request.approved = yes;
    }
}

/// How a tool was loaded, for `tools list` and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    /// Cache hit or compile.
    pub cache: CacheOutcome,
    /// Time to load, link and describe it.
    pub load_time: Duration,
}

struct Inner {
    engine: SandboxEngine,
    tools: BTreeMap<String, LoadedTool>,
    unavailable: BTreeMap<String, RuntimeError>,
    policy: Policy,
    sink: Arc<dyn Sink>,
    events: Option<Events>,
    slots: CallSlots,
    /// Every agent's inotify watches (host state that outlives calls).
    watches: Arc<Watches>,
    /// The roles' external MCP servers (`[roles.R.mcp.NAME]`).
    mcp: McpClients,
}

/// Calls running now, against how many may: a call takes a slot before
/// its instance is made and gives it back when it ends.
struct CallSlots {
    running: std::sync::atomic::AtomicU32,
    max: u32,
}

/// A taken slot; dropping it gives it back.
struct CallSlot<'a>(&'a CallSlots);

impl CallSlots {
    fn take(&self) -> Option<CallSlot<'_>> {
        use std::sync::atomic::Ordering;
        self.running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| CallSlot(self))
    }
}

impl Drop for CallSlot<'_> {
    fn drop(&mut self) {
        self.0
            .running
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// The sandbox runtime: cheap to clone, safe to share across tasks.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

impl Runtime {
    /// Loads every tool and checks that each role grants only actions that
    /// exist.
    pub fn new(mut policy: Policy, options: RuntimeOptions) -> Result<Self, RuntimeError> {
        // llmagent's own files are out of every grant's reach: a tool that
        // could rewrite the policy, plant a compiled component or edit the
        // audit log would not be sandboxed at all.
        let own: Vec<PathBuf> = policy
            .own_files()
            .into_iter()
            .chain(options.cache_dir.clone())
            .chain(
                options
                    .events
                    .as_ref()
                    .map(|e| e.store().path().to_path_buf()),
            )
            .filter(|p| p.is_absolute() || p.exists())
            .collect();
        for role in policy.roles.values_mut() {
            Arc::make_mut(&mut role.grants).fs.protect(&own);
        }
        let engine = if options.instance_pool {
            SandboxEngine::new()?
        } else {
            SandboxEngine::without_pool()?
        };
        let linkers = sandbox::Linkers::new(engine.engine())
            .map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        let cache = ComponentCache::new(options.cache_dir);
        let registry::Loaded { tools, unavailable } =
            registry::load_all(engine.engine(), &linkers, &cache, &policy)?;
        for role in policy.roles.values() {
            check_role_actions(role, &tools, &unavailable)?;
        }
        let sink: Arc<dyn Sink> = match &options.events {
            Some(events) => Arc::new(Tee(
                Box::new(EventSink::new(events.with_source("sandbox"))),
                options.sink,
            )),
            None => options.sink,
        };
        let mcp = McpClients::new(
            &policy,
            options.events.as_ref().map(|e| e.with_source("mcp")),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                tools,
                unavailable,
                policy,
                sink,
                events: options.events.map(|e| e.with_source("sandbox")),
                slots: CallSlots {
                    running: std::sync::atomic::AtomicU32::new(0),
                    max: options.max_concurrent_calls.clamp(1, MAX_CONCURRENT_CALLS),
                },
                watches: Arc::new(Watches::new()),
                mcp,
            }),
        })
    }

    /// Closes the inotify watches `agent` holds (it ended), recording
    /// `tool.inotify` / `watch_stopped` for each.
    pub fn drop_watches(&self, agent: &str) {
        for (id, path, left) in self.inner.watches.drop_owner(agent) {
            if let Some(events) = &self.inner.events {
                events.emit_for(
                    agent,
                    "watch_stopped",
                    "tool.inotify",
                    serde_json::json!({"watch_id": id, "path": path, "final_event_count": left, "reason": "the agent ended"}),
                );
            }
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// Every tool, by name.
    pub fn tools(&self) -> impl Iterator<Item = &ToolInfo> {
        self.inner.tools.values().map(|t| &*t.info)
    }

    /// The policy's `[tools.NAME]` components that could not be loaded
    /// (unreadable, mispinned, not a component, or misbehaving in
    /// `describe()`), each with why. They are left out of [`Runtime::tools`],
    /// and a call to one answers `invalid_tool` with the reason.
    pub fn unavailable(&self) -> impl Iterator<Item = (&str, &RuntimeError)> {
        self.inner
            .unavailable
            .iter()
            .map(|(name, e)| (name.as_str(), e))
    }

    /// Connects the MCP servers (`[roles.R.mcp.NAME]`) of `role`, or of
    /// every role, and reads their tool lists, so that
    /// [`Runtime::tools_for`] offers them; a server that cannot be reached
    /// is reported and tried again on its next call. Calls to MCP servers
    /// run on the async runtime this is called on.
    pub async fn attach_mcp(&self, role: Option<&str>) -> Vec<McpAttach> {
        self.inner.mcp.adopt_runtime();
        let mut report = Vec::new();
        for (r, server) in self.inner.mcp.all() {
            if role.is_some_and(|want| want != r) {
                continue;
            }
            let tools = server
                .refresh()
                .await
                .map(|info| info.actions.iter().map(|a| a.name.clone()).collect());
            report.push(McpAttach {
                role: r.to_owned(),
                server: server.name().to_owned(),
                tools,
            });
        }
        report
    }

    /// The tools a role can reach: every component, then its MCP servers
    /// as last listed (see [`Runtime::attach_mcp`]).
    pub fn tools_for(&self, role: &str) -> Vec<Arc<ToolInfo>> {
        let mut tools: Vec<Arc<ToolInfo>> = self
            .inner
            .tools
            .values()
            .map(|t| Arc::clone(&t.info))
            .collect();
        tools.extend(
            self.inner
                .mcp
                .all()
                .filter(|(r, _)| *r == role)
                .filter_map(|(_, s)| s.cached()),
        );
        tools
    }

    /// One tool.
    pub fn tool(&self, name: &str) -> Option<&ToolInfo> {
        self.inner.tools.get(name).map(|t| &*t.info)
    }

    /// How a tool was loaded.
    pub fn load_report(&self, name: &str) -> Option<LoadReport> {
        self.inner.tools.get(name).map(|t| LoadReport {
            cache: t.cache,
            load_time: t.load_time,
        })
    }

    /// What the role's policy says about one action, without calling it.
    pub fn decide(&self, role: &str, tool: &str, action: &str) -> Result<Ruling, RuntimeError> {
        Ok(self.inner.policy.role(role)?.decide(tool, action))
    }

    /// Decides `request` once, before it runs: the caller asks a human
    /// only when the ruling is [`Ruling::Approve`] (then records the answer
    /// with [`DecidedCall::approve`]), and hands the call to
    /// [`Runtime::call_decided`], which does not decide again. The ruling is
    /// recorded (one `policy.decision`) when the call is made.
    pub fn decide_call(&self, request: CallRequest) -> Result<DecidedCall, RuntimeError> {
        let ruling = self.decide(&request.role, &request.tool, &request.action)?;
        Ok(DecidedCall { request, ruling })
    }

    /// Decides and makes a call (see [`Runtime::call_decided`]).
    pub async fn call(&self, request: CallRequest) -> Result<CallOutcome, RuntimeError> {
        let call = self.decide_call(request)?;
        self.call_decided(call).await
    }

    /// Makes a decided call without holding up the async runtime: neither a long
    /// tool nor a blocking capability stalls other tasks.
    ///
    /// On a multi-threaded runtime the call runs on a fiber of the calling
    /// task: the component yields at every epoch tick and awaits its WASI
    /// waits, and a capability that blocks hands the worker's other tasks
    /// to another thread first. Dropping the future stops the call at its
    /// next yield (a capability already running finishes first) and records
    /// it as `cancelled`. On a current-thread runtime the call runs on the
    /// blocking pool and runs to its end even when dropped. Every call ends
    /// by its role's timeout in any case.
    pub async fn call_decided(&self, call: DecidedCall) -> Result<CallOutcome, RuntimeError> {
        // On a multi-threaded runtime the call runs on a fiber of this task
        // (see `sandbox::invoke_async`): no hand-off to another thread.
        // A current-thread runtime has no other worker to run its tasks
        // while a capability blocks, so there the call goes to the
        // blocking pool, with the caller's agent and request context, so
        // that events recorded during the call belong to its turn.
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread
        {
            return self.call_on_fiber(&call).await;
        }
        let scope = llmagent_events::current_scope();
        let this = self.clone();
        let work = move || llmagent_events::sync_scope(scope, || this.call_decided_blocking(&call));
        match tokio::task::spawn_blocking(work).await {
            Ok(outcome) => outcome,
            Err(e) => Err(RuntimeError::Engine(format!(
                "the tool call's thread failed: {e}"
            ))),
        }
    }

    /// [`Runtime::call_decided`] on a fiber of the calling task. Dropped
    /// before it ends (its caller stopped waiting: a cancelled MCP request,
    /// an aborted task), the call stops at its next yield and is recorded
    /// as `cancelled`, so that no decision is left without its invocation.
    async fn call_on_fiber(&self, call: &DecidedCall) -> Result<CallOutcome, RuntimeError> {
        let mut unfinished = Unfinished {
            runtime: self,
            call,
            started: std::time::Instant::now(),
            armed: false,
            sink: None,
        };
        let outcome = match self.prepare(call)? {
            Ready::Done(outcome) => outcome,
            Ready::Component(tool, role) => match self.begin(role, call) {
                Ok((started, caps)) => {
                    unfinished.armed = true;
                    unfinished.sink = Some(Arc::clone(&started.sink));
                    let raw = sandbox::invoke_async(
                        self.inner.engine.engine(),
                        &tool.fibers,
                        caps,
                        limits_of(role),
                        &call.request.action,
                        &call.request.args_json,
                    )
                    .await;
                    self.end(started, call, raw)
                }
                Err(refused) => *refused,
            },
            Ready::Mcp(server, role) => {
                unfinished.armed = true;
                let limits = limits_of(role);
                let answer = server.call(
                    &call.request.action,
                    &call.request.args_json,
                    limits.timeout,
                    limits.max_output_bytes,
                );
                mcp_outcome(call, answer.await)
            }
        };
        unfinished.armed = false;
        Ok(self.recorded(call, outcome))
    }

    /// Calls a tool on the current thread (blocks it for the call's length).
    /// The call, its decision and any trap are recorded as events.
    pub fn call_blocking(&self, request: &CallRequest) -> Result<CallOutcome, RuntimeError> {
        let call = self.decide_call(request.clone())?;
        self.call_decided_blocking(&call)
    }

    /// [`Runtime::call_decided`] on the current thread.
    pub fn call_decided_blocking(&self, call: &DecidedCall) -> Result<CallOutcome, RuntimeError> {
        let outcome = match self.prepare(call)? {
            Ready::Done(outcome) => outcome,
            Ready::Component(tool, role) => match self.begin(role, call) {
                Ok((started, caps)) => {
                    let raw = sandbox::invoke(
                        self.inner.engine.engine(),
                        &tool.pre,
                        caps,
                        limits_of(role),
                        &call.request.action,
                        &call.request.args_json,
                    );
                    self.end(started, call, raw)
                }
                Err(refused) => *refused,
            },
            Ready::Mcp(server, role) => self.invoke_mcp(server, role, call),
        };
        Ok(self.recorded(call, outcome))
    }

    /// Records a finished call's invocation (and trap), and returns it.
    fn recorded(&self, call: &DecidedCall, outcome: CallOutcome) -> CallOutcome {
        if let Some(events) = &self.inner.events {
            record::invocation(events, &call.request, &outcome);
        }
        outcome
    }

    /// What a call needs before it can run: its tool, its decision
    /// recorded, and an allowed ruling; or its outcome when it is refused.
    fn prepare<'a>(&'a self, call: &DecidedCall) -> Result<Ready<'a>, RuntimeError> {
        let inner = &self.inner;
        let request = &call.request;
        let role = inner.policy.role(&request.role)?;
        let server = inner.mcp.get(&role.name, &request.tool);
        let tool = match server {
            Some(_) => None,
            None => match self.component(request) {
                Ok(tool) => Some(tool),
                Err(refused) => return Ok(Ready::Done(*refused)),
            },
        };
        let decision = call.ruling.clone();
        // The audit log fails closed: the decision is the call's first
        // event, and a call the log cannot show does not run.
        if let Some(events) = &inner.events
            && !record::decision(events, request, &decision)
        {
            let why = record::last_failure(events);
            if inner.policy.events.on_failure == OnAuditFailure::Refuse {
                tracing::error!(tool = %request.tool, action = %request.action, "the event log cannot record ({why}); the call is refused");
                return Ok(Ready::Done(CallOutcome::refused(
                    audit_unavailable(
                        format!("the event log cannot record this call ({why}), so it was not run"),
                        Some(events),
                    ),
                    Some(decision),
                )));
            }
            tracing::error!(tool = %request.tool, action = %request.action, "the event log cannot record ({why}); the call runs anyway ([events] on_failure = \"continue\")");
        }
        match &decision {
            Ruling::Deny { hint } => {
                let failure = ToolFailure::new(
                    Reason::ToolNotPermitted,
                    format!(
                        "role `{}` may not use `{}.{}`",
                        role.name, request.tool, request.action
                    ),
                )
                .suggestion(hint.clone());
                return Ok(Ready::Done(CallOutcome::refused(failure, Some(decision))));
            }
            Ruling::Approve { .. } if !request.approved => {
                let failure = ToolFailure::new(
                    Reason::ApprovalRequired,
                    format!(
                        "`{}.{}` needs a human's approval under role `{}` and none was given",
                        request.tool, request.action, role.name
                    ),
                )
                .suggestion("run it interactively and answer yes, or pass --approve to `llmagent tools call`");
                return Ok(Ready::Done(CallOutcome::refused(failure, Some(decision))));
            }
            Ruling::Approve { .. } | Ruling::Allow { .. } => {}
        }
        match (tool, server) {
            (Some(tool), _) => Ok(Ready::Component(tool, role)),
            (None, Some(server)) => Ok(Ready::Mcp(server, role)),
            (None, None) => Err(RuntimeError::Engine("a call with no tool".into())),
        }
    }

    /// The component a call names, or the refusal when there is none (or
    /// it has no such action).
    fn component(&self, request: &CallRequest) -> Result<&LoadedTool, Box<CallOutcome>> {
        let inner = &self.inner;
        if let Some(why) = inner.unavailable.get(&request.tool) {
            return Err(Box::new(CallOutcome::refused(
                ToolFailure::new(
                    Reason::InvalidTool,
                    format!("the `{}` tool could not be loaded: {why}", request.tool),
                )
                .suggestion("use another tool; the operator must fix the component (`llmagent policy check` names the problem)"),
                None,
            )));
        }
        let Some(tool) = inner.tools.get(&request.tool) else {
            let known: Vec<&str> = inner.tools.keys().map(String::as_str).collect();
            return Err(Box::new(CallOutcome::refused(
                ToolFailure::new(
                    Reason::InvalidTool,
                    format!("there is no tool named `{}`", request.tool),
                )
                .suggestion(format!("use one of: {}", known.join(", "))),
                None,
            )));
        };
        if tool.info.action(&request.action).is_none() {
            return Err(Box::new(CallOutcome::refused(
                ToolFailure::new(
                    Reason::UnknownCommand,
                    format!(
                        "the {} tool has no action `{}`",
                        request.tool, request.action
                    ),
                )
                .field("action")
                .suggestion(format!("use one of: {}", tool.info.action_names())),
                None,
            )));
        }
        Ok(tool)
    }

    /// What a component's call holds while it runs (its instance slot, its
    /// sink) and the capabilities it runs with; or the refusal when every
    /// slot is taken.
    fn begin(
        &self,
        role: &Role,
        call: &DecidedCall,
    ) -> Result<(Started<'_>, Capabilities), Box<CallOutcome>> {
        let inner = &self.inner;
        let sink = Arc::new(record::CallSink::new(
            Arc::clone(&inner.sink),
            call.request.secrets.clone(),
            inner.events.as_ref(),
            inner.policy.events.on_failure == OnAuditFailure::Refuse,
        ));
        // Every pooled instance slot in use would make instantiation fail
        // as if the tool had crashed: refuse first, plainly.
        let Some(slot) = inner.slots.take() else {
            let failure = ToolFailure::new(
                Reason::TooBusy,
                format!(
                    "{} tool calls are already running; this one was not started",
                    inner.slots.max
                ),
            )
            .suggestion("retry when fewer calls are running");
            return Err(Box::new(CallOutcome::refused(
                failure,
                Some(call.ruling.clone()),
            )));
        };
        // Watches outlive the call and belong to the agent making it (none
        // for a call outside an agent, such as `llmagent tools call`).
        let owner = llmagent_events::current_scope().agent.unwrap_or_default();
        let caps = Capabilities::new(Arc::clone(&role.grants), Arc::clone(&sink) as Arc<dyn Sink>)
            .with_watches(Arc::clone(&inner.watches), owner);
        Ok((Started { sink, _slot: slot }, caps))
    }

    /// A component's call after it ran: its sink's events, its outcome.
    fn end(
        &self,
        started: Started<'_>,
        call: &DecidedCall,
        raw: sandbox::RawOutcome,
    ) -> CallOutcome {
        if let Some(events) = &self.inner.events {
            started.sink.finish(events, &call.request);
        }
        // An operation refused because the log could not show it: the
        // call answers why, whatever the tool made of the refusal.
        let result = match started.sink.refused() {
            Some(what) => {
                tracing::error!(tool = %call.request.tool, action = %call.request.action, "the event log cannot record {what}; the operation was refused");
                Err(audit_unavailable(
                    format!(
                        "the event log cannot record this call's {what}, so that operation was refused"
                    ),
                    self.inner.events.as_ref(),
                ))
            }
            None => raw.result,
        };
        CallOutcome {
            result,
            decision: Some(call.ruling.clone()),
            duration: raw.duration,
            stdout: raw.stdout.0,
            stderr: raw.stderr.0,
            stdio_truncated: raw.stdout.1 || raw.stderr.1,
        }
    }

    /// Sends a decided, allowed call to a role's MCP server, bounded by
    /// the role's timeout and output cap. Runs on the async runtime the
    /// servers were attached on (this thread blocks on it, as a
    /// component's call blocks on the sandbox).
    fn invoke_mcp(&self, server: &Server, role: &Role, call: &DecidedCall) -> CallOutcome {
        let limits = limits_of(role);
        let Some(handle) = self.inner.mcp.handle() else {
            return CallOutcome::refused(
                ToolFailure::new(
                    Reason::RuntimeError,
                    format!(
                        "MCP server `{}` needs an async runtime; none was running when the runtime was made",
                        call.request.tool
                    ),
                ),
                Some(call.ruling.clone()),
            );
        };
        let work = server.call(
            &call.request.action,
            &call.request.args_json,
            limits.timeout,
            limits.max_output_bytes,
        );
        mcp_outcome(call, handle.block_on(work))
    }
}

/// What a component's running call holds until it ends.
struct Started<'a> {
    sink: Arc<record::CallSink>,
    _slot: CallSlot<'a>,
}

/// The failure of a call, or of an operation of it, that the event log
/// could not show (`[events] on_failure = "refuse"`). A store that takes no
/// more writes until it is reopened says so.
fn audit_unavailable(message: String, events: Option<&Events>) -> ToolFailure {
    let suggestion = if events.is_some_and(|e| e.store().is_poisoned()) {
        "nothing to change in the call: the event store takes no more writes since a write to its disk failed; the operator must make the disk writable (space, permissions) and restart llmagent, which reopens the store with everything recorded before the failure"
    } else {
        "nothing to change in the call: the operator must make the event store writable again (disk space, permissions), then it can be retried"
    };
    ToolFailure::new(Reason::AuditUnavailable, message).suggestion(suggestion)
}

/// A call on a fiber that has started: dropped while armed, it records the
/// call as cancelled.
struct Unfinished<'a> {
    runtime: &'a Runtime,
    call: &'a DecidedCall,
    started: std::time::Instant,
    armed: bool,
    /// The component call's sink, whose counted decisions are recorded too.
    sink: Option<Arc<record::CallSink>>,
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let (Some(sink), Some(events)) = (&self.sink, &self.runtime.inner.events) {
            sink.finish(events, &self.call.request);
        }
        let mut outcome = CallOutcome::refused(
            ToolFailure::new(
                Reason::Cancelled,
                "the call was stopped before it finished: its caller stopped waiting for it",
            ),
            Some(self.call.ruling.clone()),
        );
        outcome.duration = self.started.elapsed();
        self.runtime.recorded(self.call, outcome);
    }
}

/// What [`Runtime::prepare`] found.
enum Ready<'a> {
    /// The call is over before it ran (refused, unknown tool or action).
    Done(CallOutcome),
    Component(&'a LoadedTool, &'a Role),
    Mcp(&'a Server, &'a Role),
}

/// An MCP server's answer as the call's outcome.
fn mcp_outcome(
    call: &DecidedCall,
    (mut result, duration): (Result<ToolSuccess, ToolFailure>, Duration),
) -> CallOutcome {
    if let Err(f) = &mut result {
        f.message = call.request.secrets.scrub(&f.message);
    }
    CallOutcome {
        result,
        decision: Some(call.ruling.clone()),
        duration,
        stdout: String::new(),
        stderr: String::new(),
        stdio_truncated: false,
    }
}

fn limits_of(role: &Role) -> CallLimits {
    CallLimits {
        timeout: Duration::from_millis(role.limits.timeout_ms),
        memory_bytes: usize::try_from(role.limits.memory_mib.saturating_mul(1 << 20))
            .unwrap_or(usize::MAX),
        max_output_bytes: usize::try_from(role.limits.max_output_bytes).unwrap_or(usize::MAX),
    }
}

fn check_role_actions(
    role: &Role,
    tools: &BTreeMap<String, LoadedTool>,
    unavailable: &BTreeMap<String, RuntimeError>,
) -> Result<(), RuntimeError> {
    for grant in role.tools.iter().chain(role.approve.iter()) {
        let Some(action) = &grant.action else {
            continue;
        };
        // A role's MCP servers are checked when they list their tools.
        if unavailable.contains_key(&grant.tool) || role.mcp.contains_key(&grant.tool) {
            continue;
        }
        let Some(tool) = tools.get(&grant.tool) else {
            return Err(RuntimeError::UnknownTool(grant.tool.clone()));
        };
        if tool.info.action(action).is_none() {
            return Err(RuntimeError::UnknownAction {
                role: role.name.clone(),
                grant: grant.to_string(),
                tool: grant.tool.clone(),
                action: action.clone(),
                actions: tool.info.action_names(),
            });
        }
    }
    Ok(())
}
