//! A streamed completion: SSE bytes cut into chunks anywhere, assembled.
//! Oracles: the events do not depend on where the chunks were cut, and the
//! assembled content is exactly the pieces handed on.

use llmagent_llm::fuzzing::{sse_events, stream};

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    // The first byte says how many cut offsets follow (two bytes each).
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 8);
    if rest.len() < 2 * n {
        return;
    }
    let (cuts, body) = rest.split_at(2 * n);
    let mut cuts: Vec<usize> = cuts
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])))
        .collect();
    cuts.sort_unstable();
    let streamed = stream(body, &cuts);
    assert_eq!(
        streamed.events,
        sse_events(body),
        "cuts {cuts:?} changed the events"
    );
    if let Ok(reply) = &streamed.reply {
        let joined: String = streamed.pieces.concat();
        assert_eq!(reply.content.as_deref().unwrap_or(""), joined);
        for call in &reply.tool_calls {
            assert!(!call.id.is_empty(), "a tool call without an id: {reply:?}");
        }
    }
}
