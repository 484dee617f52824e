//! One turn: model and tools alternate until a final answer, the step
//! limit, a model error, or cancellation.
//!
//! A [`Turn`] borrows its [`Agent`] for as long as it runs and holds what
//! lives only for the turn: the display's observer, the cancellation
//! token, the running [`TurnOutcome`], and what the turn remembers of its
//! own calls. Its methods are spread over files by what they do:
//! [`request`] builds what is sent to the model, [`reply`] reads what comes
//! back, [`call`] runs the calls a reply asks for, [`record`] puts all of
//! it on record.

mod call;
mod end;
mod record;
mod reply;
mod request;
#[cfg(test)]
mod tests;

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use llmagent_events::{Context, Scope, names, with_context, with_scope};
use llmagent_llm::{LlmError, Message, Usage};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Agent, Wire};
pub use end::{TurnEnd, TurnEvent, TurnOutcome};
use record::{ErrorCode, Source};
#[cfg(feature = "fuzzing")]
pub(crate) use reply::{Pending, json_calls, native_args};

/// A call as the turn remembers it: tool, action, arguments (as JSON
/// text). The same call again straight after is a loop, not run twice.
type CallKey = (String, String, String);

/// One turn of an agent's conversation.
pub(super) struct Turn<'a> {
    agent: &'a mut Agent,
    observer: &'a mut (dyn FnMut(TurnEvent) + Send),
    cancel: &'a CancellationToken,
    /// What the turn has done so far; its `end` is set when it ends.
    out: TurnOutcome,
    /// The previous call of this turn.
    last_call: Option<CallKey>,
    /// The next request may only answer (constrained protocol, after the
    /// model repeated a call).
    answer_only: bool,
}

/// Whether a turn goes on after a step.
#[derive(Debug)]
enum Step {
    Continue,
    End(TurnEnd),
}

impl<'a> Turn<'a> {
    /// A turn of `agent`; `observer` sees what happens as it happens;
    /// `cancel` ends the turn early.
    pub(super) fn new(
        agent: &'a mut Agent,
        observer: &'a mut (dyn FnMut(TurnEvent) + Send),
        cancel: &'a CancellationToken,
    ) -> Self {
        Self {
            agent,
            observer,
            cancel,
            out: TurnOutcome {
                end: TurnEnd::Cancelled,
                steps: 0,
                tool_calls: 0,
                tool_errors: 0,
                requests: 0,
                usage: Usage::default(),
                trace_id: String::new(),
            },
            last_call: None,
            answer_only: false,
        }
    }

    /// Runs the turn for `text`; a panic inside it (a bug) costs the turn,
    /// not the process.
    pub(super) async fn run_guarded(self, text: &str) -> TurnOutcome {
        let name = self.agent.settings.name.clone();
        let events = self.agent.events.clone();
        match AssertUnwindSafe(self.run(text)).catch_unwind().await {
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
                        record::error_data(&message, Source::Agent, ErrorCode::Internal.code()),
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

    /// Runs the turn in a fresh request context (new `request_id`, new
    /// `trace_id`).
    async fn run(mut self, text: &str) -> TurnOutcome {
        let context = Context::new_request();
        self.out.trace_id = context.trace_id.clone().unwrap_or_default();
        let scope = Scope {
            agent: Some(self.agent.settings.name.clone()),
            context,
        };
        let end = with_scope(scope, self.converse(text)).await;
        self.out.end = end;
        self.out
    }

    /// The prompt, then steps until one ends the turn. Each step after the
    /// first follows up the previous one's context.
    async fn converse(&mut self, text: &str) -> TurnEnd {
        self.agent.emit(
            names::kind::PROMPT,
            names::topic::AGENT_PROMPT,
            json!({"content": text, "role": self.agent.settings.role}),
        );
        if self.agent.history.is_empty() {
            // On record only (the predecessor's fresh start); never replayed.
            let system = Message::system(self.agent.system_prompt_text().as_ref());
            self.agent.record_message(&system);
        }
        self.agent.push(Message::user(text));
        let mut context = llmagent_events::current_context();
        loop {
            match with_context(context.clone(), self.step()).await {
                Step::Continue => context = context.follow_up(),
                Step::End(end) => return end,
            }
        }
    }

    /// One model request and the tool calls it asks for.
    async fn step(&mut self) -> Step {
        if self.cancel.is_cancelled() {
            return Step::End(self.cancelled());
        }
        let request = self.request();
        (self.observer)(TurnEvent::Waiting);
        self.out.requests += 1;
        let started = Instant::now();
        let reply = tokio::select! {
            r = request::ask(
                self.agent.client.as_ref(),
                &request,
                self.agent.settings.stream && self.agent.wire == Wire::Native,
                &mut *self.observer,
            ) => r,
            () = self.cancel.cancelled() => return Step::End(self.cancelled()),
        };
        let reply = match reply {
            Ok(r) => r,
            Err(e) => {
                if let Some(to) = self.fallback(&request, &e) {
                    self.fall_back(to, &e);
                    return Step::Continue;
                }
                return Step::End(self.model_error(e));
            }
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(u) = reply.usage {
            self.out.usage.prompt_tokens += u.prompt_tokens;
            self.out.usage.completion_tokens += u.completion_tokens;
            self.out.usage.total_tokens += u.total_tokens;
        }
        let content = reply.content.clone().unwrap_or_default();
        if self.agent.wire == Wire::Constrained
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
            return Step::End(self.model_error(e));
        }
        self.take_reply(&reply, &content, duration_ms).await
    }

    /// Switches to protocol `to` for this turn and the next ones, because
    /// the server refused the current one with `e`.
    fn fall_back(&mut self, to: Wire, e: &LlmError) {
        let agent = &mut *self.agent;
        let from = agent.wire;
        agent.wire = to;
        agent.may_fall_back = false;
        let reason = e.to_string();
        tracing::warn!(agent = %agent.settings.name, from = from.as_str(), to = to.as_str(), %reason, "model server refused the protocol; falling back");
        agent.emit(
            names::kind::FALLBACK,
            names::topic::AGENT_PROTOCOL,
            json!({"agent_id": agent.settings.name, "from": from.as_str(), "to": to.as_str(), "reason": reason}),
        );
        (self.observer)(TurnEvent::Fallback {
            from: from.as_str().into(),
            to: to.as_str().into(),
            reason,
        });
    }
}
