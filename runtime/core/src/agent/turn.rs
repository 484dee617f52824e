//! One turn: model and tools alternate until a final answer, the step
//! limit, a model error, or cancellation.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use llmagent_events::{
    Context, Redaction, Scope, names, seal_value, unseal, with_context, with_scope,
};
use llmagent_llm::{
    ChatRequest, ChatResponse, LlmClient, LlmError, Message, MessageRole, ResponseFormat, Usage,
};
use llmagent_policy::Verdict;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::prompt::{self, Style};
use super::protocol::{self, JsonReply};
use super::{Agent, ApprovalRequest, TurnEnd, TurnEvent, TurnOutcome, Wire, history};
use crate::error::RuntimeError;
use crate::outcome::{CallOutcome, CallRequest, ToolFailure, ToolSuccess};
use crate::reason::Reason;

/// Tool actions whose whole output is a secret (sealed as one handle).
const SECRET_OUTPUTS: &[(&str, &str)] = &[("crypto", "generate_key")];

/// Field names (substrings, lower-case) of tool results that hold secrets
/// and are sealed before the model sees them. Narrower than the event
/// store's redaction (which also covers any `key` or `token`), so that
/// plain facts such as a unit's `keyringmode` stay readable.
const SECRET_FIELDS: &[&str] = &[
    "private_key",
    "secret",
    "password",
    "passphrase",
    "api_key",
    "access_token",
];

/// A call the model asked for.
enum Pending {
    /// Native: answer with a `tool` message carrying `id`.
    Native {
        id: String,
        tool: String,
        action: String,
        args: Result<Value, ToolFailure>,
    },
    /// json / constrained: answer with a `user` message.
    Json {
        tool: String,
        action: String,
        args: Result<Value, ToolFailure>,
    },
}

enum Step {
    Continue,
    End(TurnEnd),
}

/// Runs a turn; a panic inside it (a bug) costs the turn, not the process.
pub(super) async fn run_guarded(
    agent: &mut Agent,
    text: &str,
    observer: &mut (dyn FnMut(TurnEvent) + Send),
    cancel: &CancellationToken,
) -> TurnOutcome {
    let name = agent.settings.name.clone();
    let events = agent.events.clone();
    match AssertUnwindSafe(run(agent, text, observer, cancel))
        .catch_unwind()
        .await
    {
        Ok(outcome) => outcome,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(agent = %name, panic = %what, "the agent's turn panicked");
            let message = format!("internal error in the agent loop: {what}");
            if let Some(ev) = &events {
                ev.emit_for(
                    &name,
                    names::kind::ERROR,
                    names::topic::AGENT_ERROR,
                    json!({"reason": message, "source": "agent", "code": "internal"}),
                );
            }
            TurnOutcome {
                end: TurnEnd::Failed(message),
                steps: 0,
                tool_calls: 0,
                tool_errors: 0,
                requests: 0,
                usage: Usage::default(),
                trace_id: String::new(),
            }
        }
    }
}

/// Runs a turn in a fresh request context (new `request_id`, new `trace_id`).
pub(super) async fn run(
    agent: &mut Agent,
    text: &str,
    observer: &mut (dyn FnMut(TurnEvent) + Send),
    cancel: &CancellationToken,
) -> TurnOutcome {
    let context = Context::new_request();
    let mut out = TurnOutcome {
        end: TurnEnd::Cancelled,
        steps: 0,
        tool_calls: 0,
        tool_errors: 0,
        requests: 0,
        usage: Usage::default(),
        trace_id: context.trace_id.clone().unwrap_or_default(),
    };
    let scope = Scope {
        agent: Some(agent.settings.name.clone()),
        context,
    };
    out.end = with_scope(scope, turn(agent, text, observer, cancel, &mut out)).await;
    out
}

async fn turn(
    agent: &mut Agent,
    text: &str,
    observer: &mut (dyn FnMut(TurnEvent) + Send),
    cancel: &CancellationToken,
    out: &mut TurnOutcome,
) -> TurnEnd {
    emit(
        agent,
        names::kind::PROMPT,
        names::topic::AGENT_PROMPT,
        json!({"content": text, "role": agent.settings.role}),
    );
    if agent.history.is_empty() {
        // On record only (the predecessor's fresh start); never replayed.
        let system = Message::system(system_prompt_of(agent));
        record_message(agent, &system);
    }
    push(agent, Message::user(text));
    agent.last_call = None;
    agent.answer_only = false;
    let mut context = llmagent_events::current_context();
    loop {
        let step = with_context(context.clone(), step(agent, observer, cancel, out)).await;
        match step {
            Step::Continue => context = context.follow_up(),
            Step::End(end) => return end,
        }
    }
}

