//! What a turn makes of the model's reply: its final answer, or the calls
//! it asks for (run by [`super::call`]), within the role's `max_steps`.

use llmagent_events::names;
use llmagent_llm::{ChatResponse, Message, MessageRole};
use serde_json::{Value, json};

use super::super::protocol::{self, JsonReply};
use super::super::{Wire, bounds};
use super::record::{ErrorCode, Source};
use super::{Step, Turn, TurnEnd};
use crate::outcome::ToolFailure;
use crate::reason::Reason;

/// A call the model asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pending {
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

impl Pending {
    /// Tool, action and arguments.
    pub(super) fn parts(&self) -> (&str, &str, &Result<Value, ToolFailure>) {
        match self {
            Self::Native {
                tool, action, args, ..
            }
            | Self::Json { tool, action, args } => (tool, action, args),
        }
    }

    /// The message that answers this call with `result`.
    pub(super) fn answer(&self, result: String) -> Message {
        match self {
            Self::Native { id, .. } => Message::tool(id.clone(), result),
            Self::Json { .. } => Message::user(result),
        }
    }
}

impl Turn<'_> {
    /// Records the reply, then ends the turn with its answer or at the step
    /// limit, or runs the calls it asks for.
    pub(super) async fn take_reply(
        &mut self,
        reply: &ChatResponse,
        content: &str,
        duration_ms: u64,
    ) -> Step {
        let (calls, answer) = self.interpret(reply, content);
        self.agent.emit(
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
                "protocol": self.agent.wire.as_str(),
            }),
        );
        if let Some(answer) = answer {
            self.agent.push(Message::assistant(content));
            return Step::End(TurnEnd::Answer(answer));
        }
        let max_steps = self
            .agent
            .runtime
            .policy()
            .role(&self.agent.settings.role)
            .map(|r| r.limits.max_steps)
            .unwrap_or(0);
        if self.out.steps >= max_steps {
            return Step::End(self.step_limit(max_steps));
        }
        // A reply with more calls than run at once costs a step for every
        // batch it would have taken: a model that floods calls reaches
        // max_steps instead of looping on too_many_calls.
        let per_reply = self.agent.settings.max_calls_per_reply.max(1);
        let batches = u32::try_from(calls.len().div_ceil(per_reply).max(1)).unwrap_or(u32::MAX);
        self.out.steps = self.out.steps.saturating_add(batches).min(max_steps);
        if self.agent.wire == Wire::Constrained
            && let [
                Pending::Json {
                    tool,
                    action,
                    args: Ok(args),
                },
            ] = calls.as_slice()
            && self.last_call == Some((tool.clone(), action.clone(), args.to_string()))
        {
            // A small model repeating the call it just made is looping: the
            // result is already in the conversation. Forget the repeat and ask
            // again with a schema that only allows the answer.
            self.answer_only = true;
            self.agent.agent_error(
                &format!(
                    "the model repeated {tool}.{action} with the same arguments; asking for the answer"
                ),
                Source::Agent,
                ErrorCode::RepeatedCall.code(),
            );
            return Step::Continue;
        }
        let max_args = self.agent.settings.max_args_bytes;
        let asked = match self.agent.wire {
            Wire::Native => Message {
                role: MessageRole::Assistant,
                content: reply
                    .content
                    .as_deref()
                    .filter(|c| !c.is_empty())
                    .map(|c| bounds::echo_json(c, max_args)),
                tool_calls: bounds::echo_native(&reply.tool_calls, max_args),
                tool_call_id: None,
            },
            Wire::Json | Wire::Constrained => {
                Message::assistant(bounds::echo_json(content, max_args))
            }
        };
        self.agent.push(asked);
        self.run_calls(calls).await;
        if self.cancel.is_cancelled() {
            return Step::End(self.cancelled());
        }
        Step::Continue
    }

    /// Ends the turn at the step limit: the user is told so, as the turn's
    /// last assistant message.
    fn step_limit(&mut self, max_steps: u32) -> TurnEnd {
        let message = format!(
            "I stopped after {max_steps} tool steps without reaching a final answer \
             (max_steps = {max_steps} for role {}). Ask me to continue, or raise max_steps in the policy.",
            self.agent.settings.role
        );
        self.agent.push(Message::assistant(message.clone()));
        self.agent
            .agent_error(&message, Source::Agent, ErrorCode::MaxSteps.code());
        TurnEnd::StepLimit { max_steps, message }
    }

    /// The calls a reply asks for, or its final answer.
    pub(super) fn interpret(
        &self,
        reply: &ChatResponse,
        content: &str,
    ) -> (Vec<Pending>, Option<String>) {
        match self.agent.wire {
            Wire::Native if reply.tool_calls.is_empty() => (Vec::new(), Some(content.to_owned())),
            Wire::Native => {
                let max_args = self.agent.settings.max_args_bytes;
                let calls = reply
                    .tool_calls
                    .iter()
                    .map(|c| {
                        let id = bounds::bounded_id(&c.id);
                        if c.function.name.len() > bounds::MAX_NAME_BYTES {
                            // Refused by its name alone; nothing of it is
                            // looked up or recorded under it.
                            let refused = bounds::check_names(&c.function.name, "");
                            return Pending::Native {
                                id,
                                tool: String::new(),
                                action: String::new(),
                                args: refused.map(|()| json!({})),
                            };
                        }
                        let (tool, action) = self.agent.names.resolve(&c.function.name);
                        Pending::Native {
                            id,
                            tool,
                            action,
                            args: native_args(&c.function.arguments, max_args),
                        }
                    })
                    .collect();
                (calls, None)
            }
            Wire::Json | Wire::Constrained => {
                json_calls(content, self.agent.settings.max_args_bytes)
            }
        }
    }
}

