//! llmagent's model client.
//!
//! [`LlmClient`] is what the agent loop talks to: one chat completion,
//! whole ([`LlmClient::chat`]) or streamed token by token
//! ([`LlmClient::chat_stream`]). [`OpenAiClient`] speaks the
//! OpenAI-compatible `POST {api_base}/chat/completions` that llama.cpp,
//! Ollama, vLLM and OpenAI itself serve, configured by a [`ClientConfig`]
//! (timeouts, retries with backoff and `Retry-After`, a cap on reply
//! size). Failures are [`LlmError`]s that say where the client tried and
//! how many attempts it made.

#![deny(missing_docs)]

mod body;
mod client;
mod config;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod reply;
mod request;
mod retry;
mod sse;
mod stream;
mod types;

pub use client::{OpenAiClient, http_client_builder};
pub use config::{
    ClientConfig, DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_MAX, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_FIRST_BYTE_TIMEOUT, DEFAULT_MAX_REPLY_BYTES, DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_AFTER_MAX, DEFAULT_TOTAL_TIMEOUT,
};
pub use error::LlmError;
pub use types::{
    ChatRequest, ChatResponse, FunctionCall, Message, MessageRole, ResponseFormat, ToolCall,
    ToolDef, Usage,
};

use async_trait::async_trait;

/// A model the agent can talk to.
#[async_trait]
pub trait LlmClient: Send + Sync {
    /// One chat completion, whole.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;

    /// One chat completion, streamed: `on_text` gets each piece of
    /// `content` as it arrives; the assembled reply (content and tool
    /// calls) is returned at the end. Clients that cannot stream may call
    /// `on_text` once with the whole content.
    ///
    /// (`for<'t>` is spelled out because `async_trait` would otherwise
    /// give the `&str` one fixed lifetime, and no implementation could
    /// pass it text it owns.)
    async fn chat_stream(
        &self,
        request: &ChatRequest,
        on_text: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<ChatResponse, LlmError>;

    /// Where requests go (for messages): the API base URL.
    fn endpoint(&self) -> String;
}
