//! Reading a whole (non-streamed) reply: `choices[0].message`, the finish
//! reason, usage and model, leniently, since servers differ; and the
//! message of an error reply.

use serde_json::Value;

use crate::types::{ChatResponse, FunctionCall, ToolCall, Usage};

/// How much of a bad body an error message quotes: enough to recognise
/// an HTML error page or a truncated JSON, short enough for a log line.
const EXCERPT_CHARS: usize = 200;

/// How much of a non-JSON error body [`error_body`] keeps (documented on
/// [`LlmError::Status`](crate::LlmError::Status)).
const ERROR_BODY_BYTES: usize = 2048;

/// The completion in `body`, or what is wrong with it (for
/// [`LlmError::InvalidReply`](crate::LlmError::InvalidReply)). Invalid
/// UTF-8 is replaced by U+FFFD, never an error.
pub(crate) fn parse_completion(body: &[u8]) -> Result<ChatResponse, String> {
    let text = String::from_utf8_lossy(body);
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the reply is not JSON ({e}): {}", excerpt(&text)))?;
    let choice = json
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| choices.first())
        .ok_or_else(|| format!("the reply has no choices: {}", excerpt(&text)))?;
    let message = choice.get("message").unwrap_or(&Value::Null);
    let tool_calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .enumerate()
                .map(|(i, c)| tool_call(i, c))
                .collect()
        })
        .unwrap_or_default();
    Ok(ChatResponse {
        content: content(message.get("content")),
        tool_calls,
        finish_reason: string(choice.get("finish_reason")),
        usage: usage(json.get("usage")),
        model: string(json.get("model")),
        attempts: 0,
    })
}

/// What to report for an error reply: the API's `error.message` (or an
/// `error` string) when the body is such JSON, else the start of the body.
pub(crate) fn error_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<Value>(&text).ok().and_then(|json| {
        let error = json.get("error")?;
        error
            .as_str()
            .or_else(|| error.get("message")?.as_str())
            .map(str::to_owned)
    });
    message.unwrap_or_else(|| truncate(&text, ERROR_BODY_BYTES).to_owned())
}

/// One `tool_calls[i]` of a reply; `function.arguments` may be a JSON
/// object (some servers) and is then re-serialised; a missing id becomes
/// `call_<i>`; a missing `type` is `function`.
pub(crate) fn tool_call(index: usize, call: &Value) -> ToolCall {
    let function = call.get("function").unwrap_or(&Value::Null);
    ToolCall {
        id: string(call.get("id"))
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| generated_id(index)),
        kind: string(call.get("type")).unwrap_or_else(|| "function".to_owned()),
        function: FunctionCall {
            name: string(function.get("name")).unwrap_or_default(),
            arguments: arguments(function.get("arguments")),
        },
    }
}

/// The id given to the `index`th tool call of a reply that has none.
pub(crate) fn generated_id(index: usize) -> String {
    format!("call_{index}")
}

/// `function.arguments` as text: a string as is, anything else (an object,
/// from servers that send one) re-serialised; absent or `null` is empty.
pub(crate) fn arguments(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// `message.content`: a string, `null`/absent (`None`), or an array of
/// `{"type":"text","text":…}` parts (joined).
fn content(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|part| part.get("text")?.as_str())
                .collect(),
        ),
        other => Some(other.to_string()),
    }
}

/// `usage`, when it is an object; missing counts are 0, a missing total is
/// the sum.
pub(crate) fn usage(value: Option<&Value>) -> Option<Usage> {
    let usage = value?.as_object()?;
    let count = |key: &str| usage.get(key).and_then(Value::as_u64);
    let prompt_tokens = count("prompt_tokens").unwrap_or(0);
    let completion_tokens = count("completion_tokens").unwrap_or(0);
    Some(Usage {
        prompt_tokens,
        completion_tokens,
        total_tokens: count("total_tokens")
            .unwrap_or_else(|| prompt_tokens.saturating_add(completion_tokens)),
    })
}

/// A string value, else `None`.
pub(crate) fn string(value: Option<&Value>) -> Option<String> {
    value?.as_str().map(str::to_owned)
}