/// One model request and the tool calls it asks for.
async fn step(
    agent: &mut Agent,
    observer: &mut (dyn FnMut(TurnEvent) + Send),
    cancel: &CancellationToken,
    out: &mut TurnOutcome,
) -> Step {
    if cancel.is_cancelled() {
        return Step::End(cancelled(agent));
    }
    let request = build_request(agent);
    observer(TurnEvent::Waiting);
    out.requests += 1;
    let started = Instant::now();
    let stream = agent.settings.stream && agent.wire == Wire::Native;
    let client = agent.client.clone();
    let reply = tokio::select! {
        r = ask(client.as_ref(), &request, stream, observer) => r,
        () = cancel.cancelled() => return Step::End(cancelled(agent)),
    };
    let reply = match reply {
        Ok(r) => r,
        Err(e) => {
            if let Some(to) = fallback(agent, &request, &e) {
                let from = agent.wire;
                agent.wire = to;
                agent.may_fall_back = false;
                let reason = e.to_string();
                tracing::warn!(agent = %agent.settings.name, from = from.as_str(), to = to.as_str(), %reason, "model server refused the protocol; falling back");
                emit(
                    agent,
                    names::kind::FALLBACK,
                    names::topic::AGENT_PROTOCOL,
                    json!({"agent_id": agent.settings.name, "from": from.as_str(), "to": to.as_str(), "reason": reason}),
                );
                observer(TurnEvent::Fallback {
                    from: from.as_str().into(),
                    to: to.as_str().into(),
                    reason,
                });
                return Step::Continue;
            }
            return Step::End(model_error(agent, e));
        }
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Some(u) = reply.usage {
        out.usage.prompt_tokens += u.prompt_tokens;
        out.usage.completion_tokens += u.completion_tokens;
        out.usage.total_tokens += u.total_tokens;
    }
    let content = reply.content.clone().unwrap_or_default();
    if agent.wire == Wire::Constrained
        && reply.finish_reason.as_deref() == Some("length")
        && serde_json::from_str::<Value>(&content).is_err()
    {
        // The grammar keeps a finished reply valid; one cut by the token
        // limit is not a call and not an answer.
        let e = LlmError::InvalidReply {
            message: format!(
                "the reply was cut off at the token limit after {} characters, before its JSON was complete; raise max_tokens for this agent",
                content.chars().count()
            ),
        };
        return Step::End(model_error(agent, e));
    }
    let (calls, answer) = interpret(agent, &reply, &content);
    emit(
        agent,
        names::kind::LLM_RESPONSE,
        names::topic::AGENT_LLM_RESPONSE,
        json!({
            "content_length": content.chars().count(),
            "is_tool_call": !calls.is_empty(),
            "tool_calls": calls.len(),
            "finish_reason": reply.finish_reason,
            "usage": reply.usage,
            "model": reply.model,
            "attempts": reply.attempts,
            "duration_ms": duration_ms,
            "protocol": agent.wire.as_str(),
        }),
    );
    if let Some(answer) = answer {
        push(agent, Message::assistant(content));
        return Step::End(TurnEnd::Answer(answer));
    }
    let max_steps = agent
        .runtime
        .policy()
        .role(&agent.settings.role)
        .map(|r| r.limits.max_steps)
        .unwrap_or(0);
    if out.steps >= max_steps {
        let message = format!(
            "I stopped after {max_steps} tool steps without reaching a final answer \
             (max_steps = {max_steps} for role {}). Ask me to continue, or raise max_steps in the policy.",
            agent.settings.role
        );
        push(agent, Message::assistant(message.clone()));
        emit(
            agent,
            names::kind::ERROR,
            names::topic::AGENT_ERROR,
            json!({"reason": message, "source": "agent", "code": "max_steps"}),
        );
        return Step::End(TurnEnd::StepLimit { max_steps, message });
    }
    out.steps += 1;
    if agent.wire == Wire::Constrained
        && let [
            Pending::Json {
                tool,
                action,
                args: Ok(args),
            },
        ] = calls.as_slice()
        && agent.last_call == Some((tool.clone(), action.clone(), args.to_string()))
    {
        // A small model repeating the call it just made is looping: the
        // result is already in the conversation. Forget the repeat and ask
        // again with a schema that only allows the answer.
        agent.answer_only = true;
        emit(
            agent,
            names::kind::ERROR,
            names::topic::AGENT_ERROR,
            json!({"reason": format!("the model repeated {tool}.{action} with the same arguments; asking for the answer"), "source": "agent", "code": "repeated_call"}),
        );
        return Step::Continue;
    }
    let asked = match agent.wire {
        Wire::Native => Message {
            role: MessageRole::Assistant,
            content: reply.content.clone().filter(|c| !c.is_empty()),
            tool_calls: reply.tool_calls.clone(),
            tool_call_id: None,
        },
        Wire::Json | Wire::Constrained => Message::assistant(content),
    };
    push(agent, asked);
    for call in calls {
        let (tool, action, args) = match &call {
            Pending::Native {
                tool, action, args, ..
            }
            | Pending::Json { tool, action, args } => (tool.clone(), action.clone(), args.clone()),
        };
        let key = args
            .as_ref()
            .ok()
            .map(|a| (tool.clone(), action.clone(), a.to_string()));
        let repeated = key.is_some() && key == agent.last_call;
        agent.last_call = key;
        let result = if cancel.is_cancelled() {
            protocol::feedback(
                &Err(ToolFailure::new(
                    Reason::Cancelled,
                    "the turn was cancelled before this call ran",
                )),
                agent.settings.max_result_bytes,
            )
        } else if repeated {
            // A model that repeats the call it just made is looping; the
            // result is already in the conversation.
            protocol::feedback(
                &Err(ToolFailure::new(
                    Reason::RepeatedCall,
                    format!("{tool}.{action} was just called with these same arguments; its result is the previous message"),
                )
                .suggestion("answer the user's question with that result now, or make a different call")),
                agent.settings.max_result_bytes,
            )
        } else {
            out.tool_calls += 1;
            let (text, ok) = run_call(agent, &tool, &action, args, observer).await;
            out.tool_errors += u32::from(!ok);
            text
        };
        let message = match call {
            Pending::Native { id, .. } => Message::tool(id, result),
            Pending::Json { .. } => Message::user(result),
        };
        push(agent, message);
    }
    if cancel.is_cancelled() {
        return Step::End(cancelled(agent));
    }
    Step::Continue
}

/// The calls a reply asks for, or its final answer.
fn interpret(agent: &Agent, reply: &ChatResponse, content: &str) -> (Vec<Pending>, Option<String>) {
    match agent.wire {
        Wire::Native if reply.tool_calls.is_empty() => (Vec::new(), Some(content.to_owned())),
        Wire::Native => {
            let calls = reply
                .tool_calls
                .iter()
                .map(|c| {
                    let (tool, action) = agent.names.resolve(&c.function.name);
                    Pending::Native {
                        id: c.id.clone(),
                        tool,
                        action,
                        args: native_args(&c.function.arguments),
                    }
                })
                .collect();
            (calls, None)
        }
        Wire::Json | Wire::Constrained => match protocol::parse_json_reply(content) {
            JsonReply::Answer(a) => (Vec::new(), Some(a)),
            JsonReply::Call { tool, action, args } => (
                vec![Pending::Json {
                    tool,
                    action,
                    args: Ok(args),
                }],
                None,
            ),
            JsonReply::BadCall(f) => (
                vec![Pending::Json {
                    tool: String::new(),
                    action: String::new(),
                    args: Err(f),
                }],
                None,
            ),
        },
    }
}

/// A native call's `arguments` text as a JSON object.
fn native_args(text: &str) -> Result<Value, ToolFailure> {
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(Value::Null) => Ok(json!({})),
        Ok(other) => Err(invalid_args(format!(
            "the arguments must be a JSON object, not {other}"
        ))),
        Err(e) => Err(invalid_args(format!(
            "the arguments are not valid JSON: {e}"
        ))),
    }
}

