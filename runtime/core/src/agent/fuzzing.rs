//! How the agent reads a model's reply as tool calls, for the fuzz targets
//! in `fuzz/` (feature `fuzzing`). Not part of the API.

use serde_json::Value;

use super::bounds::{MAX_ARGS_DEPTH, MAX_NAME_BYTES, depth};
use super::turn::{Pending, json_calls, native_args};
use crate::ToolFailure;

/// One call read from a reply: tool, action and its arguments or why
/// they were refused.
pub type Call = (String, String, Result<Value, ToolFailure>);

/// The longest tool or action name a call may carry.
pub const NAME_BYTES: usize = MAX_NAME_BYTES;

/// The deepest arguments a call may carry.
pub const ARGS_DEPTH: usize = MAX_ARGS_DEPTH;

/// A reply of the json protocol read as the agent reads it: its calls
/// (at most one) or its final answer.
pub fn json_reply(content: &str, max_args_bytes: usize) -> (Vec<Call>, Option<String>) {
    let (calls, answer) = json_calls(content, max_args_bytes);
    let calls = calls
        .into_iter()
        .map(|p| match p {
            Pending::Json { tool, action, args }
            | Pending::Native {
                tool, action, args, ..
            } => (tool, action, args),
        })
        .collect();
    (calls, answer)
}

/// A native call's `arguments` text read as the agent reads it.
pub fn native_arguments(text: &str, max_args_bytes: usize) -> Result<Value, ToolFailure> {
    native_args(text, max_args_bytes)
}

/// How deep a value nests, as the bounds count it.
pub fn nesting(value: &Value) -> usize {
    depth(value)
}
