//! The crate-private parsers a model's server can reach, for the fuzz
//! targets in `fuzz/` (feature `fuzzing`). Not part of the API.

use crate::reply::{error_body, parse_completion};
use crate::sse::SseParser;
use crate::stream::StreamAssembler;
use crate::types::ChatResponse;

/// A whole (non-streamed) completion body, as [`crate::OpenAiClient`]
/// reads it; an error body read as one too.
pub fn completion(body: &[u8]) -> Result<ChatResponse, String> {
    let _ = error_body(body);
    parse_completion(body)
}

/// What a streamed reply assembled to.
#[derive(Debug)]
pub struct Streamed {
    /// The `data` of every event the parser produced.
    pub events: Vec<String>,
    /// The text pieces handed on, in order.
    pub pieces: Vec<String>,
    /// The assembled reply, or the first event that was an error.
    pub reply: Result<ChatResponse, String>,
    /// Whether the stream ended properly (`[DONE]` or a finish reason).
    pub complete: bool,
}

/// A streamed body fed to the SSE parser in the chunks given by `cuts`
/// (offsets, taken modulo the body's length), every event handed to the
/// assembler, as the client does.
pub fn stream(body: &[u8], cuts: &[usize]) -> Streamed {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    let mut start = 0;
    for cut in cuts {
        let end = if body.is_empty() {
            0
        } else {
            cut % (body.len() + 1)
        };
        if end > start {
            events.extend(parser.feed(&body[start..end]));
            start = end;
        }
    }
    events.extend(parser.feed(&body[start..]));
    events.extend(parser.finish());
    let mut assembler = StreamAssembler::default();
    let mut pieces = Vec::new();
    let mut error = None;
    for data in &events {
        if let Err(e) = assembler.event(data, &mut |piece| pieces.push(piece.to_owned())) {
            error = Some(e);
            break;
        }
        if assembler.is_done() {
            break;
        }
    }
    let complete = assembler.is_complete();
    let reply = match error {
        Some(e) => Err(e),
        None => Ok(assembler.finish()),
    };
    Streamed {
        events,
        pieces,
        reply,
        complete,
    }
}

/// The `data` of each event of `body` fed in one piece.
pub fn sse_events(body: &[u8]) -> Vec<String> {
    let mut parser = SseParser::default();
    let mut events = parser.feed(body);
    events.extend(parser.finish());
    events
}
