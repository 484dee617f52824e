//! The calls a reply asks for: at most `max_calls_per_reply` of them run
//! (the rest are answered `too_many_calls`); each has its secret handles
//! unsealed only where its schema allows, is decided once by the runtime,
//! approved by a human when the ruling asks for it, run in the sandbox,
//! and its result sealed and redacted ([`crate::redact`]) before the model
//! sees it.

use llmagent_events::names;
use llmagent_policy::Verdict;
use serde_json::{Value, json};

use super::super::{ApprovalRequest, protocol};
use super::reply::Pending;
use super::{Turn, TurnEvent};
use crate::error::RuntimeError;
use crate::outcome::{CallOutcome, CallRequest, ToolFailure, ToolSuccess};
use crate::reason::Reason;

impl Turn<'_> {
    /// Runs `calls` in order, answering each in the conversation. After
    /// cancellation, or for a call that repeats the one just made, the
    /// answer is an error and nothing runs.
    pub(super) async fn run_calls(&mut self, calls: Vec<Pending>) {
        let max_bytes = self.agent.settings.max_result_bytes;
        let per_reply = self.agent.settings.max_calls_per_reply.max(1);
        let asked = calls.len();
        for (i, call) in calls.into_iter().enumerate() {
            if i >= per_reply {
                // Answered without running. The first says why and what to
                // do; the others say only that they did not run, so that a
                // flood of calls does not become a flood of text.
                let failure = if i == per_reply {
                    ToolFailure::new(
                        Reason::TooManyCalls,
                        format!(
                            "this reply asked for {asked} calls; only the first {per_reply} ran (max_calls_per_reply of agent `{}`), and this one, call {}, did not, nor did any after it",
                            self.agent.settings.name,
                            i + 1
                        ),
                    )
                    .suggestion(format!("make at most {per_reply} calls in one reply; ask again for the calls that did not run if they are still needed"))
                } else {
                    ToolFailure::new(
                        Reason::TooManyCalls,
                        format!("not run: only the first {per_reply} calls of a reply run"),
                    )
                };
                let message = call.answer(protocol::feedback(&Err(failure), max_bytes));
                self.agent.push(message);
                continue;
            }
            let (tool, action, args) = call.parts();
            let key = args
                .as_ref()
                .ok()
                .map(|a| (tool.to_owned(), action.to_owned(), a.to_string()));
            let repeated = key.is_some() && key == self.last_call;
            self.last_call = key;
            let result = if self.cancel.is_cancelled() {
                protocol::feedback(
                    &Err(ToolFailure::new(
                        Reason::Cancelled,
                        "the turn was cancelled before this call ran",
                    )),
                    max_bytes,
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
                    max_bytes,
                )
            } else {
                self.out.tool_calls += 1;
                let (text, ok) = self.run_call(tool, action, args.clone()).await;
                self.out.tool_errors += u32::from(!ok);
                text
            };
            let message = call.answer(result);
            self.agent.push(message);
        }
    }

    /// Runs one call through the policy and the sandbox; the result as the
    /// model sees it, and whether it succeeded.
    async fn run_call(
        &mut self,
        tool: &str,
        action: &str,
        args: Result<Value, ToolFailure>,
    ) -> (String, bool) {
        let mut result = match args {
            Err(failure) => {
                // Refused before any tool was chosen (the model's call was
                // malformed); recorded like any refused call when it names a tool.
                if !tool.is_empty()
                    && let Some(ev) = &self.agent.events
                {
                    let request = CallRequest::new(&self.agent.settings.role, tool, action, "{}");
                    crate::record::invocation(
                        ev,
                        &request,
                        &CallOutcome::refused(failure.clone(), None),
                    );
                }
                Err(failure)
            }
            Ok(args) => match self.dispatch(tool, action, args).await {
                Ok(outcome) => outcome.result,
                Err(e) => Err(ToolFailure::new(Reason::RuntimeError, e.to_string())),
            },
        };
        self.seal(tool, action, &mut result);
        let text = protocol::feedback(&result, self.agent.settings.max_result_bytes);
        (self.observer)(TurnEvent::ToolResult {
            tool: tool.to_owned(),
            action: action.to_owned(),
            ok: result.is_ok(),
            result: text.clone(),
        });
        (text, result.is_ok())
    }

    /// Decides the call once, asks the approver only when the ruling says
    /// so, and makes the call with that ruling (the runtime does not decide
    /// again, and records the decision once). Secret handles are unsealed
    /// first, only into the arguments the action declares secret; the
    /// secrets are scrubbed from whatever the call answers.
    async fn dispatch(
        &mut self,
        tool: &str,
        action: &str,
        args: Value,
    ) -> Result<CallOutcome, RuntimeError> {
        let agent = &*self.agent;
        agent.emit(
            names::kind::TOOL_DISPATCH,
            names::topic::AGENT_TOOL_DISPATCH,
            json!({"agent_id": agent.settings.name, "tool": tool, "action": action}),
        );
        (self.observer)(TurnEvent::ToolCall {
            tool: tool.to_owned(),
            action: action.to_owned(),
            args: args.clone(),
        });
        let mut recorded = args.clone();
        agent.redactor.redact_patterns(&mut recorded);
        let shown = recorded.to_string();
        let schema = agent
            .runtime
            .tool(tool)
            .and_then(|t| t.action(action))
            .map_or(Value::Null, |a| a.schema.clone());
        let mut unsealed_args = args.clone();
        let refused = CallRequest::new(&agent.settings.role, tool, action, &shown);
        let secrets = match agent
            .vault
            .unseal(&mut unsealed_args, &schema, &agent.secret_inputs)
        {
            Ok(secrets) => secrets,
            Err(failure) => {
                let outcome = CallOutcome::refused(failure, None);
                if let Some(ev) = &agent.events {
                    crate::record::invocation(ev, &refused, &outcome);
                }
                return Ok(outcome);
            }
        };
        let request = CallRequest::new(
            &agent.settings.role,
            tool,
            action,
            &unsealed_args.to_string(),
        )
        .recorded_as(shown, secrets.clone());
        let mut call = agent.runtime.decide_call(request)?;
        if call.ruling().verdict() == Verdict::Approve {
            let question = ApprovalRequest {
                agent: agent.settings.name.clone(),
                role: agent.settings.role.clone(),
                tool: tool.to_owned(),
                action: action.to_owned(),
                args,
            };
            call.approve(agent.approver.approve(&question).await);
        }
        let mut outcome = agent.runtime.call_decided(call).await?;
        match &mut outcome.result {
            Ok(ok) => {
                secrets.scrub_value(&mut ok.output);
                secrets.scrub_value(&mut ok.metadata);
            }
            Err(f) => {
                f.message = secrets.scrub(&f.message);
                f.suggestion = f.suggestion.as_deref().map(|s| secrets.scrub(s));
            }
        }
        Ok(outcome)
    }

    /// Keeps the secrets of a tool's answer from the model (see
    /// [`crate::redact`]).
    fn seal(&mut self, tool: &str, action: &str, result: &mut Result<ToolSuccess, ToolFailure>) {
        let sealed = self.agent.redactor.result(tool, action, result);
        for s in sealed {
            self.agent.vault.insert(s.handle, s.value);
        }
    }
}
