//! Guest stdout/stderr, captured into memory and capped.
//!
//! wasmtime's `MemoryOutputPipe` closes the stream when full, which makes a
//! Rust guest's `print!` panic. A tool that prints too much must not crash
//! for it: this pipe keeps the first `cap` bytes, drops the rest silently and
//! remembers that it did.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Largest write a guest may announce at once; matches WASI's usual 4 KiB
/// chunks with room to spare.
const WRITE_PERMIT: usize = 64 * 1024;

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    truncated: bool,
}

/// A capped in-memory output stream, cloned into the WASI context.
#[derive(Debug, Clone)]
pub(crate) struct Capture {
    buffer: Arc<Mutex<Buffer>>,
    cap: usize,
}

impl Capture {
    /// A capture keeping at most `cap` bytes.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            buffer: Arc::default(),
            cap,
        }
    }

    fn push(&self, data: &[u8]) {
        let mut buf = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let room = self.cap.saturating_sub(buf.bytes.len());
        if data.len() > room {
            buf.truncated = true;
        }
        let keep = data.len().min(room);
        buf.bytes.extend_from_slice(&data[..keep]);
    }

    /// The captured text (lossy UTF-8) and whether some was dropped.
    pub(crate) fn take(&self) -> (String, bool) {
        let mut buf = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let bytes = std::mem::take(&mut buf.bytes);
        (String::from_utf8_lossy(&bytes).into_owned(), buf.truncated)
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

#[async_trait::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_bytes_and_flags_the_rest() {
        let c = Capture::new(5);
        c.push(b"abc");
        c.push(b"defg");
        assert_eq!(c.take(), ("abcde".to_owned(), true));
    }

    #[test]
    fn under_the_cap_nothing_is_flagged() {
        let c = Capture::new(8);
        c.push(b"hi");
        assert_eq!(c.take(), ("hi".to_owned(), false));
    }
}