/// The call of a reply in the json (or constrained) protocol, within the
/// agent's bounds, or its final answer.
pub(crate) fn json_calls(content: &str, max_args: usize) -> (Vec<Pending>, Option<String>) {
    match protocol::parse_json_reply(content) {
        JsonReply::Answer(a) => (Vec::new(), Some(a)),
        JsonReply::Call { tool, action, args } => {
            let call = match bounds::check_names(&tool, &action) {
                // Refused by its name alone; nothing is recorded
                // under that name.
                Err(f) => Pending::Json {
                    tool: String::new(),
                    action: String::new(),
                    args: Err(f),
                },
                Ok(()) => {
                    let args = bounds::check_size(args.to_string().len(), max_args)
                        .and_then(|()| bounds::check_depth(&args))
                        .map(|()| args);
                    Pending::Json { tool, action, args }
                }
            };
            (vec![call], None)
        }
        JsonReply::BadCall(f) => (
            vec![Pending::Json {
                tool: String::new(),
                action: String::new(),
                args: Err(f),
            }],
            None,
        ),
    }
}

/// A native call's `arguments` text as a JSON object, within the
/// agent's bounds (at most `max_bytes`, nested at most
/// [`bounds::MAX_ARGS_DEPTH`] deep).
pub(crate) fn native_args(text: &str, max_bytes: usize) -> Result<Value, ToolFailure> {
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    bounds::check_size(text.len(), max_bytes)?;
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => {
            bounds::check_depth(&v)?;
            // The cap holds for the arguments passed on, which are the
            // value re-encoded: that can be longer than what the model
            // wrote (`9E9` is `9000000000.0`).
            bounds::check_size(v.to_string().len(), max_bytes)?;
            Ok(v)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_arguments_are_an_object_or_a_precise_failure() {
        let native_args = |t: &str| native_args(t, 1024);
        assert_eq!(native_args(""), Ok(json!({})));
        assert_eq!(native_args("null"), Ok(json!({})));
        assert_eq!(native_args(r#"{"a":1}"#), Ok(json!({"a": 1})));
        assert_eq!(
            native_args(&format!(r#"{{"a":"{}"}}"#, "x".repeat(1020))).map_err(|f| f.field),
            Err(Some("arguments".to_owned()))
        );
        assert_eq!(
            native_args("[1]"),
            Err(invalid_args(
                "the arguments must be a JSON object, not [1]".into()
            ))
        );
        assert_eq!(
            native_args("{").map_err(|f| (f.reason, f.field)),
            Err(("invalid_args".to_owned(), Some("arguments".to_owned())))
        );
    }

    /// Found by the `json_reply` fuzz target (issue 16, item 9): 247 bytes
    /// of `9E9`s were under a 256-byte cap but re-encoded to 787.
    #[test]
    fn issue16_native_arguments_that_grow_when_re_encoded_are_held_to_the_cap() {
        let text = format!(r#"{{"a":[{}]}}"#, ["9E9"; 60].join(","));
        assert_eq!(text.len(), 247);
        assert_eq!(
            native_args(&text, 256),
            Err(bounds::check_size(787, 256).unwrap_err())
        );
        assert!(native_args(&text, 787).is_ok());
    }
}
