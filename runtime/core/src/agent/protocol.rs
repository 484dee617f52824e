//! How tool calls travel between the model and the agent.
//!
//! - **native**: each allowed tool action is offered as one function in
//!   the request's `tools` ([`tool_defs`]); the reply's `tool_calls` name
//!   them ([`FunctionNames::resolve`]).
//! - **json**: the predecessor's protocol. A reply whose whole content —
//!   optionally inside one Markdown fence — is a JSON object with `tool`,
//!   `action` and `args` is a call ([`parse_json_reply`]); anything else is
//!   the final answer.
//! - **constrained**: the json protocol, with the reply held to a JSON
//!   Schema ([`constrained_schema`]): one branch per allowed action, and
//!   `{"answer": …}` for the final answer.
//!
//! Results go back to the model in the predecessor's shape
//! ([`feedback`]), cut at the agent's `max_result_bytes` with a visible
//! marker.

use std::collections::BTreeMap;

use llmagent_llm::ToolDef;
use serde_json::{Map, Value, json};

use crate::outcome::{self, ToolFailure, ToolSuccess};
use crate::reason::Reason;
use crate::registry::ToolInfo;

/// The longest function name the OpenAI grammar accepts
/// (`^[a-zA-Z0-9_-]{1,64}$`).
const MAX_FUNCTION_NAME: usize = 64;

/// One tool action the role may call, with what the model needs to know.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Offered {
    pub(crate) tool: String,
    pub(crate) tool_description: String,
    pub(crate) action: String,
    pub(crate) description: String,
    pub(crate) schema: Value,
}

/// The function name of `tool.action`: `tool-action`. Tool names never
/// contain `-`, so the first `-` splits it unambiguously, and both parts
/// use only characters the OpenAI grammar accepts.
pub(crate) fn function_name(tool: &str, action: &str) -> String {
    format!("{tool}-{action}")
}

/// The tool and action a function name names, without a table: split at
/// the first `-` (or `.`, which models sometimes write). Exact for every
/// offered name, since tool names contain neither; a name without either
/// is all tool (the runtime answers `invalid_tool` or `unknown_command`).
pub(crate) fn split_function_name(name: &str) -> (String, String) {
    match name.split_once(['-', '.']) {
        Some((t, a)) => (t.to_owned(), a.to_owned()),
        None => (name.to_owned(), String::new()),
    }
}

/// Function name → (tool, action) for the offered actions.
#[derive(Debug, Clone, Default)]
pub(crate) struct FunctionNames {
    map: BTreeMap<String, (String, String)>,
}

impl FunctionNames {
    /// The table of `offered`, skipping names longer than the grammar allows
    /// (logged; such an action is still callable through the json protocol).
    pub(crate) fn new(offered: &[Offered]) -> Self {
        let mut map = BTreeMap::new();
        for o in offered {
            let name = function_name(&o.tool, &o.action);
            if name.len() > MAX_FUNCTION_NAME {
                tracing::warn!(
                    function = %name,
                    "tool action name too long for native function calling; not offered"
                );
                continue;
            }
            map.insert(name, (o.tool.clone(), o.action.clone()));
        }
        Self { map }
    }

    /// The tool and action of a function name the model used. An unknown
    /// name is split at its first `-` (or `.`, which models sometimes write)
    /// so that the runtime answers `invalid_tool` / `unknown_command` /
    /// `tool_not_permitted` precisely.
    pub(crate) fn resolve(&self, name: &str) -> (String, String) {
        if let Some((t, a)) = self.map.get(name) {
            return (t.clone(), a.clone());
        }
        split_function_name(name)
    }

    /// Whether `name` is offered.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

/// Every action of `tools` the predicate allows, in tool and action order.
pub(crate) fn offered<'a>(
    tools: impl Iterator<Item = &'a ToolInfo>,
    allowed: impl Fn(&str, &str) -> bool,
) -> Vec<Offered> {
    let mut out = Vec::new();
    for tool in tools {
        for action in &tool.actions {
            if allowed(&tool.name, &action.name) {
                out.push(Offered {
                    tool: tool.name.clone(),
                    tool_description: tool.description.clone(),
                    action: action.name.clone(),
                    description: action.description.clone(),
                    schema: action.schema.clone(),
                });
            }
        }
    }
    out
}

