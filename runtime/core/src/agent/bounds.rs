//! Bounds on what a model's call may carry, checked before any of it
//! becomes an event key, an event or a request.
//!
//! A model writes any reply: a tool name of 70,000 characters, arguments
//! of megabytes, objects nested a hundred deep. Names longer than
//! [`MAX_NAME_BYTES`] are `invalid_tool` (the message shows the name cut);
//! arguments larger than the agent's `max_args_bytes` or nested deeper
//! than [`MAX_ARGS_DEPTH`] are `invalid_args`. What the model wrote is
//! echoed back to it and recorded only in bounded form ([`echo_native`],
//! [`echo_json`]).

use llmagent_llm::ToolCall;
use serde_json::Value;

use crate::outcome::ToolFailure;
use crate::reason::Reason;

/// Tool and action names longer than this are refused: real ones are
/// `[a-z0-9_]+` of a few words (the policy allows 64 characters), and a
/// name becomes part of event keys and topics.
pub(crate) const MAX_NAME_BYTES: usize = 128;

/// Arguments nested deeper than this are refused. Every event reader uses
/// serde_json's default recursion limit (128): an argument stored inside
/// an event (`data.args…`, a few levels down) must stay well below it so
/// that whatever is written can be read back.
pub(crate) const MAX_ARGS_DEPTH: usize = 64;

/// A call id longer than this is cut: real ids are a few dozen bytes, and
/// an id is echoed in every request that carries the conversation.
const MAX_ID_BYTES: usize = 128;

/// How much of an oversized name a message shows.
const SHOWN_NAME_CHARS: usize = 32;

/// `name` as a message may show it: whole when short, else its first
/// characters and its length.
pub(crate) fn shown_name(name: &str) -> String {
    match name.char_indices().nth(SHOWN_NAME_CHARS) {
        Some((i, _)) if name.len() > MAX_NAME_BYTES => {
            format!("{}…({} bytes)", &name[..i], name.len())
        }
        _ if name.len() > MAX_NAME_BYTES => format!("…({} bytes)", name.len()),
        _ => name.to_owned(),
    }
}

/// Refuses a tool or action name longer than [`MAX_NAME_BYTES`].
pub(crate) fn check_names(tool: &str, action: &str) -> Result<(), ToolFailure> {
    for (what, name) in [("tool", tool), ("action", action)] {
        if name.len() > MAX_NAME_BYTES {
            return Err(ToolFailure::new(
                Reason::InvalidTool,
                format!(
                    "the {what} name `{}` is longer than {MAX_NAME_BYTES} bytes; no tool has such a name",
                    shown_name(name)
                ),
            )
            .field(what)
            .suggestion("call one of the tools offered to you, by its exact name"));
        }
    }
    Ok(())
}

/// Refuses arguments whose JSON text (`len` bytes) is over `max_bytes`.
pub(crate) fn check_size(len: usize, max_bytes: usize) -> Result<(), ToolFailure> {
    if len > max_bytes {
        return Err(ToolFailure::new(
            Reason::InvalidArgs,
            format!("the arguments are {len} bytes of JSON; this agent takes at most {max_bytes} (max_args_bytes)"),
        )
        .field("arguments")
        .suggestion("pass less data in one call, e.g. split it over several calls"));
    }
    Ok(())
}

/// Refuses arguments nested deeper than [`MAX_ARGS_DEPTH`].
pub(crate) fn check_depth(args: &Value) -> Result<(), ToolFailure> {
    let d = depth(args);
    if d > MAX_ARGS_DEPTH {
        return Err(ToolFailure::new(
            Reason::InvalidArgs,
            format!(
                "the arguments are nested {d} levels deep; at most {MAX_ARGS_DEPTH} are accepted"
            ),
        )
        .field("arguments")
        .suggestion("pass flatter arguments, as the action's schema describes them"));
    }
    Ok(())
}

/// How deeply `v` nests: a scalar is 0, `{}` and `[]` are 1. Iterative,
/// so that no input can exhaust the stack.
pub(crate) fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Object(m) => {
                deepest = deepest.max(d + 1);
                stack.extend(m.values().map(|c| (c, d + 1)));
            }
            Value::Array(a) => {
                deepest = deepest.max(d + 1);
                stack.extend(a.iter().map(|c| (c, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// A call id as it is answered, echoed and recorded: cut at
/// [`MAX_ID_BYTES`] (on a character boundary).
pub(crate) fn bounded_id(id: &str) -> String {
    if id.len() <= MAX_ID_BYTES {
        return id.to_owned();
    }
    let mut end = MAX_ID_BYTES;
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    id[..end].to_owned()
}

/// The native calls of a reply as they are echoed to the model and
/// recorded: ids cut, oversized names shown cut, oversized arguments
/// replaced by `{}` (the answer to that call says why).
pub(crate) fn echo_native(calls: &[ToolCall], max_args_bytes: usize) -> Vec<ToolCall> {
    calls
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.id = bounded_id(&c.id);
            if c.function.name.len() > MAX_NAME_BYTES {
                c.function.name = shown_name(&c.function.name);
            }
            if c.function.arguments.len() > max_args_bytes {
                c.function.arguments = "{}".to_owned();
            }
            c
        })
        .collect()
}

/// A json-protocol reply as it is echoed and recorded: whole when it is
/// no larger than a call may be, else cut with a note of its size.
pub(crate) fn echo_json(content: &str, max_args_bytes: usize) -> String {
    let limit = max_args_bytes + 2 * MAX_NAME_BYTES;
    if content.len() <= limit {
        return content.to_owned();
    }
    let mut end = 1024.min(content.len());
    while !content.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}…[{} bytes omitted: the reply was larger than a call may be]",
        &content[..end],
        content.len() - end
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..levels {
            v = json!({ "a": v });
        }
        v
    }

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!({})), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": []}]})), 4);
        assert_eq!(depth(&nested(126)), 126);
        assert!(check_depth(&nested(MAX_ARGS_DEPTH)).is_ok());
        assert_eq!(
            check_depth(&nested(MAX_ARGS_DEPTH + 1)).map_err(|f| (f.reason, f.field)),
            Err(("invalid_args".to_owned(), Some("arguments".to_owned())))
        );
    }

    #[test]
    fn long_names_are_invalid_tool_and_shown_cut() {
        let long = "x".repeat(70_000);
        let f = check_names(&long, "a").err();
        assert_eq!(
            f.map(|f| (f.reason, f.field, f.message)),
            Some((
                "invalid_tool".to_owned(),
                Some("tool".to_owned()),
                format!(
                    "the tool name `{}…(70000 bytes)` is longer than 128 bytes; no tool has such a name",
                    "x".repeat(32)
                )
            ))
        );
        assert!(check_names("crypto", &"é".repeat(65)).is_err());
        assert!(check_names("crypto", &"é".repeat(64)).is_ok());
        assert_eq!(shown_name("crypto"), "crypto");
    }

    #[test]
    fn echoes_are_bounded() {
        let id = "i".repeat(300);
        assert_eq!(bounded_id(&id).len(), MAX_ID_BYTES);
        assert_eq!(bounded_id(&"é".repeat(100)).len(), 128);
        let big = "y".repeat(5000);
        let echoed = echo_json(&big, 1024);
        assert!(
            echoed.len() < 1200 && echoed.ends_with("may be]"),
            "{echoed}"
        );
        assert_eq!(echo_json("{\"tool\":\"x\"}", 1024), "{\"tool\":\"x\"}");
    }
}