fn invalid_args(message: String) -> ToolFailure {
    ToolFailure::new(Reason::InvalidArgs, message)
        .field("arguments")
        .suggestion("call the function again with a JSON object matching its parameters")
}

/// Runs one call through the policy and the sandbox; the result as the
/// model sees it.
async fn run_call(
    agent: &mut Agent,
    tool: &str,
    action: &str,
    args: Result<Value, ToolFailure>,
    observer: &mut (dyn FnMut(TurnEvent) + Send),
) -> (String, bool) {
    let mut result = match args {
        Err(failure) => {
            // Refused before any tool was chosen (the model's call was
            // malformed); recorded like any refused call when it names a tool.
            if !tool.is_empty()
                && let Some(ev) = &agent.events
            {
                let request = CallRequest::new(&agent.settings.role, tool, action, "{}");
                crate::record::invocation(
                    ev,
                    &request,
                    &CallOutcome::refused(failure.clone(), None),
                );
            }
            Err(failure)
        }
        Ok(mut args) => {
            emit(
                agent,
                names::kind::TOOL_DISPATCH,
                names::topic::AGENT_TOOL_DISPATCH,
                json!({"agent_id": agent.settings.name, "tool": tool, "action": action}),
            );
            observer(TurnEvent::ToolCall {
                tool: tool.to_owned(),
                action: action.to_owned(),
                args: args.clone(),
            });
            let shown = args.clone();
            let vault = &agent.vault;
            unseal(&mut args, &|h| vault.get(h).cloned());
            let request = CallRequest::new(&agent.settings.role, tool, action, &args.to_string());
            // Decided once: the approver is asked only for an approval
            // ruling, and the runtime makes the call with this ruling.
            match decide_and_call(agent, request, shown).await {
                Ok(outcome) => outcome.result,
                Err(e) => Err(ToolFailure::new(Reason::RuntimeError, e.to_string())),
            }
        }
    };
    seal(agent, tool, action, &mut result);
    let text = protocol::feedback(&result, agent.settings.max_result_bytes);
    observer(TurnEvent::ToolResult {
        tool: tool.to_owned(),
        action: action.to_owned(),
        ok: result.is_ok(),
        result: text.clone(),
    });
    (text, result.is_ok())
}

