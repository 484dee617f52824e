//! The conversation as `agent.message` events, and back.
//!
//! Each message the agent keeps is one `agent.message` event with the
//! predecessor's `agent_id`, `role`, `content`, plus `tool_calls` (an
//! assistant message of the native protocol) and `tool_call_id` (a `tool`
//! message). An agent started under a name rebuilds its conversation from
//! these (after the latest `agent.session` marker). System messages are
//! recorded but not replayed: the current role's prompt always applies.

use std::collections::HashSet;

use llmagent_events::Event;
use llmagent_llm::{Message, MessageRole, ToolCall};
use serde_json::{Value, json};

use crate::outcome::ToolFailure;
use crate::reason::Reason;

/// Data of an `agent.message` event for `message`.
pub(crate) fn message_data(agent: &str, message: &Message) -> Value {
    let mut data = json!({
        "agent_id": agent,
        "role": message.role.as_str(),
        "content": message.content,
    });
    if let Some(obj) = data.as_object_mut() {
        if !message.tool_calls.is_empty() {
            obj.insert(
                "tool_calls".into(),
                serde_json::to_value(&message.tool_calls).unwrap_or(Value::Null),
            );
        }
        if let Some(id) = &message.tool_call_id {
            obj.insert("tool_call_id".into(), Value::String(id.clone()));
        }
    }
    data
}

/// The messages of `events` (an agent's `agent.message` events in order),
/// without system messages, repaired so that every tool call has an
/// answer (a process killed between a call and its result leaves one
/// without).
pub(crate) fn rebuild(events: &[Event]) -> Vec<Message> {
    let mut out = Vec::new();
    for ev in events {
        let d = &ev.data;
        let role = match d.get("role").and_then(Value::as_str) {
            Some("user") => MessageRole::User,
            Some("assistant") => MessageRole::Assistant,
            Some("tool") => MessageRole::Tool,
            // The predecessor's `function` results were repeated as user
            // prompts; system prompts are rebuilt from the role.
            _ => continue,
        };
        let content = d.get("content").and_then(Value::as_str).map(str::to_owned);
        let tool_calls: Vec<ToolCall> = d
            .get("tool_calls")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let tool_call_id = d
            .get("tool_call_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if role == MessageRole::Tool && tool_call_id.is_none() {
            continue;
        }
        out.push(Message {
            role,
            content,
            tool_calls,
            tool_call_id,
        });
    }
    repair(out)
}

/// Adds an "interrupted" answer after every tool call that has none, and
/// drops tool messages that answer no call, so the conversation is one
/// every OpenAI-compatible server accepts.
fn repair(messages: Vec<Message>) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(messages.len());
    let mut open: Vec<String> = Vec::new();
    let close = |out: &mut Vec<Message>, open: &mut Vec<String>| {
        for id in open.drain(..) {
            out.push(Message::tool(id, interrupted()));
        }
    };
    for m in messages {
        match m.role {
            MessageRole::Tool => {
                let id = m.tool_call_id.clone().unwrap_or_default();
                if let Some(i) = open.iter().position(|o| *o == id) {
                    open.remove(i);
                    out.push(m);
                }
            }
            _ => {
                close(&mut out, &mut open);
                open = m.tool_calls.iter().map(|c| c.id.clone()).collect();
                out.push(m);
            }
        }
    }
    close(&mut out, &mut open);
    out
}

/// The result given for a call whose answer was never recorded.
fn interrupted() -> String {
    ToolFailure::new(
        Reason::Interrupted,
        "the call was interrupted before it finished (the agent stopped)",
    )
    .envelope()
    .to_string()
}

/// The conversation as the json protocol shows it: each native tool call
/// becomes an assistant message holding the call as JSON, followed by its
/// result as a user message (servers without function calling reject
/// `tool_calls` and `tool` messages).
pub(crate) fn as_json_protocol(messages: &[Message]) -> Vec<Message> {
    let mut out = Vec::with_capacity(messages.len());
    let mut pending: Vec<(String, String)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for m in messages {
        match m.role {
            MessageRole::Assistant if !m.tool_calls.is_empty() => {
                pending = m
                    .tool_calls
                    .iter()
                    .map(|c| (c.id.clone(), call_as_json(c)))
                    .collect();
            }
            MessageRole::Tool => {
                let id = m.tool_call_id.clone().unwrap_or_default();
                if !seen.insert(id.clone()) {
                    continue;
                }
                let call = pending
                    .iter()
                    .find(|(pid, _)| *pid == id)
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default();
                out.push(Message::assistant(call));
                out.push(Message::user(m.content.clone().unwrap_or_default()));
            }
            _ => out.push(Message {
                role: m.role,
                content: Some(m.content.clone().unwrap_or_default()),
                tool_calls: Vec::new(),
                tool_call_id: None,
            }),
        }
    }
    out
}

/// A native call written in the json protocol.
fn call_as_json(call: &ToolCall) -> String {
    let (tool, action) = call
        .function
        .name
        .split_once(['-', '.'])
        .unwrap_or((call.function.name.as_str(), ""));
    let args: Value = serde_json::from_str(&call.function.arguments).unwrap_or(json!({}));
    format!(
        "{{\"tool\": {}, \"action\": {}, \"args\": {}}}",
        Value::from(tool),
        Value::from(action),
        args
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmagent_llm::FunctionCall;

    fn call(id: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            kind: "function".into(),
            function: FunctionCall {
                name: "crypto-sha256".into(),
                arguments: r#"{"data":"x"}"#.into(),
            },
        }
    }

    fn assistant_calls(ids: &[&str]) -> Message {
        Message {
            role: MessageRole::Assistant,
            content: None,
            tool_calls: ids.iter().map(|i| call(i)).collect(),
            tool_call_id: None,
        }
    }

    #[test]
    fn unanswered_calls_get_an_interrupted_result_and_strays_are_dropped() {
        let msgs = vec![
            Message::user("hash x"),
            assistant_calls(&["a", "b"]),
            Message::tool("a", "ok"),
            Message::tool("zzz", "stray"),
            Message::user("again"),
        ];
        assert_eq!(
            repair(msgs),
            vec![
                Message::user("hash x"),
                assistant_calls(&["a", "b"]),
                Message::tool("a", "ok"),
                Message::tool("b", interrupted()),
                Message::user("again"),
            ]
        );
    }

    #[test]
    fn native_history_reads_as_json_protocol() {
        let msgs = vec![
            Message::user("hash x"),
            assistant_calls(&["a"]),
            Message::tool("a", "{\"status\":\"ok\"}"),
            Message::assistant("done"),
        ];
        assert_eq!(
            as_json_protocol(&msgs),
            vec![
                Message::user("hash x"),
                Message::assistant(
                    r#"{"tool": "crypto", "action": "sha256", "args": {"data":"x"}}"#
                ),
                Message::user("{\"status\":\"ok\"}"),
                Message::assistant("done"),
            ]
        );
    }

    #[test]
    fn messages_round_trip_through_event_data() {
        let m = assistant_calls(&["a"]);
        let data = message_data("ops", &m);
        assert_eq!(data["role"], "assistant");
        assert_eq!(data["content"], Value::Null);
        let ev = Event {
            v: 1,
            seq: 1,
            ts: String::new(),
            agent: Some("ops".into()),
            topic: "agent.message".into(),
            kind: "message".into(),
            source: "agent".into(),
            context: Default::default(),
            data,
        };
        let tool = Event {
            data: message_data("ops", &Message::tool("a", "r")),
            ..ev.clone()
        };
        assert_eq!(rebuild(&[ev, tool]), vec![m, Message::tool("a", "r")]);
    }
}
