//! A whole completion body from a model server (and the same body read as
//! an error body): a reply or a reason, never a panic.

/// Runs the target on one input.
pub fn run(body: &[u8]) {
    if let Ok(reply) = llmagent_llm::fuzzing::completion(body) {
        for call in &reply.tool_calls {
            assert!(!call.id.is_empty(), "a tool call without an id: {reply:?}");
        }
    }
}