/// Decides `request` once, asks the approver only when the ruling says so,
/// and makes the call with that ruling.
async fn decide_and_call(
    agent: &Agent,
    request: CallRequest,
    shown: Value,
) -> Result<CallOutcome, RuntimeError> {
    let mut call = agent.runtime.decide_call(request)?;
    if call.ruling().verdict() == Verdict::Approve {
        let question = ApprovalRequest {
            agent: agent.settings.name.clone(),
            role: agent.settings.role.clone(),
            tool: call.request().tool.clone(),
            action: call.request().action.clone(),
            args: shown,
        };
        call.approve(agent.approver.approve(&question).await);
    }
    agent.runtime.call_decided(call).await
}

/// Keeps the secrets of a tool's answer from the model (see the module
/// docs of [`super`]).
fn seal(
    agent: &mut Agent,
    tool: &str,
    action: &str,
    result: &mut Result<ToolSuccess, ToolFailure>,
) {
    let Ok(ok) = result else { return };
    let rules = Redaction {
        patterns: SECRET_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
        exempt: vec!["public_key".to_owned()],
    };
    let mut sealed = if SECRET_OUTPUTS.contains(&(tool, action)) {
        vec![seal_value(&mut ok.output)]
    } else {
        rules.seal(&mut ok.output)
    };
    sealed.extend(rules.seal(&mut ok.metadata));
    for s in sealed {
        agent.vault.insert(s.handle, s.value);
    }
}

async fn ask(
    client: &dyn LlmClient,
    request: &ChatRequest,
    stream: bool,
    observer: &mut (dyn FnMut(TurnEvent) + Send),
) -> Result<ChatResponse, LlmError> {
    if stream {
        let mut on_text = |t: &str| observer(TurnEvent::Text(t.to_owned()));
        client.chat_stream(request, &mut on_text).await
    } else {
        client.chat(request).await
    }
}