/// The request's `tools` for the native protocol.
pub(crate) fn tool_defs(offered: &[Offered], names: &FunctionNames) -> Vec<ToolDef> {
    offered
        .iter()
        .filter_map(|o| {
            let name = function_name(&o.tool, &o.action);
            names.contains(&name).then(|| ToolDef {
                name,
                description: format!("{} tool: {}", o.tool, o.description),
                parameters: object_schema(&o.schema),
            })
        })
        .collect()
}

/// An action's argument schema as an object schema (what function calling
/// and the constrained protocol need), whatever the tool declared.
pub(crate) fn object_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(m) if m.get("type").and_then(Value::as_str) == Some("object") => {
            schema.clone()
        }
        _ => json!({"type": "object", "properties": {}, "additionalProperties": false}),
    }
}

/// The `tool` of the constrained protocol's final answer.
pub(crate) const ANSWER_TOOL: &str = "none";

/// A final answer of the constrained protocol is at most this many
/// characters (when the agent sets no `max_tokens`): the grammar then
/// always closes the JSON, where an unbounded string could run into the
/// token limit and leave it invalid.
const MAX_ANSWER_CHARS: u64 = 4000;

/// With `max_tokens` set, the answer may have one character per this many
/// tokens. English runs ~4 characters to a token, but a small model's
/// rambling (digits, hex, odd words) can take a token per character, and
/// the JSON around the answer needs tokens too (measured: SmolLM2 hit 512
/// tokens with a 1024-character bound).
const TOKENS_PER_ANSWER_CHAR: u64 = 2;

/// The schema of the constrained protocol: one branch per offered action
/// (`{"tool", "action", "args"}` with that action's argument schema), and a
/// final answer `{"tool": "none", "answer": "…"}`. Every branch starts with
/// `tool`, so the model's first decision is *which tool* — tiny models
/// asked to choose between the keys `tool` and `answer` mostly answer
/// without calling anything (measured with SmolLM2-135M).
pub(crate) fn constrained_schema(
    offered: &[Offered],
    answer_only: bool,
    max_tokens: Option<u32>,
) -> Value {
    let offered = if answer_only { &[][..] } else { offered };
    let max_answer = max_tokens.map_or(MAX_ANSWER_CHARS, |t| {
        (u64::from(t) / TOKENS_PER_ANSWER_CHAR).clamp(64, MAX_ANSWER_CHARS)
    });
    let mut branches: Vec<Value> = offered
        .iter()
        .map(|o| {
            json!({
                "type": "object",
                "properties": {
                    "tool": {"type": "string", "enum": [o.tool]},
                    "action": {"type": "string", "enum": [o.action]},
                    "args": object_schema(&o.schema),
                },
                "required": ["tool", "action", "args"],
                "additionalProperties": false,
            })
        })
        .collect();
    branches.push(json!({
        "type": "object",
        "properties": {
            "tool": {"type": "string", "enum": [ANSWER_TOOL]},
            "answer": {"type": "string", "maxLength": max_answer},
        },
        "required": ["tool", "answer"],
        "additionalProperties": false,
    }));
    json!({ "anyOf": branches })
}

/// How a call of the json protocol is written (told to a model that wrote
/// one wrong).
const CALL_SHAPE: &str =
    "write the call as {\"tool\": \"<tool name>\", \"action\": \"<action name>\", \"args\": {…}}";

/// What a reply in the json (or constrained) protocol means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonReply {
    /// A tool call.
    Call {
        tool: String,
        action: String,
        args: Value,
    },
    /// Something shaped like a call that cannot be one (a `tool` that is
    /// not a string, `args` that are not an object …): the model is told
    /// what was wrong.
    BadCall(ToolFailure),
    /// The final answer.
    Answer(String),
}