/// The start of `text`, for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    let start: String = text.chars().take(EXCERPT_CHARS).collect();
    if start.len() < text.len() {
        format!("{start}…")
    } else {
        start
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: id.to_owned(),
            kind: "function".to_owned(),
            function: FunctionCall {
                name: name.to_owned(),
                arguments: arguments.to_owned(),
            },
        }
    }

    #[test]
    fn a_full_reply_is_read() {
        let body = br#"{"model":"qwen","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;
        assert_eq!(
            parse_completion(body),
            Ok(ChatResponse {
                content: Some("hi".to_owned()),
                tool_calls: vec![],
                finish_reason: Some("stop".to_owned()),
                usage: Some(Usage {
                    prompt_tokens: 3,
                    completion_tokens: 2,
                    total_tokens: 5
                }),
                model: Some("qwen".to_owned()),
                attempts: 0,
            })
        );
    }

    #[test]
    fn tool_calls_are_read_leniently() {
        let body = br#"{"choices":[{"message":{"tool_calls":[
            {"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},
            {"function":{"name":"g","arguments":{"y":[1,2]}}},
            {"id":"","function":{"name":"h"}}
        ]},"finish_reason":"tool_calls"}]}"#;
        assert_eq!(
            parse_completion(body),
            Ok(ChatResponse {
                content: None,
                tool_calls: vec![
                    call("a", "f", "{\"x\":1}"),
                    call("call_1", "g", "{\"y\":[1,2]}"),
                    call("call_2", "h", ""),
                ],
                finish_reason: Some("tool_calls".to_owned()),
                usage: None,
                model: None,
                attempts: 0,
            })
        );
    }

    #[test]
    fn content_may_be_null_absent_parts_or_broken_utf8() {
        let contents: Vec<Option<String>> = [
            &br#"{"choices":[{"message":{"content":null}}]}"#[..],
            br#"{"choices":[{"message":{}}]}"#,
            br#"{"choices":[{}]}"#,
            br#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#,
            b"{\"choices\":[{\"message\":{\"content\":\"caf\xc3 ok \xff\"}}]}",
        ]
        .iter()
        .map(|body| parse_completion(body).map(|r| r.content).unwrap())
        .collect();
        assert_eq!(
            contents,
            vec![
                None,
                None,
                None,
                Some("ab".to_owned()),
                Some("caf\u{FFFD} ok \u{FFFD}".to_owned())
            ]
        );
    }

    #[test]
    fn usage_fills_in_missing_counts() {
        assert_eq!(
            usage(Some(
                &serde_json::json!({"prompt_tokens": 7, "completion_tokens": 2})
            )),
            Some(Usage {
                prompt_tokens: 7,
                completion_tokens: 2,
                total_tokens: 9
            })
        );
        assert_eq!(usage(Some(&Value::Null)), None);
    }

    #[test]
    fn unusable_replies_say_why_with_an_excerpt() {
        assert_eq!(
            parse_completion(b"<html>busy</html>"),
            Err(
                "the reply is not JSON (expected value at line 1 column 1): <html>busy</html>"
                    .to_owned()
            )
        );
        assert_eq!(
            parse_completion(br#"{"choices":[]}"#),
            Err(r#"the reply has no choices: {"choices":[]}"#.to_owned())
        );
        let long = format!("{{\"x\":\"{}\"}}", "é".repeat(300));
        let message = parse_completion(long.as_bytes()).unwrap_err();
        assert_eq!(
            message,
            format!("the reply has no choices: {{\"x\":\"{}…", "é".repeat(194))
        );
    }

    #[test]
    fn error_bodies_prefer_the_api_message() {
        let bodies: Vec<String> = [
            &br#"{"error":{"message":"model not found","type":"x"}}"#[..],
            br#"{"error":"overloaded"}"#,
            br#"{"detail":"nope"}"#,
            b"Bad Gateway",
        ]
        .iter()
        .map(|body| error_body(body))
        .collect();
        assert_eq!(
            bodies,
            vec![
                "model not found",
                "overloaded",
                r#"{"detail":"nope"}"#,
                "Bad Gateway"
            ]
        );
        let long = "ü".repeat(2000);
        assert_eq!(error_body(long.as_bytes()), "ü".repeat(1024));
    }
}