/// The protocol to fall back to when the server refused this one.
fn fallback(agent: &Agent, request: &ChatRequest, err: &LlmError) -> Option<Wire> {
    if !agent.may_fall_back {
        return None;
    }
    let LlmError::Status { status, body, .. } = err else {
        return None;
    };
    let body = body.to_ascii_lowercase();
    let mentions = |words: &[&str]| words.iter().any(|w| body.contains(w));
    let refused = matches!(status, 400..=501) && *status != 429;
    match agent.wire {
        Wire::Native if !request.tools.is_empty() && refused && mentions(&["tool", "function"]) => {
            Some(Wire::Json)
        }
        Wire::Constrained
            if refused && mentions(&["response_format", "json_schema", "schema", "grammar"]) =>
        {
            Some(Wire::Json)
        }
        _ => None,
    }
}

/// The request for the next step.
fn build_request(agent: &Agent) -> ChatRequest {
    let mut messages = Vec::with_capacity(agent.history.len() + 1);
    messages.push(Message::system(system_prompt_of(agent)));
    match agent.wire {
        Wire::Native => messages.extend(agent.history.iter().cloned()),
        Wire::Json | Wire::Constrained => {
            messages.extend(history::as_json_protocol(&agent.history))
        }
    }
    ChatRequest {
        model: agent.settings.model.clone(),
        messages,
        tools: match agent.wire {
            Wire::Native => protocol::tool_defs(&agent.offered, &agent.names),
            _ => Vec::new(),
        },
        response_format: (agent.wire == Wire::Constrained).then(|| ResponseFormat {
            name: "tool_call_or_answer".into(),
            schema: protocol::constrained_schema(
                &agent.offered,
                agent.answer_only,
                agent.settings.max_tokens,
            ),
        }),
        temperature: agent.settings.temperature,
        max_tokens: agent.settings.max_tokens,
    }
}

/// The system prompt for the agent's role and current protocol.
pub(super) fn system_prompt_of(agent: &Agent) -> String {
    let role = agent.runtime.policy().role(&agent.settings.role).ok();
    let style = match agent.wire {
        Wire::Native => Style::Native,
        Wire::Json => Style::Json,
        Wire::Constrained => Style::Constrained,
    };
    prompt::system_prompt(
        &agent.settings.role,
        role.and_then(|r| r.prompt.as_deref()),
        &agent.offered,
        style,
    )
}

/// Records a failed model request; the turn ends with it.
fn model_error(agent: &Agent, e: LlmError) -> TurnEnd {
    emit(
        agent,
        names::kind::ERROR,
        names::topic::AGENT_ERROR,
        json!({"reason": e.to_string(), "source": "llm_request", "code": e.code()}),
    );
    TurnEnd::ModelError(e)
}

fn cancelled(agent: &Agent) -> TurnEnd {
    emit(
        agent,
        names::kind::ERROR,
        names::topic::AGENT_ERROR,
        json!({"reason": "the turn was cancelled", "source": "user", "code": "cancelled"}),
    );
    TurnEnd::Cancelled
}

/// Appends to the conversation and records it.
fn push(agent: &mut Agent, message: Message) {
    record_message(agent, &message);
    agent.history.push(message);
}

fn record_message(agent: &Agent, message: &Message) {
    let data = history::message_data(&agent.settings.name, message);
    emit(
        agent,
        names::kind::MESSAGE,
        names::topic::AGENT_MESSAGE,
        data,
    );
}

fn emit(agent: &Agent, kind: &str, topic: &str, data: Value) {
    if let Some(ev) = &agent.events {
        ev.emit(kind, topic, data);
    }
}

/// `agent.started` / `agent.stopped`.
pub(super) fn record_lifecycle(agent: &Agent, started: bool) {
    let Some(ev) = &agent.events else { return };
    let name = &agent.settings.name;
    if started {
        ev.emit_for(
            name,
            names::kind::STARTED,
            names::topic::AGENT_STARTED,
            json!({"agent_id": name, "role": agent.settings.role, "model": agent.settings.model, "protocol": agent.wire.as_str()}),
        );
    } else {
        ev.emit_for(
            name,
            names::kind::STOPPED,
            names::topic::AGENT_STOPPED,
            json!({"agent_id": name, "reason": "stopped"}),
        );
    }
}
