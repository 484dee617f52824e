//! Assembling a streamed completion from its `chat.completion.chunk`
//! events: content pieces (handed on as they come), tool calls built up
//! by `index`, and the finish reason, usage and model wherever they turn
//! up (usage usually in a last chunk with no choices).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::reply::{arguments, excerpt, generated_id, string, usage};
use crate::types::{ChatResponse, FunctionCall, ToolCall, Usage};

/// The `data` that ends an OpenAI stream.
const DONE: &str = "[DONE]";

/// A tool call being assembled.
#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    kind: Option<String>,
    name: String,
    arguments: String,
}

/// The reply so far.
#[derive(Debug, Default)]
pub(crate) struct StreamAssembler {
    content: String,
    calls: BTreeMap<u64, PartialCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    model: Option<String>,
    done: bool,
}

impl StreamAssembler {
    /// Takes one event's `data`; content pieces go to `on_text`. An error
    /// (for [`LlmError::InvalidReply`](crate::LlmError::InvalidReply)) when
    /// the event is not JSON or is an error the server sent mid-stream.
    /// Events after `[DONE]` are ignored.
    pub(crate) fn event(
        &mut self,
        data: &str,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<(), String> {
        if self.done {
            return Ok(());
        }
        if data.trim() == DONE {
            self.done = true;
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| format!("a stream event is not JSON ({e}): {}", excerpt(data)))?;
        if let Some(error) = chunk.get("error") {
            let message = error
                .as_str()
                .or_else(|| error.get("message")?.as_str())
                .map_or_else(|| error.to_string(), str::to_owned);
            return Err(format!(
                "the server reported an error mid-stream: {message}"
            ));
        }
        if let Some(model) = string(chunk.get("model")) {
            self.model = Some(model);
        }
        if let Some(usage) = usage(chunk.get("usage")) {
            self.usage = Some(usage);
        }
        let choice = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|choices| choices.first());
        if let Some(choice) = choice {
            self.choice(choice, on_text);
        }
        Ok(())
    }

    /// One `choices[0]` of a chunk.
    fn choice(&mut self, choice: &Value, on_text: &mut dyn FnMut(&str)) {
        // Some servers put a whole `message` in their only chunk.
        let delta = choice
            .get("delta")
            .or_else(|| choice.get("message"))
            .unwrap_or(&Value::Null);
        if let Some(piece) = delta.get("content").and_then(Value::as_str)
            && !piece.is_empty()
        {
            on_text(piece);
            self.content.push_str(piece);
        }
        let calls = delta.get("tool_calls").and_then(Value::as_array);
        for (position, call) in calls.into_iter().flatten().enumerate() {
            self.tool_call_delta(position, call);
        }
        if let Some(reason) = string(choice.get("finish_reason")) {
            self.finish_reason = Some(reason);
        }
    }

    /// One `delta.tool_calls[i]`: merged into the call of its `index`
    /// (its position in the array when it has none).
    fn tool_call_delta(&mut self, position: usize, delta: &Value) {
        let index = delta
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        let call = self.calls.entry(index).or_default();
        if let Some(id) = string(delta.get("id")).filter(|id| !id.is_empty()) {
            call.id = id;
        }
        if let Some(kind) = string(delta.get("type")) {
            call.kind = Some(kind);
        }
        let function = delta.get("function").unwrap_or(&Value::Null);
        // Most servers send the name once; some repeat it in every chunk.
        if let Some(name) = string(function.get("name"))
            && name != call.name
        {
            call.name.push_str(&name);
        }
        match function.get("arguments") {
            Some(Value::String(piece)) => call.arguments.push_str(piece),
            // An object is the whole arguments (servers that send one).
            object @ Some(Value::Object(_)) => call.arguments = arguments(object),
            _ => {}
        }
    }

    /// Whether `[DONE]` arrived.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Whether the stream ended properly: `[DONE]` or a finish reason.
    pub(crate) fn is_complete(&self) -> bool {
        self.done || self.finish_reason.is_some()
    }

