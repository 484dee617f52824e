//! The scripted replies of the [model server](super): what one completion
//! request gets, with builders for OpenAI-shaped bodies.

use std::time::Duration;

use serde_json::{Value, json};

/// What the server answers to one completion request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A JSON body with `status` and extra `headers`.
    Json {
        /// HTTP status.
        status: u16,
        /// The body.
        body: Value,
        /// Extra headers (e.g. `retry-after`).
        headers: Vec<(String, String)>,
    },
    /// Any bytes with `status` and `content_type`.
    Raw {
        /// HTTP status.
        status: u16,
        /// The `Content-Type`.
        content_type: String,
        /// The body, as is (it may be invalid UTF-8).
        body: Vec<u8>,
    },
    /// `200 text/event-stream`: each event as `data: {event}\n\n` in a
    /// chunk of its own, flushed.
    Sse {
        /// The `data` payloads.
        events: Vec<String>,
        /// Send `data: [DONE]` after them.
        done: bool,
        /// Then abort the connection instead of ending the body properly.
        cut: bool,
    },
    /// Never answers (until the server is dropped).
    Hang,
    /// Answers each conversation on its own, so that many agents can share
    /// one server: `calls` (as [`Reply::tool_calls`]) when the request's
    /// last message is not a tool result, else `answer` (as
    /// [`Reply::text`]). One tool round-trip per prompt.
    ToolTurn {
        /// `(id, name, arguments)` of the calls.
        calls: Vec<(String, String, String)>,
        /// The final answer.
        answer: String,
    },
    /// Waits, then answers.
    Delay(Duration, Box<Reply>),
}

impl Reply {
    /// `200`: an assistant message with `content`, `finish_reason: stop`,
    /// usage 10 + 5 = 15 tokens, model `scripted`.
    pub fn text(content: &str) -> Reply {
        completion(json!({"role": "assistant", "content": content}), "stop")
    }

    /// `200`: an assistant message with `content: null` and no tool calls.
    pub fn null_content() -> Reply {
        completion(json!({"role": "assistant", "content": null}), "stop")
    }

    /// `200`: `content: null` and these `(id, name, arguments)` tool
    /// calls, `finish_reason: tool_calls`.
    pub fn tool_calls(calls: &[(&str, &str, &str)]) -> Reply {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, arguments)| {
                json!({"id": id, "type": "function",
                       "function": {"name": name, "arguments": arguments}})
            })
            .collect();
        completion(
            json!({"role": "assistant", "content": null, "tool_calls": calls}),
            "tool_calls",
        )
    }

    /// A [`Reply::ToolTurn`] of one call.
    pub fn tool_turn(call: (&str, &str, &str), answer: &str) -> Reply {
        Reply::ToolTurn {
            calls: vec![(call.0.into(), call.1.into(), call.2.into())],
            answer: answer.into(),
        }
    }

    /// What a [`Reply::ToolTurn`] answers to a request whose body is
    /// `body`; any other reply as it is.
    pub(crate) fn for_request(self, body: &Value) -> Reply {
        match self {
            Reply::ToolTurn { calls, answer } => {
                let after_tool = body["messages"]
                    .as_array()
                    .and_then(|m| m.last())
                    .is_some_and(|m| m["role"] == "tool");
                if after_tool {
                    Reply::text(&answer)
                } else {
                    let calls: Vec<(&str, &str, &str)> = calls
                        .iter()
                        .map(|(i, n, a)| (i.as_str(), n.as_str(), a.as_str()))
                        .collect();
                    Reply::tool_calls(&calls)
                }
            }
            Reply::Delay(wait, inner) => Reply::Delay(wait, Box::new(inner.for_request(body))),
            other => other,
        }
    }

    /// `status` with `{"error":{"message":…}}`.
    pub fn status(status: u16, message: &str) -> Reply {
        Reply::Json {
            status,
            body: json!({"error": {"message": message, "type": "scripted"}}),
            headers: Vec::new(),
        }
    }

    /// The same reply with an extra header. Only [`Reply::Json`] (also
    /// inside [`Reply::Delay`]) carries headers: panics on the others.
    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Json {
                status,
                body,
                mut headers,
            } => {
                headers.push((name.to_owned(), value.to_owned()));
                Reply::Json {
                    status,
                    body,
                    headers,
                }
            }
            Reply::Delay(wait, inner) => {
                Reply::Delay(wait, Box::new(inner.with_header(name, value)))
            }
            other => panic!("with_header applies to Reply::Json only, not {other:?}"),
        }
    }

    /// A stream of `pieces` as content deltas, then `finish_reason: stop`,
    /// a usage chunk (no choices) and `[DONE]`.
    pub fn stream_text(pieces: &[&str]) -> Reply {
        let mut events = text_chunks(pieces);
        events.push(chunk(json!({}), Some("stop")));
        events.push(usage_chunk());
        Reply::Sse {
            events,
            done: true,
            cut: false,
        }
    }

    /// The content deltas of [`Reply::stream_text`] only: no finish
    /// reason, no `[DONE]`, and the connection aborted.
    pub fn stream_cut(pieces: &[&str]) -> Reply {
        Reply::Sse {
            events: text_chunks(pieces),
            done: false,
            cut: true,
        }
    }

    /// A stream of `(id, name, arguments)` tool calls: per call one delta
    /// with id, name and the first half of the arguments, one with the
    /// rest; then `finish_reason: tool_calls`, usage and `[DONE]`.
    pub fn stream_tool_calls(calls: &[(&str, &str, &str)]) -> Reply {
        let mut events = Vec::new();
        for (index, (id, name, arguments)) in calls.iter().enumerate() {
            let half = (0..=arguments.len() / 2)
                .rev()
                .find(|i| arguments.is_char_boundary(*i))
                .unwrap_or(0);
            let (head, tail) = arguments.split_at(half);
            events.push(chunk(
                json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                                       "function": {"name": name, "arguments": head}}]}),
                None,
            ));
            events.push(chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": tail}}]}),
                None,
            ));
        }
        events.push(chunk(json!({}), Some("tool_calls")));
        events.push(usage_chunk());
        Reply::Sse {
            events,
            done: true,
            cut: false,
        }
    }
}

/// A `chat.completion` with one choice.
fn completion(message: Value, finish_reason: &str) -> Reply {
    Reply::Json {
        status: 200,
        body: json!({
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": 0,
            "model": "scripted",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": usage(),
        }),
        headers: Vec::new(),
    }
}

fn usage() -> Value {
    json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
}

/// One `chat.completion.chunk` event with `delta`.
fn chunk(delta: Value, finish_reason: Option<&str>) -> String {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    })
    .to_string()
}

/// The last chunk of a stream asked for `include_usage`: no choices.
fn usage_chunk() -> String {
    json!({
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [],
        "usage": usage(),
    })
    .to_string()
}

/// Content deltas, the first one also saying the role.
fn text_chunks(pieces: &[&str]) -> Vec<String> {
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let delta = if i == 0 {
                json!({"role": "assistant", "content": piece})
            } else {
                json!({"content": piece})
            };
            chunk(delta, None)
        })
        .collect()
}
