//! A model's text reply read as a json-protocol tool call, and a native
//! call's `arguments` text. Oracle: whatever is accepted is within the
//! agent's bounds (names, size, depth) and is an object.

use llmagent_core::fuzzing::{ARGS_DEPTH, NAME_BYTES, json_reply, native_arguments, nesting};
use serde_json::Value;

/// Small enough that the fuzzer reaches it.
const MAX_ARGS_BYTES: usize = 256;

fn check(args: &Value) {
    assert!(args.is_object(), "arguments not an object: {args}");
    assert!(
        args.to_string().len() <= MAX_ARGS_BYTES,
        "arguments over the size cap"
    );
    assert!(nesting(args) <= ARGS_DEPTH, "arguments over the depth cap");
}

/// Runs the target on one input (not UTF-8: nothing to do, as
/// cargo-fuzz's `&str` targets skip it).
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (calls, answer) = json_reply(text, MAX_ARGS_BYTES);
    assert!(
        calls.len() + usize::from(answer.is_some()) == 1,
        "one call or one answer"
    );
    for (tool, action, args) in &calls {
        assert!(tool.len() <= NAME_BYTES && action.len() <= NAME_BYTES);
        if let Ok(args) = args {
            check(args);
        }
    }
    if let Ok(args) = native_arguments(text, MAX_ARGS_BYTES) {
        check(&args);
    }
}