    /// The assembled reply; `content` is `None` when no text came. Tool
    /// calls are in `index` order; one that never got an id gets
    /// `call_<position>`.
    pub(crate) fn finish(self) -> ChatResponse {
        let tool_calls = self
            .calls
            .into_values()
            .enumerate()
            .map(|(position, call)| ToolCall {
                id: if call.id.is_empty() {
                    generated_id(position)
                } else {
                    call.id
                },
                kind: call.kind.unwrap_or_else(|| "function".to_owned()),
                function: FunctionCall {
                    name: call.name,
                    arguments: call.arguments,
                },
            })
            .collect();
        ChatResponse {
            content: (!self.content.is_empty()).then_some(self.content),
            tool_calls,
            finish_reason: self.finish_reason,
            usage: self.usage,
            model: self.model,
            attempts: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Runs `events` through an assembler; returns the reply, the pieces
    /// given to `on_text` and whether the stream was complete.
    fn assemble(events: &[Value]) -> (ChatResponse, Vec<String>, bool) {
        let mut assembler = StreamAssembler::default();
        let mut pieces = Vec::new();
        for event in events {
            let data = match event {
                Value::String(raw) => raw.clone(),
                other => other.to_string(),
            };
            assembler
                .event(&data, &mut |piece| pieces.push(piece.to_owned()))
                .unwrap();
        }
        let complete = assembler.is_complete();
        (assembler.finish(), pieces, complete)
    }

    #[test]
    fn text_pieces_finish_reason_and_usage_assemble() {
        let (reply, pieces, complete) = assemble(&[
            json!({"model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
            json!({"choices": [{"delta": {"content": "Hel"}}]}),
            json!({"choices": [{"delta": {"content": "lo"}}]}),
            json!({"choices": [{"delta": {}, "finish_reason": "stop"}]}),
            json!({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}}),
            json!("[DONE]"),
            json!("not even json: ignored after [DONE]"),
        ]);
        assert_eq!(
            reply,
            ChatResponse {
                content: Some("Hello".to_owned()),
                tool_calls: vec![],
                finish_reason: Some("stop".to_owned()),
                usage: Some(Usage {
                    prompt_tokens: 4,
                    completion_tokens: 2,
                    total_tokens: 6
                }),
                model: Some("m".to_owned()),
                attempts: 0,
            }
        );
        assert_eq!(pieces, vec!["Hel", "lo"]);
        assert!(complete);
    }

    #[test]
    fn tool_calls_assemble_by_index() {
        let (reply, pieces, complete) = assemble(&[
            json!({"choices": [{"delta": {"tool_calls": [
                {"index": 1, "id": "b", "type": "function", "function": {"name": "write", "arguments": ""}}
            ]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [
                {"index": 0, "function": {"name": "re", "arguments": "{\"pa"}}
            ]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [
                {"index": 0, "function": {"name": "ad", "arguments": "th\":1}"}},
                {"index": 1, "function": {"name": "write", "arguments": {"x": true}}}
            ]}}]}),
            json!({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}),
        ]);
        let call = |id: &str, name: &str, arguments: &str| ToolCall {
            id: id.to_owned(),
            kind: "function".to_owned(),
            function: FunctionCall {
                name: name.to_owned(),
                arguments: arguments.to_owned(),
            },
        };
        assert_eq!(
            reply,
            ChatResponse {
                content: None,
                tool_calls: vec![
                    call("call_0", "read", "{\"path\":1}"),
                    call("b", "write", "{\"x\":true}")
                ],
                finish_reason: Some("tool_calls".to_owned()),
                usage: None,
                model: None,
                attempts: 0,
            }
        );
        assert_eq!(pieces, Vec::<String>::new());
        assert!(complete);
    }

    #[test]
    fn a_stream_without_finish_or_done_is_incomplete() {
        let (reply, pieces, complete) =
            assemble(&[json!({"choices": [{"delta": {"content": "par"}}]})]);
        assert_eq!(reply.content.as_deref(), Some("par"));
        assert_eq!(pieces, vec!["par"]);
        assert!(!complete);
    }

    #[test]
    fn bad_events_are_errors() {
        let mut assembler = StreamAssembler::default();
        let mut ignore = |_: &str| {};
        assert_eq!(
            assembler.event("{oops", &mut ignore),
            Err(
                "a stream event is not JSON (key must be a string at line 1 column 2): {oops"
                    .to_owned()
            )
        );
        assert_eq!(
            assembler.event(r#"{"error":{"message":"out of memory"}}"#, &mut ignore),
            Err("the server reported an error mid-stream: out of memory".to_owned())
        );
    }
}