/// Parses a reply of the json protocol, as the predecessor did (§2.4): the
/// trimmed content, or the body of one Markdown fence that is the whole
/// content, decoded as JSON; an object with `tool`, `action` and `args` is
/// a call. Where the predecessor crashed, this answers:
///
/// - `tool` or `action` not a string, or `args` not an object → [`JsonReply::BadCall`];
/// - `tool` and `action` without `args` → a call with `{}` (small models
///   drop empty arguments);
/// - `{"tool": "none", "answer": "…"}` or `{"answer": "…"}` (the
///   constrained protocol's final answer) → that text;
/// - anything else (prose, invalid JSON, arrays, `{"tool": "x"}` alone,
///   empty content) → the content itself is the answer.
pub(crate) fn parse_json_reply(content: &str) -> JsonReply {
    let answer = || JsonReply::Answer(content.trim().to_owned());
    let text = strip_fence(content.trim());
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else {
        return answer();
    };
    if let Some(Value::String(a)) = obj.get("answer") {
        let marked = obj.get("tool").and_then(Value::as_str) == Some(ANSWER_TOOL);
        if obj.len() == 1 || (obj.len() == 2 && marked) {
            return JsonReply::Answer(a.clone());
        }
    }
    if !obj.contains_key("tool") || !obj.contains_key("action") {
        return answer();
    }
    let bad = |field: &str, message: String| {
        JsonReply::BadCall(
            ToolFailure::new(Reason::InvalidArgs, message)
                .field(field)
                .suggestion(CALL_SHAPE),
        )
    };
    let tool = match obj.get("tool") {
        Some(Value::String(t)) => t.clone(),
        Some(other) => {
            return JsonReply::BadCall(
                ToolFailure::new(
                    Reason::InvalidTool,
                    format!(
                        "\"tool\" must be a tool's name as a string, not {}",
                        kind_of(other)
                    ),
                )
                .field("tool")
                .suggestion(CALL_SHAPE),
            );
        }
        None => return answer(),
    };
    let action = match obj.get("action") {
        Some(Value::String(a)) => a.clone(),
        Some(other) => {
            return bad(
                "action",
                format!("\"action\" must be a string, not {}", kind_of(other)),
            );
        }
        None => return answer(),
    };
    let args = match obj.get("args") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(other) => {
            return bad(
                "args",
                format!("\"args\" must be a JSON object, not {}", kind_of(other)),
            );
        }
    };
    JsonReply::Call { tool, action, args }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The body of a Markdown fence that is the whole (trimmed) text:
/// three backticks, an optional language tag of `[A-Za-z0-9_-]`, a newline,
/// the body, a newline, three backticks at the very end. Anything else is
/// returned unchanged.
fn strip_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let Some(body) = rest.strip_suffix("```") else {
        return text;
    };
    let Some((tag, body)) = body.split_once('\n') else {
        return text;
    };
    if !tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return text;
    }
    match body.strip_suffix('\n') {
        Some(b) => b.trim(),
        None => text,
    }
}

/// A tool result as the model sees it: the predecessor's
/// `{"metadata","output","status":"ok"}` or
/// `{"error":{"field","message","reason","suggestion"},"status":"error"}`
/// (keys sorted, as its encoder wrote them), cut at `max_bytes`.
pub(crate) fn feedback(result: &Result<ToolSuccess, ToolFailure>, max_bytes: usize) -> String {
    cap(&outcome::envelope(result).to_string(), max_bytes)
}

