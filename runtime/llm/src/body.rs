//! Reading a reply's body within [`ClientConfig::max_reply_bytes`]
//! (counted as bytes arrive, never buffering past it): whole, as the start
//! of an error reply, or as a stream of server-sent events assembled into
//! a completion.
//!
//! [`ClientConfig::max_reply_bytes`]: crate::ClientConfig::max_reply_bytes

use std::error::Error as _;

use crate::error::LlmError;
use crate::sse::SseParser;
use crate::stream::StreamAssembler;
use crate::types::ChatResponse;

/// An [`LlmError::InvalidReply`] saying `message`.
pub(crate) fn invalid(message: String) -> LlmError {
    LlmError::InvalidReply { message }
}

/// Why a body could not be read, and whether another attempt may fare
/// better: a broken connection or a reply cut short may be transient; a
/// reply over the cap would only be over it again.
pub(crate) struct BodyError {
    pub(crate) error: LlmError,
    pub(crate) transient: bool,
}

fn over_cap(message: String) -> BodyError {
    BodyError {
        error: invalid(message),
        transient: false,
    }
}

fn transient(message: String) -> BodyError {
    BodyError {
        error: invalid(message),
        transient: true,
    }
}

/// The whole body, or an error when it is over `cap` or the connection
/// breaks.
pub(crate) async fn read_whole(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    if let Some(length) = response.content_length()
        && length > cap as u64
    {
        return Err(over_cap(format!(
            "the reply is {length} bytes, over the cap of {cap} bytes (max_reply_bytes)"
        )));
    }
    let mut body = Vec::new();
    loop {
        let chunk = response.chunk().await.map_err(|e| {
            transient(format!(
                "the connection broke after {} bytes of the reply: {}",
                body.len(),
                cause(&e)
            ))
        })?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() + chunk.len() > cap {
            return Err(over_cap(format!(
                "the reply is at least {} bytes, over the cap of {cap} bytes (max_reply_bytes)",
                body.len() + chunk.len()
            )));
        }
        body.extend_from_slice(&chunk);
    }
}

/// At most `cap` bytes of an error reply's body; whatever arrived if the
/// connection breaks (the status is the news, the body only detail).
pub(crate) async fn read_start(mut response: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = cap - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == cap {
            break;
        }
    }
    body
}

/// Reads a server-sent-events reply to its `[DONE]` (or its end), handing
/// content pieces to `on_text`. A stream that ends without `[DONE]` or a
/// finish reason was cut off: an error (transient), as is one over `cap`
/// bytes (not) or one whose events are not a reply (transient).
pub(crate) async fn read_stream(
    mut response: reqwest::Response,
    cap: usize,
    on_text: &mut (dyn for<'t> FnMut(&'t str) + Send),
) -> Result<ChatResponse, BodyError> {
    let mut parser = SseParser::default();
    let mut assembler = StreamAssembler::default();
    let mut received = 0usize;
    let mut broken = None;
    while !assembler.is_done() {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                received += chunk.len();
                if received > cap {
                    return Err(over_cap(format!(
                        "the streamed reply is over the cap of {cap} bytes (max_reply_bytes)"
                    )));
                }
                for data in parser.feed(&chunk) {
                    assembler.event(&data, on_text).map_err(transient)?;
                }
            }
            Ok(None) => {
                if let Some(data) = parser.finish() {
                    assembler.event(&data, on_text).map_err(transient)?;
                }
                break;
            }
            Err(error) => {
                broken = Some(cause(&error));
                break;
            }
        }
    }
    if !assembler.is_complete() {
        let why = broken.map_or_else(
            || "the server closed it".to_owned(),
            |cause| format!("the connection broke: {cause}"),
        );
        return Err(transient(format!(
            "the stream was cut off after {received} bytes, before a finish_reason or [DONE] ({why})"
        )));
    }
    Ok(assembler.finish())
}

/// What went wrong underneath a reqwest error: its sources, outermost
/// first (reqwest's own message only repeats the URL).
pub(crate) fn cause(error: &reqwest::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut source = error.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if causes.last() != Some(&text) {
            causes.push(text);
        }
        source = inner.source();
    }
    if causes.is_empty() {
        error.to_string()
    } else {
        causes.join(": ")
    }
}
