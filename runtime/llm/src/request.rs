//! The JSON body of `POST /chat/completions`, built from a
//! [`ChatRequest`]: absent fields are left out, not sent as `null`.

use serde::Serialize;
use serde_json::Value;

use crate::types::{ChatRequest, Message, ResponseFormat, ToolDef};

/// The body as serialised; borrowed from the request.
#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: &'a [Message],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Format<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

/// `tools[i]`: `{"type":"function","function":{…}}`.
#[derive(Serialize)]
struct Tool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: &'a ToolDef,
}

/// `response_format`: `{"type":"json_schema","json_schema":{…}}`.
#[derive(Serialize)]
struct Format<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    json_schema: Schema<'a>,
}

#[derive(Serialize)]
struct Schema<'a> {
    name: &'a str,
    schema: &'a Value,
    strict: bool,
}

/// `stream_options`: ask for a final chunk with token usage.
#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// The body for `request`; with `stream`, asks for server-sent events and
/// a usage chunk at the end.
pub(crate) fn body(request: &ChatRequest, stream: bool) -> Vec<u8> {
    let body = Body {
        model: &request.model,
        messages: &request.messages,
        tools: request
            .tools
            .iter()
            .map(|function| Tool {
                kind: "function",
                function,
            })
            .collect(),
        response_format: request
            .response_format
            .as_ref()
            .map(|ResponseFormat { name, schema }| Format {
                kind: "json_schema",
                json_schema: Schema {
                    name,
                    schema,
                    strict: true,
                },
            }),
        temperature: request.temperature,
        max_tokens: request.max_tokens,
        stream: stream.then_some(true),
        stream_options: stream.then_some(StreamOptions {
            include_usage: true,
        }),
    };
    // Serialising plain structs, strings and `Value`s into memory cannot
    // fail; fall back to an empty object rather than panic all the same.
    serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::types::{FunctionCall, ToolCall};

    fn parsed(request: &ChatRequest, stream: bool) -> Value {
        serde_json::from_slice(&body(request, stream)).unwrap()
    }

    #[test]
    fn a_bare_request_sends_model_and_messages_only() {
        let request = ChatRequest {
            model: "m".to_owned(),
            messages: vec![Message::system("s"), Message::user("u")],
            ..ChatRequest::default()
        };
        assert_eq!(
            parsed(&request, false),
            json!({
                "model": "m",
                "messages": [
                    {"role": "system", "content": "s"},
                    {"role": "user", "content": "u"}
                ]
            })
        );
    }

    #[test]
    fn every_field_is_sent_in_the_openai_shape() {
        let call = ToolCall {
            id: "c1".to_owned(),
            kind: "function".to_owned(),
            function: FunctionCall {
                name: "read".to_owned(),
                arguments: "{\"path\":\"/x\"}".to_owned(),
            },
        };
        let request = ChatRequest {
            model: "m".to_owned(),
            messages: vec![
                Message {
                    tool_calls: vec![call],
                    content: None,
                    ..Message::assistant("")
                },
                Message::tool("c1", "data"),
            ],
            tools: vec![ToolDef {
                name: "read".to_owned(),
                description: "Reads a file".to_owned(),
                parameters: json!({"type": "object"}),
            }]
            .into(),
            response_format: Some(ResponseFormat {
                name: "answer".to_owned(),
                schema: json!({"type": "string"}),
            }),
            temperature: Some(0.5),
            max_tokens: Some(64),
        };
        assert_eq!(
            parsed(&request, true),
            json!({
                "model": "m",
                "messages": [
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "c1", "type": "function",
                         "function": {"name": "read", "arguments": "{\"path\":\"/x\"}"}}
                    ]},
                    {"role": "tool", "content": "data", "tool_call_id": "c1"}
                ],
                "tools": [{"type": "function", "function": {
                    "name": "read", "description": "Reads a file",
                    "parameters": {"type": "object"}
                }}],
                "response_format": {"type": "json_schema", "json_schema": {
                    "name": "answer", "schema": {"type": "string"}, "strict": true
                }},
                "temperature": 0.5,
                "max_tokens": 64,
                "stream": true,
                "stream_options": {"include_usage": true}
            })
        );
    }
}