/// `text` cut at `max_bytes` (at a character boundary) with a marker
/// saying how much was shown.
pub(crate) fn cap(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[truncated: showing {end} of {} bytes; ask for less, e.g. a narrower command or a smaller file]",
        &text[..end],
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(tool: &str, action: &str, args: Value) -> JsonReply {
        JsonReply::Call {
            tool: tool.into(),
            action: action.into(),
            args,
        }
    }

    #[test]
    fn plain_and_fenced_calls_parse() {
        let plain = r#" {"tool":"crypto","action":"sha256","args":{"data":"hi"}} "#;
        assert_eq!(
            parse_json_reply(plain),
            call("crypto", "sha256", json!({"data": "hi"}))
        );
        let fenced =
            "```json\n{\"tool\":\"file\",\"action\":\"read\",\"args\":{\"path\":\"/x\"}}\n```";
        assert_eq!(
            parse_json_reply(fenced),
            call("file", "read", json!({"path": "/x"}))
        );
        let bare_fence = "```\n{\"tool\":\"proc\",\"action\":\"list\"}\n```";
        assert_eq!(
            parse_json_reply(bare_fence),
            call("proc", "list", json!({}))
        );
    }

    #[test]
    fn prose_fences_inside_prose_arrays_and_partial_objects_are_answers() {
        for text in [
            "The hash is abc.",
            "Here:\n```json\n{\"tool\":\"crypto\",\"action\":\"sha256\",\"args\":{}}\n```",
            "[1, 2]",
            "{\"tool\":\"bash\"}",
            "{\"tool\":\"crypto\",\"action\":\"sha256\",\"args\":{",
            "",
            "```json {\"tool\":\"a\"}```",
        ] {
            assert_eq!(
                parse_json_reply(text),
                JsonReply::Answer(text.trim().to_owned()),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_calls_are_reported_not_crashed_on() {
        let JsonReply::BadCall(f) = parse_json_reply(r#"{"tool":42,"action":"x","args":{}}"#)
        else {
            panic!("expected a bad call")
        };
        assert_eq!(
            (f.reason.as_str(), f.field.as_deref(), f.message.as_str()),
            (
                "invalid_tool",
                Some("tool"),
                "\"tool\" must be a tool's name as a string, not a number"
            )
        );
        let JsonReply::BadCall(f) = parse_json_reply(r#"{"tool":"a","action":"x","args":"oops"}"#)
        else {
            panic!("expected a bad call")
        };
        assert_eq!(
            (f.reason.as_str(), f.field.as_deref()),
            ("invalid_args", Some("args"))
        );
    }

    #[test]
    fn constrained_answers_are_unwrapped() {
        assert_eq!(
            parse_json_reply(r#"{"answer":"done"}"#),
            JsonReply::Answer("done".into())
        );
        assert_eq!(
            parse_json_reply(r#"{"tool": "none", "answer": "done"}"#),
            JsonReply::Answer("done".into())
        );
    }

    #[test]
    fn feedback_has_the_seed_shape_and_is_capped_visibly() {
        let ok = Ok(ToolSuccess {
            output: json!("x"),
            metadata: json!({"n": 1}),
        });
        assert_eq!(
            feedback(&ok, 1000),
            r#"{"metadata":{"n":1},"output":"x","status":"ok"}"#
        );
        let err = Err(ToolFailure::new(Reason::Denied, "no"));
        assert_eq!(
            feedback(&err, 1000),
            r#"{"error":{"field":null,"message":"no","reason":"denied","suggestion":null},"status":"error"}"#
        );
        assert_eq!(
            cap("ééé", 3),
            "é\n[truncated: showing 2 of 6 bytes; ask for less, e.g. a narrower command or a smaller file]"
        );
    }

    #[test]
    fn function_names_round_trip_and_unknown_names_split() {
        let offered = vec![Offered {
            tool: "crypto".into(),
            tool_description: "c".into(),
            action: "sha256".into(),
            description: "hash".into(),
            schema: json!({"type": "object", "properties": {"data": {"type": "string"}}}),
        }];
        let names = FunctionNames::new(&offered);
        assert_eq!(
            names.resolve("crypto-sha256"),
            ("crypto".into(), "sha256".into())
        );
        assert_eq!(names.resolve("file.read"), ("file".into(), "read".into()));
        assert_eq!(names.resolve("nothing"), ("nothing".into(), String::new()));
        let defs = tool_defs(&offered, &names);
        assert_eq!(defs.len(), 1);
        assert_eq!(defs[0].name, "crypto-sha256");
        assert_eq!(defs[0].description, "crypto tool: hash");
    }
}
