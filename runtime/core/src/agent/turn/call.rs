//! The calls a reply asks for: each decided once by the runtime, approved
//! by a human when the ruling asks for it, run in the sandbox, and its
//! result sealed (secrets become handles) before the model sees it.

use llmagent_events::{Redaction, names, seal_value, unseal};
use llmagent_policy::Verdict;
use serde_json::{Value, json};

use super::super::{ApprovalRequest, protocol};
use super::reply::Pending;
use super::{Turn, TurnEvent};
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

impl Turn<'_> {
    /// Runs `calls` in order, answering each in the conversation. After
    /// cancellation, or for a call that repeats the one just made, the
    /// answer is an error and nothing runs.
    pub(super) async fn run_calls(&mut self, calls: Vec<Pending>) {
        let max_bytes = self.agent.settings.max_result_bytes;
        for call in calls {
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
    /// again, and records the decision once).
    async fn dispatch(
        &mut self,
        tool: &str,
        action: &str,
        mut args: Value,
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
        let shown = args.clone();
        unseal(&mut args, &|h| agent.vault.get(h).cloned());
        let request = CallRequest::new(&agent.settings.role, tool, action, &args.to_string());
        let mut call = agent.runtime.decide_call(request)?;
        if call.ruling().verdict() == Verdict::Approve {
            let question = ApprovalRequest {
                agent: agent.settings.name.clone(),
                role: agent.settings.role.clone(),
                tool: tool.to_owned(),
                action: action.to_owned(),
                args: shown,
            };
            call.approve(agent.approver.approve(&question).await);
        }
        agent.runtime.call_decided(call).await
    }

    /// Keeps the secrets of a tool's answer from the model (see the module
    /// docs of [`crate::agent`]).
    fn seal(&mut self, tool: &str, action: &str, result: &mut Result<ToolSuccess, ToolFailure>) {
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
            self.agent.vault.insert(s.handle, s.value);
        }
    }
}
